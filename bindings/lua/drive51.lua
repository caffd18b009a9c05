-- SPDX-License-Identifier: MIT
-- The coroutine wait of Lua 5.1 and LuaJIT, embedded in the module at build
-- time.  A C function cannot go on after a yield there, so the acquire and
-- hold methods are these Lua functions: the C part tries, and when the
-- coroutine must wait it returns qsem.WAIT, the waiter and what to do
-- first; the loop below then asks step() until the wait is over, yielding
-- to the host (or polling under cqueues) in between.  Lua 5.4 does the
-- same in C (lqsem_wait.c).
--
-- Under LuaJIT, acquire, try_acquire, hold and release first try a fast
-- path through the FFI (see 'fast' below), and a guard is FFI cdata whose
-- release does the same: calls through the Lua C API cannot be compiled
-- by the JIT, FFI calls can.  The chunk returns what lqsem.h's
-- lqsem_typeerror calls to name a cdata (nil but under LuaJIT).

local meths, acquire, hold, step, finish, WAIT, try_acquire, release, SEMAPHORE, entry,
      hub, wake, take, ledger, tables, cqglue, c_ready = ...
local yield, pcall, error = coroutine.yield, pcall, error
local getmetatable, type, floor, tonumber, tostring = getmetatable, type, math.floor, tonumber, tostring

-- The results of an acquire or hold as the C method gives them: one value
-- (true, or the guard) when the tokens are taken, else fail and why.
local function result (a, b)
  if a then return a end
  return a, b
end

-- The C method says what to do first ('f'), as step() would: its look
-- would only find what the C method has just found (the tokens were not
-- free).  true: yield to the generic host, which resumes the coroutine
-- when qsem.ready() lists it or its deadline comes; else cqueues: the
-- glue's wait, with the seconds left and the controller.
local function loop (w, f, left, ctl)
  if f == true then yield(WAIT, w) else f(w, left, ctl) end
  while true do
    local a, b, c = step(w)
    if a ~= WAIT then return result(a, b) end
    if b then b(w, c) else yield(WAIT, w) end
  end
end

-- A loop that returned has ended the wait (step ends it with its
-- result); one that raised ends it here, so that no token is kept by a
-- waiter that nobody will ask again.
local function done (w, ok, ...)
  if not ok then
    finish(w)
    error((...), 0)
  end
  return ...
end

-- The C method is called through an upvalue of this name, which the C
-- side recognizes to word its argument errors as the user's call
-- (lqsem.h, lqsem_argerror): the method, or a function that tail-calls
-- this one, must be what the user called.  'post', if given, takes the
-- results (LuaJIT: a guard made in C becomes cdata).
local function same (...) return ... end

local function wrap (qsem_c_method, post)
  post = post or same
  return function (s, n, timeout)
    local a, b, f, left, ctl = qsem_c_method(s, n, timeout)
    if a ~= WAIT then return post(result(a, b)) end
    return post(done(b, pcall(loop, b, f, left, ctl)))
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
-- (no tokens, closed, a dropped handle, a count that would pass max, a
-- bad argument) goes on to the C method, which checks, raises or waits as
-- always.
local ok, ffi = pcall(require, "ffi")
if not (ok and jit and entry) then return nil end

local WOKEN = ffi.typeof("struct { int n; int take; double addr; }")   -- lqsem.h's lqsem_Woken

local E = ffi.cast(ffi.typeof([[const struct {
  int (*try_acquire) (void *s, int64_t n);
  int (*release) (void *s, int64_t n);
  int64_t (*waiting) (const void *s);
  int eoverflow;
  int (*release_here) (void *hub, void *s, int64_t n, void *woken);
  int64_t (*hold_peek) (const void *c);
  int64_t (*hold_take) (void *c, int64_t i, void *s, int64_t n);
  int (*hold_give) (void *c, uint32_t slot, uint32_t gen, void *woken);
  int64_t (*hold_count) (const void *c, uint32_t slot, uint32_t gen);
  int (*repark) (void *h, void *w, void *s, int64_t n, double timeout, int kind);
  int (*look) (void *w);
  double (*left) (const void *w);
  int (*drain) (void *h, double *addr, int cap, int kind);
  void (*requeue) (void *h, void *w);
  int eagain, einprogress, etimedout, ecanceled, ecancelled, ebusy;
  int generic, cqueues;
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
  return same(qsem_c_method(s, n))   -- not a tail call: lqsem_argerror names it
end

local hosted_acquire   -- below
local EAGAIN = E.eagain

-- E.try_acquire's result and the count, or nil (the C method must look).
local function try (s, n)
  local h, k = fast(s, n)
  if h then return E.try_acquire(h, k), k end
end

function meths.acquire (s, n, timeout)
  if timeout == nil or (type(timeout) == "number" and timeout >= 0) then
    local r, k = try(s, n)
    if r == 0 then return true end
    if r == EAGAIN then
      local ok, why = hosted_acquire(s, k, timeout)
      if ok ~= false then return ok, why end
    end
  end
  return slow_acquire(s, n, timeout)
end

-- Give back k tokens to the handle h, as lqsem_hub.c's release_direct: a
-- release that finds nobody waiting has no wait of this state to wake;
-- one that does names this state's hub, so that the waits of this state
-- it resolves are queued without the fd, and signals the cqueues ones
-- after (signal, below).  0, or EOVERFLOW with nothing changed.
local HUB = nil           -- this state's hub, once it has one
-- release_here's answer: the cqueues wait(s) to signal.  Code of this
-- state may release while another release is between its call and its
-- reads of the answer: a finalizer, where compiled code leaves its trace,
-- or a debug hook, at any instruction of the interpreter.  So a release
-- owns 'woken' from its call to its reads, and one that finds it owned
-- (nested in that window) answers into a buffer of its own.
-- Both fields are read at once, before any branch (a program releasing
-- from finalizers lost a wake-up in 7 of 400 runs while 'addr' was read
-- past the branch).
local woken, woken_owned = WOKEN(), false
local signal              -- below

-- Call f(a, b, c, buffer) with a buffer for its answer, and signal what
-- it resolved: give()'s release_here and a guard's hold_give.  The buffer
-- is 'woken', owned from here, or a new one if it is owned already.  A
-- release nested before 'woken_owned' is set is over before this one
-- uses the buffer; one nested after finds it owned.  A hook that raises
-- while a release owns it leaves it owned, and later releases make their
-- own: slower, never wrong.  f's result.
local function release_signal (f, a, b, c)
  local own, buf = not woken_owned, woken
  if own then
    woken_owned = true
  else
    buf = WOKEN()
    buf.take = woken.take
  end
  local r = f(a, b, c, buf)
  local n, addr = buf.n, buf.addr   -- both at once: see 'woken'
  if own then woken_owned = false end
  if n ~= 0 then signal(n, addr) end
  return r
end

local function give (h, k)
  if E.waiting(h) ~= 0 then
    if HUB == nil then
      local p = hub()
      if p ~= nil then HUB = ffi.cast("void *", p) end
    end
    if HUB ~= nil then return release_signal(E.release_here, HUB, h, k) end
  end
  return E.release(h, k)
end

function meths.release (s, n)
  local h, k = fast(s, n)
  if h and give(h, k) == 0 then return end
  local qsem_c_method = release
  qsem_c_method(s, n)   -- raises (the count would pass max), changing nothing
end

-- {---------------------------------------------------------------------
-- Waits in coroutines
-- ----------------------------------------------------------------------
-- A coroutine's first wait goes through the C method, which makes its
-- wait object and keeps it, once over, for the coroutine's next wait on
-- the same semaphore and count (CTX_SPARE).  That next wait, and every
-- one after it, is restarted here (E.repark) and looked at after each
-- resume (E.look) through the FFI, with the state's tables kept as the C
-- methods keep them:
--   - a generic host's coroutine is parked at CTX_PARKED (so that
--     qsem.cancel finds it and the state keeps it) and at CTX_BYADDR
--     under its wait's address, where qsem.ready (E.drain) finds it;
--   - a cqueues coroutine polls its wait's condition through the glue
--     (cqueues_glue.lua), as after the C method; its wait is at
--     CTX_CQPARKED, for qsem.cancel, and at CTX_CQBYADDR under its
--     address, where a release of this state finds it to signal it
--     (signal, below: E.drain again).
-- A program that sees no difference gets a handoff that the JIT can
-- compile in part, where the C methods' calls through the Lua C API
-- cost it several times the host's own scheduling.
local PARKED, SPARE, HOSTED, BYADDR, CQPARKED, CQBYADDR = nil, nil, nil, nil, nil, nil
local VOIDP, UINTPTR = ffi.typeof("void *"), ffi.typeof("uintptr_t")
local EINPROGRESS, EBUSY, GENERIC, CQUEUES = E.einprogress, E.ebusy, E.generic, E.cqueues
local running, isyieldable = coroutine.running, coroutine.isyieldable
local cast = ffi.cast
local loaded = package.loaded

local REASON = { [E.etimedout] = "timeout", [E.ecanceled] = "closed", [E.ecancelled] = "cancelled" }

local function setup ()
  local p
  p, PARKED, SPARE, HOSTED, BYADDR, CQPARKED, CQBYADDR = tables()
  HUB = cast(VOIDP, p)
end

-- A wait's address as the key of CTX_BYADDR or CTX_CQBYADDR, made once
-- per wait.  The FFI calls take the userdata themselves (the FFI passes
-- its address): no cdata is made per handoff, which would cost the
-- collector wherever the JIT cannot sink it (the coroutine calls below
-- end its traces).
local WKEY = setmetatable({}, { __mode = "k" })

local function key (w)
  local k = WKEY[w]
  if k == nil then
    k = tonumber(cast(UINTPTR, cast(VOIDP, w)))
    WKEY[w] = k
  end
  return k
end

local function outcome (r)
  if r == 0 then return true end
  return nil, REASON[r]
end

-- Park the running coroutine 'co' on its kept wait 'w', restarted for s,
-- k and timeout as a wait of 'kind' (E.repark), until sleep(w, ctl) says
-- it is over: the acquire's results, or false if the wait could not
-- restart (the C method goes on).  The state's tables of that kind get
-- the wait's entries (co -> w in 'parked', its address -> 'v' in
-- 'byaddr') before the wait starts.  Nothing protects the wait with
-- pcall, which would cost the JIT most of what the FFI saves (a yield
-- inside pcall keeps LuaJIT 2.1 from compiling the handoff): all that may
-- allocate, and so raise, is done before the wait starts, and after it
-- only a memory error in a call, or an error raised by a hook, could
-- leave a wait on.  Its coroutine's next acquire ends such a wait here
-- (E.repark says EBUSY), as the C method's driver ends one that raised,
-- before it starts another; qsem.cancel() or the collector end it
-- otherwise.
local function park (parked, byaddr, v, kind, sleep, co, w, ctl, s, k, timeout)
  local a = key(w)
  parked[co] = w
  byaddr[a] = v
  local r = E.repark(HUB, w, s, k, timeout or -1, kind)
  if r == EBUSY then
    finish(w)   -- which forgets the wait in the tables: in them again
    parked[co] = w
    byaddr[a] = v
    r = E.repark(HUB, w, s, k, timeout or -1, kind)
  end
  if r == EINPROGRESS then
    r = sleep(w, ctl)
  elseif r ~= 0 then
    r = false
  end
  parked[co] = nil
  byaddr[a] = nil
  if r == false then return false end
  return outcome(r)
end

-- A generic host's sleep: yield to the host until a look after a resume
-- finds the wait over; E.look's last result.
local function host_sleep (w)
  local r
  repeat
    yield(WAIT, w)
    r = E.look(w)
  until r ~= EINPROGRESS
  return r
end

-- cqueues: the glue's wait, wake and prepare, once a wait of this state
-- needed them; cqueues.running, once the program has loaded cqueues.
local CQWAIT, CQWAKE, CQPREP, CQRUN = nil, nil, nil, nil

-- E.look and E.left in functions of their own.  Code that a yield
-- returns to runs in the interpreter up to the next call of a function
-- that the JIT compiled from its entry, and an FFI call costs there many
-- times what it costs in compiled code (more than a call through the Lua
-- C API).
local function look (w) return E.look(w) end

local function left (w)
  local t = E.left(w)
  if t >= 0 then return t end
end

-- Poll the wait 'w' of a coroutine that the controller 'ctl' runs until
-- the wait is over; E.look's last result.  The first poll is written out:
-- the JIT aborts a trace that meets a loop it did not start, and a wait
-- is almost always over after one.
local function poll (w, ctl)
  CQWAIT(w, left(w), ctl)
  local r = look(w)
  while r == EINPROGRESS do
    CQWAIT(w, left(w), ctl)
    r = look(w)
  end
  return r
end

-- The cqueues controller that runs the coroutine, if it is the one that
-- the controller resumed (as lqsem_wait.c's waitkind asks), else nil.
-- Asked once per kept wait (CTLOF, kept wait -> controller; weak both
-- ways, as the controller keeps the coroutine that keeps the wait): the
-- call costs more than the rest of a handoff's Lua side, and a coroutine
-- that a controller resumed stays that controller's, which cqueues
-- requires of its coroutines (it alone resumes them; docs/lua.md).
local CTLOF = setmetatable({}, { __mode = "kv" })

local function controller ()
  if CQRUN == nil then
    local cq = loaded.cqueues
    if type(cq) ~= "table" or type(cq.running) ~= "function" then return nil end
    CQRUN = cq.running
  end
  local ctl, mine = CQRUN()
  if ctl ~= nil and mine then return ctl end
end

-- true (granted), or nil and why, if the running coroutine has a kept
-- wait for h and k that it could restart, as a generic host's (marked by
-- qsem.hosted) or, failing that, under cqueues; else false, and the C
-- method goes on (as for a timeout of 0, which never waits).
function hosted_acquire (s, k, timeout)
  local co = running()
  if timeout == 0 or co == nil then return false end
  if HOSTED == nil then
    if hub() == nil then return false end   -- no wait yet in this state: no kept one
    setup()
  end
  local w = SPARE[co]
  if not w or not isyieldable() then return false end
  if HOSTED[co] then return park(PARKED, BYADDR, co, GENERIC, host_sleep, co, w, nil, s, k, timeout) end
  local ctl = CTLOF[w]
  if ctl == nil then
    ctl = controller()
    if ctl == nil then return false end
    CTLOF[w] = ctl
  end
  if CQWAIT == nil then
    CQWAIT, CQWAKE, CQPREP = cqglue()
    woken.take = 1   -- signal() has all it needs from now on
  end
  CQPREP(w, ctl)   -- the glue's records for the wait, before it starts
  return park(CQPARKED, CQBYADDR, w, CQUEUES, poll, co, w, ctl, s, k, timeout)
end

-- Signal the cqueues waits that a release of this state resolved, as
-- lqsem_wait.c's wake_direct does for the C methods: the release took the
-- first off the hub's list into 'woken', and each of the others is taken
-- here in turn (E.drain).  One that cannot be signalled (memory) goes
-- back to the hub, whose fd is then readable, so that the dispatcher
-- delivers it and those still listed instead, and no wake-up is lost.  A wait that is
-- not at CTX_CQBYADDR is being finalized: nobody to wake.  The one wait
-- that a release resolves most often is signalled with no loop (see
-- poll).
local ADDR1 = ffi.typeof("double[1]")

-- Signal the drained wait at address 'a'; false if it went back.
local function signal_one (a)
  local w = CQBYADDR[a]
  if w ~= nil and not pcall(CQWAKE, w) then
    E.requeue(HUB, w)
    return false
  end
  return true
end

-- The buffer is this call's own: a release nested between a drain and
-- the read of its address (a hook may run there) drains into another.
local function signal_rest ()
  local next_addr = ADDR1()
  while E.drain(HUB, next_addr, 1, CQUEUES) == 1 do
    if not signal_one(next_addr[0]) then return end
  end
end

-- 'k' and 'a': what the release left in 'woken', read as soon as it
-- returned: calling this may run a finalizer that releases, and so
-- reuses 'woken'.
function signal (k, a)
  if k < 0 then return wake() end   -- left listed: see lqsem.h's lqsem_Woken
  if signal_one(a) and k > 1 then signal_rest() end
end

-- qsem.ready([t]): as the C function, which it calls for a state's
-- first wait.
local ADDR_MAX = 64
local addr = ffi.new("double[?]", ADDR_MAX)

local function ready (t)
  if t ~= nil and type(t) ~= "table" then
    error(("bad argument #1 to 'ready' (table expected, got %s)"):format(type(t)), 2)
  end
  if BYADDR == nil then
    if hub() == nil then return c_ready(t) end
    setup()
  end
  t = t or {}
  local n = #t
  repeat
    local k = E.drain(HUB, addr, ADDR_MAX, GENERIC)
    for i = 0, k - 1 do
      local co = BYADDR[addr[i]]
      if co ~= nil then n = n + 1; t[n] = co end
    end
  until k < ADDR_MAX
  return t
end
-- }---------------------------------------------------------------------

-- {---------------------------------------------------------------------
-- Guards as FFI cdata
-- ----------------------------------------------------------------------
-- Under LuaJIT a guard is a cdata struct laid out as lqsem.h's
-- lqsem_Guard: a slot of the state's ledger of guards and the slot's
-- generation, in fields that are private ('_slot', '_gen').  The ledger
-- slot keeps the guard's handle (qsem_ref, so the semaphore stays open
-- while it holds tokens) and its count, as for a guard made in C, and the
-- same sentinel gives back what a guard nobody released held (lqsem.c,
-- holds_sweep): the cdata has no finalizer, whose registration (ffi.gc)
-- would cost more than the rest of the guard.  The JIT compiles making
-- one and its release; a guard userdata made by the C method costs calls
-- through the Lua C API that it cannot compile.  A guard gives back
-- exactly its tokens, once: its slot is NONE once released, and a slot
-- used again has another generation.
local GUARD = ffi.typeof("struct { uint32_t _slot; uint32_t _gen; }")
local NONE = 0xffffffff
local istype, errorf = ffi.istype, error

-- The context and its table of guards (CTX_GUARDS, weak values: slot + 1
-- -> guard), once the C method made this state's first guard.
local CTX, GUARDS = nil, nil

-- The name of a value's type in messages, as lqsem.h's lqsem_typeerror.
local function typename (v)
  if istype(GUARD, v) then return "qsem.Guard" end
  local mt = getmetatable(v)
  if type(mt) == "table" and type(mt.__name) == "string" then return mt.__name end
  return type(v)
end

local function bad_self (name, g)
  errorf(("bad argument #1 to '%s' (qsem.Guard expected, got %s)"):format(name, typename(g)), 3)
end

-- As lqsem.c's raise_release: the guard counts as released either way.
local function raise_release (r)
  if r == E.eoverflow then
    errorf("guard release would pass the semaphore's maximum", 0)
  end
  errorf(("qsem: unexpected result %d"):format(r), 0)
end

-- The tokens the guard holds, or -1 once released.
local function held (g)
  if g._slot == NONE then return -1 end
  return tonumber(E.hold_count(CTX, g._slot, g._gen))
end

local guard = {}

-- g:release(): give the tokens back now, waking the waits of this state
-- that they resolve (give); a second call does nothing.
function guard.release (g)
  if not istype(GUARD, g) then bad_self("release", g) end
  local slot = g._slot
  if slot == NONE then return end
  g._slot = NONE   -- released even if the release fails: never twice
  local r = release_signal(E.hold_give, CTX, slot, g._gen)   -- as give(), in one call
  if r > 0 then raise_release(r) end
end

function guard.count (g)
  if not istype(GUARD, g) then bad_self("count", g) end
  local n = held(g)
  return n > 0 and n or 0
end

local guard_mt = {
  __index = guard,
  __name = "qsem.Guard",
  __tostring = function (g)
    local addr = tostring(ffi.cast("void *", g)):match("0x%x+")
    local n = held(g)
    if n < 0 then return "qsem.Guard (released): " .. addr end
    return ("qsem.Guard (%d held): %s"):format(n, addr)
  end,
}
ffi.metatype(GUARD, guard_mt)

-- A guard userdata that the C method made (after a wait, or for the first
-- guard of the state) becomes a cdata guard: 'take' (lqsem.c) hands its
-- slot over, and the userdata then holds nothing.  The cdata is made
-- first, so that a memory error strands no token.
local function adopt (g, err)
  if type(g) ~= "userdata" then return g, err end
  local c = GUARD(NONE, 0)
  local slot, gen = take(g, c)
  if slot == nil then return g end
  c._slot, c._gen = slot, gen
  if GUARDS == nil then
    local p
    p, GUARDS = ledger()
    CTX = ffi.cast("void *", p)
  end
  return c
end

local slow_hold = wrap(hold, adopt)   -- tail-called below, for its argument errors

function meths.hold (s, n, timeout)
  if GUARDS and (timeout == nil or (type(timeout) == "number" and timeout >= 0)) then
    local h, k = fast(s, n)
    if h then
      -- made before its slot is known: an allocation may run the sweep,
      -- which frees slots; between hold_peek and hold_take nothing
      -- allocates (GUARDS has a key for every slot)
      local g = GUARD(NONE, 0)
      local i = E.hold_peek(CTX)
      if i >= 0 then
        GUARDS[tonumber(i) + 1] = g
        local gen = E.hold_take(CTX, i, h, k)
        if gen >= 0 then
          g._slot, g._gen = i, gen
          return g
        end
      end
    end
  end
  return slow_hold(s, n, timeout)
end
-- }---------------------------------------------------------------------
-- }=====================================================================

-- What lqsem.h's lqsem_typeerror calls to name a cdata value, and
-- qsem.ready.
return function (v)
  if istype(GUARD, v) then return "qsem.Guard" end
end, ready
