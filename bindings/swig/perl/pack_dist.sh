#!/bin/sh
# SPDX-License-Identifier: MIT
# Pack the qsem Perl distribution: pack_dist.sh <repository> <directory>.
# Lays out Makefile.PL, the SWIG output (qsem.pm, qsem_wrap.c: generated
# here, never committed), the C core and the tests in <directory>, ready
# for `perl Makefile.PL && make && make test && make install`.
set -eu
src=$1
dist=$2
mkdir -p "$dist/core" "$dist/t"
cp "$src/bindings/swig/perl/Makefile.PL" "$dist/"
cp "$src"/csrc/*.c "$src"/csrc/*.h "$src/bindings/swig/qsem_handle.h" "$dist/core/"
mv "$dist/core/qsem_all.c" "$dist/qsem_all.c"
cp "$src/tests/perl/qsem.t" "$src/tests/perl/delete_race.t" \
    "$src/tests/perl/shared.t" "$dist/t/"
swig -perl5 -I"$src/csrc" -I"$src/bindings/swig" -outdir "$dist" \
    -o "$dist/qsem_wrap.c" "$src/bindings/swig/qsem.i"
