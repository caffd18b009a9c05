-- SPDX-License-Identifier: MIT
local qsem = require "qsem"
local cqueues = require "cqueues"
local helper = require "helper"

-- docs/contract.md, "Conservation": at a quiescent point,
-- available() == initial + released - acquired, whatever timed out,
-- was cancelled or was closed on the way.
describe("token conservation", function ()
  it("holds under cqueues with timeouts, errors and cancelled coroutines", function ()
    local POOL = 6
    local s = qsem.new(POOL, { max = POOL })
    local cq = cqueues.new()
    math.randomseed(42)
    local outstanding = 0
    for i = 1, 1500 do
      local n = math.random(1, 3)
      local timeout = math.random() < 0.3 and math.random() * 0.003 or nil
      local mode = math.random(3)
      cq:wrap(function ()
        if mode == 1 then
          if s:acquire(n, timeout) then
            outstanding = outstanding + n
            cqueues.sleep(0)
            outstanding = outstanding - n
            s:release(n)
          end
        elseif mode == 2 then
          local g = s:hold(n, timeout)
          if g then cqueues.sleep(0); g:release() end
        else
          -- a generator-style inner coroutine that is cancelled mid-wait
          local inner = qsem.hosted(coroutine.create(function ()
            local g = s:hold(n)
            if g then coroutine.yield("held"); g:release() end
          end))
          local ok, tag = coroutine.resume(inner)
          assert(ok)
          if tag == "held" then cqueues.sleep(0) else qsem.cancel(inner) end
          assert(coroutine.resume(inner))   -- ends it: gives back, or is cancelled
        end
      end)
    end
    assert(cq:loop(60))
    assert.is_true(cq:empty())
    assert.equals(0, outstanding)
    assert.equals(POOL, s:available())
    assert.equals(0, s:waiting())
  end)

  it("holds when waiting coroutines are cancelled or closed at random", function ()
    local s = qsem.new(0, { max = 10 })
    math.randomseed(7)
    local released, taken = 0, 0
    for _ = 1, 50 do
      local h = helper.host()
      local cos = {}
      for i = 1, 20 do
        cos[i] = h.spawn(function ()
          local n = math.random(1, 3)
          if s:acquire(n) then taken = taken + n end
        end)
        h.step(cos[i])
      end
      local r = math.random(0, 10)
      s:release(r)
      released = released + r
      -- resume some, cancel or close the rest (some of them holding grants)
      for _, co in ipairs(qsem.ready()) do
        if math.random() < 0.5 then h.step(co) end
      end
      for i = 1, 20 do
        if coroutine.status(cos[i]) == "suspended" then
          if math.random() < 0.5 or not coroutine.close then
            qsem.cancel(cos[i])
            h.step(cos[i])
          else
            coroutine.close(cos[i])
          end
        end
      end
      h, cos = nil, nil
      collectgarbage()
      collectgarbage()
      assert.equals(0, s:waiting())
      assert.equals(released - taken, s:available())
      qsem.ready()   -- nothing left to resume
    end
  end)

  it("holds with close() racing against many waiters in several OS threads", function ()
    for round = 1, 5 do
      local name = "stress.close." .. round
      local s = qsem.new(3, { max = 3 })
      assert(qsem.publish(name, s))
      local joins = {}
      for i = 1, 3 do
        joins[i] = helper.thread(function (nm)
          local q = require "qsem"
          local t = q.open(nm)
          while true do
            local n = math.random(1, 3)
            local ok, err = t:acquire(n, 0.01)
            if ok then t:release(n) end
            if err == "closed" then break end
          end
        end, name)
      end
      helper.sleep(0.02)
      s:close()
      for i = 1, 3 do joins[i]() end
      assert.equals(0, s:waiting())
      assert.equals(3, s:available())   -- every taker gave back after close
      qsem.unpublish(name)
    end
  end)
end)
