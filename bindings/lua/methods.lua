-- SPDX-License-Identifier: MIT
-- Methods of qsem.Semaphore written in Lua, embedded in the module at build
-- time and run once by luaopen_qsem with the method table.  Plain Lua 5.1
-- to 5.4.

-- 'run', if given (Lua 5.4, lqsem.c), is the body of with that keeps the
-- guard in a to-be-closed slot.
local meths, run = ...
local error, pcall, type, getmetatable = error, pcall, type, getmetatable

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

-- An argument error of hold, worded as with's (hold checks the arguments
-- they share), or nil for any other error.
local function as_with (err)
  if type(err) ~= "string" then return nil end
  local head, tail = err:match("(bad argument #%d+ to ')[^']+(' %(.*%))$")
  if not head then head, tail = err:match("(calling ')[^']+(' on bad self.*)$") end
  return head and head .. "with" .. tail
end

-- s:with(n, fn, ...): take n tokens (waiting as acquire does), run
-- fn(...), and give the tokens back however fn ends; fn's results, or fail
-- plus "closed" or "cancelled" if the tokens could not be taken.  An error
-- of fn goes on, unchanged, once the tokens are back.
function meths.with (s, n, fn, ...)
  local mt = getmetatable(s)
  if type(mt) ~= "table" or mt.__index ~= meths then   -- s:hold would find no hold
    error("bad argument #1 to 'with' (qsem.Semaphore expected, got " .. typename(s) .. ")", 2)
  end
  if not callable(fn) then
    error("bad argument #2 to 'with' (function expected, got " .. type(fn) .. ")", 2)
  end
  -- a method call, which hold's errors count and name as such (not a
  -- tail call: called from pcall, it would count as a plain call); it
  -- may yield, which pcall allows from Lua 5.2 on and in LuaJIT
  local ok, g, err = pcall(function ()
    local guard, why = s:hold(n)
    return guard, why
  end)
  if not ok then
    local mine = as_with(g)
    if mine then error(mine, 2) end
    if type(g) == "string" and g:find(DROPPED, 1, true) then error(DROPPED, 2) end
    error(g, 0)
  end
  if not g then return nil, err end
  return run(g, fn, ...)
end
