-- SPDX-License-Identifier: MIT
-- qsem.ngx: the ngx.semaphore API shape (new, post, wait, count).
local semaphore = require "qsem.ngx"
local qsem = require "qsem"
local helper = require "helper"

describe("qsem.ngx", function ()
  it("new() starts with 0 resources, or n", function ()
    assert.equals(0, semaphore.new():count())
    assert.equals(3, semaphore.new(3):count())
    assert.equals("qsem.Semaphore", getmetatable(semaphore.new().sem).__name)
  end)

  it("post() releases n (default 1) and returns true", function ()
    local sema = semaphore.new()
    assert.is_true(sema:post())
    assert.is_true(sema:post(2))
    assert.equals(3, sema:count())
  end)

  it("wait() takes one resource, or returns nil, 'timeout'", function ()
    local sema = semaphore.new(1)
    assert.same({ true }, { sema:wait(0) })
    assert.same({ nil, "timeout" }, { sema:wait(0) })
    local t0 = helper.now()
    assert.same({ nil, "timeout" }, { sema:wait(0.02) })
    assert.is_true(helper.now() - t0 >= 0.02)
    assert.equals(0, sema:count())
  end)

  it("rejects what ngx.semaphore rejects, changing nothing", function ()
    local sema = semaphore.new(1)
    assert.error_matches(function () sema:post(0) end, "positive number required")
    assert.error_matches(function () sema:post(-1) end, "positive number required")
    assert.error_matches(function () sema:wait(-1) end, "no negative number")
    assert.error_matches(function () sema:wait() end, "number expected, got nil")
    assert.error_matches(function () semaphore.new(-1) end, "negative count")
    assert.equals(1, sema:count())
  end)

  it("takes numeric strings, as ngx.semaphore converts with tonumber", function ()
    local sema = semaphore.new()
    assert.is_true(sema:post("2"))
    assert.equals(2, sema:count())
    assert.same({ true }, { sema:wait("0") })
    assert.same({ true }, { sema:wait("0.5") })
    assert.same({ nil, "timeout" }, { sema:wait("0") })
    assert.error_matches(function () sema:post("x") end, "positive number required")
    assert.error_matches(function () sema:wait("x") end, "number expected, got string")
    assert.equals(0, sema:count())
  end)

  it("refuses a self that is not one of its semaphores, as ngx.semaphore does", function ()
    local sema = semaphore.new(1)
    for _, self in ipairs({ {}, { sem = sema.sem }, sema.sem, 1 }) do
      helper.raises_at(function () sema.post(self, 1) end, "ngx_spec%.lua", "not a semaphore instance")
      helper.raises_at(function () sema.wait(self, 0) end, "ngx_spec%.lua", "not a semaphore instance")
      helper.raises_at(function () sema.count(self) end, "ngx_spec%.lua", "not a semaphore instance")
    end
    assert.equals(1, sema:count())
  end)

  it("names new, post and wait, at the caller's line, for any bad argument", function ()
    local sema = semaphore.new(1)
    local cases = {
      { function () sema:post(0/0) end, "positive number required" },
      { function () sema:post(1.5) end, "bad argument #1 to 'post' (number has no integer representation)" },
      { function () sema:wait(0/0) end, "bad argument #1 to 'wait' (timeout is NaN)" },
      { function () sema:post(qsem.VALUE_MAX + 2^40) end, "bad argument #1 to 'post' (count out of range)" },
      { function () local x = semaphore.new(-1) return x end, "bad argument #1 to 'new' (negative count)" },
      { function () local x = semaphore.new("x") return x end, "bad argument #1 to 'new' (number expected, got string)" },
    }
    for _, c in ipairs(cases) do helper.raises_at(c[1], "ngx_spec%.lua", c[2]) end
    assert.equals(1, sema:count())
  end)

  it("count() is negative by the number of waiters, as in ngx.semaphore", function ()
    local sema = semaphore.new(0)
    local h = helper.host()
    local results = {}
    for i = 1, 2 do
      h.spawn(function () results[i] = { sema:wait(5) } end)
    end
    for co in pairs(h.tasks) do h.step(co) end
    assert.equals(-2, sema:count())
    sema:post(1)
    assert.equals(-1, sema:count())
    sema:post(2)
    assert.equals(1, sema:count())
    h.run()
    assert.same({ { true }, { true } }, results)
    assert.equals(1, sema:count())
  end)

  it("waits cooperatively under cqueues", function ()
    local cqueues = require "cqueues"
    local sema = semaphore.new(0)
    local cq = cqueues.new()
    local got
    cq:wrap(function () got = { sema:wait(5) } end)
    cq:wrap(function () cqueues.sleep(0.01); sema:post() end)
    assert(cq:loop(10))
    assert.same({ true }, got)
    assert.equals(0, sema:count())
  end)

  it("reports a closed semaphore as qsem does", function ()
    local sema = semaphore.new(0)
    sema.sem:close()
    assert.same({ nil, "closed" }, { sema:wait(1) })
    assert.is_true(qsem.VERSION == semaphore._VERSION)
  end)
end)
