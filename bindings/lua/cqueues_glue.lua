-- SPDX-License-Identifier: MIT
-- The cqueues glue of qsem, embedded in the module at build time and loaded
-- on the first wait under a cqueues controller (lqsem_wait.c, pushcqwait).
-- Plain Lua 5.1 to 5.4.
--
-- Arguments: the cqueues module, cqueues.condition, drain() (the resolved
-- cqueues waits of this state, as an array of waiter objects) and the
-- state's notification fd.  Returns wait(w, timeout [, controller]),
-- wake(w), leave(w) and prepare(w, controller).

local cqueues, condition, drain, hubfd = ...
local running, poll, yield = cqueues.running, cqueues.poll, coroutine.yield

-- What cqueues.poll yields to the controller that resumed the coroutine,
-- after it asked cqueues.running() whether there is one.  wait() is only
-- ever called where the caller has asked already (lqsem_wait.c's
-- waitkind, drive51.lua's controller), so it yields this itself: one call
-- less per wait.  A cqueues without it gets poll().
local POLL = cqueues._POLL

local hub = { pollfd = function () return hubfd end,
              events = function () return "r" end }

-- waiter -> its record { c = the condition it polls, d = the dispatcher
-- record of its controller while it polls, else false, woken = signalled
-- since its last poll }: fields of a table made once per waiter, where
-- entries of weak tables set and cleared on every wait would cost a hash
-- insertion each
local recs = setmetatable({}, { __mode = "k" })

-- The record of the waiter 'w', made if it has none.  Making one
-- allocates, and an allocation may run a finalizer that releases, and so
-- wakes 'w' (wake, below), which makes a record of its own, marked woken.
-- So the table is read again once the allocations are done, and the new
-- record stored only if there is still none, with nothing in between that
-- can run code: storing ours over the finalizer's would lose its wake-up.
local function record (w)
  local r = recs[w]
  if r == nil then
    local new = { c = condition.new(), d = false, woken = false }
    r = recs[w]
    if r == nil then
      r = new
      recs[w] = r
    end
  end
  return r
end

-- Signal the wait 'w', resolved.  A cqueues condition does not remember a
-- signal that nobody polls, and a wait is queued before it polls: code of
-- this state that runs in between (a finalizer, a hook) may release, and
-- so signal it then.  'woken' remembers it, so that the poll looks again
-- at once instead of sleeping on a wake-up that came and went.
local function wake (w)
  local r = record(w)
  r.woken = true
  r.c:signal()
end

-- controller -> its dispatcher's record { n = waits polling, wake = condition }
local loops = setmetatable({}, { __mode = "k" })

-- One dispatcher per controller while any of its coroutines waits: it
-- turns the state's fd into signals on the conditions that were resolved,
-- and leaves when nobody waits, so cq:loop() can finish.
local function dispatch (ctl, d)
  while d.n > 0 do
    poll(hub, d.wake)
    local ws = drain()
    for i = 1, #ws do wake(ws[i]) end
  end
  if loops[ctl] == d then loops[ctl] = nil end
end

-- The wait 'w' no longer polls: after its poll returned, or when it ended
-- while polling (its coroutine was closed); called once either way.
local function leave (w)
  local r = recs[w]
  local d = r and r.d
  if d then
    r.d = false
    d.n = d.n - 1
    if d.n == 0 then d.wake:signal() end
  end
end


-- The dispatcher record of the controller 'ctl' and the record of the
-- waiter 'w', made if need be: all that a wait may allocate, which
-- drive51.lua does before its wait starts, so that nothing after can
-- raise.
local function prepare (w, ctl)
  local d = loops[ctl]
  if d == nil then
    d = { n = 0, wake = condition.new() }
    loops[ctl] = d
    ctl:wrap(dispatch, ctl, d)
  end
  -- A waiter keeps its condition: a coroutine's waits on one semaphore
  -- reuse one waiter object (lqsem_wait.c, keepspare), so its next wait
  -- polls the same condition, made once.  A wake-up too many (see wake)
  -- only makes the caller look again, so nothing stale can end a later
  -- wait.
  return record(w), d
end

-- 'ctl' is the controller that runs this coroutine, if the caller knows
-- it (the C side asked cqueues.running() already).
local function wait (w, timeout, ctl)
  local r, d = prepare(w, ctl or running())
  d.n = d.n + 1
  r.d = d
  if r.woken then
    -- signalled since it last polled: the caller looks again at once (a
    -- wake-up too many, left from an earlier wait, costs one look)
  elseif POLL == nil then
    if timeout then poll(r.c, timeout) else poll(r.c) end
  elseif timeout then
    yield(POLL, r.c, timeout)
  else
    yield(POLL, r.c)
  end
  r.woken = false
  leave(w)
end

return wait, wake, leave, prepare
