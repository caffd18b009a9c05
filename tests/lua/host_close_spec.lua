-- SPDX-License-Identifier: MIT
-- Lua 5.4 only: coroutine.close() and to-be-closed guards in coroutine
-- hosts (host_spec.lua has the rest of the protocol, on every version).
local qsem = require "qsem"

local function spawn (f)
  return qsem.hosted(coroutine.create(f))
end

describe("coroutine.close()", function ()
  it("coroutine.close() on a waiting coroutine leaves the queue", function ()
    local s = qsem.new(0)
    local co = spawn(function () return s:acquire(1) end)
    coroutine.resume(co)
    assert.equals(1, s:waiting())
    assert.is_true(coroutine.close(co))
    assert.equals(0, s:waiting())
    s:release()
    assert.equals(1, s:available())
  end)

  it("coroutine.close() after a grant gives the tokens to the next waiter", function ()
    local s = qsem.new(0)
    local a = spawn(function () return s:acquire(1) end)
    local b = spawn(function () return s:acquire(1) end)
    coroutine.resume(a)
    coroutine.resume(b)
    s:release()         -- goes to a, which is never resumed
    coroutine.close(a)  -- so it must go on to b
    assert.same({ b }, qsem.ready())
    assert.same({ true, true }, { coroutine.resume(b) })
    assert.equals(0, s:available())
    assert.equals(0, s:waiting())
  end)

  it("closing a coroutine suspended in s:with()'s fn gives the tokens back at once", function ()
    local s = qsem.new(3)
    local co = coroutine.create(function ()
      return s:with(2, function () coroutine.yield("inside") return "done" end)
    end)
    assert.same({ true, "inside" }, { coroutine.resume(co) })
    assert.equals(1, s:available())
    assert.is_true(coroutine.close(co))
    assert.equals(3, s:available())   -- not left for the collector
    assert.equals(0, s:waiting())
  end)

  it("closing nested s:with() calls gives back every level's tokens", function ()
    local a, b = qsem.new(1), qsem.new(2)
    local co = spawn(function ()
      return a:with(1, function ()
        return b:with(2, function () coroutine.yield("deep") end)
      end)
    end)
    assert.same({ true, "deep" }, { coroutine.resume(co) })
    assert.is_true(coroutine.close(co))
    assert.equals(1, a:available())
    assert.equals(2, b:available())
  end)

  it("s:with()'s fn may yield and return many values, nil included", function ()
    local s = qsem.new(1)
    local co = coroutine.create(function (...)
      return s:with(1, function (...)
        local x = coroutine.yield(...)
        return x, nil, 3
      end, ...)
    end)
    assert.same({ true, "a", nil, "c", n = 4 }, table.pack(coroutine.resume(co, "a", nil, "c")))
    assert.same({ true, "x", nil, 3, n = 4 }, table.pack(coroutine.resume(co, "x")))
    assert.equals(1, s:available())
  end)

  it("a closed hold() waiter takes nothing", function ()
    local s = qsem.new(1)
    local co = spawn(function () local g <close> = s:hold(2); return g end)
    coroutine.resume(co)
    coroutine.close(co)
    assert.equals(1, s:available())
    assert.equals(0, s:waiting())
  end)
end)
