-- SPDX-License-Identifier: MIT
-- Releases made from a debug hook.  A hook runs between any two
-- instructions of the module's Lua code (cqueues_glue.lua, and under
-- LuaJIT drive51.lua), where a finalizer cannot.  Each test here sweeps
-- a count hook over every instruction of one path in turn, one run per
-- instruction, and releases there: the instructions of a coroutine's
-- wait under cqueues, and of a release that wakes such waits.  Every run
-- must keep every wake-up (no coroutine left asleep) and every token.
local qsem = require "qsem"
local cqueues = require "cqueues"

-- Runs a sweep may take before it must have passed the path's last
-- instruction: a path is some hundred instructions.
local MAX_RUNS = 5000

-- Set f as a hook called at every instruction: of the running coroutine
-- under Lua 5.3 and 5.4; of the whole state under LuaJIT, whose hooks
-- are global, so f counts only the coroutine it is given.
local function every_instruction (co, f)
  debug.sethook(function ()
    if coroutine.running() == co then f() end
  end, "", 1)
end

-- Run cq until its coroutines are done or 'seconds' pass; whether they
-- are done.  With the JIT off (compiled code calls no hooks), and this
-- thread's hook cleared and the JIT back on however it ends.
local function run (cq, seconds)
  if jit then jit.flush(); jit.off() end
  local deadline = cqueues.monotime() + seconds
  local ok, err = pcall(function ()
    while not cq:empty() and cqueues.monotime() < deadline do
      assert(cq:step(0.05))
    end
  end)
  debug.sethook()
  if jit then jit.on() end
  assert(ok, err)
  return cq:empty()
end

-- One run: a coroutine waits on 's' for 1 token (after a first wait that
-- a release served, if 'warm': under LuaJIT that makes the wait under
-- test a restarted one, drive51.lua's); the hook releases 1 token at the
-- k-th instruction of the coroutine from the start of that acquire.  If
-- the wait parks before the k-th instruction, another coroutine releases
-- instead.  Whether the hook released.
local function wait_run (k, warm)
  local s = qsem.new(0)
  local cq = cqueues.new()
  local fired, fallback, got = false, false, nil
  cq:wrap(function ()
    if warm then assert(s:acquire(1)) end
    local n = 0
    every_instruction(coroutine.running(), function ()
      n = n + 1
      if n == k then fired = true; s:release(1) end
    end)
    got = s:acquire(1)
    debug.sethook()
  end)
  cq:wrap(function ()
    if warm then
      while s:waiting() == 0 do cqueues.sleep(0) end
      s:release(1)
      while s:waiting() == 0 and got == nil and not fired do cqueues.sleep(0) end
    end
    while got == nil do
      -- waiting with no release from the hook yet: the wait parked first
      if s:waiting() > 0 and not fired and not fallback then
        fallback = true
        s:release(1)
      end
      cqueues.sleep(0)
    end
  end)
  local where = ("hook release at instruction %d of %s wait"):format(k, warm and "a restarted" or "a first")
  assert(run(cq, 5), where .. ": the coroutine was left asleep")
  assert.is_true(got, where)
  local released = (fired and 1 or 0) + (fallback and 1 or 0)
  assert.equals(released - 1, s:available(), where .. ": tokens")
  assert.equals(0, s:waiting(), where)
  return fired
end

-- One run: m coroutines wait on s1 and m on s2 (each after a first wait
-- that a release served, if 'warm'); a coroutine releases m tokens of s1
-- (by a guard's release, if 'guard'), and the hook releases m of s2 at the
-- k-th instruction of that release.  If the release ends first, s2 is
-- released after it.  Whether the hook released.
local function release_run (k, warm, m, guard)
  local s1, s2 = qsem.new(guard and m or 0), qsem.new(0)
  local g = guard and assert(s1:hold(m))
  local cq = cqueues.new()
  local got1, got2, fired = 0, 0, false
  cq:wrap(function ()
    local function all_wait ()
      while s1:waiting() + s2:waiting() < 2 * m do cqueues.sleep(0) end
    end
    all_wait()
    if warm then s1:release(m); s2:release(m); all_wait() end
    local n = 0
    every_instruction(coroutine.running(), function ()
      n = n + 1
      if n == k then fired = true; s2:release(m) end
    end)
    if g then g:release() else s1:release(m) end
    debug.sethook()
    if not fired then s2:release(m) end
  end)
  for _ = 1, m do
    cq:wrap(function ()
      if warm then assert(s1:acquire(1)) end
      assert(s1:acquire(1))
      got1 = got1 + 1
    end)
    cq:wrap(function ()
      if warm then assert(s2:acquire(1)) end
      assert(s2:acquire(1))
      got2 = got2 + 1
    end)
  end
  local where = ("hook release at instruction %d of a %s waking %d %s wait(s)")
                :format(k, guard and "guard's release" or "release", m, warm and "restarted" or "first")
  assert(run(cq, 5), where .. ": a coroutine was left asleep")
  assert.equals(m, got1, where)
  assert.equals(m, got2, where)
  assert.equals(0, s1:available() + s2:available(), where .. ": tokens")
  assert.equals(0, s1:waiting() + s2:waiting(), where)
  return fired
end

-- Run 'one' for k = 1, 2, ... until a run where the hook did not fire:
-- the path had fewer instructions.  How many runs released from the hook.
local function sweep (one, ...)
  for k = 1, MAX_RUNS do
    if not one(k, ...) then return k - 1 end
  end
  error("the path did not end within " .. MAX_RUNS .. " instructions")
end

describe("a release made from a debug hook", function ()
  it("at any instruction of a first wait under cqueues wakes it", function ()
    assert.is_true(sweep(wait_run, false) > 10)
  end)

  it("at any instruction of a restarted wait under cqueues wakes it", function ()
    assert.is_true(sweep(wait_run, true) > 10)
  end)

  for _, m in ipairs({ 1, 2 }) do
    it(("at any instruction of a release that wakes %d wait(s) loses no wake-up"):format(m), function ()
      assert.is_true(sweep(release_run, false, m) > 3)
      assert.is_true(sweep(release_run, true, m) > 3)
    end)

    it(("at any instruction of a guard's release that wakes %d wait(s) loses no wake-up"):format(m), function ()
      assert.is_true(sweep(release_run, false, m, true) > 3)
      assert.is_true(sweep(release_run, true, m, true) > 3)
    end)
  end
end)
