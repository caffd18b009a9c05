# SPDX-License-Identifier: MIT
# Runs the *.test files here with tcltest (the arguments are tcltest
# options, e.g. -file race.test); exits non-zero if any test failed.
package require tcltest 2.5
namespace import ::tcltest::*
configure -testdir [file dirname [file normalize [info script]]] -singleproc 1 {*}$argv
# The hook runs after each file and after the whole run; whether the counts
# are per file or running totals, the largest is non-zero iff any test failed.
set ::qsem_failed 0
proc ::tcltest::cleanupTestsHook {} {
    variable numTests
    set ::qsem_failed [expr {max($::qsem_failed, $numTests(Failed))}]
}
runAllTests
exit [expr {$::qsem_failed > 0}]
