-- SPDX-License-Identifier: MIT
-- Tasks for coro_host.c: a thousand coroutines on one OS thread share a
-- pool of three tokens; one in five gives up after a few milliseconds.
local qsem = require "qsem"

local POOL, TASKS = 3, 1000
local pool = qsem.new(POOL, { max = POOL })
local held, most, served, timedout = 0, 0, 0, 0

local tasks = {}
for i = 1, TASKS do
  tasks[i] = function ()
    local patient = i % 5 ~= 0
    local g <close>, err = pool:hold(1, (not patient) and 0.002 or nil)
    if not g then
      assert(err == "timeout", err)
      timedout = timedout + 1
      return
    end
    held = held + 1
    most = math.max(most, held)
    coroutine.yield()   -- some work, during which the others run
    coroutine.yield()
    held = held - 1
    served = served + 1
  end
end

local function check ()
  assert(most <= POOL, "more holders than tokens")
  assert(pool:available() == POOL, "tokens lost: " .. pool:available())
  assert(pool:waiting() == 0, "waiters left")
  assert(served + timedout == TASKS)
  assert(served >= TASKS * 4 / 5, "a patient task was not served")
  return ("%d served, %d timed out, at most %d holders"):format(served, timedout, most)
end

return { tasks = tasks, check = check }
