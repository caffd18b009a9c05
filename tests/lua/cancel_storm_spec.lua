-- SPDX-License-Identifier: MIT
-- A storm of coroutines cancelled while waiting.  Rounds of hosted
-- coroutines take guards for one to three tokens (with and without
-- timeouts), hold them across yields, and are closed with coroutine.close()
-- at random moments: while queued, after a grant they never saw, or while
-- holding a guard.  External releases keep tokens coming.  At the end of
-- each round nothing is queued and every token is back (docs/contract.md,
-- "Conservation", under cancelled coroutines), and the __gc paths have run.
local qsem = require "qsem"

local INITIAL, MAX = 2, 64

-- One round; returns the number of coroutines closed while waiting or holding.
local function round (rng, fair)
  local s = qsem.new(INITIAL, { max = MAX, fair = fair })
  local tasks = {}        -- co -> { state = "run" | "wait" | "ready", deadline = t }
  local outside = 0       -- tokens released from outside the tasks
  local cancelled = 0

  local function body (k, timeout, yields)
    local g <close>, err = s:hold(k, timeout)
    if not g then return err end
    for _ = 1, yields do coroutine.yield() end
    return "done"
  end

  local function resume (co)
    local ok, what, w = coroutine.resume(co)
    assert(ok, what)
    if coroutine.status(co) == "dead" then
      assert(what == "done" or what == "timeout", "task ended with " .. tostring(what))
      tasks[co] = nil
    elseif what == qsem.WAIT then
      local left = w:timeout()
      tasks[co] = { state = "wait", deadline = left and os.clock() + left }
    else
      tasks[co] = { state = "run" }
    end
  end

  for _ = 1, 24 do
    local timeouts = { false, 0, 0.0005, 0.005 }
    local t = timeouts[rng(#timeouts)] or nil
    local co = qsem.hosted(coroutine.create(body))
    local ok, what, w = coroutine.resume(co, rng(3), t, rng(0, 3))
    assert(ok, what)
    if coroutine.status(co) ~= "dead" then
      tasks[co] = what == qsem.WAIT and { state = "wait", deadline = w:timeout() and os.clock() + w:timeout() }
                  or { state = "run" }
    end
  end

  for _ = 1, 300 do
    for _, co in ipairs(qsem.ready()) do
      if tasks[co] then tasks[co].state = "ready" end
    end
    local live = {}
    for co in pairs(tasks) do live[#live + 1] = co end
    if #live == 0 then break end
    local co = live[rng(#live)]
    local t = tasks[co]
    local action = rng(10)
    if action <= 2 then
      assert.is_true(coroutine.close(co))
      tasks[co] = nil
      cancelled = cancelled + 1
    elseif action <= 4 then
      local k = rng(2)
      if s:available() + k <= MAX then
        s:release(k)
        outside = outside + k
      end
    elseif t.state ~= "wait" or (t.deadline and os.clock() >= t.deadline) then
      resume(co)
    end
  end

  -- Whatever is left is cancelled too, waiting or holding.
  for co in pairs(tasks) do
    assert.is_true(coroutine.close(co))
    cancelled = cancelled + 1
  end
  collectgarbage()
  collectgarbage()
  assert.equals(0, s:waiting())
  assert.equals(INITIAL + outside, s:available())
  -- And the semaphore still serves a request for everything at once.
  assert.is_true(s:try_acquire(INITIAL + outside))
  return cancelled
end

describe("coroutine.close() storm", function ()
  it("loses and leaks no token in the default mode", function ()
    math.randomseed(7)
    local cancelled = 0
    for _ = 1, 1000 do cancelled = cancelled + round(math.random, false) end
    assert.is_true(cancelled > 3000)
  end)

  it("loses and leaks no token in fair mode", function ()
    math.randomseed(11)
    local cancelled = 0
    for _ = 1, 1000 do cancelled = cancelled + round(math.random, true) end
    assert.is_true(cancelled > 3000)
  end)
end)
