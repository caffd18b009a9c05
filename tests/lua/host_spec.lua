-- SPDX-License-Identifier: MIT
local qsem = require "qsem"
local helper = require "helper"

-- These drive coroutines by hand, as a host would, to check each step of
-- the protocol in docs/lua.md.
local function spawn (f)
  return qsem.hosted(coroutine.create(f))
end

-- End a parked coroutine the way a host does on every version: cancel
-- it, take it off the ready list, and resume it so that it returns.
local function cancel (co)
  assert.is_true(qsem.cancel(co))
  qsem.ready()
  assert.same({ true, nil, "cancelled" }, { coroutine.resume(co) })
end

describe("the host protocol", function ()
  it("yields qsem.WAIT and a waiter with pollfd, events and timeout", function ()
    local s = qsem.new(0)
    local co = spawn(function () return s:acquire(1, 5) end)
    local ok, tag, w = coroutine.resume(co)
    assert.is_true(ok)
    assert.equals(qsem.WAIT, tag)
    assert.equals("qsem.Waiter", getmetatable(w).__name)
    assert.equals(qsem.pollfd(), w:pollfd())
    assert.equals("r", w:events())
    local left = w:timeout()
    assert.is_true(left > 4 and left <= 5)
    assert.equals(1, s:waiting())
    cancel(co)
  end)

  it("gives no deadline to a wait without timeout", function ()
    local s = qsem.new(0)
    local co = spawn(function () return s:acquire() end)
    local _, _, w = coroutine.resume(co)
    assert.is_nil(w:timeout())
    cancel(co)
  end)

  it("lists a coroutine in ready() once its tokens are granted", function ()
    local s = qsem.new(0)
    local co = spawn(function () return s:acquire(2) end)
    coroutine.resume(co)
    assert.same({}, qsem.ready())
    s:release(1)
    assert.same({}, qsem.ready())
    s:release(1)
    assert.same({ co }, qsem.ready())
    assert.same({}, qsem.ready())   -- each resolution is reported once
    assert.same({ true, true }, { coroutine.resume(co) })
    assert.equals(0, s:available())
  end)

  it("appends to the host's own table when ready() is given one, and returns it", function ()
    local s = qsem.new(0)
    local a = spawn(function () return s:acquire() end)
    local b = spawn(function () return s:acquire() end)
    coroutine.resume(a)
    coroutine.resume(b)
    local runq = { "x" }
    assert.equals(runq, qsem.ready(runq))   -- nothing yet: left as it was
    assert.same({ "x" }, runq)
    s:release(2)
    assert.error_matches(function () qsem.ready("x") end,
      "bad argument #1 to 'ready' %(table expected, got string%)")
    assert.equals(runq, qsem.ready(runq))   -- the bad call took nothing
    assert.same({ "x", a, b }, runq)
    assert.same({}, qsem.ready())
    assert.same({ true, true }, { coroutine.resume(a) })
    assert.same({ true, true }, { coroutine.resume(b) })
  end)

  it("makes pollfd() readable when a wait is resolved, and drains it in ready()", function ()
    local cqueues = require "cqueues"
    local fdobj = { pollfd = qsem.pollfd(), events = "r" }
    local function readable ()
      local cq = cqueues.new()
      local r = false
      cq:wrap(function () r = cqueues.poll(fdobj, 0) == fdobj end)
      assert(cq:loop())
      return r
    end
    local s = qsem.new(0)
    local co = spawn(function () return s:acquire() end)
    coroutine.resume(co)
    assert.is_false(readable())
    s:release()
    assert.is_true(readable())
    qsem.ready()
    assert.is_false(readable())
    coroutine.resume(co)
  end)

  it("with qsem.drains(true), a release of this state leaves the fd quiet", function ()
    local cqueues = require "cqueues"
    local fdobj = { pollfd = qsem.pollfd(), events = "r" }
    local function readable ()
      local cq = cqueues.new()
      local r = false
      cq:wrap(function () r = cqueues.poll(fdobj, 0) == fdobj end)
      assert(cq:loop())
      return r
    end
    assert.is_false(qsem.drains())
    assert.is_true(qsem.drains(true))
    local s = qsem.new(0)
    local co = spawn(function () return s:acquire() end)
    coroutine.resume(co)
    s:release()
    assert.is_false(readable())        -- no system call for this handoff
    assert.same({ co }, qsem.ready())  -- but the host that drains finds it
    assert.same({ true, true }, { coroutine.resume(co) })
    -- switching it off with a wait on the list makes the fd readable
    co = spawn(function () return s:acquire() end)
    coroutine.resume(co)
    s:release()
    assert.is_false(readable())
    assert.is_false(qsem.drains(false))
    assert.is_true(readable())
    assert.same({ co }, qsem.ready())
    assert.same({ true, true }, { coroutine.resume(co) })
    assert.is_false(readable())
  end)

  it("with qsem.drains(true), a release from another OS thread still arms the fd", function ()
    local cqueues = require "cqueues"
    qsem.drains(true)
    local s = qsem.new(0)
    assert(qsem.publish("host.drains", s))
    local co = spawn(function () return s:acquire() end)
    coroutine.resume(co)
    helper.thread(function () require("qsem").open("host.drains"):release() end)()
    qsem.unpublish("host.drains")
    local cq = cqueues.new()
    local r
    cq:wrap(function () r = cqueues.poll({ pollfd = qsem.pollfd(), events = "r" }, 5) end)
    assert(cq:loop())
    assert.is_table(r)
    assert.same({ co }, qsem.ready())
    assert.same({ true, true }, { coroutine.resume(co) })
    qsem.drains(false)
  end)

  it("tolerates early resumes: the acquire yields again", function ()
    local s = qsem.new(0)
    local co = spawn(function () return s:acquire() end)
    coroutine.resume(co)
    local ok, tag = coroutine.resume(co)
    assert.is_true(ok)
    assert.equals(qsem.WAIT, tag)
    s:release()
    assert.same({ true, true }, { coroutine.resume(co) })
  end)

  it("returns nil, 'timeout' when resumed after the deadline", function ()
    local s = qsem.new(0)
    local co = spawn(function () return s:acquire(1, 0.02) end)
    coroutine.resume(co)
    helper.sleep(0.03)
    assert.same({ true, nil, "timeout" }, { coroutine.resume(co) })
    assert.equals(0, s:waiting())
  end)

  it("gives a grant that came too late back to the semaphore", function ()
    local s = qsem.new(0)
    local co = spawn(function () return s:acquire(1, 0.02) end)
    coroutine.resume(co)
    helper.sleep(0.03)
    s:release()   -- granted to the wait whose deadline has passed
    assert.same({ true, true }, { coroutine.resume(co) })   -- notified: it is ours
    assert.equals(0, s:available())
  end)

  it("raises errors from bad arguments before any yield", function ()
    local s = qsem.new(0)
    local co = spawn(function () return s:acquire(-1) end)
    local ok, err = coroutine.resume(co)
    assert.is_false(ok)
    assert.matches("bad argument #1 to 'acquire' %(negative count%)", err)
  end)

  it("can unmark a coroutine", function ()
    local co = coroutine.create(function () end)
    assert.equals(co, qsem.hosted(co))
    assert.equals(co, qsem.hosted(co, false))
    assert.error_matches(function () qsem.hosted("co") end,
      "bad argument #1 to 'hosted' %(thread expected, got string%)")
    assert.error_matches(function () qsem.hosted(co, 1) end,
      "bad argument #2 to 'hosted' %(boolean expected, got number%)")
  end)

  it("runs many coroutines through the helper host", function ()
    local s = qsem.new(2, { max = 2 })
    local h = helper.host()
    local held, most = 0, 0
    for _ = 1, 200 do
      h.spawn(function ()
        local g = s:hold(1)
        held = held + 1
        most = math.max(most, held)
        coroutine.yield()
        held = held - 1
        g:release()
      end)
    end
    h.run()
    assert.equals(2, most)
    assert.equals(2, s:available())
  end)
end)

describe("cancellation", function ()
  it("keeps a parked coroutine its host dropped, until ready() returns it", function ()
    local s = qsem.new(0)
    local done = false
    do
      local co = spawn(function () assert(s:acquire(3)); done = true end)
      coroutine.resume(co)
    end
    collectgarbage()
    collectgarbage()
    assert.equals(1, s:waiting())
    s:release(3)
    local ready = qsem.ready()
    assert.equals(1, #ready)
    assert.is_true(coroutine.resume(ready[1]))
    assert.is_true(done)
    assert.equals(0, s:available())
  end)

  it("keeps a dropped coroutine that holds a grant, and serves it", function ()
    local s = qsem.new(0)
    local b = spawn(function () return s:acquire(2) end)
    do
      local a = spawn(function () return s:acquire(2) end)
      coroutine.resume(a)
    end
    coroutine.resume(b)
    s:release(2)   -- granted to the dropped one
    collectgarbage()
    collectgarbage()
    local ready = qsem.ready()
    assert.equals(1, #ready)
    assert.are_not.equal(b, ready[1])
    assert.same({ true, true }, { coroutine.resume(ready[1]) })
    assert.equals(1, s:waiting())
    cancel(b)
    assert.equals(0, s:available())
  end)

  -- A host may scope the waiter with <close> or finalize it before it
  -- resumes the coroutine: the wait then ends as cancelled, not in a crash.
  for _, how in ipairs({ "__close", "__gc" }) do
    it("a waiter ended by its host's " .. how .. " reports cancelled on resume", function ()
      local s = qsem.new(0)
      local co = spawn(function () return s:acquire(2) end)
      local _, tag, w = coroutine.resume(co)
      assert.equals(qsem.WAIT, tag)
      getmetatable(w)[how](w)
      getmetatable(w)[how](w)   -- twice is harmless
      assert.equals(0, s:waiting())
      s:release(2)
      assert.same({ true, nil, "cancelled" }, { coroutine.resume(co) })
      assert.equals(2, s:available())
    end)

    it("a granted waiter ended by its host's " .. how .. " gives its tokens back", function ()
      local s = qsem.new(0)
      local co = spawn(function () return s:hold(2) end)
      local _, _, w = coroutine.resume(co)
      s:release(2)   -- granted, not yet claimed
      assert.equals(0, s:available())
      getmetatable(w).__close(w)
      assert.equals(2, s:available())
      if how == "__gc" then getmetatable(w).__gc(w) end
      assert.same({ true, nil, "cancelled" }, { coroutine.resume(co) })
      qsem.ready()
      assert.equals(2, s:available())
    end)
  end

  it("qsem.cancel() ends a wait: ready() lists it and it returns cancelled", function ()
    local s = qsem.new(0)
    local co = spawn(function () return s:acquire(1) end)
    coroutine.resume(co)
    assert.is_true(qsem.cancel(co))
    assert.is_false(qsem.cancel(co))   -- once
    assert.equals(0, s:waiting())
    assert.same({ co }, qsem.ready())
    assert.same({ true, nil, "cancelled" }, { coroutine.resume(co) })
    s:release(1)
    assert.equals(1, s:available())
  end)

  it("qsem.cancel() after a grant passes the tokens to the next waiter", function ()
    local s = qsem.new(0)
    local a = spawn(function () return s:acquire(2) end)
    local b = spawn(function () return s:acquire(2) end)
    coroutine.resume(a)
    coroutine.resume(b)
    s:release(2)   -- to a
    assert.is_true(qsem.cancel(a))
    local ready = qsem.ready()
    table.sort(ready, function (x, y) return x == a end)
    assert.same({ a, b }, ready)
    assert.same({ true, nil, "cancelled" }, { coroutine.resume(a) })
    assert.same({ true, true }, { coroutine.resume(b) })
    assert.equals(0, s:available())
  end)

  it("qsem.cancel() is false for a coroutine that does not wait", function ()
    assert.is_false(qsem.cancel(coroutine.create(print)))
    assert.error_matches(function () qsem.cancel(42) end, "bad argument #1 to 'cancel'")
  end)

  it("qsem.cancel() of a hold() takes nothing", function ()
    local s = qsem.new(1)
    local co = spawn(function () return s:hold(2) end)
    coroutine.resume(co)
    qsem.cancel(co)
    assert.same({ true, nil, "cancelled" }, { coroutine.resume(co) })
    assert.equals(1, s:available())
  end)

end)

describe("a coroutine used as a generator", function ()
  it("blocks the OS thread in acquire and never yields qsem values to its consumer", function ()
    local s = qsem.new(0)
    local gen = coroutine.wrap(function ()
      for i = 1, 2 do
        local ok, err = s:acquire(1, 0.02)
        coroutine.yield(i, err)
      end
    end)
    local t0 = helper.now()
    assert.same({ 1, "timeout" }, { gen() })
    assert.same({ 2, "timeout" }, { gen() })
    assert.is_true(helper.now() - t0 >= 0.04)
  end)
end)
