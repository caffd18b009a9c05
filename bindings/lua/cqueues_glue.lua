-- SPDX-License-Identifier: MIT
-- The cqueues glue of qsem, embedded in the module at build time and loaded
-- on the first wait under a cqueues controller (lqsem_wait.c, pushcqwait).
-- Plain Lua 5.1 to 5.4.
--
-- Arguments: the cqueues module, cqueues.condition, drain() (the resolved
-- cqueues waits of this state, as an array of waiter objects), the
-- state's notification fd, and cqpoll(POLL, r [, timeout]) (lqsem_wait.c,
-- lqsem_cqueues_poll).  Returns wait(w, timeout [, controller]), wake(w),
-- leave(w) and prepare(w, controller).

local cqueues, condition, drain, hubfd, cqpoll = ...
local running, poll = cqueues.running, cqueues.poll

-- What cqueues.poll yields to the controller that resumed the coroutine,
-- after it asked cqueues.running() whether there is one.  wait() is only
-- ever called where the caller has asked already (lqsem_wait.c's
-- waitkind, drive51.lua's controller), so cqpoll yields this itself.
local POLL = assert(cqueues._POLL, "qsem: this cqueues has no _POLL")

local hub = { pollfd = function () return hubfd end,
              events = function () return "r" end }

-- waiter -> its record { c = the condition it polls, woken = signalled
-- since its last poll, d = the dispatcher record of its controller while
-- it polls, else false }: fields of a table made once per waiter, where
-- entries of weak tables set and cleared on every wait would cost a hash
-- insertion each
local recs = setmetatable({}, { __mode = "k" })
-- waiter -> true: signalled before it had a record
local early = setmetatable({}, { __mode = "k" })

-- A cqueues condition forgets a signal that nobody polls, and a wait is
-- queued before it polls.  Code of this state may release, and so signal
-- the wait, in between: a finalizer where the functions below allocate,
-- a debug hook between any two of their instructions.  So a signal
-- leaves a mark ('woken', or 'early' before there is a record) that the
-- wait looks at last, in C (cqpoll), where nothing can run between the
-- look and the yield to the controller.  Only prepare (through record)
-- makes a record and only wake marks one, so neither can store over
-- what the other wrote.

-- The record of the waiter 'w', made if it has none.  A signal made
-- before the record is stored is in 'early', looked at after: one made
-- after finds the record.
local function record (w)
  local r = recs[w]
  if r == nil then
    r = { c = condition.new(), woken = false, d = false }
    recs[w] = r
    if early[w] then
      early[w] = nil
      r.woken = true
    end
  end
  return r
end

-- Signal the wait 'w', resolved.
local function wake (w)
  local r = recs[w]
  if r == nil then
    early[w] = true
  else
    r.woken = true
    r.c:signal()
  end
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
-- it (the C side asked cqueues.running() already).  cqpoll returns at
-- once if the wait was signalled since it last polled (a wake-up too
-- many, left from an earlier wait, costs the caller one look).
local function wait (w, timeout, ctl)
  local r, d = prepare(w, ctl or running())
  d.n = d.n + 1
  r.d = d
  cqpoll(POLL, r, timeout)
  r.woken = false   -- a signal from here on finds its wait over (the caller looks)
  leave(w)
end

return wait, wake, leave, prepare
