-- SPDX-License-Identifier: MIT
local qsem = require "qsem"
local helper = require "helper"

describe("acquire()", function ()
  it("takes one token by default", function ()
    local s = qsem.new(2)
    assert.is_true(s:acquire())
    assert.equals(1, s:available())
  end)

  it("takes n tokens", function ()
    local s = qsem.new(5)
    assert.is_true(s:acquire(3))
    assert.equals(2, s:available())
  end)

  it("succeeds at once for zero tokens, even with none free", function ()
    local s = qsem.new(0)
    assert.is_true(s:acquire(0))
    assert.is_true(s:acquire(0, 0))
  end)

  it("returns nil, 'timeout' after its timeout, not before", function ()
    local s = qsem.new(0)
    local t0 = helper.now()
    local ok, err = s:acquire(1, 0.1)
    local took = helper.now() - t0
    assert.is_nil(ok)
    assert.equals("timeout", err)
    assert.is_true(took >= 0.1, "returned early: " .. took)
    assert.is_true(took < 2, "returned late: " .. took)
    assert.equals(0, s:available())
    assert.equals(0, s:waiting())
  end)

  it("with a zero timeout tries once and never sleeps", function ()
    local s = qsem.new(1)
    local t0 = helper.now()
    assert.same({ nil, "timeout" }, { s:acquire(2, 0) })
    assert.is_true(helper.now() - t0 < 0.05)
    assert.is_true(s:acquire(1, 0))
  end)

  it("waits for a token released by another OS thread", function ()
    local s = qsem.new(0)
    assert(qsem.publish("acquire.cross", s))
    local join = helper.thread(function (name)
      local q = require "qsem"
      local t = q.open(name)
      assert(q.new(0):acquire(1, 0.1) == nil)   -- sleep, then release
      t:release(2)
    end, "acquire.cross")
    local t0 = helper.now()
    assert.is_true(s:acquire(2))   -- blocks this OS thread
    assert.is_true(helper.now() - t0 >= 0.05)
    join()
    qsem.unpublish("acquire.cross")
  end)

  it("treats math.huge and huge finite timeouts as forever", function ()
    local s = qsem.new(1)
    assert.is_true(s:acquire(1, math.huge))
    s:release()
    assert.is_true(s:acquire(1, 1e300))
    s:release()
    assert.is_true(s:acquire(1, 2^63))
  end)

  it("accepts nil for the count and means 1", function ()
    local s = qsem.new(1)
    assert.is_true(s:acquire(nil, 0))
    assert.equals(0, s:available())
  end)

  local s = qsem.new(1, { max = 4 })
  local cases = {
    { "a negative count", "bad argument #1 to 'acquire' %(negative count%)", -1 },
    { "a fractional count", "bad argument #1 to 'acquire' %(number has no integer representation%)", 0.5 },
    { "a non-number count", "bad argument #1 to 'acquire' %(number expected, got boolean%)", true },
    { "a count past VALUE_MAX", "bad argument #1 to 'acquire' %(count out of range%)", helper.PAST_MAX },
    { "a count above max", "bad argument #1 to 'acquire' %(count exceeds the maximum %(4%)%)", 5 },
    { "a NaN timeout", "bad argument #2 to 'acquire' %(timeout is NaN%)", 1, 0/0 },
    { "a negative timeout", "bad argument #2 to 'acquire' %(negative timeout%)", 1, -0.5 },
    { "a non-number timeout", "bad argument #2 to 'acquire' %(number expected, got table%)", 1, {} },
    { "a boolean timeout", "bad argument #2 to 'acquire' %(number expected, got boolean%)", 1, true },
  }
  for _, c in ipairs(cases) do
    it("rejects " .. c[1] .. " and changes nothing", function ()
      local args = table.pack(table.unpack(c, 3))
      assert.error_matches(function () s:acquire(table.unpack(args, 1, 2)) end, c[2])
      assert.equals(1, s:available())
      assert.equals(0, s:waiting())
    end)
  end
end)

describe("try_acquire()", function ()
  it("takes tokens that are free", function ()
    local s = qsem.new(3)
    assert.is_true(s:try_acquire(2))
    assert.is_true(s:try_acquire())
    assert.equals(0, s:available())
  end)

  it("returns nil, 'timeout' at once when they are not", function ()
    local s = qsem.new(1)
    assert.same({ nil, "timeout" }, { s:try_acquire(2) })
    assert.equals(1, s:available())
  end)

  it("returns nil, 'closed' once closed", function ()
    local s = qsem.new(1)
    s:close()
    assert.same({ nil, "closed" }, { s:try_acquire() })
  end)

  it("rejects bad counts", function ()
    local s = qsem.new(1, { max = 2 })
    assert.error_matches(function () s:try_acquire(-1) end, "bad argument #1 to 'try_acquire' %(negative count%)")
    assert.error_matches(function () s:try_acquire(3) end, "bad argument #1 to 'try_acquire' %(count exceeds the maximum %(2%)%)")
    assert.error_matches(function () s:try_acquire("x") end, "bad argument #1 to 'try_acquire' %(number expected, got string%)")
    assert.equals(1, s:available())
  end)

  it("fails in fair mode while anyone queues", function ()
    local s = qsem.new(0, { fair = true })
    local h = helper.host()
    local co = h.spawn(function () return s:acquire(2) end)
    h.step(co)
    assert.equals(1, s:waiting())
    s:release(1)
    assert.same({ nil, "timeout" }, { s:try_acquire(1) })
    s:release(1)
    h.run()
    assert.same({ true }, { table.unpack(h.results[co], 1, h.results[co].n) })
  end)
end)

describe("release()", function ()
  it("adds tokens", function ()
    local s = qsem.new(0)
    s:release()
    s:release(4)
    assert.equals(5, s:available())
  end)

  it("raises when the count would pass the maximum, and changes nothing", function ()
    local s = qsem.new(2, { max = 3 })
    assert.error_matches(function () s:release(2) end,
      "bad argument #1 to 'release' %(count would pass the maximum %(3%)%)")
    assert.equals(2, s:available())
    s:release(1)
    assert.equals(3, s:available())
  end)

  it("raises past VALUE_MAX on an unbounded semaphore", function ()
    local s = qsem.new(qsem.VALUE_MAX)
    local one = math.type and 1 or 1024   -- Lua 5.1: the next double up
    assert.error_matches(function () s:release(one) end, "count would pass the maximum")
    assert.equals(qsem.VALUE_MAX, s:available())
  end)

  it("rejects bad counts and changes nothing", function ()
    local s = qsem.new(1)
    assert.error_matches(function () s:release(-1) end, "bad argument #1 to 'release' %(negative count%)")
    assert.error_matches(function () s:release(1.5) end, "bad argument #1 to 'release' %(number has no integer representation%)")
    assert.error_matches(function () s:release({}) end, "bad argument #1 to 'release' %(number expected, got table%)")
    assert.equals(1, s:available())
  end)

  it("of zero tokens is a no-op", function ()
    local s = qsem.new(1, { max = 1 })
    s:release(0)
    assert.equals(1, s:available())
  end)
end)

describe("available(), waiting() and max()", function ()
  it("report the count, the queue and the bound", function ()
    local s = qsem.new(1, { max = 9 })
    local h = helper.host()
    h.spawn(function () return s:acquire(2) end)
    h.spawn(function () return s:acquire(3) end)
    for co in pairs(h.tasks) do h.step(co) end
    assert.equals(1, s:available())
    assert.equals(2, s:waiting())
    assert.equals(9, s:max())
    s:release(4)
    h.run()
    assert.equals(0, s:available())
    assert.equals(0, s:waiting())
  end)
end)
