#!/bin/sh
# SPDX-License-Identifier: MIT
# The rockspec's build: the module from lqsem.c and the core's one unit
# (csrc/qsem_all.c), compiled in a scratch directory so that nothing is
# left in the source tree, and installed into LIBDIR.  Exports only
# luaopen_qsem (qsem.map), as the CMake build does.
#   luarocks-build.sh LIBDIR CC CFLAGS LIBFLAG LUA_INCDIR
set -eu
libdir=$1
cc=$2
cflags=$3
libflag=$4
incdir=$5
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/qsem-rock.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
for chunk in cqueues_glue methods drive51; do
  sh "$here/embed.sh" "lqsem_${chunk}_lua" "$here/$chunk.lua" >"$tmp/lqsem_${chunk}_lua.h"
done
case $(uname -s) in
  Darwin) exports="-Wl,-exported_symbol,_luaopen_qsem" ;;
  *) exports="-Wl,--version-script=$here/qsem.map" ;;
esac
# CFLAGS, LIBFLAG and CC are lists of words: split them on purpose
# shellcheck disable=SC2086
$cc $cflags -I"$incdir" -I"$root/csrc" -I"$tmp" -fvisibility=hidden $libflag $exports \
    -o "$tmp/qsem.so" "$here/lqsem.c" "$root/csrc/qsem_all.c" -lpthread
mkdir -p "$libdir"
cp "$tmp/qsem.so" "$libdir/qsem.so"
