#!/bin/sh
# SPDX-License-Identifier: MIT
# Pack the qsem gem: pack_gem.sh <repository> <output directory>.
# Generates the SWIG wrapper (never committed) and lays out the gem's
# sources in a staging directory, then runs `gem build` there.
set -eu
src=$1
out=$2
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

mkdir -p "$stage/lib" "$stage/ext/qsem/core"
cp "$src/bindings/swig/ruby/qsem.rb" "$stage/lib/qsem.rb"
cp "$src/bindings/swig/ruby/qsem.gemspec" "$stage/"
cp "$src/bindings/swig/ruby/extconf.rb" "$stage/ext/qsem/"
cp "$src"/csrc/*.c "$src"/csrc/*.h "$src/bindings/swig/qsem_handle.h" "$stage/ext/qsem/core/"
swig -ruby -I"$src/csrc" -I"$src/bindings/swig" \
    -o "$stage/ext/qsem/qsemRUBY_wrap.c" "$src/bindings/swig/qsem.i"
mkdir -p "$out"
(cd "$stage" && gem build --silent qsem.gemspec)
cp "$stage"/qsem-*.gem "$out/"
