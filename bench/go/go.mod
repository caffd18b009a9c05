module qsem.invalid/qsembench

go 1.26.0

require (
	golang.org/x/sync v0.25.0
	qsem.invalid/qsem v0.0.0
)

replace qsem.invalid/qsem => ../../bindings/go
