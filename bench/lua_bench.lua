-- qsem's Lua module against its floor and a pure-Lua peer.
--
--   lua5.4 bench/lua_bench.lua [--quick]
--
-- Rows: an empty C function call (the floor: what any C method costs), an
-- uncontended acquire+release pair, a `hold` guard in a to-be-closed
-- variable, and a handoff between two coroutines under cqueues (one
-- releases, the other was waiting).  Each is compared with a semaphore
-- written in plain Lua for this benchmark, in the shape copas uses: a
-- count plus a FIFO of waiting coroutines woken by give().
local qsem = require "qsem"
local cqueues = require "cqueues"
local condition = require "cqueues.condition"

local quick = arg and arg[1] == "--quick"
local N = quick and 20000 or 2000000
local HANDOFFS = quick and 2000 or 100000
local clock = cqueues.monotime

-- {=====================================================================
-- The pure-Lua peer
-- =====================================================================
local LuaSem = {}
LuaSem.__index = LuaSem

function LuaSem.new (n)
  return setmetatable({ count = n, head = 1, tail = 0, queue = {} }, LuaSem)
end

function LuaSem:take (n, timeout)
  n = n or 1
  if self.head > self.tail and self.count >= n then
    self.count = self.count - n
    return true
  end
  local me = { n = n, cond = condition.new() }
  self.tail = self.tail + 1
  self.queue[self.tail] = me
  local deadline = timeout and clock() + timeout
  while not me.granted do
    if deadline then
      local left = deadline - clock()
      if left <= 0 then me.gone = true; return nil, "timeout" end
      cqueues.poll(me.cond, left)
    else
      cqueues.poll(me.cond)
    end
  end
  return true
end

function LuaSem:give (n)
  self.count = self.count + (n or 1)
  while self.head <= self.tail do
    local w = self.queue[self.head]
    if w.gone then
      self.queue[self.head] = nil
      self.head = self.head + 1
    elseif w.n <= self.count then
      self.count = self.count - w.n
      self.queue[self.head] = nil
      self.head = self.head + 1
      w.granted = true
      w.cond:signal()
    else
      break
    end
  end
end
-- }=====================================================================

local function time (n, f)
  f(math.max(1, n // 100))   -- warm up
  local t0 = clock()
  f(n)
  return (clock() - t0) * 1e9 / n
end

local rows = {}
local function row (name, ns, peer)
  rows[#rows + 1] = { name = name, ns = ns, peer = peer }
end

local floor = time(N, function (n)
  local eq, x = rawequal, {}
  for _ = 1, n do eq(x, x) end
end)
row("empty C function call (floor)", floor)

local s = qsem.new(1)
local ls = LuaSem.new(1)
row("acquire + release, uncontended",
  time(N, function (n) for _ = 1, n do s:acquire(); s:release() end end),
  time(N, function (n) for _ = 1, n do ls:take(); ls:give() end end))

row("hold guard (<close>), uncontended",
  time(N, function (n) for _ = 1, n do local g <close> = s:hold(1) end end),
  time(N, function (n)
    local guard = setmetatable({}, { __close = function () ls:give() end })
    for _ = 1, n do ls:take(); local g <close> = guard end
  end))

-- Two coroutines on one controller pass the turn back and forth: every
-- acquire must wait and every release wakes the other side.
local function handoff (new, take, give)
  return time(HANDOFFS, function (n)
    local ping, pong = new(0), new(0)
    local cq = cqueues.new()
    cq:wrap(function () for _ = 1, n do give(ping); take(pong) end end)
    cq:wrap(function () for _ = 1, n do take(ping); give(pong) end end)
    assert(cq:loop())
  end) / 2   -- two handoffs per round
end
row("coroutine handoff under cqueues",
  handoff(qsem.new, function (x) x:acquire() end, function (x) x:release() end),
  handoff(LuaSem.new, function (x) x:take() end, function (x) x:give() end))

print(("qsem %s (%s back end), Lua %s, %d iterations, %d handoffs"):format(
  qsem.VERSION, qsem.backend, _VERSION:match("%d.*"), N, HANDOFFS))
print(("%-36s %10s %8s %12s %9s"):format("operation", "qsem ns", "x floor", "pure-Lua ns", "qsem/Lua"))
for _, r in ipairs(rows) do
  print(("%-36s %10.1f %8.2f %12s %9s"):format(r.name, r.ns, r.ns / floor,
    r.peer and ("%.1f"):format(r.peer) or "-",
    r.peer and ("%.2f"):format(r.ns / r.peer) or "-"))
end
