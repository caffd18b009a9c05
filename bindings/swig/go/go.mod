module qsem

go 1.19
