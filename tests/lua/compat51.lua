-- SPDX-License-Identifier: MIT
-- Loaded by busted (--helper) when the suites run under LuaJIT: the few
-- Lua 5.2+ library functions the suites use, written for Lua 5.1.
table.pack = table.pack or function (...)
  return { n = select("#", ...), ... }
end
table.unpack = table.unpack or unpack
