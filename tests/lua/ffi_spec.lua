-- SPDX-License-Identifier: MIT
-- LuaJIT only: the fast paths of acquire, try_acquire and release through
-- the FFI (drive51.lua).  A call hook counts the calls that reach the C
-- methods: the uncontended paths must not, and every other case must, with
-- the same outcome as the C method gives.
local qsem = require "qsem"

local S = getmetatable(qsem.new(0)).__index

local upvalue = require("helper").upvalue

-- The C functions behind the methods.
local C = {}
C[upvalue(S.try_acquire, "try_acquire")] = "try_acquire"
C[upvalue(S.release, "release")] = "release"
C[upvalue(upvalue(S.acquire, "slow_acquire"), "qsem_c_method")] = "acquire"
C[upvalue(upvalue(S.hold, "slow_hold"), "qsem_c_method")] = "hold"
C[upvalue(upvalue(upvalue(upvalue(S.release, "give"), "release_signal"), "signal"), "wake")] = "wake"
C[upvalue(upvalue(S.release, "give"), "hub")] = "hub"
local step = upvalue(upvalue(upvalue(S.acquire, "slow_acquire"), "loop"), "step")
C[step] = "step"

-- Run f; return the number of calls of the C methods, then f's results.
local function ccalls (f, ...)
  local n = 0
  debug.sethook(function ()
    local info = debug.getinfo(2, "f")
    if info and C[info.func] then n = n + 1 end
  end, "c")
  local r = { n = 0 }
  local function keep (...) r = { n = select("#", ...), ... } end
  keep(pcall(f, ...))
  debug.sethook()
  return n, unpack(r, 1, r.n)
end

describe("the FFI fast paths", function ()
  it("are the methods under LuaJIT, over the C functions", function ()
    for _, name in ipairs({ "try_acquire", "release", "acquire" }) do
      assert.equals("Lua", debug.getinfo(S[name], "S").what)
    end
    for f in pairs(C) do assert.equals("C", debug.getinfo(f, "S").what) end
  end)

  it("take and give back uncontended tokens without the C methods", function ()
    local s = qsem.new(3)
    local n, ok = ccalls(function ()
      for i = 1, 200 do
        assert(s:try_acquire())
        assert(s:acquire(2))
        s:release(2)
        assert(s:acquire(1, 0))
        assert(s:acquire(nil, 1.5))
        s:release(2)
        s:release()
        assert(s:try_acquire(0))
        assert(s:try_acquire(3.0))
        s:release(3)
        assert.equals(3, s:available(), i)
      end
    end)
    assert.is_true(ok)
    assert.equals(0, n)
    assert.equals(3, s:available())
  end)

  it("leave a failed try to the C method, which reports it", function ()
    local s = qsem.new(1, { max = 4 })
    assert.same({ 1, true, nil, "timeout" }, { ccalls(s.try_acquire, s, 2) })
    assert.same({ 1, true, nil, "timeout" }, { ccalls(s.acquire, s, 2, 0) })
    s:close()
    assert.same({ 1, true, nil, "closed" }, { ccalls(s.try_acquire, s) })
    assert.same({ 1, true, nil, "closed" }, { ccalls(s.acquire, s) })
    assert.equals(1, s:available())
  end)

  it("leave every bad argument to the C method's error", function ()
    local s = qsem.new(2, { max = 4 })
    local cases = {
      { "try_acquire", 1.5, "number has no integer representation" },
      { "try_acquire", -1, "negative count" },
      { "try_acquire", 0/0, "number has no integer representation" },
      { "try_acquire", 5, "count exceeds the maximum (4)" },
      { "try_acquire", 2^62, "count out of range" },
      { "try_acquire", {}, "number expected, got table" },
      { "release", 1.5, "number has no integer representation" },
      { "release", -1, "negative count" },
      { "release", 3, "count would pass the maximum (4)" },
      { "acquire", 1.5, "number has no integer representation" },
      { "acquire", 5, "count exceeds the maximum (4)" },
    }
    for _, c in ipairs(cases) do
      local n, ok, err = ccalls(s[c[1]], s, c[2])
      assert.equals(1, n, c[1])
      assert.is_false(ok, c[1])
      assert.matches(c[3], err, 1, true)
    end
    for _, t in ipairs({ -1, 0/0, "soon" }) do
      local n, ok = ccalls(s.acquire, s, 1, t)
      assert.equals(1, n)
      assert.is_false(ok)
    end
    local n, ok, err = ccalls(S.release, {}, 1)
    assert.equals(1, n)
    assert.is_false(ok)
    assert.matches("qsem.Semaphore expected, got table", err, 1, true)
    assert.equals(2, s:available())
  end)

  it("leave a dropped handle to the C method's error", function ()
    local s = qsem.new(1)
    getmetatable(s).__gc(s)   -- drop this handle, as __gc or __close would
    for _, name in ipairs({ "try_acquire", "release", "acquire" }) do
      local n, ok, err = ccalls(s[name], s)
      assert.equals(1, n, name)
      assert.is_false(ok)
      assert.matches("dropped semaphore", err, 1, true)
    end
  end)

  it("release to a wait of this state, queued without the fd, without C functions", function ()
    qsem.drains(true)   -- the ready list, not the fd, tells the host
    local s = qsem.new(0)
    local co = qsem.hosted(coroutine.create(function () return s:acquire(1) end))
    assert.equals(qsem.WAIT, select(2, coroutine.resume(co)))
    local n = ccalls(s.release, s, 1)
    assert.is_true(n <= 1)   -- at most 'hub', once: the state's hub is then known
    local co2 = qsem.hosted(coroutine.create(function () return s:acquire(1) end))
    assert.same({ co }, qsem.ready())
    assert.equals(qsem.WAIT, select(2, coroutine.resume(co2)))
    assert.equals(0, ccalls(s.release, s, 1))
    assert.same({ co2 }, qsem.ready())
    assert.same({ true, true }, { coroutine.resume(co2) })
    qsem.drains(false)
    assert.same({ true, true }, { coroutine.resume(co) })
    assert.equals(0, s:available())
  end)

  it("count every token under a mix of fast and C paths", function ()
    local s = qsem.new(5, { max = 5 })
    local held = 0
    math.randomseed(7)
    for _ = 1, 20000 do
      local k = math.random(0, 3)
      local r = math.random(4)
      if r == 1 and s:try_acquire(k) then held = held + k
      elseif r == 2 and s:acquire(k, 0) then held = held + k
      elseif r == 3 then
        local g = s:hold(k, 0)
        if g then assert.equals(k, g:count()); g:release() end
      elseif held >= k then s:release(k); held = held - k
      end
      assert.equals(5 - held, s:available())
    end
    s:release(held)
    assert.equals(5, s:available())
  end)
end)

describe("the FFI guard", function ()
  it("is made and released without the C methods when nobody waits", function ()
    local s = qsem.new(3, { max = 3 })
    s:hold(0):release()   -- a state's first guard makes its ledger, in C
    collectgarbage()      -- the slots of earlier guards that are garbage are free:
    collectgarbage()      -- with none free, the C method makes room, as it should
    local n, ok = ccalls(function ()
      for i = 1, 200 do
        local g = s:hold(2)
        assert.equals("cdata", type(g))
        assert.equals(2, g:count())
        assert.equals(1, s:available())
        g:release()
        g:release()
        assert(s:hold(0, 0)):release()
        assert.equals(3, s:available(), i)
      end
    end)
    assert.is_true(ok)
    assert.equals(0, n)
  end)

  it("wakes a cqueues wait of this state through 'wake' only", function ()
    local cqueues = require "cqueues"
    local s = qsem.new(1)
    local g = s:hold(1)
    local cq = cqueues.new()
    local got, n
    local warm = qsem.hosted(coroutine.create(function () assert(s:acquire(1)); s:release(1) end))
    coroutine.resume(warm)   -- a release to a wait of this state: the hub is known
    g:release()
    qsem.ready()
    assert.is_true(coroutine.resume(warm))
    g = s:hold(1, 0)
    assert.equals(0, s:available())
    cq:wrap(function () got = s:acquire(1, 5) end)
    assert(cq:step(0))
    assert.equals(1, s:waiting())
    cq:wrap(function () n = ccalls(g.release, g) end)
    assert(cq:loop(30))
    assert.is_true(got)
    assert.equals(1, n)   -- 'wake': the cqueues wait is signalled in C
    assert.equals(0, s:available())
  end)

  -- A call made from C (pcall(s.acquire, s, n)) is a plain call: its
  -- arguments are numbered from the semaphore, as Lua 5.4 numbers them;
  -- s:acquire(n) is a method call, numbered from n.
  it("numbers a bad argument of a call made through pcall as a plain call", function ()
    local s = qsem.new(1)
    local cases = {
      { s.acquire, { s, -1 }, "bad argument #2 to 'acquire' (negative count)" },
      { s.acquire, { s, 1, -1 }, "bad argument #3 to 'acquire' (negative timeout)" },
      { s.release, { s, "x" }, "bad argument #2 to 'release' (number expected, got string)" },
      { s.hold, { s, -1 }, "bad argument #2 to 'hold' (negative count)" },
      { s.try_acquire, { s, -1 }, "bad argument #2 to 'try_acquire' (negative count)" },
    }
    for _, c in ipairs(cases) do
      local ok, err = pcall(c[1], unpack(c[2]))
      assert.is_false(ok)
      assert.equals(c[3], err)
    end
    local ok, err = pcall(function () s:acquire(-1) end)
    assert.is_false(ok)
    assert.truthy(err:find("bad argument #1 to 'acquire' (negative count)", 1, true), err)
    assert.equals(1, s:available())
  end)

  it("leaves a hold that cannot be served at once to the C method", function ()
    local s = qsem.new(1, { max = 2 })
    assert.same({ 1, true, nil, "timeout" }, { ccalls(s.hold, s, 2, 0) })
    s:close()
    assert.same({ 1, true, nil, "closed" }, { ccalls(s.hold, s, 1) })
    assert.equals(1, s:available())
  end)
end)

describe("a generic host's wait", function ()
  it("yields before its first look, and looks once per resume", function ()
    local s = qsem.new(0)
    local co = qsem.hosted(coroutine.create(function () return s:acquire(1) end))
    local n, _, ok, v = ccalls(coroutine.resume, co)
    assert.is_true(ok)
    assert.equals(qsem.WAIT, v)
    assert.equals(1, n)   -- acquire; no step
    n, _, ok, v = ccalls(coroutine.resume, co)   -- early: still waiting
    assert.equals(qsem.WAIT, v)
    assert.equals(1, n)   -- step
    s:release(1)
    assert.same({ co }, qsem.ready())
    n, _, ok, v = ccalls(coroutine.resume, co)
    assert.is_true(ok)
    assert.is_true(v)
    assert.equals(1, n)   -- step, which finds the grant
    assert.equals(0, s:available())
  end)
end)
