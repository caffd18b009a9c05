-- SPDX-License-Identifier: MIT
local qsem = require "qsem"
local helper = require "helper"

-- A coroutine keeps its last finished wait, and its next wait on the same
-- semaphore and count restarts that wait's waiter (lqsem_wait.c,
-- coop_park).  These check that the reuse happens, and that a reused
-- waiter loses and creates no token whichever way its previous wait ended.
local function spawn (f)
  return qsem.hosted(coroutine.create(f))
end

-- Resume 'co' and return the waiter it parked on.
local function park (co)
  local ok, tag, w = coroutine.resume(co)
  assert.is_true(ok, tag)
  assert.equals(qsem.WAIT, tag)
  return w
end

describe("a coroutine's next wait", function ()
  it("restarts the waiter of its last wait on the same semaphore and count", function ()
    local s = qsem.new(0)
    local co = spawn(function ()
      for _ = 1, 3 do assert(s:acquire(1)) end
      return "done"
    end)
    local w1 = park(co)
    s:release(1)
    assert.same({ co }, qsem.ready())
    local w2 = park(co)
    assert.is_true(rawequal(w1, w2))
    s:release(1)
    assert.same({ co }, qsem.ready())
    assert.is_true(rawequal(w1, park(co)))
    s:release(1)
    assert.same({ co }, qsem.ready())
    assert.same({ true, "done" }, { coroutine.resume(co) })
    assert.equals(0, s:available())
  end)

  it("makes a new waiter for another count or another semaphore", function ()
    local s, t = qsem.new(0), qsem.new(0)
    local co = spawn(function ()
      assert(s:acquire(1)); assert(s:acquire(2)); assert(t:acquire(2))
    end)
    local w1 = park(co)
    s:release(1)
    qsem.ready()
    local w2 = park(co)
    assert.is_false(rawequal(w1, w2))
    s:release(2)
    qsem.ready()
    assert.is_false(rawequal(w2, park(co)))
    t:release(2)
    qsem.ready()
    assert.is_true(coroutine.resume(co))
    assert.equals("dead", coroutine.status(co))
    assert.equals(0, s:available())
    assert.equals(0, t:available())
  end)

  it("gives back a grant that a cancelled wait never claimed, then waits again", function ()
    local s = qsem.new(0)
    local co = spawn(function ()
      local ok, err = s:acquire(1)
      assert(ok == nil and err == "cancelled")
      return s:acquire(1)
    end)
    local w1 = park(co)
    s:release(1)                 -- granted to the waiter, not yet claimed
    assert.is_true(qsem.cancel(co))
    assert.equals(1, s:available())   -- the grant went back
    qsem.ready()
    -- the next acquire finds the token free and takes it without waiting
    assert.same({ true, true }, { coroutine.resume(co) })
    assert.equals(0, s:available())
    assert.equals(0, s:waiting())
    assert.equals("qsem.Waiter", getmetatable(w1).__name)
  end)

  it("times out, then waits again on the same waiter and is granted", function ()
    local s = qsem.new(0)
    local co = spawn(function ()
      local ok, err = s:acquire(1, 0.001)
      assert(ok == nil and err == "timeout")
      return s:acquire(1)
    end)
    local w1 = park(co)
    helper.sleep(0.01)
    local w2 = park(co)          -- the timeout is noticed, and the next wait parks
    assert.is_true(rawequal(w1, w2))
    assert.equals(1, s:waiting())
    s:release(1)
    assert.same({ co }, qsem.ready())
    assert.same({ true, true }, { coroutine.resume(co) })
    assert.equals(0, s:available())
    assert.equals(0, s:waiting())
  end)

  it("fails with closed on a closed semaphore, and leaves no waiter queued", function ()
    local s = qsem.new(0)
    local co = spawn(function ()
      assert(s:acquire(1))
      return s:acquire(1)
    end)
    park(co)
    s:release(1)
    qsem.ready()
    park(co)
    s:close()
    qsem.ready()
    assert.same({ true, nil, "closed" }, { coroutine.resume(co) })
    assert.equals(0, s:waiting())
  end)

  it("counts every token when many coroutines reuse their waits", function ()
    local s = qsem.new(3)
    local h = helper.host()
    local held, most = 0, 0
    for i = 1, 12 do
      h.spawn(function ()
        for j = 1, 200 do
          local n = (i + j) % 3 + 1
          assert(s:acquire(n))
          held = held + n
          if held > most then most = held end
          assert(held <= 3)
          if j % 2 == 0 then coroutine.yield() end
          held = held - n
          s:release(n)
        end
      end)
    end
    h.run()
    assert.equals(3, s:available())
    assert.equals(0, s:waiting())
    assert.is_true(most >= 2)
  end)

  it("lets a finished coroutine and its kept waiter be collected", function ()
    local s = qsem.new(0)
    local weak = setmetatable({}, { __mode = "k" })
    local function once ()
      local co = spawn(function () return s:acquire(1) end)
      weak[park(co)] = true
      weak[co] = true
      s:release(1)
      qsem.ready()
      assert.same({ true, true }, { coroutine.resume(co) })
    end
    once()
    collectgarbage(); collectgarbage(); collectgarbage()
    assert.is_nil(next(weak))
    s:release(1)
    assert.equals(1, s:available())
  end)
end)
