#!/bin/bash
# SPDX-License-Identifier: MIT
# Install test, Tcl: `cmake --install` puts the qsem package (qsem.so and
# pkgIndex.tcl, in lib/qsem<version>) into a clean prefix; a script written
# here, outside the repository, finds it through auto_path alone and uses it,
# blocking and event-driven.
set -euo pipefail

: "${QSEM_SOURCE_DIR:?QSEM_SOURCE_DIR must name the repository}"
: "${QSEM_BUILD_DIR:?QSEM_BUILD_DIR must name the CMake build directory}"
tclsh=$(command -v tclsh8.6 || command -v tclsh) || { echo "tcl.sh: no tclsh" >&2; exit 1; }

prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT

cmake --install "$QSEM_BUILD_DIR" --prefix "$prefix" --component tcl >/dev/null
libdir=$(dirname "$(find "$prefix" -name pkgIndex.tcl -path '*qsem*' | head -n 1)")
if [ ! -f "$libdir/pkgIndex.tcl" ]; then
    echo "tcl.sh: cmake --install put no qsem pkgIndex.tcl under $prefix" >&2
    exit 1
fi

cat > "$prefix/program.tcl" <<'TCL'
lassign $argv want prefix
set got [package require qsem]
if {$got ne $want} { puts stderr "package require qsem gave $got, want $want"; exit 1 }
set from [lindex [lsearch -inline -index 1 [info loaded] Qsem] 0]
if {![string match "$prefix/*" $from]} { puts stderr "qsem loaded from $from, not the install"; exit 1 }
qsem::Semaphore s 1 2
s acquire 1
if {[s try_acquire 1]} { puts stderr "took a token that was not there"; exit 1 }
s release 2
if {[catch {s release 1} msg opts] == 0 || [dict get $opts -errorcode] ne {QSEM EOVERFLOW}} {
    puts stderr "release past max: [dict get $opts -errorcode]"; exit 1
}
if {[s available] != 2} { puts stderr "available [s available], want 2"; exit 1 }
# the event-driven acquire: a wait that the event loop completes
s acquire 2
set ::ticks 0
proc tick {} { incr ::ticks; after 5 tick }
tick
s acquire_async 1 {apply {{outcome} { set ::got $outcome }}}
after 50 { s release 1 }
vwait ::got
if {$::got ne "granted" || $::ticks < 2 || [s available] != 0} {
    puts stderr "acquire_async: $::got after $::ticks ticks, [s available] left"; exit 1
}
s release 2
rename s ""
puts "qsem $got from $from: ok"
TCL

version=$(sed -n 's/^#define QSEM_VERSION_STRING "\(.*\)"/\1/p' "$QSEM_SOURCE_DIR/csrc/qsem_version.h")
# Tcl finds the package through TCLLIBPATH (auto_path) alone.
cd "$prefix"
TCLLIBPATH="$(dirname "$libdir")" "$tclsh" "$prefix/program.tcl" "$version" "$prefix"
