-- SPDX-License-Identifier: MIT
local qsem = require "qsem"
local helper = require "helper"

describe("hold()", function ()
  it("releases exactly its tokens when the scope ends normally", function ()
    local s = qsem.new(5)
    do
      local g <close> = s:hold(3)
      assert.equals(2, s:available())
      assert.equals(3, g:count())
      s:release(1)   -- someone else's token: not the guard's business
    end
    assert.equals(6, s:available())
  end)

  it("releases its tokens when the scope ends by an error", function ()
    local s = qsem.new(2)
    local ok, err = pcall(function ()
      local g <close> = s:hold(2)
      assert.equals(0, s:available())
      error("boom")
    end)
    assert.is_false(ok)
    assert.matches("boom", err)
    assert.equals(2, s:available())
  end)

  it("releases its tokens when its coroutine is closed", function ()
    local s = qsem.new(2)
    local co = coroutine.create(function ()
      local g <close> = s:hold(2)
      coroutine.yield()
    end)
    assert.is_true(coroutine.resume(co))
    assert.equals(0, s:available())
    assert.is_true(coroutine.close(co))
    assert.equals(2, s:available())
  end)

  it("releases the tokens of a guard nobody closed when it is collected", function ()
    local s = qsem.new(2)
    do
      local g = s:hold(2)
      assert.equals(0, s:available())
    end
    collectgarbage()
    collectgarbage()
    assert.equals(2, s:available())
  end)

  it("releases once, however often it is closed", function ()
    local s = qsem.new(3)
    local g = s:hold(2)
    g:release()
    g:release()
    assert.equals(3, s:available())
    assert.equals(0, g:count())
    assert.matches("^qsem%.Guard %(released%)", tostring(g))
    do local _ <close> = g end
    collectgarbage()
    assert.equals(3, s:available())
  end)

  it("carries no finalizer, and still gives back a guard nobody closed", function ()
    local s = qsem.new(2)
    local g = s:hold(1)
    assert.is_nil(getmetatable(g).__gc)   -- nothing for the collector to call per guard
    do local _ <close> = g end
    assert.equals(2, s:available())
    assert.equals(getmetatable(s:hold(1)).__index, getmetatable(g).__index)
    -- a released guard in every way: methods, name, tostring, close
    assert.equals(0, g:count())
    g:release()
    do local _ <close> = g end
    assert.matches("^qsem%.Guard %(released%)", tostring(g))
    assert.equals("qsem.Guard", getmetatable(g).__name)
    assert.error_matches(function () s.available(g) end, "qsem.Semaphore expected, got qsem.Guard")
    local h = s:hold(1)
    h:release()
    assert.equals(1, s:available())   -- the guard nobody closed, above, holds one
    collectgarbage()
    collectgarbage()
    assert.equals(2, s:available())   -- and the collector gave it back
  end)

  it("outlives the semaphore's handle", function ()
    local s = qsem.new(1)
    local g = s:hold(1)
    assert(qsem.publish("guard.outlive", s))
    s = nil
    collectgarbage()
    g:release()
    local again = qsem.open("guard.outlive")
    assert.equals(1, again:available())
    qsem.unpublish("guard.outlive")
  end)

  it("returns nil, 'timeout' and takes nothing when the wait times out", function ()
    local s = qsem.new(1)
    local t0 = helper.now()
    local g <close>, err = s:hold(2, 0.05)
    assert.is_nil(g)
    assert.equals("timeout", err)
    assert.is_true(helper.now() - t0 >= 0.05)
    assert.equals(1, s:available())
  end)

  it("returns nil, 'closed' on a closed semaphore", function ()
    local s = qsem.new(1)
    s:close()
    local g <close>, err = s:hold(1)
    assert.is_nil(g)
    assert.equals("closed", err)
  end)

  it("holds zero tokens happily", function ()
    local s = qsem.new(0)
    do
      local g <close> = s:hold(0)
      assert.equals(0, g:count())
    end
    assert.equals(0, s:available())
  end)

  it("raises when giving back would pass the maximum", function ()
    local s = qsem.new(1, { max = 1 })
    local g = s:hold(1)
    s:release(1)   -- a token that was never taken
    assert.error_matches(function () g:release() end, "would pass the semaphore's maximum")
    assert.equals(1, s:available())
  end)

  it("says what it holds in tostring()", function ()
    local g <close> = qsem.new(4):hold(3)
    assert.matches("^qsem%.Guard %(3 held%): ", tostring(g))
  end)

  it("rejects bad arguments like acquire()", function ()
    local s = qsem.new(1, { max = 2 })
    assert.error_matches(function () s:hold(-1) end, "bad argument #1 to 'hold' %(negative count%)")
    assert.error_matches(function () s:hold(3) end, "bad argument #1 to 'hold' %(count exceeds the maximum %(2%)%)")
    assert.error_matches(function () s:hold(1, -1) end, "bad argument #2 to 'hold' %(negative timeout%)")
    assert.error_matches(function () s:hold(1, 0/0) end, "bad argument #2 to 'hold' %(timeout is NaN%)")
    assert.error_matches(function () s:hold(1, "soon") end, "bad argument #2 to 'hold' %(number expected, got string%)")
    assert.equals(1, s:available())
  end)
end)
