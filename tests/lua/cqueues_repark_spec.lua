-- SPDX-License-Identifier: MIT
-- A cqueues coroutine's second and later waits on one semaphore for one
-- count restart the wait kept from its first; under LuaJIT that restart,
-- the look after each poll and the signal of a release in the same state
-- go through the FFI (drive51.lua), not the C methods.  Each test here
-- makes a coroutine wait once and be served, so that what it checks
-- happens to a restarted wait: grants, timeouts, cancellation, close,
-- releases from another OS thread, a controller dropped with it, a signal
-- that fails, and the count of tokens.
local qsem = require "qsem"
local cqueues = require "cqueues"
local helper = require "helper"

local loop, upvalue = helper.cq_loop, helper.upvalue

-- The C functions behind acquire and its steps (LuaJIT), to count calls.
local C = {}
if jit then
  local S = getmetatable(qsem.new(0)).__index
  local slow = upvalue(S.acquire, "slow_acquire")
  C[upvalue(slow, "qsem_c_method")] = true
  C[upvalue(upvalue(slow, "loop"), "step")] = true
end

-- Run f with a hook counting the calls of those C functions.
local function ccalls (f)
  local n = 0
  debug.sethook(function ()
    local info = debug.getinfo(2, "f")
    if info and C[info.func] then n = n + 1 end
  end, "c")
  local ok, err = pcall(f)
  debug.sethook()
  assert(ok, err)
  return n
end

-- On controller 'cq', a coroutine that first waits on 's' for 'n' and is
-- served by a release from another coroutine, then runs f() (its second
-- wait is the one under test) and hands its results to 'done'.
local function second_wait (cq, s, n, f, done)
  cq:wrap(function ()
    assert(s:acquire(n))   -- the first wait, through the C method
    done(f())
  end)
  cq:wrap(function ()
    while s:waiting() == 0 do cqueues.sleep(0) end   -- the first wait is queued
    s:release(n)
  end)
end

-- The line where cqueues_glue.lua defines its wait function: how a call
-- hook tells that function's calls (its source is "=qsem.cqueues").
local function glue_wait_line ()
  local glue = assert(package.searchpath("cqueues_glue", package.path))
  local n = 0
  for l in io.lines(glue) do
    n = n + 1
    if l:match("^local function wait ") then return n end
  end
  error("no wait function in " .. glue)
end

-- Run the controller 'cq' of a test whose coroutines set call hooks:
-- with the JIT off (compiled code calls no hooks), and this thread's hook
-- cleared and the JIT back on however the loop ends.
local function loop_hooked (cq)
  if jit then jit.flush(); jit.off() end
  local ok, err = pcall(loop, cq)
  debug.sethook()
  if jit then jit.on() end
  assert(ok, err)
end

describe("a restarted wait under cqueues", function ()
  it("is granted by a release of another coroutine, without the C methods", function ()
    local s = qsem.new(0)
    local cq = cqueues.new()
    local rounds, got = 50, 0
    local n = ccalls(function ()
      second_wait(cq, s, 1, function ()
        for _ = 1, rounds do
          assert.is_true(s:acquire(1))
          got = got + 1
        end
      end, function () end)
      cq:wrap(function ()
        for _ = 1, rounds do
          cqueues.sleep(0)
          s:release(1)
        end
      end)
      loop(cq)
    end)
    assert.equals(rounds, got)
    -- the first wait (or two, as the coroutines happen to start) goes
    -- through the C method and its steps; through the C methods, every
    -- round would cost at least one call
    if jit then assert.is_true(n < 10, n .. " calls of the C methods") end
    assert.equals(0, s:available())
    assert.equals(0, s:waiting())
  end)

  it("times out, having taken nothing", function ()
    local s = qsem.new(0)
    local cq = cqueues.new()
    local t0, r
    second_wait(cq, s, 2, function ()
      t0 = helper.now()
      return s:acquire(2, 0.05)
    end, function (...) r = { ... } end)
    loop(cq)
    assert.same({ nil, "timeout" }, r)
    assert.is_true(helper.now() - t0 >= 0.045)
    assert.equals(0, s:waiting())
    s:release(2)
    assert.equals(2, s:available())
  end)

  it("ends with cancelled on qsem.cancel(), its late grant given back", function ()
    local s = qsem.new(0)
    local cq = cqueues.new()
    local co, r
    second_wait(cq, s, 1, function ()
      co = coroutine.running()
      return s:acquire(1)
    end, function (...) r = { ... } end)
    cq:wrap(function ()
      while s:waiting() == 0 do cqueues.sleep(0) end
      s:release(1)                      -- granted, not yet claimed
      assert.is_true(qsem.cancel(co))   -- the grant goes back
      assert.is_false(qsem.cancel(co))
    end)
    loop(cq)
    assert.same({ nil, "cancelled" }, r)
    assert.equals(1, s:available())
    assert.equals(0, s:waiting())
  end)

  it("ends with closed when the semaphore is closed", function ()
    local s = qsem.new(0)
    local cq = cqueues.new()
    local r
    second_wait(cq, s, 1, function () return s:acquire(1) end,
                function (...) r = { ... } end)
    cq:wrap(function ()
      while s:waiting() == 0 do cqueues.sleep(0) end
      s:close()
    end)
    loop(cq)
    assert.same({ nil, "closed" }, r)
  end)

  it("is woken by a release from another OS thread, through the fd", function ()
    local s = qsem.new(0)
    local name = "qsem-test-cq-repark-" .. tostring(s):match("0x%x+")
    assert.is_true(qsem.publish(name, s))
    local cq = cqueues.new()
    local join
    local got = 0
    second_wait(cq, s, 1, function ()
      join = helper.thread(function (nm)
        local q = require "qsem"
        local t = assert(q.open(nm))
        while t:waiting() == 0 do assert(q.new(0):acquire(1, 0.001) == nil) end
        t:release(1)
      end, name)
      assert.is_true(s:acquire(1, 20))
      got = got + 1
    end, function () end)
    loop(cq)
    join()
    qsem.unpublish(name)
    assert.equals(1, got)
    assert.equals(0, s:available())
    assert.equals(0, s:waiting())
  end)

  it("goes with its controller when that is dropped, and no token is lost", function ()
    local s = qsem.new(0)
    do
      local cq = cqueues.new()
      local second = false
      second_wait(cq, s, 1, function ()
        second = true
        return s:acquire(1)
      end, function () end)
      for _ = 1, 100 do
        if second and s:waiting() == 1 then break end
        assert(cq:step(0))
      end
      assert.is_true(second)
      assert.equals(1, s:waiting())   -- the restarted wait
    end
    s:release(1)   -- granted to it; nobody resumes it
    for _ = 1, 4 do collectgarbage() end
    assert.equals(0, s:waiting())
    assert.equals(1, s:available())
  end)

  -- A wait is queued before it polls its condition, and a cqueues
  -- condition forgets a signal that nobody polls: a release of this state
  -- made in between (by a finalizer, or here a hook) must still wake it.
  it("is woken by a release made after it was queued and before it polls", function ()
    local line = glue_wait_line()
    local s = qsem.new(0)
    local cq = cqueues.new()
    local got, released = 0, 0
    cq:wrap(function ()
      local armed = true
      debug.sethook(function ()
        local info = debug.getinfo(2, "S")
        if armed and info.source == "=qsem.cqueues" and info.linedefined == line then
          armed = false
          released = released + 1
          s:release(1)   -- the wait is queued; its poll has not begun
        end
      end, "c")
      for _ = 1, 3 do   -- the first wait through the C method, then restarted ones
        armed = true
        assert.is_true(s:acquire(1))
        got = got + 1
      end
      debug.sethook()
    end)
    loop_hooked(cq)
    assert.equals(3, released)
    assert.equals(3, got)
    assert.equals(0, s:available())
    assert.equals(0, s:waiting())
  end)

  -- Making the glue's record of a waiter allocates, and an allocation may
  -- run a finalizer that releases (here a hook on it does), which wakes
  -- the very wait whose record is being made.  That wake-up must survive
  -- the record being stored.
  it("is woken by a release made while its first wait makes its record", function ()
    local new_condition = require("cqueues.condition").new
    local s, other = qsem.new(0), qsem.new(0)
    local cq = cqueues.new()
    local armed, released, got = false, 0, 0
    local function hook ()
      if armed and debug.getinfo(2, "f").func == new_condition and s:waiting() == 1 then
        armed = false
        released = released + 1
        s:release(1)   -- the wait is queued, and has no record yet
      end
    end
    cq:wrap(function ()   -- polls first, so the dispatcher runs already
      assert.is_true(other:acquire(1))
    end)
    cq:wrap(function ()
      while other:waiting() == 0 do cqueues.sleep(0) end
      debug.sethook(hook, "c")
      armed = true
      assert.is_true(s:acquire(1))
      got = got + 1
      debug.sethook()
      other:release(1)
    end)
    loop_hooked(cq)
    assert.equals(1, released)
    assert.equals(1, got)
    assert.equals(0, s:available())
    assert.equals(0, s:waiting())
    assert.equals(0, other:available())
  end)

  it("keeps every token through a storm of waits, timeouts and cancels", function ()
    local POOL, CO, ROUNDS = 3, 12, 150
    local s = qsem.new(POOL, { max = POOL })
    local cq = cqueues.new()
    local served, timedout, cancelled = 0, 0, 0
    local cos = {}
    for i = 1, CO do
      local n = 1 + i % 2
      cq:wrap(function ()
        cos[#cos + 1] = coroutine.running()
        for r = 1, ROUNDS do
          local ok, err = s:acquire(n, (i + r) % 5 == 0 and 0.0005 or 5)
          if ok then
            served = served + 1
            if r % 3 == 0 then cqueues.sleep(0) end
            s:release(n)
          elseif err == "timeout" then
            timedout = timedout + 1
          else
            assert.equals("cancelled", err)
            cancelled = cancelled + 1
          end
        end
      end)
    end
    cq:wrap(function ()
      for r = 1, 200 do
        if #cos > 0 then qsem.cancel(cos[r % #cos + 1]) end
        cqueues.sleep(0)
      end
    end)
    loop(cq)
    assert.equals(CO * ROUNDS, served + timedout + cancelled)
    assert.is_true(served > CO * ROUNDS / 2)
    assert.equals(POOL, s:available())
    assert.equals(0, s:waiting())
  end)
end)

-- LuaJIT: a release in the same state signals the waits it resolved from
-- drive51.lua; one it cannot signal goes back to the hub, and the
-- controller's dispatcher delivers it through the fd.
if jit then
  describe("a restarted wait's signal under LuaJIT", function ()
    -- drive51.lua's poll, and a way to replace the glue's wait it calls.
    local function glue_wait ()
      local S = getmetatable(qsem.new(0)).__index
      local poll = upvalue(upvalue(S.acquire, "hosted_acquire"), "poll")
      local wait, i = upvalue(poll, "CQWAIT")
      return function (f) debug.setupvalue(poll, i, f or wait) end, wait
    end

    -- One restarted wait, so that drive51.lua holds the glue's functions
    -- (CQWAIT and the rest) that the tests below replace, whichever ran
    -- before them.
    local function warm ()
      local s = qsem.new(0)
      local cq = cqueues.new()
      local second = false
      second_wait(cq, s, 1, function ()
        second = true
        return s:acquire(1)
      end, function () end)
      cq:wrap(function ()
        while not (second and s:waiting() == 1) do cqueues.sleep(0) end
        s:release(1)
      end)
      loop(cq)
      assert(upvalue(upvalue(getmetatable(s).__index.acquire, "hosted_acquire"), "CQPREP"))
    end

    before_each(warm)

    -- Nothing protects the wait with pcall (drive51.lua, restart): an
    -- error raised after it started (here by a glue that polls, then
    -- raises; in life a memory error or a hook) leaves it on, and the
    -- coroutine's next acquire ends it, its grant given back, first.
    it("left on by an error is ended by the next acquire, its grant given back", function ()
      local set, glue = glue_wait()
      local s = qsem.new(0)
      local cq = cqueues.new()
      local first, second
      second_wait(cq, s, 1, function ()
        set(function (...) glue(...); error("boom", 0) end)
        first = { pcall(s.acquire, s, 1, 5) }
        set()
        assert.equals(0, s:available())   -- the grant sits in the wait left on
        return s:acquire(1, 5)
      end, function (...) second = { ... } end)
      cq:wrap(function ()
        while s:waiting() == 0 do cqueues.sleep(0) end
        s:release(1)
      end)
      loop(cq)
      assert.same({ false, "boom" }, first)
      assert.same({ true }, second)   -- the grant of the wait left on, at once
      assert.equals(0, s:available())
      assert.equals(0, s:waiting())
    end)

    it("left on by an error, then ended by the next acquire, which waits and is woken", function ()
      local set, glue = glue_wait()
      local s = qsem.new(0)
      local cq = cqueues.new()
      local first, second
      second_wait(cq, s, 1, function ()
        set(function () error("boom", 0) end)   -- before it polls
        first = { pcall(s.acquire, s, 1) }
        set()
        assert.equals(1, s:waiting())   -- left on, not granted
        return s:acquire(1)             -- ends it, and waits again
      end, function (...) second = { ... } end)
      cq:wrap(function ()
        while first == nil do cqueues.sleep(0) end
        cqueues.sleep(0)
        s:release(1)   -- from this state: the signal must find the new wait
      end)
      loop(cq)
      assert.same({ false, "boom" }, first)
      assert.same({ true }, second)
      assert.equals(0, s:available())
      assert.equals(0, s:waiting())
    end)

    -- A release that runs inside another's signalling (a finalizer, here
    -- a hook) reuses the buffer where the release leaves what to signal:
    -- the outer one must still signal what it resolved.
    it("of a release is not lost to a release made while it signals", function ()
      local S = getmetatable(qsem.new(0)).__index
      local signal = upvalue(upvalue(upvalue(S.release, "give"), "release_signal"), "signal")
      local s1, s2 = qsem.new(0), qsem.new(0)
      local cq = cqueues.new()
      local got1, got2 = 0, 0
      jit.flush()   -- compiled code calls no hooks: run this test interpreted
      jit.off()
      cq:wrap(function ()
        for _ = 1, 2 do assert.is_true(s1:acquire(1)); got1 = got1 + 1 end
      end)
      cq:wrap(function ()
        for _ = 1, 2 do assert.is_true(s2:acquire(1)); got2 = got2 + 1 end
      end)
      cq:wrap(function ()
        while s1:waiting() + s2:waiting() < 2 do cqueues.sleep(0) end
        s1:release(1)   -- the first waits, through the C methods
        s2:release(1)
        while got1 + got2 < 2 or s1:waiting() + s2:waiting() < 2 do cqueues.sleep(0) end
        local armed = true
        debug.sethook(function ()
          if armed and debug.getinfo(2, "f").func == signal then
            armed = false
            s2:release(1)   -- nested: resolves and signals the other wait
          end
        end, "c")
        s1:release(1)
        debug.sethook()
      end)
      local ok, err = pcall(loop, cq)
      debug.sethook()
      jit.on()
      assert(ok, err)
      assert.equals(2, got1)
      assert.equals(2, got2)
      assert.equals(0, s1:available() + s2:available())
    end)

    -- The glue's wake, as signal_one calls it, and a way to make it fail.
    local function glue_wake ()
      local S = getmetatable(qsem.new(0)).__index
      local signal_one = upvalue(upvalue(upvalue(upvalue(S.release, "give"), "release_signal"), "signal"), "signal_one")
      local wake, i = upvalue(signal_one, "CQWAKE")
      return function (f) debug.setupvalue(signal_one, i, f or wake) end, wake
    end

    it("that fails is delivered by the dispatcher instead", function ()
      local set = glue_wake()
      local failed = 0
      local s = qsem.new(0)
      local cq = cqueues.new()
      local got = 0
      second_wait(cq, s, 1, function ()
        for _ = 1, 3 do
          assert.is_true(s:acquire(1, 10))
          got = got + 1
        end
      end, function () end)
      cq:wrap(function ()
        for _ = 1, 3 do
          while s:waiting() == 0 do cqueues.sleep(0) end
          set(function () failed = failed + 1; error("no memory") end)
          s:release(1)   -- must not raise: the wait goes back to the hub
          set()
        end
      end)
      local ok, err = pcall(loop, cq)
      set()
      assert(ok, err)
      assert.equals(3, failed)
      assert.equals(3, got)
      assert.equals(0, s:available())
      assert.equals(0, s:waiting())
    end)

    -- One release resolving several restarted waits: the first is handed
    -- back by the release, the others are taken one at a time; a signal
    -- that fails in the middle leaves it and the rest to the dispatcher.
    it("of several waits resolved by one release reaches each, one failing", function ()
      local set, wake = glue_wake()
      local s = qsem.new(0)
      local cq = cqueues.new()
      local K, got, signalled = 4, 0, 0
      for _ = 1, K do
        cq:wrap(function ()
          for _ = 1, 2 do   -- the first wait through the C method, the second restarted
            assert.is_true(s:acquire(1, 10))
            got = got + 1
          end
        end)
      end
      cq:wrap(function ()
        while s:waiting() < K do cqueues.sleep(0) end
        s:release(K)   -- the first waits, through the C methods
        while got < K or s:waiting() < K do cqueues.sleep(0) end
        set(function (w)
          signalled = signalled + 1
          if signalled == 2 then error("no memory") end
          return wake(w)
        end)
        s:release(K)   -- the restarted waits: four at once
        set()
      end)
      local ok, err = pcall(loop, cq)
      set()
      assert(ok, err)
      assert.equals(2, signalled)   -- the second failed: it and the rest went back
      assert.equals(2 * K, got)
      assert.equals(0, s:available())
      assert.equals(0, s:waiting())
    end)
  end)
end
