-- SPDX-License-Identifier: MIT
-- qsem.ngx: qsem with the API shape of OpenResty's ngx.semaphore, so that
-- code written for it switches with one line:
--
--   local semaphore = require "qsem.ngx"     -- was: require "ngx.semaphore"
--   local sema = semaphore.new(0)
--   local ok, err = sema:wait(1)             -- true, or nil and "timeout"
--   sema:post(1)
--
-- A wait cooperates wherever qsem's acquire does (cqueues, qsem.luv, a host
-- that follows the protocol of docs/lua.md) and blocks its OS thread
-- elsewhere.  Unlike ngx.semaphore, a semaphore can be shared with other
-- Lua states and OS threads: sema.sem is the qsem.Semaphore underneath.

local qsem = require "qsem"

local error, type, tonumber, getmetatable, setmetatable, pcall =
  error, type, tonumber, getmetatable, setmetatable, pcall

-- Errors of qsem's calls below are the user's call's: 'err' without the
-- place in this file that qsem gave it, naming 'name' instead of qsem's
-- 'qname', raised at the caller of the function that called this one.
local function reraise (err, qname, name)
  if type(err) == "string" then
    err = err:gsub("^.-:%d+: ", "", 1):gsub("to '" .. qname .. "'", "to '" .. name .. "'", 1)
  end
  error(err, 3)
end

-- Not tail calls: the messages name the function called here.
local function new (n) local sem = qsem.new(n); return sem end
local function release (sem, n) sem:release(n) end

local M = { _VERSION = qsem.VERSION }

local Sema = {}
Sema.__index = Sema
Sema.__name = "qsem.ngx.Semaphore"

-- new(n): a semaphore with n resources (default 0).  Bad counts raise, as
-- every qsem constructor does.
function M.new (n)
  local ok, sem = pcall(new, n or 0)
  if not ok then reraise(sem, "new", "new") end
  return setmetatable({ sem = sem }, Sema)
end

-- As ngx.semaphore, each method first checks that it was called on a
-- semaphore of this module.
local function check (self)
  if getmetatable(self) ~= Sema then error("not a semaphore instance", 3) end
end

-- post(n): release n resources (default 1); true.  As ngx.semaphore, n must
-- be at least 1 and may be a numeric string; as every qsem count, a whole
-- number.  Argument errors name post at the caller's line, as
-- ngx.semaphore's do.
function Sema:post (n)
  check(self)
  n = n == nil and 1 or tonumber(n) or n
  if type(n) ~= "number" or not (n >= 1) then
    error("positive number required", 2)
  end
  if n % 1 ~= 0 then
    error("bad argument #1 to 'post' (number has no integer representation)", 2)
  end
  local ok, err = pcall(release, self.sem, n)
  if not ok then reraise(err, "release", "post") end
  return true
end

-- wait(timeout): take one resource, waiting up to 'timeout' seconds (0:
-- do not wait); true, or nil and "timeout" (also "closed" or "cancelled",
-- qsem's other outcomes).  As ngx.semaphore, the timeout is required and
-- must not be negative; a numeric string is its number.
function Sema:wait (timeout)
  check(self)
  timeout = tonumber(timeout) or timeout
  if type(timeout) ~= "number" then
    error("bad argument #1 to 'wait' (number expected, got " .. type(timeout) .. ")", 2)
  end
  if timeout ~= timeout then
    error("bad argument #1 to 'wait' (timeout is NaN)", 2)
  end
  if timeout < 0 then
    error("no negative number", 2)
  end
  return self.sem:acquire(1, timeout)
end

-- count(): the resources free now, or, when negative, how many waiters
-- there are (as ngx.semaphore).
function Sema:count ()
  check(self)
  return self.sem:available() - self.sem:waiting()
end

return M
