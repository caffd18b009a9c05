#!/bin/sh
# `luarocks make` of the rockspec with Debian's luarocks and Lua 5.4, then
# `require "qsem"` from the tree it installed into.  Debian's luarocks is
# unpacked into a scratch folder instead of installed: installing it would
# point /usr/bin/lua at Lua 5.1 for the whole machine.
#   luarocks_make.sh <repo root> <scratch dir>
set -eu
src=$1
work=$2
rm -rf "$work"
mkdir -p "$work/root" "$work/tree"
cd "$work"
apt-get download luarocks >/dev/null 2>&1 || { apt-get update -qq && apt-get download luarocks >/dev/null; }
dpkg -x luarocks_*.deb root
share=$work/root/usr/share/lua/5.4
[ -d "$share/luarocks" ] || share=$work/root/usr/share/lua/5.1
export LUA_PATH="$share/?.lua;$share/?/init.lua;;"
# The unpacked luarocks reads its system config from /etc, which is not
# there: give it the one from the package.
export LUAROCKS_SYSCONFDIR="$work/root/etc/luarocks"
cd "$src"
lua5.4 "$work/root/usr/bin/luarocks" --lua-version=5.4 --tree "$work/tree" \
    make bindings/lua/qsem-0.1.0-1.rockspec >"$work/make.log" 2>&1 || { cat "$work/make.log"; exit 1; }
so=$(find "$work/tree" -name qsem.so | head -n 1)
[ -n "$so" ] || { echo "luarocks make installed no qsem.so"; cat "$work/make.log"; exit 1; }
if nm -D "$so" | grep -q " U lua_"; then :; else echo "qsem.so does not import the Lua API"; exit 1; fi
if ldd "$so" | grep -q liblua; then echo "qsem.so links liblua: it must not"; exit 1; fi
LUA_CPATH="$(dirname "$so")/?.so" lua5.4 -e '
  local qsem = require "qsem"
  local s = qsem.new(2)
  assert(s:acquire(2) == true and s:available() == 0)
  assert(select(2, s:try_acquire()) == "timeout")
  s:release(2)
  assert(s:available() == 2)
  print("luarocks make: qsem " .. qsem.VERSION .. " (" .. qsem.backend .. ") built and loaded from " .. package.searchpath("qsem", package.cpath))
'
