-- SPDX-License-Identifier: MIT
-- qsem's Lua module against its floor and a pure-Lua peer.
--
--   lua5.4 bench/lua_bench.lua [--quick] [--cpu] [--repeats N] [--json FILE]
--   luajit bench/lua_bench.lua ...    (the same rows under LuaJIT 2.1)
--
-- Rows: an empty C function call (the floor: what any C method costs), an
-- uncontended acquire+release pair, a `hold` guard (in a to-be-closed
-- variable under Lua 5.4, released by g:release() under LuaJIT), a new
-- object per iteration (what a guard that is a new object costs, before
-- any semaphore), and a handoff between two coroutines under cqueues (one
-- releases, the other was waiting).  Each is compared with a semaphore
-- written in plain Lua for this benchmark, in the shape copas uses: a
-- count plus a FIFO of waiting coroutines woken by give().  A last row
-- hands off through the generic host protocol (qsem.hosted, qsem.WAIT,
-- qsem.ready) with a minimal scheduler, against the same scheduler passing
-- the turn with no semaphore at all.
--
-- Every row is measured in interleaved rounds (qsem, then its peer, in
-- each round); the table gives the median [min, max] over the rounds and
-- the ratio qsem/peer taken within each round.  --json writes every sample
-- for bench/report.py.  --cpu times with the process's CPU time (os.clock)
-- instead of the wall clock: steadier on a machine that other work shares,
-- since time spent descheduled does not count (every row here is one OS
-- thread that never sleeps, so nothing it waits for goes uncounted).
local qsem = require "qsem"
local cqueues = require "cqueues"
local condition = require "cqueues.condition"

local quick, cpu, repeats, json_path = false, false, 7, nil
do
  local i = 1
  while arg and arg[i] do
    if arg[i] == "--quick" then quick = true
    elseif arg[i] == "--cpu" then cpu = true
    elseif arg[i] == "--repeats" and tonumber(arg[i + 1]) then
      repeats = math.floor(tonumber(arg[i + 1])); i = i + 1
    elseif arg[i] == "--json" and arg[i + 1] then json_path = arg[i + 1]; i = i + 1
    else
      io.stderr:write("usage: lua_bench.lua [--quick] [--cpu] [--repeats N] [--json FILE]\n")
      os.exit(2)
    end
    i = i + 1
  end
end
if quick then repeats = math.min(repeats, 3) end
local N = quick and 20000 or 1000000
local HANDOFFS = quick and 2000 or 50000
local clock = cpu and os.clock or cqueues.monotime

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
  f(math.max(1, math.floor(n / 100)))   -- warm up
  local t0 = clock()
  f(n)
  return (clock() - t0) * 1e9 / n
end

-- {=====================================================================
-- The measurements: each returns ns per operation
-- =====================================================================
local function floor_call ()
  return time(N, function (n)
    local eq, x = rawequal, {}
    for _ = 1, n do eq(x, x) end
  end)
end

local s = qsem.new(1)
local ls = LuaSem.new(1)

local function pair_qsem ()
  return time(N, function (n) for _ = 1, n do s:acquire(); s:release() end end)
end
local function pair_lua ()
  return time(N, function (n) for _ = 1, n do ls:take(); ls:give() end end)
end

-- Lua 5.4 scopes the guard with <close>, which Lua 5.1 cannot parse.
local TBC = _VERSION == "Lua 5.4"
local hold_qsem, hold_lua
if TBC then
  hold_qsem, hold_lua = assert(load([[
    local time, N, s, ls = ...
    local function hold_qsem ()
      return time(N, function (n) for _ = 1, n do local g <close> = s:hold(1) end end)
    end
    local function hold_lua ()
      return time(N, function (n)
        local guard = setmetatable({}, { __close = function () ls:give() end })
        for _ = 1, n do ls:take(); local g <close> = guard end
      end)
    end
    return hold_qsem, hold_lua]]))(time, N, s, ls)
else
  function hold_qsem ()
    return time(N, function (n) for _ = 1, n do s:hold(1):release() end end)
  end
  function hold_lua ()
    return time(N, function (n)
      local guard = { release = function () ls:give() end }
      for _ = 1, n do ls:take(); guard:release() end
    end)
  end
end

-- What any guard that is a new object costs, with no semaphore: one made
-- per iteration and left to the collector.  Under LuaJIT an FFI struct
-- the size of qsem's guard; Lua 5.4 cannot make a userdata from Lua, so
-- there a table with a metatable.
local new_object
if jit then
  local GUARD = require("ffi").typeof("struct { uint32_t slot; uint32_t gen; }")
  function new_object (keep) keep[1] = GUARD(1, 0) end
else
  local mt = {}
  function new_object (keep) keep[1] = setmetatable({}, mt) end
end
local function object_floor ()
  return time(N, function (n)
    local keep = { false }   -- kept, as a guard is: the allocation cannot be optimized away
    for _ = 1, n do new_object(keep) end
  end)
end

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
local function handoff_qsem ()
  return handoff(qsem.new, function (x) x:acquire() end, function (x) x:release() end)
end
local function handoff_lua ()
  return handoff(LuaSem.new, function (x) x:take() end, function (x) x:give() end)
end

-- The generic protocol with the smallest host that keeps it: a run queue,
-- parked coroutines resumed when qsem.ready() lists them.  Both sides
-- release before they wait, so something is always ready and the host
-- never needs to poll the fd; it drains before it would, so it says so
-- (qsem.drains), and releases within the state skip the fd.  It has
-- qsem.ready() append to its run queue, as the floor's host appends, and
-- keeps no table of parked coroutines: the Lua state keeps them until
-- qsem.ready() lists them (docs/lua.md, "The host protocol").
local function generic_qsem ()
  qsem.drains(true)
  return time(HANDOFFS, function (n)
    local ping, pong = qsem.new(0), qsem.new(0)
    local runq = {
      qsem.hosted(coroutine.create(function () for _ = 1, n do ping:release(); pong:acquire() end end)),
      qsem.hosted(coroutine.create(function () for _ = 1, n do ping:acquire(); pong:release() end end)),
    }
    local live, WAIT = #runq, qsem.WAIT
    while live > 0 do
      if #runq == 0 then
        runq = qsem.ready(runq)   -- appended to the run queue: no new table
        assert(#runq > 0, "nothing ready")
      end
      local co = table.remove(runq, 1)
      local ok, v = coroutine.resume(co)
      assert(ok, v)
      if coroutine.status(co) == "dead" then live = live - 1
      else assert(v == WAIT) end   -- parked: the Lua state keeps it until ready() lists it
    end
  end) / 2
end
-- The same host passing the turn by plain yields: the scheduling floor.
local function generic_floor ()
  return time(HANDOFFS, function (n)
    local body = function () for _ = 1, n do coroutine.yield(); coroutine.yield() end end
    local runq = { coroutine.create(body), coroutine.create(body) }
    while #runq > 0 do
      local co = table.remove(runq, 1)
      assert(coroutine.resume(co))
      if coroutine.status(co) ~= "dead" then runq[#runq + 1] = co end
    end
  end) / 2
end
-- }=====================================================================

local rows = {
  { id = "floor", name = "empty C function call (floor)", f = floor_call },
  { id = "pair", name = "acquire + release, uncontended", f = pair_qsem, peer = pair_lua },
  { id = "hold", name = TBC and "hold guard (<close>), uncontended"
                            or "hold guard (release()), uncontended", f = hold_qsem, peer = hold_lua },
  { id = "object", name = "a new object per iteration (made, collected)", f = object_floor },
  { id = "handoff_cqueues", name = "coroutine handoff under cqueues", f = handoff_qsem,
    peer = handoff_lua },
  { id = "handoff_generic", name = "coroutine handoff, generic host", f = generic_qsem,
    peer = generic_floor, peer_name = "plain yield" },
}
for _, r in ipairs(rows) do r.samples, r.peer_samples = {}, {} end

for round = 1, repeats do
  for _, r in ipairs(rows) do
    -- alternate which side goes first, so neither always runs warm
    if r.peer and round % 2 == 0 then
      r.peer_samples[round] = r.peer()
      r.samples[round] = r.f()
    else
      r.samples[round] = r.f()
      if r.peer then r.peer_samples[round] = r.peer() end
    end
  end
end

local function stats (v)
  local t = {}
  for i = 1, #v do t[i] = v[i] end
  table.sort(t)
  local n = #t
  local h = math.floor(n / 2)
  local med = n % 2 == 1 and t[h + 1] or (t[h] + t[h + 1]) / 2
  return med, t[1], t[n]
end

local floor = stats(rows[1].samples)
print(("qsem %s (%s back end), %s, %d iterations, %d handoffs, %s time, median of %d [min, max]"):format(
  qsem.VERSION, qsem.backend, jit and jit.version or _VERSION, N, HANDOFFS, cpu and "CPU" or "wall",
  repeats))
print(("%-36s %24s %8s %24s %20s"):format("operation", "qsem ns", "x floor", "peer ns",
  "qsem/peer"))
for _, r in ipairs(rows) do
  local med, lo, hi = stats(r.samples)
  local peer, ratio = "-", "-"
  if r.peer then
    local pm, plo, phi = stats(r.peer_samples)
    peer = ("%.1f [%.1f, %.1f]"):format(pm, plo, phi)
    local ratios = {}
    for i = 1, #r.samples do ratios[i] = r.samples[i] / r.peer_samples[i] end
    local rm, rlo, rhi = stats(ratios)
    ratio = ("%.2f [%.2f, %.2f]"):format(rm, rlo, rhi)
  end
  print(("%-36s %24s %8.2f %24s %20s"):format(r.name, ("%.1f [%.1f, %.1f]"):format(med, lo, hi),
    med / floor, peer, ratio))
end
print("peer: the pure-Lua semaphore, or for the generic host a plain yield")

if json_path then
  local function list (v)
    local out = {}
    for i = 1, #v do out[i] = ("%.3f"):format(v[i]) end
    return "[" .. table.concat(out, ", ") .. "]"
  end
  local parts = {}
  for _, r in ipairs(rows) do
    parts[#parts + 1] = ('  {"id": "%s", "name": "%s", "peer": %s, "samples": %s, "peer_samples": %s}')
      :format(r.id, r.name, r.peer and ('"%s"'):format(r.peer_name or "pure-Lua semaphore") or "null",
        list(r.samples), list(r.peer_samples))
  end
  local f = assert(io.open(json_path, "w"))
  f:write(('{"tool": "lua_bench", "qsem": "%s", "backend": "%s", "lua": "%s", "repeats": %d, '
    .. '"quick": %s, "clock": "%s", "iterations": %d, "handoffs": %d, "rows": [\n%s\n]}\n'):format(
    qsem.VERSION, qsem.backend, _VERSION, repeats, tostring(quick), cpu and "cpu" or "wall", N, HANDOFFS,
    table.concat(parts, ",\n")))
  f:close()
end
