-- SPDX-License-Identifier: MIT
-- The life of a guard made by s:hold() and given back by g:release(), on
-- every Lua version.  Under LuaJIT a guard is FFI cdata made and released
-- by drive51.lua; under Lua 5.4 and 5.3 a userdata of lqsem.c.  Either
-- way: a guard gives back exactly its tokens, once; a guard nobody
-- released gives them back when collected; and a guard keeps its
-- semaphore alive and open while it holds tokens.
local qsem = require "qsem"
local cqueues = require "cqueues"
local helper = require "helper"

local function collect ()
  collectgarbage()
  collectgarbage()
end

-- Drop the semaphore handle 's' now, as its '__gc' would.
local function drop (s)
  getmetatable(s).__gc(s)
end

-- One guard of 0 to 3 tokens on 's', at random released, kept in 'kept'
-- (dropped later, unreleased) or dropped at once; the tokens it keeps.  A
-- function of its own, so that no register of the caller refers to a
-- guard meant to be garbage.
local function churn (s, kept)
  local k = math.random(0, 3)
  local g = s:hold(k, 0)
  if g == nil then return 0 end
  assert.equals(k, g:count())
  local r = math.random(3)
  if r == 1 then g:release()
  elseif r == 2 then kept[#kept + 1] = g; return k
  end
  return 0
end

-- Make thousands of guards on 's' (which holds 'total' tokens) by churn.
-- At each checkpoint, after a collector step, the kept guards still hold
-- what they took; once they are dropped too and collected, every token is
-- back.
local function make_guards (s, total, seed)
  local kept, held = {}, 0
  math.randomseed(seed)
  for i = 1, 5000 do
    held = held + churn(s, kept)
    if i % 97 == 0 then
      collectgarbage("step")
      local sum = 0
      for _, h in ipairs(kept) do sum = sum + h:count() end
      assert.equals(held, sum, i)
      assert.is_true(s:available() <= total - held, i)
      kept, held = {}, 0
      collect()
      assert.equals(total, s:available(), i)
    end
  end
  kept = {}
  collect()
  assert.equals(total, s:available())
end

describe("a guard nobody released", function ()
  it("gives back exactly its tokens when collected", function ()
    local s = qsem.new(5, { max = 5 })
    do
      local g = s:hold(3)
      assert.equals(3, g:count())
    end
    assert.equals(2, s:available())
    collect()
    assert.equals(5, s:available())
  end)

  it("loses and creates no token among thousands made, released or dropped", function ()
    make_guards(qsem.new(10, { max = 10 }), 10, 17)
  end)
end)

describe("guards under a collector that never rests", function ()
  -- Every allocation runs a collector step and cycles follow each other,
  -- so the sweep runs between any two allocations of hold: a slot taken
  -- before its guard is the slot's weak value, or a live guard the sweep
  -- took for dead, would give back tokens that a guard still holds.
  it("never give back the tokens of a guard still held", function ()
    local pause = collectgarbage("setpause", 0)
    local stepmul = collectgarbage("setstepmul", 1000)
    local ok, err = pcall(make_guards, qsem.new(8, { max = 8 }), 8, 23)
    collectgarbage("setpause", pause)
    collectgarbage("setstepmul", stepmul)
    assert(ok, err)
  end)
end)

describe("guards in several OS threads", function ()
  it("lose and create no token, released or dropped, on a shared semaphore", function ()
    local s = qsem.new(4, { max = 4 })
    assert(qsem.publish("guard_life.threads", s))
    local function churn (name, seed)
      local q = require "qsem"
      local t = assert(q.open(name))
      math.randomseed(seed)
      local kept = {}
      for i = 1, 3000 do
        local k = math.random(0, 2)
        local g = t:hold(k, i % 8 == 0 and 0.002 or 0)
        if g then
          if g:count() ~= k then error("guard holds " .. g:count() .. ", not " .. k) end
          local r = math.random(3)
          if r == 1 then g:release(); g:release()
          elseif r == 2 then kept[#kept + 1] = g
          end
        end
        if i % 25 == 0 then kept = {}; collectgarbage() end
      end
      kept = nil
      collectgarbage()
      collectgarbage()
    end
    local joins = {}
    for i = 1, 3 do joins[i] = helper.thread(churn, "guard_life.threads", i) end
    churn("guard_life.threads", 4)
    for i = 1, 3 do joins[i]() end
    collect()
    assert(qsem.unpublish("guard_life.threads"))
    assert.equals(0, s:waiting())
    assert.equals(4, s:available())
  end)
end)

describe("g:release() twice", function ()
  it("gives back once, never the tokens of a later hold", function ()
    local s = qsem.new(2, { max = 2 })
    local g1 = s:hold(1)
    g1:release()
    assert.equals(2, s:available())
    local g2 = s:hold(2)
    g1:release()   -- no-op: g1 holds nothing any more
    assert.equals(0, s:available())
    assert.equals(0, g1:count())
    assert.equals(2, g2:count())
    g2:release()
    g2:release()
    assert.equals(2, s:available())
    collect()      -- and the collector gives back nothing either
    assert.equals(2, s:available())
  end)

  it("after a release that would pass max, counts as released", function ()
    local s = qsem.new(1, { max = 1 })
    local g = s:hold(1)
    s:release(1)   -- someone gives back tokens they never took
    local ok, err = pcall(g.release, g)
    assert.is_false(ok)
    assert.matches("guard release would pass the semaphore's maximum", err, 1, true)
    assert.equals(0, g:count())
    assert.is_true(pcall(g.release, g))   -- and not again
    collect()
    assert.equals(1, s:available())
  end)

  it("raises on a bad self and changes nothing", function ()
    local s = qsem.new(1)
    local g = s:hold(1)
    for _, name in ipairs({ "release", "count" }) do
      local ok, err = pcall(g[name], {})
      assert.is_false(ok)
      assert.matches("qsem.Guard expected", err, 1, true)
    end
    assert.equals(1, g:count())
    assert.equals(0, s:available())
    g:release()
  end)
end)

describe("a guard outliving its semaphore object", function ()
  it("keeps the semaphore open and gives back into it", function ()
    local s = qsem.new(2, { max = 2 })
    assert(qsem.publish("guard_life.open", s))
    local other = assert(qsem.open("guard_life.open"))
    assert(qsem.unpublish("guard_life.open"))
    local g = s:hold(2)
    drop(s)       -- this state's first handle goes
    drop(other)   -- and the last one but the guard's
    s, other = nil, nil
    collect()
    g:release()   -- into a semaphore only the guard kept (ASan: no use after free)
    assert.equals(0, g:count())
  end)

  it("keeps it open, for its waiters, while it holds tokens", function ()
    local s = qsem.new(1, { max = 1 })
    local g = s:hold(1)
    local h = helper.host()
    local co = h.spawn(function () return s:acquire(1, 5) end)
    h.step(co)    -- parks: the wait pins the semaphore but holds no handle
    drop(s)       -- the last handle but the guard's
    collect()
    assert.same({}, qsem.ready())   -- not closed: nothing resolved the wait
    g:release()   -- the guard's token goes to the waiter
    assert.same({ co }, qsem.ready())
    assert.is_false(h.step(co))
    assert.is_true(h.results[co][1])
  end)

  it("gives back when both it and the semaphore object are collected", function ()
    local s = qsem.new(3, { max = 3 })
    assert(qsem.publish("guard_life.both", s))
    do local g = s:hold(3) end
    drop(s)
    s = nil
    collect()
    local other = assert(qsem.open("guard_life.both"))
    assert(qsem.unpublish("guard_life.both"))
    assert.equals(3, other:available())
  end)
end)

describe("a guard after a wait", function ()
  it("is the same kind of guard, and gives back once", function ()
    local s = qsem.new(0)   -- no max: a second give-back would show
    local h = helper.host()
    local co = h.spawn(function () return s:hold(2, 5) end)
    h.step(co)   -- parks
    s:release(2)
    assert.same({ co }, qsem.ready())
    assert.is_false(h.step(co))
    local g = h.results[co][1]
    assert.equals(type(s:hold(0)), type(g))
    assert.equals("qsem.Guard (2 held)", tostring(g):match("^[^:]*"))
    assert.equals(0, s:available())
    g:release()
    g:release()
    assert.equals(2, s:available())
    collect()
    assert.equals(2, s:available())
  end)

  it("dropped unreleased, gives back once when collected", function ()
    local s = qsem.new(0)
    local h = helper.host()
    local co = h.spawn(function () s:hold(1, 5) end)   -- the guard is dropped
    h.step(co)
    s:release(1)
    assert.same({ co }, qsem.ready())
    assert.is_false(h.step(co))
    assert.equals(0, s:available())
    collect()
    assert.equals(1, s:available())
  end)
end)

describe("g:release() with a cqueues wait of the same state", function ()
  it("wakes it directly, without making the fd readable", function ()
    local hubfd = { pollfd = function () return qsem.pollfd() end,
                    events = function () return "r" end }
    local s = qsem.new(1, { max = 1 })
    local g = s:hold(1)
    local cq = cqueues.new()
    local got, fd_after_release
    cq:wrap(function () got = s:acquire(1, 5) end)
    assert(cq:step(0))
    assert.equals(1, s:waiting())
    cq:wrap(function ()
      g:release()
      fd_after_release = cqueues.poll(hubfd, 0) == hubfd
    end)
    local ok, err = cq:loop(30)
    assert(ok, err)
    assert.is_true(got)
    assert.is_false(fd_after_release)
    assert.equals(0, s:available())
    s:release(1)
  end)
end)
