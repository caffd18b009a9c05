-- SPDX-License-Identifier: MIT
-- Methods of qsem.Semaphore written in Lua, embedded in the module at build
-- time and run once by luaopen_qsem with the method table.  Plain Lua 5.1
-- to 5.4.

local meths = ...
local error, pcall, type, getmetatable = error, pcall, type, getmetatable

local function callable (f)
  if type(f) == "function" then return true end
  local mt = getmetatable(f)
  return type(mt) == "table" and mt.__call ~= nil
end

local function finish (g, ok, ...)
  g:release()
  if not ok then error((...), 0) end
  return ...
end

-- s:with(n, fn, ...): take n tokens (waiting as acquire does), run
-- fn(...), and give the tokens back however fn ends; fn's results, or fail
-- plus "closed" or "cancelled" if the tokens could not be taken.  An error
-- of fn goes on, unchanged, once the tokens are back.
function meths.with (s, n, fn, ...)
  if not callable(fn) then
    error("bad argument #2 to 'with' (function expected, got " .. type(fn) .. ")", 2)
  end
  local g, err = s:hold(n)
  if not g then return nil, err end
  return finish(g, pcall(fn, ...))
end
