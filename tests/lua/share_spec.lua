-- SPDX-License-Identifier: MIT
local qsem = require "qsem"
local helper = require "helper"

describe("qsem.publish() / qsem.open() / qsem.unpublish()", function ()
  it("hand one semaphore to another handle", function ()
    local s = qsem.new(2)
    assert.is_true(qsem.publish("share.a", s))
    local t = assert(qsem.open("share.a"))
    assert.is_true(t:acquire(2))
    assert.equals(0, s:available())
    s:release(2)
    assert.equals(2, t:available())
    assert.is_true(qsem.unpublish("share.a"))
  end)

  it("refuse a name that is taken", function ()
    local s = qsem.new(0)
    assert.is_true(qsem.publish("share.b", s))
    assert.same({ nil, "exists" }, { qsem.publish("share.b", qsem.new(1)) })
    assert.equals(0, qsem.open("share.b"):available())
    qsem.unpublish("share.b")
  end)

  it("report unknown names with nil, 'not found'", function ()
    assert.same({ nil, "not found" }, { qsem.open("share.none") })
    assert.same({ nil, "not found" }, { qsem.unpublish("share.none") })
  end)

  it("keep the semaphore alive after the publisher's handle is gone", function ()
    do
      local s = qsem.new(3)
      qsem.publish("share.c", s)
    end
    collectgarbage()
    collectgarbage()
    local t = qsem.open("share.c")
    assert.is_false(t:is_closed())
    assert.equals(3, t:available())
    qsem.unpublish("share.c")
    assert.is_false(t:is_closed())   -- t still holds it
  end)

  it("close the semaphore when unpublish drops the last handle", function ()
    local s = qsem.new(0)
    qsem.publish("share.d", s)
    local h = helper.host()
    local co = h.spawn(function () return s:acquire(1, 10) end)
    h.step(co)
    getmetatable(s).__close(s)   -- this state lets go; the name still holds it
    qsem.unpublish("share.d")    -- the last handle: waiters get "closed"
    h.run()
    assert.same({ nil, "closed", n = 2 }, h.results[co])
  end)

  it("accept any string as a name, and only strings", function ()
    local s = qsem.new(0)
    assert.is_true(qsem.publish("", s))
    assert.is_true(qsem.publish("a\0b", s))
    assert.same({ nil, "not found" }, { qsem.open("a") })
    assert.is_truthy(qsem.open("a\0b"))
    qsem.unpublish("")
    qsem.unpublish("a\0b")
    assert.error_matches(function () qsem.publish({}, s) end,
      "bad argument #1 to 'publish' %(string expected, got table%)")
    assert.error_matches(function () qsem.publish("x", {}) end,
      "bad argument #2 to 'publish' %(qsem%.Semaphore expected, got table%)")
    assert.error_matches(function () qsem.open() end,
      "bad argument #1 to 'open' %(string expected, got no value%)")
  end)

  it("share one semaphore between Lua states on several OS threads", function ()
    local N, ROUNDS = 4, 500
    local pool = qsem.new(2, { max = 2 })
    assert(qsem.publish("share.pool", pool))
    local joins = {}
    for i = 1, N do
      joins[i] = helper.thread(function (name, rounds)
        local q = require "qsem"
        local p = assert(q.open(name))
        for _ = 1, rounds do
          local g = p:hold(1, 5)
          assert(g, "no token in 5 s")
          g:release()
        end
      end, "share.pool", ROUNDS)
    end
    for i = 1, N do joins[i]() end
    assert.equals(2, pool:available())
    assert.equals(0, pool:waiting())
    qsem.unpublish("share.pool")
  end)

  it("get back the tokens of guards that a closed state still held", function ()
    local s = qsem.new(3)
    assert(qsem.publish("share.closing", s))
    local join = helper.thread(function (name)
      local q = require "qsem"
      local t = assert(q.open(name))
      collectgarbage("stop")   -- so that only closing the state can give them back
      _G.kept = { t:hold(1), t:hold(1) }
      assert(t:available() == 1)
    end, "share.closing")
    join()   -- the thread's state is closed once it has joined
    assert.equals(3, s:available())
    qsem.unpublish("share.closing")
  end)

  it("let a state opened later outlive the state that published", function ()
    local s = qsem.new(0)
    qsem.publish("share.late", s)
    local join = helper.thread(function (name)
      local q = require "qsem"
      local t = assert(q.open(name))
      -- the publisher drops everything while this state waits
      assert(t:acquire(1, 10), "never released")
      assert(not t:is_closed())
      t:release(1)
    end, "share.late")
    helper.sleep(0.05)
    qsem.unpublish("share.late")
    s:release(1)
    getmetatable(s).__close(s)
    join()
  end)
end)
