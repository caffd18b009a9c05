module qsem.invalid/xsynctest

go 1.26.0

require (
	golang.org/x/sync v0.25.0
	qsem.invalid/qsem v0.0.0
)

// Rewritten by tests/go/xsync.sh to the absolute path of bindings/go.
replace qsem.invalid/qsem => ../../../bindings/go
