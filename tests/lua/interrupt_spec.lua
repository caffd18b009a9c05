-- SPDX-License-Identifier: MIT
-- Ctrl-C in the standalone interpreter: lua5.4's SIGINT handler sets a hook
-- that raises "interrupted!"; a blocked acquire must let it run.
local qsem = require "qsem"

local function run_interrupted (code)
  local lua = os.getenv("QSEM_TEST_LUA") or "lua5.4"
  -- `timeout` sends SIGINT after 0.3 s, and SIGKILL 10 s later if that did nothing
  local cmd = ("timeout -s INT -k 10 0.3 %s -e %q 2>&1; echo \"exit=$?\""):format(lua, code)
  local p = assert(io.popen(cmd))
  local out = p:read("a")
  p:close()
  return out
end

describe("a blocked acquire in the main thread", function ()
  it("is stopped by SIGINT with 'interrupted!'", function ()
    local out = run_interrupted([[
      local s = require('qsem').new(0)
      s:acquire()
      print('acquired?!')]])
    assert.matches("interrupted!", out, 1, true)
    assert.not_matches("acquired", out)
    assert.not_matches("exit=137", out, 1, true)   -- not the SIGKILL fallback
  end)

  it("with a timeout is stopped too, and takes no token", function ()
    local out = run_interrupted([[
      local s = require('qsem').new(0)
      local ok, err = pcall(s.acquire, s, 1, 60)
      print('caught', err, s:available(), s:waiting())]])
    assert.matches("caught\t.-interrupted!\t0\t0", out)
  end)
end)

-- Lua 5.4 and 5.3 set the interpreter's hook on the main thread only: a
-- wait in a plain coroutine slept on until its timeout.
describe("a blocked wait in a plain coroutine", function ()
  for _, call in ipairs { "s:acquire(1, 5)", "s:hold(1, 5)", "s:with(1, print)" } do
    it("is stopped by SIGINT with 'interrupted!': " .. call, function ()
      local out = run_interrupted(([[
        local s = require('qsem').new(0)
        local co = coroutine.create(function ()
          local ok, err = pcall(function () return %s end)
          print('caught', err, s:available(), s:waiting())
          error(err, 0)
        end)
        print('resumed', coroutine.resume(co))]]):format(call))
      -- at once, not after 5 s: a timeout prints "caught\tnil"
      assert.matches("caught\t.-interrupted!\t0\t0", out)
      -- and the program ends: LuaJIT's resume returns it; Lua 5.4 and
      -- 5.3 raise it in the main thread too, as for any Ctrl-C while a
      -- coroutine runs
      assert.matches("interrupted!", out:match("caught.-\n(.*)$"), 1, true)
      assert.not_matches("exit=137", out, 1, true)
    end)
  end
end)
