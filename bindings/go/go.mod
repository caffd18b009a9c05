module qsem.invalid/qsem

go 1.24
