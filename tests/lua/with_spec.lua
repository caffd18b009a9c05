-- SPDX-License-Identifier: MIT
-- The guard without `<close>`, on every Lua version: s:hold(n) plus
-- g:release(), and s:with(n, fn, ...), which always gives back.
local qsem = require "qsem"
local helper = require "helper"

describe("s:hold() and g:release()", function ()
  it("take and give back exactly n tokens, once", function ()
    local s = qsem.new(3)
    local g = s:hold(2)
    assert.matches("^qsem%.Guard %(2 held%): ", tostring(g))
    assert.equals(2, g:count())
    assert.equals(1, s:available())
    g:release()
    g:release()   -- idempotent
    assert.equals(0, g:count())
    assert.equals(3, s:available())
  end)

  it("give back through the collector when nobody released", function ()
    local s = qsem.new(1)
    do local g = s:hold(1) end
    collectgarbage()
    collectgarbage()
    assert.equals(1, s:available())
  end)
end)

describe("s:with()", function ()
  it("runs fn with its arguments while holding n tokens, and returns its results", function ()
    local s = qsem.new(3)
    local seen
    local a, b = s:with(2, function (x, y)
      seen = s:available()
      return x + y, "done"
    end, 40, 2)
    assert.same({ 42, "done" }, { a, b })
    assert.equals(1, seen)
    assert.equals(3, s:available())
  end)

  it("gives the tokens back when fn raises, and raises the same error", function ()
    local s = qsem.new(2)
    local err = setmetatable({}, { __tostring = function () return "boom" end })
    local ok, got = pcall(s.with, s, 2, function () error(err) end)
    assert.is_false(ok)
    assert.equals(err, got)
    assert.equals(2, s:available())
    assert.error_matches(function () s:with(1, function () error("plain") end) end, "plain")
    assert.equals(2, s:available())
  end)

  it("returns fail, 'closed' without calling fn on a closed semaphore", function ()
    local s = qsem.new(1)
    s:close()
    local called = false
    assert.same({ nil, "closed" }, { s:with(1, function () called = true end) })
    assert.is_false(called)
  end)

  it("rejects a missing function before taking anything", function ()
    local s = qsem.new(1)
    assert.error_matches(function () s:with(1) end,
      "bad argument #2 to 'with' %(function expected, got nil%)")
    assert.error_matches(function () s:with(-1, print) end, "negative count")
    assert.equals(1, s:available())
  end)

  it("cooperates in a hosted coroutine: fn may yield, others run", function ()
    local s = qsem.new(1, { max = 1 })
    local h = helper.host()
    local inside, most = 0, 0
    for _ = 1, 50 do
      h.spawn(function ()
        s:with(1, function ()
          inside = inside + 1
          most = math.max(most, inside)
          coroutine.yield()
          inside = inside - 1
        end)
      end)
    end
    h.run()
    assert.equals(1, most)
    assert.equals(1, s:available())
  end)
end)
