#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Install test of the Lua front end: the rockspec as LuaRocks publishes it.
#
#   1. the rockspec's version is csrc/qsem_version.h's, and it passes
#      `luarocks lint`;
#   2. `luarocks pack` of the rockspec (its source pointed at a tarball of
#      this tree) makes a source rock, and `luarocks install` of that rock
#      into a temporary tree builds and installs it;
#   3. `luarocks make` in a copy of the tree leaves nothing behind in it;
#   4. the installed qsem.so exports luaopen_qsem alone and links no liblua;
#   5. lua5.4 runs a program written here, outside the repository, against
#      that tree alone.
#
# Debian's luarocks is unpacked into the scratch directory unless a
# luarocks is installed: installing the package would point /usr/bin/lua at
# Lua 5.1 for the whole machine.  Needs QSEM_SOURCE_DIR (QSEM_BUILD_DIR is
# not used: LuaRocks builds from the sources).
set -euo pipefail

src=${QSEM_SOURCE_DIR:?QSEM_SOURCE_DIR must name the repository root}
work=$(mktemp -d "${TMPDIR:-/tmp}/qsem-lua-install.XXXXXX")
trap 'rm -rf "$work"' EXIT

fail () { echo "tests/install/lua.sh: $*" >&2; exit 1; }

# The version, from the one place it is written.
version=$(sed -n 's/^#define QSEM_VERSION_STRING "\(.*\)"$/\1/p' "$src/csrc/qsem_version.h")
[ -n "$version" ] || fail "no QSEM_VERSION_STRING in csrc/qsem_version.h"
spec=$src/bindings/lua/qsem-$version-1.rockspec
[ -f "$spec" ] || fail "no rockspec for version $version: expected ${spec#"$src"/}"
grep -q "^version = \"$version-1\"$" "$spec" || fail "${spec#"$src"/} does not say version $version-1"

# LuaRocks, run by lua5.4 (never `lua`).
if command -v luarocks >/dev/null 2>&1; then
  luarocks () { command luarocks --lua-version=5.4 "$@"; }
else
  mkdir -p "$work/lr"
  (cd "$work/lr" && { apt-get download luarocks >/dev/null 2>&1 ||
     { apt-get update -qq && apt-get download luarocks >/dev/null; }; } &&
     dpkg -x luarocks_*.deb root) || fail "cannot unpack Debian's luarocks"
  lrshare=$work/lr/root/usr/share/lua/5.4
  [ -d "$lrshare/luarocks" ] || lrshare=$work/lr/root/usr/share/lua/5.1
  luarocks () {
    env -u LUA_PATH_5_4 -u LUA_CPATH_5_4 \
      LUA_PATH="$lrshare/?.lua;$lrshare/?/init.lua;;" \
      LUAROCKS_SYSCONFDIR="$work/lr/root/etc/luarocks" \
      lua5.4 "$work/lr/root/usr/bin/luarocks" --lua-version=5.4 "$@"
  }
fi

luarocks lint "$spec" >"$work/lint.log" 2>&1 || { cat "$work/lint.log"; fail "luarocks lint failed"; }

# A tarball of the files of the tree as they are now (ignored ones left
# out), as a release would hold.
(cd "$src" && git ls-files -z --cached --others --exclude-standard) | tar -C "$src" --null -T - \
  --transform "s,^,qsem-$version/," -czf "$work/qsem-$version.tar.gz"
mkdir -p "$work/pack"
sed -e "s|^   url = .*|   url = \"file://$work/qsem-$version.tar.gz\",|" \
    -e "s|^   tag = .*|   dir = \"qsem-$version\",|" "$spec" >"$work/pack/qsem-$version-1.rockspec"
(cd "$work/pack" && luarocks pack "qsem-$version-1.rockspec") >"$work/pack.log" 2>&1 ||
  { cat "$work/pack.log"; fail "luarocks pack failed"; }
rock=$work/pack/qsem-$version-1.src.rock
[ -f "$rock" ] || { cat "$work/pack.log"; fail "luarocks pack made no $(basename "$rock")"; }

tree=$work/tree
luarocks --tree "$tree" install "$rock" >"$work/install.log" 2>&1 ||
  { cat "$work/install.log"; fail "luarocks install of the packed rock failed"; }

# `luarocks make` from a copy of the tree must leave it as it was.
mkdir -p "$work/copy"
tar -C "$work/copy" -xzf "$work/qsem-$version.tar.gz"
copy=$work/copy/qsem-$version
(cd "$copy" && find . -type f | sort) >"$work/before"
(cd "$copy" && luarocks --tree "$work/tree2" make "bindings/lua/qsem-$version-1.rockspec") \
  >"$work/make.log" 2>&1 || { cat "$work/make.log"; fail "luarocks make failed"; }
(cd "$copy" && find . -type f | sort) >"$work/after"
diff -u "$work/before" "$work/after" >"$work/left" || { cat "$work/left"; fail "luarocks make left files in the source tree"; }

so=$(find "$tree" -name qsem.so | head -n 1)
[ -n "$so" ] || fail "the rock installed no qsem.so"
exported=$(nm -D --defined-only "$so" | awk '$2 ~ /^[TDBR]$/ { print $3 }' | sort | tr '\n' ' ')
[ "$exported" = "luaopen_qsem " ] || fail "qsem.so exports: $exported(want luaopen_qsem alone)"
if grep -q liblua <<<"$(ldd "$so")"; then fail "qsem.so links liblua: it must not"; fi

# A program of the user's, outside the repository, with the tree's paths only.
cat >"$work/app.lua" <<'LUA'
local qsem = require "qsem"
local semaphore = require "qsem.ngx"
assert(package.searchpath("qsem", package.cpath):find(os.getenv("TREE"), 1, true), "qsem.so is not the tree's")
local s = qsem.new(2, { max = 2 })
assert(s:acquire(2) == true and s:available() == 0)
assert(select(2, s:try_acquire()) == "timeout")
s:release(2)
assert(s:with(1, function (x) return x * 2 end, 21) == 42)
local sema = semaphore.new(1)
assert(sema:wait(0) == true and select(2, sema:wait(0)) == "timeout")
local co = qsem.hosted(coroutine.create(function () return s:acquire(3 - 1, 5) end))
assert(s:acquire(2))
local _, tag = coroutine.resume(co)
assert(tag == qsem.WAIT)
s:release(2)
assert(qsem.ready()[1] == co)
assert(select(2, coroutine.resume(co)) == true)
print("qsem " .. qsem.VERSION .. " (" .. qsem.backend .. ") from the installed rock: ok")
LUA
TREE=$tree LUA_PATH_5_4="$tree/share/lua/5.4/?.lua;$tree/share/lua/5.4/?/init.lua" \
LUA_CPATH_5_4="$tree/lib/lua/5.4/?.so" \
  lua5.4 "$work/app.lua" || fail "the program against the installed rock failed"
