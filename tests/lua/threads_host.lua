-- SPDX-License-Identifier: MIT
-- Scenarios for threads_host.c: one semaphore, several Lua states, one
-- OS thread each.  The states reach the semaphore by name (qsem.publish /
-- qsem.open); each state holds its own handle.
local qsem = require "qsem"

local ROUNDS = 2000

local function pingpong (i, ping, pong)
  for _ = 1, ROUNDS do
    if i % 2 == 1 then
      ping:release()
      assert(pong:acquire(1, 10) == true, "pong never came")
    else
      assert(ping:acquire(1, 10) == true, "ping never came")
      pong:release()
    end
  end
end

local function gone (name)
  local s, err = qsem.open(name)
  assert(s == nil and err == "not found", "still published: " .. name)
end

local scenarios = {}

-- Waits block their OS thread until another state's thread releases.
scenarios.pingpong = {
  setup = function ()
    assert(qsem.publish("tp.ping", qsem.new(0)))
    assert(qsem.publish("tp.pong", qsem.new(0)))
  end,
  worker = function (i, n)
    assert(n % 2 == 0, "pingpong needs an even number of threads")
    -- thread pairs (1,2), (3,4)... share the two semaphores
    pingpong(i, assert(qsem.open("tp.ping")), assert(qsem.open("tp.pong")))
  end,
  check = function ()
    local ping, pong = qsem.open("tp.ping"), qsem.open("tp.pong")
    assert(ping:available() == 0 and pong:available() == 0, "tokens left over")
    assert(ping:waiting() == 0 and pong:waiting() == 0, "waiters left over")
    assert(qsem.unpublish("tp.ping") and qsem.unpublish("tp.pong"))
  end,
  after = function ()
    gone("tp.ping")
    gone("tp.pong")
  end,
}

-- Token conservation: every mix of acquire, try, timeouts and guards in
-- every thread leaves the pool as it started.
local function stress (fair)
  local POOL = 5
  return {
    setup = function ()
      assert(qsem.publish("ts.pool", qsem.new(POOL, { max = POOL, fair = fair })))
    end,
    worker = function (i)
      local pool = assert(qsem.open("ts.pool"))
      math.randomseed(i * 7919)
      local got = 0
      for _ = 1, 3000 do
        local n = math.random(1, 3)
        local pick = math.random(4)
        if pick == 1 then
          if pool:acquire(n, math.random() * 0.002) then
            got = got + 1
            pool:release(n)
          end
        elseif pick == 2 then
          if pool:try_acquire(n) then
            got = got + 1
            pool:release(n)
          end
        elseif pick == 3 then
          local g <close> = pool:hold(n, 0.001)
          if g then got = got + 1 end
        else
          assert(pool:acquire(n) == true)
          got = got + 1
          pool:release(n)
        end
      end
      assert(got > 0, "worker " .. i .. " never got a token")
    end,
    check = function ()
      local pool = qsem.open("ts.pool")
      assert(pool:available() == POOL, "tokens lost or made: " .. pool:available())
      assert(pool:waiting() == 0, "waiters left over")
      assert(qsem.unpublish("ts.pool"))
    end,
    after = function () gone("ts.pool") end,
  }
end
scenarios.stress = stress(false)
scenarios.stress_fair = stress(true)

-- The state that made the semaphore closes first; the others carry on
-- with their own handles, and the last one to close frees it.
scenarios.orphan = {
  setup = function ()
    assert(qsem.publish("to.ping", qsem.new(0)))
    assert(qsem.publish("to.pong", qsem.new(0)))
    assert(qsem.publish("to.opened", qsem.new(0)))
  end,
  worker = function (i, n)
    local ping, pong = assert(qsem.open("to.ping")), assert(qsem.open("to.pong"))
    assert(qsem.open("to.opened")):release()
    pingpong(i, ping, pong)
    assert(not ping:is_closed(), "closed under a live handle")
  end,
  middle = function (_, n)
    assert(assert(qsem.open("to.opened")):acquire(n, 30), "workers never opened")
    assert(qsem.unpublish("to.ping") and qsem.unpublish("to.pong") and qsem.unpublish("to.opened"))
    collectgarbage()
    return "close"
  end,
  after = function ()
    gone("to.ping")
    gone("to.pong")
  end,
}

return scenarios
