-- SPDX-License-Identifier: MIT
-- Methods of qsem.Semaphore written in Lua, embedded in the module at build
-- time and run once by luaopen_qsem with the method table.  Plain Lua 5.1
-- to 5.4.

-- 'run', if given (Lua 5.4, lqsem.c), is the body of with that keeps the
-- guard in a to-be-closed slot.
local meths, run = ...
local error, pcall, type, getmetatable, tonumber = error, pcall, type, getmetatable, tonumber
local getinfo = debug and debug.getinfo

local function callable (f)
  if type(f) == "function" then return true end
  local mt = getmetatable(f)
  return type(mt) == "table" and mt.__call ~= nil
end

-- The name of a value's type in messages, as lauxlib gives it.
local function typename (v)
  local mt = getmetatable(v)
  if type(mt) == "table" and type(mt.__name) == "string" then return mt.__name end
  return type(v)
end

local function finish (g, ok, ...)
  g:release()
  if not ok then error((...), 0) end
  return ...
end

-- run(g, fn, ...): fn(...), with the guard g released however fn ends.
-- Lua 5.4 gives run in C, which also releases g when coroutine.close()
-- closes a coroutine suspended in fn; before 5.4 nothing can see that.
run = run or function (g, fn, ...)
  return finish(g, pcall(fn, ...))
end

-- hold's error for a dropped semaphore, located at hold's caller, which is
-- here: with raises it at its own caller.
local DROPPED = "attempt to use a dropped semaphore"

-- Raise with's error for its argument i (s is #1), at with's caller, as
-- luaL_argerror words a C function's: called as a method (s:with), s is
-- "self" and the others count from n.  Called by with itself, and only
-- when there is an error: asking how with was called costs more than with.
local function argerror (i, msg)
  if getinfo ~= nil and getinfo(2, "n").namewhat == "method" then
    i = i - 1
    if i == 0 then error("calling 'with' on bad self (" .. msg .. ")", 3) end
  end
  error(("bad argument #%d to 'with' (%s)"):format(i, msg), 3)
end

-- hold's argument error (for s:hold(n): n is its #1), as the index and
-- message of with's same argument, or nil for any other error.
local function hold_argerror (err)
  if type(err) ~= "string" then return nil end
  local i, msg = err:match("bad argument #(%d+) to '[^']+' %((.*)%)$")
  if i then return tonumber(i) + 1, msg end
end

-- s:with(n, fn, ...): take n tokens (waiting as acquire does), run
-- fn(...), and give the tokens back however fn ends; fn's results, or fail
-- plus "closed" or "cancelled" if the tokens could not be taken.  An error
-- of fn goes on, unchanged, once the tokens are back.
function meths.with (s, n, fn, ...)
  local mt = getmetatable(s)
  if type(mt) ~= "table" or mt.__index ~= meths then   -- s:hold would find no hold
    argerror(1, "qsem.Semaphore expected, got " .. typename(s))
  end
  if not callable(fn) then
    argerror(3, "function expected, got " .. type(fn))
  end
  -- a method call, which hold's errors count and name as such (not a
  -- tail call: called from pcall, it would count as a plain call); it
  -- may yield, which pcall allows from Lua 5.2 on and in LuaJIT
  local ok, g, err = pcall(function ()
    local guard, why = s:hold(n)
    return guard, why
  end)
  if not ok then
    local i, msg = hold_argerror(g)
    if i then argerror(i, msg) end
    if type(g) == "string" and g:find(DROPPED, 1, true) then error(DROPPED, 2) end
    error(g, 0)
  end
  if not g then return nil, err end
  return run(g, fn, ...)
end
