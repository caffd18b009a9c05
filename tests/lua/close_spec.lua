-- SPDX-License-Identifier: MIT
local qsem = require "qsem"
local helper = require "helper"

describe("close()", function ()
  it("makes later acquires return nil, 'closed' at once", function ()
    local s = qsem.new(3)
    s:close()
    assert.is_true(s:is_closed())
    local t0 = helper.now()
    assert.same({ nil, "closed" }, { s:acquire() })
    assert.same({ nil, "closed" }, { s:acquire(1, 5) })
    assert.same({ nil, "closed" }, { s:try_acquire() })
    assert.is_true(helper.now() - t0 < 1)
  end)

  it("makes acquire(0) return nil, 'closed' too, as docs/lua.md says", function ()
    local s = qsem.new(3)
    assert.is_true(s:acquire(0))
    s:close()
    assert.same({ nil, "closed" }, { s:acquire(0) })
    assert.same({ nil, "closed" }, { s:try_acquire(0) })
    assert.same({ nil, "closed" }, { s:hold(0) })
  end)

  it("lets release() work, so holders can finish", function ()
    local s = qsem.new(1)
    assert.is_true(s:acquire())
    s:close()
    s:release()
    assert.equals(1, s:available())
  end)

  it("is harmless twice", function ()
    local s = qsem.new(0)
    s:close()
    s:close()
    assert.is_true(s:is_closed())
  end)

  it("wakes a thread blocked in another OS thread with 'closed'", function ()
    local s = qsem.new(0)
    assert(qsem.publish("close.cross", s))
    local join = helper.thread(function (name)
      local q = require "qsem"
      local t = q.open(name)
      assert(q.new(0):acquire(1, 0.1) == nil)
      t:close()
    end, "close.cross")
    assert.same({ nil, "closed" }, { s:acquire(1, 30) })
    join()
    qsem.unpublish("close.cross")
  end)

  it("wakes hosted coroutines with 'closed' and takes no token", function ()
    local s = qsem.new(1)
    local h = helper.host()
    local a = h.spawn(function () return s:acquire(2) end)
    local b = h.spawn(function () return s:hold(3, 10) end)
    h.step(a)
    h.step(b)
    assert.equals(2, s:waiting())
    s:close()
    h.run()
    assert.same({ nil, "closed", n = 2 }, h.results[a])
    assert.same({ nil, "closed", n = 2 }, h.results[b])
    assert.equals(1, s:available())
    assert.equals(0, s:waiting())
  end)
end)

describe("a dropped handle", function ()
  it("is what __close leaves, and every method then raises", function ()
    local s = qsem.new(1)
    getmetatable(s).__close(s)
    assert.matches("^qsem%.Semaphore %(dropped%)", tostring(s))
    for _, m in ipairs { "acquire", "try_acquire", "hold", "release", "available",
                         "waiting", "max", "close", "is_closed" } do
      assert.error_matches(function () s[m](s) end, "attempt to use a dropped semaphore", 1, true)
    end
  end)

  it("raises at the caller's line, with and the driven methods too", function ()
    local s = qsem.new(1)
    getmetatable(s).__gc(s)
    -- method calls whose results are used: no tail call hides the caller
    local cases = {
      function () local r = s:acquire(1) return r end,
      function () local r = s:acquire(1, 0.5) return r end,
      function () local r = s:hold(1) return r end,
      function () local r = s:try_acquire(1) return r end,
      function () local r = s:release(1) return r end,
      function () local r = s:with(1, print) return r end,
    }
    for _, f in ipairs(cases) do
      helper.raises_at(f, "close_spec%.lua", "attempt to use a dropped semaphore")
    end
  end)

  it("closes the semaphore when it was the last handle", function ()
    local s = qsem.new(0)
    local h = helper.host()
    local co = h.spawn(function () return s:acquire(1, 10) end)
    h.step(co)
    getmetatable(s).__close(s)
    h.run()
    assert.same({ nil, "closed", n = 2 }, h.results[co])
  end)

  it("leaves the semaphore open while another handle exists", function ()
    local s = qsem.new(0)
    assert(qsem.publish("close.other", s))
    getmetatable(s).__close(s)
    local t = qsem.open("close.other")
    assert.is_false(t:is_closed())
    t:release()
    assert.is_true(t:acquire(1, 0))
    qsem.unpublish("close.other")
  end)

  it("cannot be published", function ()
    local s = qsem.new(0)
    getmetatable(s).__close(s)
    assert.error_matches(function () qsem.publish("close.dropped", s) end,
      "bad argument #2 to 'publish' %(dropped semaphore%)")
  end)

  it("is dropped by the collector without closing what other handles share", function ()
    local s = qsem.new(0)
    assert(qsem.publish("close.gc", s))
    local t = qsem.open("close.gc")
    qsem.unpublish("close.gc")
    s = nil
    collectgarbage()
    collectgarbage()
    assert.is_false(t:is_closed())   -- t is still a handle
  end)
end)
