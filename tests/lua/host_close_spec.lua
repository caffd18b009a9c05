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

  it("a closed hold() waiter takes nothing", function ()
    local s = qsem.new(1)
    local co = spawn(function () local g <close> = s:hold(2); return g end)
    coroutine.resume(co)
    coroutine.close(co)
    assert.equals(1, s:available())
    assert.equals(0, s:waiting())
  end)
end)
