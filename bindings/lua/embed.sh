#!/bin/sh
# SPDX-License-Identifier: MIT
# embed.sh NAME FILE: print FILE as a C array NAME[] of its bytes and a
# final NUL, so that a Lua source file is compiled into the module.
# Portable sh and od; the one way every build (CMake, the rockspec)
# embeds the module's Lua code.
set -eu
name=$1
file=$2
printf '/* generated from %s by embed.sh: do not edit */\n' "${file##*/}"
printf 'static const char %s[] = {\n' "$name"
od -An -v -tx1 "$file" | sed -e 's/[[:space:]]*\([0-9a-f][0-9a-f]\)/0x\1,/g' -e 's/^/  /'
printf '  0x00\n};\n'
