-- SPDX-License-Identifier: MIT
-- A coroutine's second and later waits on one semaphore for one count
-- restart the wait kept from its first (docs/lua.md, "The host
-- protocol"); under LuaJIT that restart, the looks after each resume and
-- qsem.ready() go through the FFI (drive51.lua), not the C methods.  Each
-- test here makes the coroutine wait once and be served, so that what it
-- checks happens to a restarted wait: the same protocol, timeouts,
-- cancellation, close, the state's keeping, and the count of tokens.
local qsem = require "qsem"
local helper = require "helper"

-- A hosted coroutine that first waits on 's' for 'n' and is served, then
-- runs 'f' (its second wait is the one under test).  Returns the
-- coroutine, parked in that second wait, and what it yielded.
local function second_wait (s, n, f)
  local co = qsem.hosted(coroutine.create(function ()
    assert(s:acquire(n))
    s:release(n)   -- nobody else waits: the tokens are free again
    return f()
  end))
  local ok, tag = coroutine.resume(co)
  assert(ok and tag == qsem.WAIT, "the first wait parks")
  s:release(n)
  assert.same({ co }, qsem.ready())
  local r = { coroutine.resume(co) }
  assert.is_true(r[1])
  return co, r[2], r[3]
end

describe("a restarted wait of a generic host", function ()
  it("yields qsem.WAIT and its waiter, with its own deadline", function ()
    local s = qsem.new(0)
    local co, tag, w = second_wait(s, 1, function ()
      assert(s:try_acquire(1))        -- take what the first wait gave back
      return s:acquire(1, 5)
    end)
    assert.equals(qsem.WAIT, tag)
    assert.equals("qsem.Waiter", getmetatable(w).__name)
    local left = w:timeout()
    assert.is_true(left > 4 and left <= 5)
    assert.equals(1, s:waiting())
    s:release()
    assert.same({ co }, qsem.ready())
    assert.same({ true, true }, { coroutine.resume(co) })
    assert.equals(0, s:waiting())
    assert.equals(0, s:available())   -- the coroutine ended holding its token
  end)

  it("is listed by ready() once granted, appended to the host's table", function ()
    local s = qsem.new(0)
    local co = second_wait(s, 2, function ()
      assert(s:try_acquire(2))
      return s:acquire(2)
    end)
    s:release(1)
    local runq = { "x" }
    assert.equals(runq, qsem.ready(runq))   -- one token: not yet
    assert.same({ "x" }, runq)
    s:release(1)
    assert.equals(runq, qsem.ready(runq))
    assert.same({ "x", co }, runq)
    assert.same({ true, true }, { coroutine.resume(co) })
    assert.equals(0, s:available())
    assert.equals(0, s:waiting())
  end)

  it("yields again when resumed early", function ()
    local s = qsem.new(0)
    local co = second_wait(s, 1, function ()
      assert(s:try_acquire(1))
      return s:acquire(1)
    end)
    local ok, tag = coroutine.resume(co)
    assert.is_true(ok)
    assert.equals(qsem.WAIT, tag)
    s:release()
    assert.same({ true, true }, { coroutine.resume(co) })
  end)

  it("times out, and a late grant it was not told of goes back", function ()
    local s = qsem.new(0)
    local co = second_wait(s, 1, function ()
      assert(s:try_acquire(1))
      return s:acquire(1, 0.02)
    end)
    helper.sleep(0.03)
    assert.same({ true, nil, "timeout" }, { coroutine.resume(co) })
    assert.equals(0, s:waiting())
    assert.equals(0, s:available())
  end)

  it("with a timeout of 0 never waits, kept wait or not", function ()
    local s = qsem.new(0)
    local co, a, b = second_wait(s, 1, function ()
      assert(s:try_acquire(1))
      return s:acquire(1, 0)
    end)
    assert.is_nil(a)
    assert.equals("timeout", b)
    assert.equals("dead", coroutine.status(co))
    assert.equals(0, s:waiting())
  end)

  it("ends with qsem.cancel(): listed, 'cancelled', the grant passed on", function ()
    local s = qsem.new(0)
    local co = second_wait(s, 1, function ()
      assert(s:try_acquire(1))
      return s:acquire(1)
    end)
    local other = qsem.hosted(coroutine.create(function () return s:acquire(1) end))
    assert.equals(qsem.WAIT, select(2, coroutine.resume(other)))
    s:release()   -- granted to co, which the host has not resumed
    assert.is_true(qsem.cancel(co))
    local ready = qsem.ready()
    assert.equals(2, #ready)   -- co (cancelled), then other (given co's token)
    assert.same({ true, nil, "cancelled" }, { coroutine.resume(co) })
    assert.same({ true, true }, { coroutine.resume(other) })
    assert.equals(0, s:available())
    assert.is_false(qsem.cancel(co))
  end)

  it("ends with close(): listed, 'closed', nothing taken", function ()
    local s = qsem.new(0)
    local co = second_wait(s, 1, function ()
      assert(s:try_acquire(1))
      return s:acquire(1)
    end)
    s:close()
    assert.same({ co }, qsem.ready())
    assert.same({ true, nil, "closed" }, { coroutine.resume(co) })
    assert.equals(0, s:waiting())
  end)

  it("ends when the host ends its waiter object: 'cancelled'", function ()
    local s = qsem.new(0)
    local co, _, w = second_wait(s, 1, function ()
      assert(s:try_acquire(1))
      return s:acquire(1)
    end)
    getmetatable(w).__gc(w)
    s:release()   -- nobody waits: the token stays free
    assert.same({ true, nil, "cancelled" }, { coroutine.resume(co) })
    assert.equals(1, s:available())
  end)

  it("is kept by the state when its host drops it, and served", function ()
    local s = qsem.new(0)
    local done = false
    local co = second_wait(s, 1, function ()
      assert(s:try_acquire(1))
      assert(s:acquire(1))
      done = true
    end)
    co = nil
    collectgarbage()
    collectgarbage()
    s:release()
    local ready = qsem.ready()
    assert.equals(1, #ready)
    assert.is_true(coroutine.resume(ready[1]))
    assert.is_true(done)
    assert.is_nil(co)
  end)

  it("is forgotten by the state once its acquire returns", function ()
    local s = qsem.new(0)
    local co = second_wait(s, 1, function ()
      assert(s:try_acquire(1))
      assert(s:acquire(1))
      coroutine.yield("after")   -- suspended, no longer waiting
    end)
    s:release()
    assert.same({ co }, qsem.ready())
    assert.same({ true, "after" }, { coroutine.resume(co) })
    local weak = setmetatable({ co }, { __mode = "v" })
    co = nil
    collectgarbage()
    collectgarbage()
    assert.is_nil(weak[1])
  end)

  it("for another semaphore or count goes through a new wait", function ()
    local s, t = qsem.new(0), qsem.new(0)
    local co = second_wait(s, 1, function ()
      assert(s:try_acquire(1))
      local a = s:acquire(2)   -- another count
      local b = t:acquire(1)   -- another semaphore
      return a, b
    end)
    s:release(2)
    assert.same({ co }, qsem.ready())
    assert.equals(qsem.WAIT, select(2, coroutine.resume(co)))
    t:release()
    assert.same({ co }, qsem.ready())
    assert.same({ true, true, true }, { coroutine.resume(co) })
    assert.equals(0, s:available() + t:available())
  end)

  it("loses and makes no token among many hosted coroutines", function ()
    local s = qsem.new(5, { max = 5 })
    local h = helper.host()
    local held, most, served, why = 0, 0, 0, {}
    for i = 1, 60 do
      h.spawn(function ()
        for round = 1, 40 do
          local n = (i + round) % 3 + 1
          local timeout = (round % 7 == 0) and 0.001 or nil
          local ok, err = s:acquire(n, timeout)
          if ok then
            held = held + n
            most = math.max(most, held)
            served = served + 1
            if round % 2 == 0 then coroutine.yield() end   -- hold across a turn
            held = held - n
            s:release(n)
          else
            why[err] = (why[err] or 0) + 1
          end
        end
      end)
    end
    h.run(60)
    assert.equals(0, held)
    assert.is_true(most <= 5)
    assert.is_true(served > 0)
    for err in pairs(why) do assert.equals("timeout", err) end
    assert.equals(5, s:available())
    assert.equals(0, s:waiting())
  end)
end)
