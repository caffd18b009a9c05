-- SPDX-License-Identifier: MIT
-- A coroutine that waits again and again on one semaphore reuses its wait
-- (docs/lua.md, "Performance"): the handoff allocates nothing, on every
-- Lua version.  Under Lua 5.1/LuaJIT the wait's user value lives in a
-- table that is its environment (lqsem.h), which must be reused too.
local qsem = require "qsem"

-- Bytes allocated per round of 'f', with the collector stopped: the least
-- of three measurements, since LuaJIT may compile a trace (a collectable
-- object) during one; an allocation per round shows in all three.
local function bytes_per (rounds, f)
  for _ = 1, 100 do f() end   -- warm up: the kept wait, traces, caches
  local least = math.huge
  for _ = 1, 3 do
    collectgarbage()
    collectgarbage("stop")
    local k0 = collectgarbage("count")
    for _ = 1, rounds do f() end
    local k1 = collectgarbage("count")
    collectgarbage("restart")
    least = math.min(least, (k1 - k0) * 1024 / rounds)
  end
  return least
end

describe("a generic host's handoff", function ()
  it("allocates nothing once the coroutine's wait is kept", function ()
    local s = qsem.new(0)
    local co = qsem.hosted(coroutine.create(function ()
      while true do assert(s:acquire(1)) end
    end))
    assert.equals(qsem.WAIT, select(2, coroutine.resume(co)))
    local b = bytes_per(2000, function ()
      s:release(1)                 -- grants the parked wait
      local ok, v = coroutine.resume(co)   -- takes it, waits again
      assert(ok and v == qsem.WAIT)
    end)
    -- a table or userdata per handoff would be 32 bytes or more
    assert.is_true(b < 16, ("%.1f bytes per handoff"):format(b))
    assert.equals(0, s:available())
    assert.equals(1, s:waiting())
  end)
end)
