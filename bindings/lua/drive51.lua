-- SPDX-License-Identifier: MIT
-- The coroutine wait of Lua 5.1 and LuaJIT, embedded in the module at build
-- time.  A C function cannot go on after a yield there, so the acquire and
-- hold methods are these Lua functions: the C part tries, and when the
-- coroutine must wait it returns qsem.WAIT and the waiter; the loop below
-- asks step() until the wait is over, yielding to the host (or polling
-- under cqueues) in between.  Lua 5.4 does the same in C (lqsem_wait.c).
--
-- Under LuaJIT, acquire, try_acquire and release first try a fast path
-- through the FFI (see 'fast' below): calls through the Lua C API cannot
-- be compiled by the JIT, FFI calls can.

local meths, acquire, hold, step, finish, WAIT, try_acquire, release, SEMAPHORE, entry = ...
local yield, pcall, error = coroutine.yield, pcall, error
local getmetatable, type, floor = getmetatable, type, math.floor

local function loop (w)
  while true do
    local a, b, c = step(w)
    if a ~= WAIT then return a, b end
    if b then b(w, c) else yield(WAIT, w) end
  end
end

-- The wait ends here however the loop ended, so that no token is kept by
-- a waiter that nobody will ask again.
local function done (w, ok, a, b)
  finish(w)
  if not ok then error(a, 0) end
  return a, b
end

-- The C method is called through an upvalue of this name, which the C
-- side recognizes to word its argument errors as the user's call
-- (lqsem.h, lqsem_argerror).
local function wrap (qsem_c_method)
  return function (s, n, timeout)
    local a, b = qsem_c_method(s, n, timeout)
    if a ~= WAIT then return a, b end
    return done(b, pcall(loop, b))
  end
end

meths.acquire = wrap(acquire)
meths.hold = wrap(hold)

-- {=====================================================================
-- LuaJIT: the uncontended paths through the FFI
-- =====================================================================
-- The module hands over 'entry', a pointer to a struct of the core's
-- function pointers (lqsem.c, lqsem_FFI), since it exports no symbol that
-- ffi.C could find.  A fast path acts only on a semaphore of this module
-- with arguments that the C method would accept as they are: an integral
-- count in range (the core rejects one above the maximum) and, for
-- acquire, no timeout or a number >= 0 (NaN is not).  Only an outcome
-- that the C method would return unchanged is returned; anything else
-- (no tokens, closed, a dropped handle, waiters to wake in this state, a
-- bad argument) goes on to the C method, which checks, raises or waits as
-- always.
local ok, ffi = pcall(require, "ffi")
if not (ok and jit and entry) then return end

local E = ffi.cast(ffi.typeof([[const struct {
  int (*try_acquire) (void *s, int64_t n);
  int (*release) (void *s, int64_t n);
  int64_t (*waiting) (const void *s);
} *]]), entry)
local HANDLE = ffi.typeof("void **")   -- a semaphore userdata starts with its qsem_t pointer
local VALUE_MAX = 2^62 - 512           -- the largest double below QSEM_VALUE_MAX + 1

-- The handle of 's' and the count 'n' (default 1), or nil if the C method
-- must look at them.
local function fast (s, n)
  if getmetatable(s) ~= SEMAPHORE then return nil end
  if n == nil then n = 1
  elseif type(n) ~= "number" or not (n >= 0 and n <= VALUE_MAX) or n ~= floor(n) then return nil end
  local h = ffi.cast(HANDLE, s)[0]
  if h == nil then return nil end   -- dropped
  return h, n
end

local slow_acquire = meths.acquire

function meths.try_acquire (s, n)
  local h, k = fast(s, n)
  if h and E.try_acquire(h, k) == 0 then return true end
  local qsem_c_method = try_acquire
  local a, b = qsem_c_method(s, n)   -- not a tail call: lqsem_argerror names it
  return a, b
end

function meths.acquire (s, n, timeout)
  if timeout == nil or (type(timeout) == "number" and timeout >= 0) then
    local h, k = fast(s, n)
    if h and E.try_acquire(h, k) == 0 then return true end
  end
  return slow_acquire(s, n, timeout)
end

-- A release that finds nobody waiting has no wait of this state to wake
-- (as in lqsem_hub.c, release_direct).
function meths.release (s, n)
  local h, k = fast(s, n)
  if h and E.waiting(h) == 0 and E.release(h, k) == 0 then return end
  local qsem_c_method = release
  qsem_c_method(s, n)
end
-- }=====================================================================
