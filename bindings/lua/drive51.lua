-- The coroutine wait of Lua 5.1 and LuaJIT, embedded in the module at build
-- time.  A C function cannot go on after a yield there, so the acquire and
-- hold methods are these Lua functions: the C part tries, and when the
-- coroutine must wait it returns qsem.WAIT and the waiter; the loop below
-- asks step() until the wait is over, yielding to the host (or polling
-- under cqueues) in between.  Lua 5.4 does the same in C (lqsem_wait.c).

local meths, acquire, hold, step, finish, WAIT = ...
local yield, pcall, error = coroutine.yield, pcall, error

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
