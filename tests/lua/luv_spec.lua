-- SPDX-License-Identifier: MIT
-- qsem.luv: coroutines driven by a luv loop wait on qsem without blocking
-- it; timeouts run on luv timers; releases come from this state, from
-- qsem.cancel(), or from uv.new_thread states on other OS threads.
local qsem = require "qsem"
local qluv = require "qsem.luv"
local uv = require "luv"

local function after (ms, fn)
  local t = uv.new_timer()
  t:start(ms, 0, function () t:close(); fn() end)
end

describe("qsem.luv", function ()
  it("parks a waiting coroutine and resumes it on a release", function ()
    local s = qsem.new(0)
    local order = {}
    qluv.spawn(function ()
      order[#order + 1] = "wait"
      assert.is_true(s:acquire(2))
      order[#order + 1] = "got"
    end)
    assert.equals(1, qluv.waiting())
    after(10, function () order[#order + 1] = "release"; s:release(2) end)
    qluv.run()   -- returns: nothing waits any more
    assert.same({ "wait", "release", "got" }, order)
    assert.equals(0, qluv.waiting())
    assert.equals(0, s:available())
  end)

  it("times out with a luv timer, not early, taking nothing", function ()
    local s = qsem.new(0)
    local res, took
    qluv.spawn(function ()
      local t0 = uv.hrtime()
      res = { s:acquire(1, 0.05) }
      took = (uv.hrtime() - t0) / 1e9
    end)
    qluv.run()
    assert.same({ nil, "timeout" }, res)
    assert.is_true(took >= 0.05, "woke after " .. took .. " s")
    assert.equals(0, s:waiting())
    s:release(1)
    assert.equals(1, s:available())
  end)

  it("serves many coroutines through a small pool, counting every token", function ()
    local s = qsem.new(3, { max = 3 })
    local inside, most, done, timedout = 0, 0, 0, 0
    for i = 1, 300 do
      qluv.spawn(function ()
        local g, err = s:hold(1, i % 10 == 0 and 0.001 or nil)
        if not g then
          assert.equals("timeout", err)
          timedout = timedout + 1
          return
        end
        inside = inside + 1
        most = math.max(most, inside)
        local co = coroutine.running()
        after(1, function () qluv.resume(co) end)
        coroutine.yield()   -- a luv callback of our own resumes it
        inside = inside - 1
        g:release()
        done = done + 1
      end)
    end
    qluv.run()
    assert.equals(300, done + timedout)
    assert.is_true(most <= 3)
    assert.equals(3, s:available())
    assert.equals(0, s:waiting())
  end)

  it("wakes a coroutine with a release from a uv.new_thread state", function ()
    local s = qsem.new(0)
    assert(qsem.publish("luv.cross", s))
    local got
    qluv.spawn(function () got = { s:acquire(1, 10) } end)
    local thread = uv.new_thread(function (name)
      local q = require "qsem"
      local t = q.open(name)
      local u = require "luv"
      while t:waiting() == 0 do u.sleep(1) end
      t:release(1)
    end, "luv.cross")
    qluv.run()
    thread:join()
    qsem.unpublish("luv.cross")
    assert.same({ true }, got)
    assert.equals(0, s:available())
  end)

  it("ends a wait with qsem.cancel(), and the loop returns", function ()
    local s = qsem.new(0)
    local co, res
    co = qluv.spawn(function () res = { s:acquire(1) } end)
    after(5, function () assert.is_true(qsem.cancel(co)) end)
    qluv.run()
    assert.same({ nil, "cancelled" }, res)
    assert.equals(0, s:waiting())
  end)

  it("gives a grant in flight on to the next waiter when cancelled", function ()
    local s = qsem.new(0)
    local a, b, ra, rb
    a = qluv.spawn(function () ra = { s:acquire(1) } end)
    b = qluv.spawn(function () rb = { s:acquire(1) } end)
    after(5, function ()
      s:release(1)          -- to a, not yet resumed
      qsem.cancel(a)        -- so it goes on to b
    end)
    qluv.run()
    assert.same({ nil, "cancelled" }, ra)
    assert.same({ true }, rb)
    assert.equals(0, s:available())
  end)

  if coroutine.close then
    it("closes a parked coroutine with qluv.close(), and the loop returns", function ()
      local s = qsem.new(0)
      local co = qluv.spawn(function () return s:acquire(1) end)
      after(5, function () assert.is_true(qluv.close(co)) end)
      qluv.run()
      assert.equals(0, s:waiting())
      assert.equals(0, qluv.waiting())
    end)

    it("qluv.close() of a task inside s:with() gives the tokens back at once", function ()
      local s = qsem.new(1)
      local co = qluv.spawn(function ()
        return s:with(1, function () coroutine.yield() end)   -- resumed by nobody
      end)
      local seen
      after(5, function ()
        assert.equals(0, s:available())
        assert.is_true(qluv.close(co))
        seen = s:available()
      end)
      qluv.run()
      assert.equals(1, seen)   -- not left for the collector
      assert.equals(0, qluv.waiting())
    end)
  end

  it("raises a task's error from run()", function ()
    local s = qsem.new(0)
    qluv.spawn(function () s:acquire(1); error("task failed") end)
    after(5, function () s:release(1) end)
    assert.error_matches(function () qluv.run() end, "task failed")
  end)
end)
