-- SPDX-License-Identifier: MIT
-- The guard without `<close>`, on every Lua version: s:hold(n) plus
-- g:release(), and s:with(n, fn, ...), which always gives back.
local qsem = require "qsem"
local helper = require "helper"

describe("s:hold() and g:release()", function ()
  it("name hold, at the caller's line, in their argument errors", function ()
    local s = qsem.new(2, { max = 4 })
    local cases = {
      { function () s:hold(-1) end, "bad argument #1 to 'hold' (negative count)" },
      { function () s:hold(1, 0/0) end, "bad argument #2 to 'hold' (timeout is NaN)" },
      { function () s:hold(9) end, "bad argument #1 to 'hold' (count exceeds the maximum (4))" },
    }
    for _, c in ipairs(cases) do helper.raises_at(c[1], "with_spec%.lua", c[2]) end
    assert.equals(2, s:available())
  end)

  it("return one value, as acquire does, also after a wait", function ()
    local s = qsem.new(0)
    local h = helper.host()
    local a = h.spawn(function () return s:acquire(1) end)
    local g = h.spawn(function () return s:hold(1) end)
    local t = h.spawn(function () return s:acquire(1, 0.01) end)
    h.step(a); h.step(g); h.step(t)   -- all three park
    s:release(2)
    h.run()
    assert.equals(1, h.results[a].n)
    assert.is_true(h.results[a][1])
    assert.equals(1, h.results[g].n)
    assert.equals(1, h.results[g][1]:count())
    assert.same({ n = 2, nil, "timeout" }, h.results[t])
    h.results[g][1]:release()
    assert.equals(1, s:available())
    s:acquire(1)
  end)

  it("take and give back exactly n tokens, once", function ()
    local s = qsem.new(3)
    local g = s:hold(2)
    assert.matches("^qsem%.Guard %(2 held%): ", tostring(g))
    assert.equals(2, g:count())
    assert.equals(1, s:available())
    g:release()
    g:release()   -- idempotent
    assert.equals(0, g:count())
    assert.equals(3, s:available())
  end)

  -- Under LuaJIT a guard is FFI cdata, with no metatable of its own (module_spec).
  if not jit then it("carry no finalizer, held or released", function ()
    local g = qsem.new(1):hold(1)
    assert.is_nil(getmetatable(g).__gc)
    g:release()
    assert.is_nil(getmetatable(g).__gc)
    assert.equals("qsem.Guard", getmetatable(g).__name)
    assert.equals(0, g:count())
  end) end

  it("give back every token of guards dropped unreleased, however many", function ()
    local s = qsem.new(1000)
    local kept = {}
    for round = 1, 20 do
      for i = 1, 50 do
        local g = s:hold(1)
        if i % 3 == 0 then g:release()                    -- released
        elseif i % 3 == 1 then kept[#kept + 1] = g end     -- kept; the rest dropped
      end
      if round % 5 == 0 then collectgarbage() end
    end
    collectgarbage()
    collectgarbage()
    assert.equals(1000 - #kept, s:available())
    for _, g in ipairs(kept) do
      assert.equals(1, g:count())
      g:release()
    end
    assert.equals(1000, s:available())
  end)

  it("cannot give back twice through a guard the collector reclaimed", function ()
    local s = qsem.new(2)
    local saved
    local function keeper (f)   -- an object whose finalizer runs f
      if _VERSION == "Lua 5.1" then   -- no '__gc' for tables: a userdata
        local p = newproxy(true)
        getmetatable(p).__gc = f
        return p
      end
      return setmetatable({}, { __gc = f })
    end
    do
      local g = s:hold(1)
      -- a finalizer that keeps the guard: it is reclaimed, then used again
      keeper(function () saved = g end)
    end
    collectgarbage()
    collectgarbage()
    assert.is_not_nil(saved)
    if jit then
      -- a cdata guard that a finalizer keeps is never collected: it holds its token still
      assert.equals(1, s:available())
      assert.equals(1, saved:count())
      saved:release()
    end
    assert.equals(2, s:available())
    assert.equals(0, saved:count())
    local h = s:hold(2)   -- may take the slot that 'saved' had
    saved:release()
    assert.equals(0, s:available())
    assert.equals(2, h:count())
    h:release()
    assert.equals(2, s:available())
  end)

  it("give back through the collector when nobody released", function ()
    local s = qsem.new(1)
    do local g = s:hold(1) end
    collectgarbage()
    collectgarbage()
    assert.equals(1, s:available())
  end)
end)

-- In a new Lua state (helper.thread: nothing here is an upvalue), make
-- 'n' holds of kind 'what' that fail, with the collector stopped, and
-- raise if they leave 'limit' KB or more of Lua heap after full
-- collections.  Stopping the collector makes what they leave independent
-- of its pacing: the garbage goes at the end, only what the module keeps
-- stays.  A new state, because the ledger of guards never shrinks: slots
-- freed by an earlier test would hide the growth.
local function failing_holds (what, n, limit)
  local qsem = require "qsem"
  local s, closed = qsem.new(1), qsem.new(5)
  closed:close()
  local function cancelled (method)
    local co = qsem.hosted(coroutine.create(function () return method(s, 2) end))
    local ok, w = coroutine.resume(co)
    assert(ok and w == qsem.WAIT, "not parked")
    assert(qsem.cancel(co), "not cancelled")
    local _, g, why = coroutine.resume(co)
    assert(g == nil and why == "cancelled", "not ended")
  end
  local f = ({
    timeout = function () assert(s:hold(2, 0) == nil) end,
    closed = function () assert(closed:hold(1) == nil) end,
    with = function () assert(closed:with(1, error) == nil) end,
    cancel = function () cancelled(s.hold) end,
  })[what]
  local function run (g)
    collectgarbage("stop")
    for _ = 1, n do g() end
    collectgarbage("restart")
    collectgarbage()
    collectgarbage()
    return collectgarbage("count")
  end
  -- acquire's waits first, with the same tables but no guard: a table
  -- keeps its size when its entries go
  if what == "cancel" then run(function () cancelled(s.acquire) end) end
  local before = run(function () end)
  local kb = run(f) - before
  if kb >= limit then
    error(("%d failed holds (%s) kept %.0f KB"):format(n, what, kb))
  end
  assert(s:available() == 1 and s:waiting() == 0, "tokens moved")
  local g = assert(s:hold(1))   -- the ledger still works
  g:release()
  assert(s:available() == 1)
end

describe("a hold that fails", function ()
  -- Each failing hold took a slot of the state's ledger of guards that
  -- only the collector gave back, and the ledger never shrinks: 20000
  -- of them between two cycles kept about 1 MB for good.
  for _, what in ipairs { "timeout", "closed", "with", "cancel" } do
    local title = ({ timeout = "with timeout 0", closed = "on a closed semaphore",
                     with = "in s:with() on a closed semaphore",
                     cancel = "ended by qsem.cancel() in a hosted coroutine" })[what]
    it("keeps nothing: " .. title, function ()
      helper.thread(failing_holds, what, what == "cancel" and 5000 or 20000, 64)()
    end)
  end
end)

describe("s:with()", function ()
  it("runs fn with its arguments while holding n tokens, and returns its results", function ()
    local s = qsem.new(3)
    local seen
    local a, b = s:with(2, function (x, y)
      seen = s:available()
      return x + y, "done"
    end, 40, 2)
    assert.same({ 42, "done" }, { a, b })
    assert.equals(1, seen)
    assert.equals(3, s:available())
  end)

  it("gives the tokens back when fn raises, and raises the same error", function ()
    local s = qsem.new(2)
    local err = setmetatable({}, { __tostring = function () return "boom" end })
    local ok, got = pcall(s.with, s, 2, function () error(err) end)
    assert.is_false(ok)
    assert.equals(err, got)
    assert.equals(2, s:available())
    assert.error_matches(function () s:with(1, function () error("plain") end) end, "plain")
    assert.equals(2, s:available())
  end)

  it("gives the tokens back when fn raises out of a coroutine, after a yield", function ()
    local s = qsem.new(3)
    local err = {}
    local co = coroutine.create(function ()
      return s:with(2, function () coroutine.yield() error(err) end)
    end)
    assert.is_true((coroutine.resume(co)))
    assert.equals(1, s:available())
    assert.same({ false, err }, { coroutine.resume(co) })   -- the error ends the coroutine
    assert.equals(3, s:available())   -- at once, not when the coroutine is collected
  end)

  it("returns fail, 'closed' without calling fn on a closed semaphore", function ()
    local s = qsem.new(1)
    s:close()
    local called = false
    assert.same({ nil, "closed" }, { s:with(1, function () called = true end) })
    assert.is_false(called)
  end)

  it("rejects a missing function or a bad count before taking anything", function ()
    local s = qsem.new(1, { max = 1 })
    assert.error_matches(function () s:with(1) end,
      "bad argument #2 to 'with' %(function expected, got nil%)")
    helper.raises_at(function () s:with(-1, print) end, "with_spec%.lua",
                     "bad argument #1 to 'with' (negative count)")
    helper.raises_at(function () s:with(2, print) end, "with_spec%.lua",
                     "bad argument #1 to 'with' (count exceeds the maximum (1))")
    assert.equals(1, s:available())
  end)

  -- as luaL_argerror numbers a C method's arguments, and acquire's
  it("numbers its arguments from s unless called as a method", function ()
    local s = qsem.new(1, { max = 1 })
    helper.raises_at(function () s.with(s, -1, print) end, "with_spec%.lua",
                     "bad argument #2 to 'with' (negative count)")
    helper.raises_at(function () s.with(s, 1) end, "with_spec%.lua",
                     "bad argument #3 to 'with' (function expected, got nil)")
    assert.same({ false, "bad argument #2 to 'with' (negative count)" }, { pcall(s.with, s, -1, print) })
    helper.raises_at(function () local t = { with = s.with }; t:with(1, print) end, "with_spec%.lua",
                     "calling 'with' on bad self (qsem.Semaphore expected, got table)")
    assert.equals(1, s:available())
  end)

  it("rejects a self that is no semaphore, without calling fn", function ()
    local s, ran = qsem.new(1), false
    local fake = { hold = function () return { release = function () end } end }
    for v, name in pairs({ [{}] = "table", [io.stdout] = getmetatable(io.stdout).__name or "userdata",
                           [fake] = "table", [42] = "number" }) do
      helper.raises_at(function () s.with(v, 1, function () ran = true end) end, "with_spec%.lua",
                       "bad argument #1 to 'with' (qsem.Semaphore expected, got " .. name .. ")")
    end
    assert.is_false(ran)
    assert.equals(1, s:available())
  end)

  it("cooperates in a hosted coroutine: fn may yield, others run", function ()
    local s = qsem.new(1, { max = 1 })
    local h = helper.host()
    local inside, most = 0, 0
    for _ = 1, 50 do
      h.spawn(function ()
        s:with(1, function ()
          inside = inside + 1
          most = math.max(most, inside)
          coroutine.yield()
          inside = inside - 1
        end)
      end)
    end
    h.run()
    assert.equals(1, most)
    assert.equals(1, s:available())
  end)
end)
