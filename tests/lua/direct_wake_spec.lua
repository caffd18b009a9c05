-- SPDX-License-Identifier: MIT
-- A release made by the waiting coroutine's own Lua state wakes a cqueues
-- waiter directly, without the notification fd (lqsem.c, release_direct);
-- every other wake-up still goes through the fd.
local qsem = require "qsem"
local cqueues = require "cqueues"
local helper = require "helper"

-- The state's notification fd as a cqueues pollable.
local hubfd = { pollfd = function () return qsem.pollfd() end, events = function () return "r" end }

-- Inside a controller's coroutine: is the fd readable right now?
local function readable ()
  return cqueues.poll(hubfd, 0) == hubfd
end

local function loop (cq)
  local ok, err = cq:loop(30)
  assert(ok, err)
  assert(cq:empty(), "coroutines still waiting after 30 s")
end

describe("a release from the waiter's own state", function ()
  it("wakes a cqueues waiter without making the fd readable", function ()
    local s = qsem.new(0)
    local cq = cqueues.new()
    local got, fd_after_release
    cq:wrap(function () got = s:acquire() end)
    assert(cq:step(0))
    assert.equals(1, s:waiting())
    cq:wrap(function ()
      s:release()
      fd_after_release = readable()
    end)
    loop(cq)
    assert.is_true(got)
    assert.is_false(fd_after_release)
    assert.equals(0, s:available())
  end)

  it("wakes a waiter through a guard's release too", function ()
    local s = qsem.new(2)
    local cq = cqueues.new()
    local holding, got = false, nil
    cq:wrap(function ()
      local g = s:hold(2)
      holding = true
      cqueues.sleep(0.01)   -- the other coroutine is waiting by now
      g:release()
    end)
    while not holding do assert(cq:step(0)) end
    cq:wrap(function () got = s:hold(1, 5) end)
    loop(cq)
    assert.equals("qsem.Guard (1 held)", tostring(got):match("^[^:]*"))
    got:release()
    assert.equals(2, s:available())
  end)

  it("still arms the fd for a generic host's wait released in the same call", function ()
    local s = qsem.new(0)
    local h = helper.host()
    local generic = h.spawn(function () return s:acquire(1, 5) end)
    h.step(generic)                       -- parks: yields qsem.WAIT
    assert.equals(1, s:waiting())
    local cq = cqueues.new()
    local got, fd_after_release
    cq:wrap(function () got = s:acquire(1, 5) end)
    assert(cq:step(0))
    assert.equals(2, s:waiting())
    cq:wrap(function ()
      s:release(2)
      fd_after_release = readable()
    end)
    loop(cq)
    assert.is_true(got)
    assert.is_true(fd_after_release)     -- for the generic wait, not ours
    local ready = qsem.ready()
    assert.equals(1, #ready)
    assert.equals(generic, ready[1])
    assert.is_false(h.step(generic))     -- resumed as the protocol says: done
    assert.is_true(h.results[generic][1])
    assert.equals(0, s:available())
  end)

  it("wakes every coroutine of a chain, one release at a time", function ()
    local N = 200
    local sems = {}
    for i = 1, N + 1 do sems[i] = qsem.new(0) end
    local cq = cqueues.new()
    local done = 0
    for i = 1, N do
      cq:wrap(function ()
        assert.is_true(sems[i]:acquire(1, 10))
        sems[i + 1]:release()
        done = done + 1
      end)
    end
    cq:wrap(function () sems[1]:release() end)
    loop(cq)
    assert.equals(N, done)
    assert.equals(1, sems[N + 1]:available())
    collectgarbage()
  end)
end)

describe("a release from another OS thread", function ()
  it("still wakes a cqueues waiter through the fd", function ()
    local s = qsem.new(0)
    qsem.publish("direct_wake.cross", s)
    local cq = cqueues.new()
    local got
    cq:wrap(function () got = s:acquire(1, 10) end)
    assert(cq:step(0))
    local join = helper.thread(function ()
      local q = require "qsem"
      local t = q.open("direct_wake.cross")
      local stop = require("cqueues").monotime() + 10
      while t:waiting() == 0 and require("cqueues").monotime() < stop do
        q.new(0):acquire(1, 0.001)
      end
      t:release()
    end)
    loop(cq)
    join()
    qsem.unpublish("direct_wake.cross")
    assert.is_true(got)
  end)
end)
