-- SPDX-License-Identifier: MIT
-- Shared by the busted files: a tiny generic coroutine host (the protocol
-- of docs/lua.md, as examples/lua/coro_host.c implements it in C), OS
-- threads with their own Lua states (cqueues.thread), and timing.
local qsem = require "qsem"
local cqueues = require "cqueues"

local M = {}

M.now = cqueues.monotime

-- The first count past qsem.VALUE_MAX (Lua 5.1: the next double up).
M.PAST_MAX = math.type and qsem.VALUE_MAX + 1 or 2^62

-- f() raises an argument error worded for the user: located in the
-- calling test file ('file', a Lua pattern of its name), containing 'text'.
function M.raises_at (f, file, text)
  local ok, err = pcall(f)
  assert(not ok, "no error raised")
  assert(tostring(err):match("^[^:]*" .. file .. ":%d+: "), "not located in " .. file .. ": " .. tostring(err))
  assert(err:find(text, 1, true), "'" .. text .. "' not in: " .. err)
end

-- Run the cqueues controller 'cq' until its coroutines are done (30 s at
-- most, which only a lost wake-up would reach).
function M.cq_loop (cq)
  local ok, err = cq:loop(30)
  assert(ok, err)
  assert(cq:empty(), "coroutines still waiting after 30 s")
end

-- The upvalue 'name' of the Lua function 'f', and its index (for
-- debug.setupvalue): how the LuaJIT tests reach the module's Lua parts.
function M.upvalue (f, name)
  for i = 1, 255 do
    local n, v = debug.getupvalue(f, i)
    if n == nil then break end
    if n == name then return v, i end
  end
  error("no upvalue " .. name, 2)
end

-- Sleep the OS thread without any scheduler: a semaphore nobody releases.
function M.sleep (seconds)
  assert(qsem.new(0):acquire(1, seconds) == nil)
end

-- A host in plain Lua: spawn() makes hosted coroutines, run() drives them
-- until all are done or parked forever with nothing left to wake them.
function M.host ()
  local h = { tasks = {}, results = {} }

  function h.spawn (f, ...)
    local args = table.pack(...)
    local co = qsem.hosted(coroutine.create(function () return f(table.unpack(args, 1, args.n)) end))
    h.tasks[co] = { runnable = true }
    return co
  end

  -- Resume one task; returns true while it lives.
  function h.step (co)
    local t = h.tasks[co]
    local r = table.pack(coroutine.resume(co))
    if not r[1] then error(r[2], 0) end
    if coroutine.status(co) == "dead" then
      h.tasks[co] = nil
      h.results[co] = table.pack(table.unpack(r, 2, r.n))
      return false
    end
    if r[2] == qsem.WAIT then
      t.runnable = false
      local left = r[3]:timeout()
      t.deadline = left and M.now() + left
    else
      t.runnable = true
    end
    return true
  end

  -- Run until every task is done; gives up after 'limit' seconds.
  function h.run (limit)
    local stop = M.now() + (limit or 10)
    while next(h.tasks) do
      assert(M.now() < stop, "host: tasks still waiting")
      local ran = false
      for co, t in pairs(h.tasks) do
        if t.runnable then ran = true; h.step(co) end
      end
      for _, co in ipairs(qsem.ready()) do
        if h.tasks[co] then h.tasks[co].runnable = true end
      end
      local now = M.now()
      for _, t in pairs(h.tasks) do
        if t.deadline and t.deadline <= now then t.runnable = true end
      end
      if not ran then cqueues.poll(0.0005) end   -- nothing runnable: let time pass
    end
  end

  function h.forget (co) h.tasks[co] = nil end

  return h
end

-- Run f(...) in a new OS thread with its own Lua state; returns a join
-- function that re-raises the thread's error, if any.
function M.thread (f, ...)
  local thread = require "cqueues.thread"
  local thr, con = thread.start(function (con, body, ...)
    local ok, err = pcall(load(body), ...)
    con:write(ok and "ok\n" or ("error " .. tostring(err):gsub("\n", " ") .. "\n"))
  end, string.dump(f), ...)
  return function ()
    local line = con:read("*l")
    thr:join()
    con:close()
    if line ~= "ok" then error("thread: " .. tostring(line), 2) end
  end
end

return M
