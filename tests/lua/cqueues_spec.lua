-- SPDX-License-Identifier: MIT
local qsem = require "qsem"
local cqueues = require "cqueues"
local helper = require "helper"

local loop = helper.cq_loop

describe("under cqueues", function ()
  it("a waiting acquire does not block the controller's thread", function ()
    local s = qsem.new(0)
    local cq = cqueues.new()
    local order = {}
    cq:wrap(function ()
      order[#order + 1] = "wait"
      assert.is_true(s:acquire())
      order[#order + 1] = "got"
    end)
    cq:wrap(function ()
      order[#order + 1] = "other runs"
      cqueues.sleep(0.02)
      order[#order + 1] = "release"
      s:release()
    end)
    loop(cq)
    -- cqueues picks the start order; what matters is that the waiter let
    -- the other coroutine run, and got its token only from that release
    assert.equals(4, #order)
    assert.equals("release", order[3])
    assert.equals("got", order[4])
  end)

  it("thousands of coroutines share a small pool, with timeouts", function ()
    local POOL, N = 4, 3000
    local s = qsem.new(POOL, { max = POOL })
    local cq = cqueues.new()
    local held, most, served, timedout = 0, 0, 0, 0
    for i = 1, N do
      cq:wrap(function ()
        local impatient = i % 7 == 0
        local g, err = s:hold(1, impatient and 0.001 or nil)
        if not g then
          assert.equals("timeout", err)
          timedout = timedout + 1
          return
        end
        held = held + 1
        most = math.max(most, held)
        cqueues.sleep(0)
        held = held - 1
        g:release()
        served = served + 1
      end)
    end
    loop(cq)
    assert.is_true(most <= POOL)
    assert.equals(N, served + timedout)
    assert.is_true(served >= N - math.floor(N / 7))
    assert.equals(POOL, s:available())
    assert.equals(0, s:waiting())
  end)

  it("a timeout is honoured, not early", function ()
    local s = qsem.new(0)
    local cq = cqueues.new()
    local took, res
    cq:wrap(function ()
      local t0 = cqueues.monotime()
      res = { s:acquire(1, 0.1) }
      took = cqueues.monotime() - t0
    end)
    loop(cq)
    assert.same({ nil, "timeout" }, res)
    assert.is_true(took >= 0.1, "early: " .. took)
    assert.is_true(took < 2, "late: " .. took)
    assert.equals(0, s:waiting())
  end)

  it("a release from another OS thread wakes a waiting coroutine", function ()
    local s = qsem.new(0)
    assert(qsem.publish("cq.cross", s))
    local cq = cqueues.new()
    local got, ticks = nil, 0
    cq:wrap(function () got = s:acquire(2, 20) end)
    cq:wrap(function ()   -- the controller stays responsive meanwhile
      while got == nil do ticks = ticks + 1; cqueues.sleep(0.01) end
    end)
    local join = helper.thread(function (name)
      local q = require "qsem"
      assert(q.new(0):acquire(1, 0.1) == nil)
      q.open(name):release(2)
    end, "cq.cross")
    loop(cq)
    join()
    assert.is_true(got)
    assert.is_true(ticks >= 3, "controller was blocked")
    qsem.unpublish("cq.cross")
  end)

  it("close() wakes every waiting coroutine with 'closed'", function ()
    local s = qsem.new(0)
    local cq = cqueues.new()
    local results = {}
    for i = 1, 50 do
      cq:wrap(function () results[i] = select(2, s:acquire(1, 10)) end)
    end
    cq:wrap(function () cqueues.sleep(0.01); s:close() end)
    loop(cq)
    for i = 1, 50 do assert.equals("closed", results[i]) end
  end)

  it("ping-pongs between two coroutines without losing a wake-up", function ()
    local ping, pong = qsem.new(0), qsem.new(0)
    local cq = cqueues.new()
    local ROUNDS, n = 2000, 0
    cq:wrap(function ()
      for _ = 1, ROUNDS do ping:release(); assert(pong:acquire(1, 5)) end
    end)
    cq:wrap(function ()
      for _ = 1, ROUNDS do assert(ping:acquire(1, 5)); n = n + 1; pong:release() end
    end)
    loop(cq)
    assert.equals(ROUNDS, n)
  end)

  -- Coroutine waits are async waiters: the default mode's starvation
  -- window needs a blocked thread to end it (docs/contract.md, "Fairness"),
  -- so among coroutines alone it is fair mode that keeps a large request
  -- from being overtaken for ever.
  it("serves a multi-token waiter among busy small ones in fair mode", function ()
    local s = qsem.new(4, { max = 4, fair = true })
    local cq = cqueues.new()
    local big, stop = nil, false
    for _ = 1, 8 do
      cq:wrap(function ()
        while not stop do
          local g = s:hold(1)
          cqueues.sleep(0.0005)
          g:release()
        end
      end)
    end
    cq:wrap(function ()
      cqueues.sleep(0.01)
      big = s:acquire(4, 5)
      if big then s:release(4) end
      stop = true
    end)
    loop(cq)
    assert.is_true(big)
    assert.equals(4, s:available())
  end)

  it("leaves the controller empty when the waits are over", function ()
    local s = qsem.new(0)
    local cq = cqueues.new()
    cq:wrap(function () s:acquire(1, 0.01) end)
    assert(cq:loop(5))
    assert.is_true(cq:empty())   -- the dispatcher left with the last waiter
  end)

  it("a coroutine that dies by an error gives its guard's tokens back", function ()
    local s = qsem.new(1)
    local cq = cqueues.new()
    cq:wrap(function ()
      local g = s:hold(1)   -- under Lua 5.4 `<close>` would not unwind here either
      cqueues.sleep(0.01)
      error("task failed")
    end)
    cq:wrap(function () assert(s:acquire(1, 5)); s:release() end)
    local ok, err = cq:loop(5)
    assert.is_false(ok)
    assert.matches("task failed", err)
    -- Lua does not unwind a coroutine that died by an error (its stack stays
    -- for debugging), so the guard is closed by the collector instead
    collectgarbage()
    collectgarbage()
    assert(cq:loop(5))
    assert.equals(1, s:available())
  end)
end)

describe("cancellation under cqueues", function ()
  it("qsem.cancel() ends a wait and cq:loop() returns", function ()
    local s = qsem.new(0)
    local cq = cqueues.new()
    local co, got
    cq:wrap(function ()
      co = coroutine.running()
      got = table.pack(s:acquire(1))
    end)
    cq:wrap(function ()
      cqueues.sleep(0.01)
      assert.is_true(qsem.cancel(co))
    end)
    loop(cq)
    assert.same({ n = 2, nil, "cancelled" }, got)
    assert.equals(0, s:waiting())
    assert.equals(0, s:available())
  end)

  it("qsem.cancel() with a grant in flight passes the tokens on", function ()
    local s = qsem.new(0)
    local cq = cqueues.new()
    local cos, results = {}, {}
    for i = 1, 2 do
      cq:wrap(function ()
        cos[i] = coroutine.running()
        results[i] = table.pack(s:hold(2))
        if results[i][1] then results[i][1]:release() end
      end)
    end
    cq:wrap(function ()
      cqueues.sleep(0.01)
      s:release(2)   -- granted to one of them, not yet resumed
      assert.is_true(qsem.cancel(cos[1]))
      assert.is_true(qsem.cancel(cos[1]) == false)
    end)
    loop(cq)
    assert.same({ n = 2, nil, "cancelled" }, results[1])
    assert.matches("^qsem%.Guard ", tostring(results[2][1]))
    assert.equals(2, s:available())
  end)

  it("qsem.cancel() from another cqueues task under load loses no token", function ()
    local s = qsem.new(2, { max = 2 })
    local cq = cqueues.new()
    local waiting = {}
    local cancelled, served = 0, 0
    for i = 1, 200 do
      cq:wrap(function ()
        local co = coroutine.running()
        waiting[co] = true
        local g, err = s:hold(1)
        waiting[co] = nil
        if g then served = served + 1; cqueues.sleep(0); g:release()
        else assert.equals("cancelled", err); cancelled = cancelled + 1 end
      end)
      if i % 3 == 0 then
        cq:wrap(function ()
          local co = next(waiting)
          if co then qsem.cancel(co) end
        end)
      end
    end
    loop(cq)
    assert.equals(200, cancelled + served)
    assert.equals(2, s:available())
    assert.equals(0, s:waiting())
  end)
end)

describe("a controller dropped while its coroutines wait", function ()
  it("takes their waits along when collected, giving grants back", function ()
    local s = qsem.new(0)
    do
      local cq = cqueues.new()
      for _ = 1, 3 do cq:wrap(function () s:acquire(1) end) end
      assert(cq:step(0))
    end
    assert.equals(3, s:waiting())
    s:release(1)   -- granted to one of them, never resumed
    collectgarbage()
    collectgarbage()
    assert.equals(0, s:waiting())
    assert.equals(1, s:available())
  end)

  -- Lua 5.1's weak keys are not ephemerons: a table that kept the waits
  -- by their coroutine kept the controller, and what was released later
  -- went to waits that nobody would resume.
  it("is collected, and later releases stay available", function ()
    local s = qsem.new(0)
    local gone = setmetatable({}, { __mode = "k" })
    do
      local cq = cqueues.new()
      gone[cq] = true
      for _ = 1, 10 do cq:wrap(function () s:hold(1) end) end
      assert(cq:step(0))
    end
    assert.equals(10, s:waiting())
    for _ = 1, 4 do collectgarbage() end
    assert.is_nil(next(gone), "the controller survived collection")
    assert.equals(0, s:waiting())
    s:release(3)
    assert.equals(3, s:available())
    assert.equals(0, s:waiting())
  end)
end)

describe("a controller kept while its coroutines wait", function ()
  it("keeps their waits through collections", function ()
    local s = qsem.new(0)
    local cq = cqueues.new()
    local got = 0
    for _ = 1, 10 do
      cq:wrap(function ()
        local g = assert(s:hold(1, 10))
        got = got + 1
        g:release()
      end)
    end
    assert(cq:step(0))
    for _ = 1, 4 do collectgarbage() end
    assert.equals(10, s:waiting())
    s:release(1)
    loop(cq)
    assert.equals(10, got)
    assert.equals(1, s:available())
    assert.equals(0, s:waiting())
  end)
end)

describe("a generator inside a cqueues coroutine", function ()
  it("blocks its OS thread instead of yielding to the consumer", function ()
    local s = qsem.new(0)
    local cq = cqueues.new()
    local seen = {}
    cq:wrap(function ()
      local gen = coroutine.wrap(function ()
        coroutine.yield("first")
        local ok, err = s:acquire(1, 0.05)   -- not hosted: a plain blocking wait
        coroutine.yield(err)
      end)
      seen[1] = gen()
      seen[2] = gen()
    end)
    loop(cq)
    assert.same({ "first", "timeout" }, seen)
  end)
end)
