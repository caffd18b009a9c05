-- SPDX-License-Identifier: MIT
-- qsem.luv: waits on qsem semaphores in coroutines driven by a luv (libuv)
-- loop, as in luvit or Neovim.  The adapter is a host of the protocol in
-- docs/lua.md: one poll handle on the state's qsem.pollfd() for every wait,
-- and one luv timer per wait that has a deadline.
--
--   local qluv = require "qsem.luv"
--   local pool = qsem.new(4)
--   qluv.spawn(function ()
--     local conn, err = pool:hold(1, 2.5)   -- the loop keeps running meanwhile
--     ...
--   end)
--   qluv.run()                             -- uv.run(), then raise a task's error
--
-- Coroutines the adapter runs must be resumed through qluv.resume() when
-- other code (a luv callback) resumes them, so that a qsem wait after that
-- still parks with the adapter.  qsem.cancel(co) ends a parked wait (its
-- acquire returns nil, "cancelled"); under Lua 5.4 qluv.close(co) closes the
-- coroutine (a bare coroutine.close(co) would leave the loop waiting).  Releases may come from anywhere: this state, another Lua state,
-- another OS thread (uv.new_thread).

local qsem = require "qsem"
local uv = require "luv"

local coroutine, error, select, math = coroutine, error, select, math
local WAIT = qsem.WAIT

local M = {}

-- co -> the luv timer of its deadline, or false for a wait without one
local parked = {}
local nparked = 0
-- the poll handle on qsem.pollfd(), made on the first wait
local poller
-- the first error a task raised, for run()
local failure

local resume

local function unpark (co)
  local t = parked[co]
  if t == nil then return end
  parked[co] = nil
  nparked = nparked - 1
  if t then t:stop(); t:close() end
  if nparked == 0 then poller:stop() end   -- let uv.run() return
end

local function wake (co)
  unpark(co)
  if coroutine.status(co) == "suspended" then resume(co) end
end

local function onready ()
  local ready = qsem.ready()
  for i = 1, #ready do
    if parked[ready[i]] ~= nil then wake(ready[i]) end
  end
end

local function park (co, w)
  if poller == nil then poller = uv.new_poll(qsem.pollfd()) end
  if nparked == 0 then poller:start("r", onready) end
  nparked = nparked + 1
  local left = w:timeout()
  local t = false
  if left then
    t = uv.new_timer()
    -- rounded up: a resume before the deadline only parks again
    t:start(math.ceil(left * 1000), 0, function () wake(co) end)
  end
  parked[co] = t
end

local function after (co, ok, ...)
  if not ok then
    failure = failure or (...)
    return false, ...
  end
  if (...) == WAIT and select("#", ...) == 2 and coroutine.status(co) == "suspended" then
    unpark(co)   -- a wait again after an early resume
    park(co, select(2, ...))
    return true
  end
  return true, ...
end

-- resume(co, ...): coroutine.resume for coroutines of the adapter: a qsem
-- wait parks with the loop and returns true; other values pass through.
function resume (co, ...)
  unpark(co)
  return after(co, coroutine.resume(co, ...))
end
M.resume = resume

-- spawn(fn, ...): run fn(...) in a new coroutine now, until it waits;
-- returns the coroutine.
function M.spawn (fn, ...)
  local co = qsem.hosted(coroutine.create(fn))
  resume(co, ...)
  return co
end

-- run([mode]): uv.run(mode); then, if a task of the adapter raised, raise
-- the first such error (once).
function M.run (mode)
  local r = uv.run(mode)
  if failure ~= nil then
    local e = failure
    failure = nil
    error(e, 0)
  end
  return r
end

-- close(co): coroutine.close(co) for a coroutine of the adapter (Lua 5.4):
-- its wait ends with no token lost, and the loop forgets it.
if coroutine.close then
  function M.close (co)
    unpark(co)
    return coroutine.close(co)
  end
end

-- How many coroutines wait on the loop now.
function M.waiting ()
  return nparked
end

return M
