-- SPDX-License-Identifier: MIT
-- The Lua part of `make demo`:
--   LUA_CPATH_5_4="<build>/bindings/lua/?.so;;" lua5.4 examples/lua_demo.lua
--
-- 1. A cqueues controller runs 2000 coroutines that share a pool of four
--    connections; some give up after a deadline.  The OS thread is never
--    blocked: a ticker coroutine keeps running throughout.
-- 2. An OS-thread hand-over: the semaphore is published by name, a second
--    Lua state on its own OS thread (cqueues.thread) opens it, and the two
--    pass the turn back and forth, each waiting on its own OS thread.
local qsem = require "qsem"
local cqueues = require "cqueues"
local thread = require "cqueues.thread"

-- {===== 1. many coroutines, a small pool, timeouts
local POOL, CLIENTS = 4, 2000
local pool = qsem.new(POOL, { max = POOL })
local cq = cqueues.new()
local served, gave_up, ticks, busiest, busy = 0, 0, 0, 0, 0
local t0 = cqueues.monotime()
for i = 1, CLIENTS do
  cq:wrap(function ()
    local deadline = i % 4 == 0 and 0.002 or nil   -- one in four is in a hurry
    local conn <close>, err = pool:hold(1, deadline)
    if not conn then gave_up = gave_up + 1; return end
    busy = busy + 1
    busiest = math.max(busiest, busy)
    cqueues.sleep(0)   -- "use the connection"
    busy = busy - 1
    served = served + 1
  end)
end
cq:wrap(function ()
  while served + gave_up < CLIENTS do ticks = ticks + 1; cqueues.sleep(0.001) end
end)
assert(cq:loop())
print(("cqueues: %d coroutines, pool of %d: %d served, %d gave up, at most %d busy, "
       .. "%d ticks of the ticker, %.0f ms"):format(CLIENTS, POOL, served, gave_up, busiest,
       ticks, (cqueues.monotime() - t0) * 1000))
assert(pool:available() == POOL and busiest <= POOL)
-- }=====

-- {===== 2. hand-over between OS threads
local ping, pong = qsem.new(0), qsem.new(0)
assert(qsem.publish("demo.ping", ping))
assert(qsem.publish("demo.pong", pong))
local ROUNDS = 10000
local thr, con = thread.start(function (con, rounds)
  local q = require "qsem"
  local ping, pong = assert(q.open("demo.ping")), assert(q.open("demo.pong"))
  for _ = 1, rounds do
    assert(ping:acquire())   -- blocks this OS thread until the main one releases
    pong:release()
  end
  con:write("done\n")
end, ROUNDS)
t0 = cqueues.monotime()
for _ = 1, ROUNDS do
  ping:release()
  assert(pong:acquire(1, 10))
end
local dt = cqueues.monotime() - t0
assert(con:read("*l") == "done")
thr:join()
qsem.unpublish("demo.ping")
qsem.unpublish("demo.pong")
print(("threads: %d round trips between two Lua states on two OS threads, %.1f us each"):format(
  ROUNDS, dt * 1e6 / ROUNDS))
-- }=====
