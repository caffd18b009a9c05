-- SPDX-License-Identifier: MIT
-- Fuzzing the argument handling from Lua: every method and qsem.new get
-- values of every type and every awkward number.  Allowed outcomes only: a
-- result, nil plus "timeout" or "closed", or a standard "bad argument #i to
-- 'name' (...)" error that changed nothing.
local qsem = require "qsem"

local pool = {
  n = function () return nil end,
  true, false, 0, 1, 2, 3, 10, 11, -1, -0.0, 1.0, 1.5, 0.25, 2^53, 2^63, -2^63,
  math.maxinteger, math.mininteger, math.huge, -math.huge, 0 / 0,
  "1", "x", "0x10", "", {}, print, coroutine.create(print), io.stdout,
}
pool.n = nil
local NPOOL = #pool + 1   -- index NPOOL stands for nil

local function pick (rng)
  local i = rng(NPOOL)
  if i == NPOOL then return nil end
  return pool[i]
end

local function describe_value (v)
  if type(v) == "number" then return ("%s (%s)"):format(v, math.type(v)) end
  return tostring(v)
end

local BAD_ARG = "^bad argument #%d+ to '[^']*' %(.+%)$"

-- Call s[method](s, a, b); return "ok", "fail" or "error" after checking
-- that the outcome is one of those the contract allows.
local function try (s, method, a, b)
  local before_avail, before_wait = s:available(), s:waiting()
  local r = table.pack(pcall(s[method], s, a, b))
  local what = ("%s(%s, %s)"):format(method, describe_value(a), describe_value(b))
  if not r[1] then
    assert(type(r[2]) == "string" and r[2]:match(BAD_ARG), what .. " raised: " .. tostring(r[2]))
    assert(s:available() == before_avail, what .. ": a failed call changed the count")
    assert(s:waiting() == before_wait, what .. ": a failed call left a waiter")
    return "error"
  end
  if r.n == 1 then return "ok" end   -- release returns nothing
  if r[2] == nil then
    assert(r[3] == "timeout" or r[3] == "closed", what .. " failed with " .. tostring(r[3]))
    assert(s:available() == before_avail, what .. ": a failed acquire changed the count")
    return "fail"
  end
  return "ok", r[2]
end

describe("argument fuzzing", function ()
  local rng
  before_each(function ()
    math.randomseed(20240601)
    rng = math.random
  end)

  it("acquire and try_acquire on a full semaphore: any value as n and timeout", function ()
    -- Every valid count fits at once, so no call can block.
    local outcomes = { ok = 0, fail = 0, error = 0 }
    for _ = 1, 4000 do
      local s = qsem.new(10, { max = 10 })
      local method = rng(2) == 1 and "acquire" or "try_acquire"
      local n, t = pick(rng), pick(rng)
      local res = try(s, method, n, t)
      outcomes[res] = outcomes[res] + 1
      if res == "ok" then
        local want = n == nil and 1 or math.tointeger(tonumber(n))
        assert(want, "accepted a count that is no integer: " .. describe_value(n))
        assert.equals(10 - want, s:available())
      end
    end
    assert.is_true(outcomes.ok > 100 and outcomes.error > 100)
  end)

  it("acquire on an empty semaphore: finite timeouts give nil, 'timeout'", function ()
    local timeouts = { 0, 0.001, -1, 0 / 0, "0", "x", {}, true, math.mininteger, -math.huge }
    local fails = 0
    for _ = 1, 600 do
      local s = qsem.new(0, { max = 10 })
      local res = try(s, "acquire", pick(rng), timeouts[rng(#timeouts)])
      if res == "fail" then fails = fails + 1 end
      assert.equals(0, s:available())
      assert.equals(0, s:waiting())
    end
    assert.is_true(fails > 10)
  end)

  it("release: any value, never past the maximum", function ()
    for _ = 1, 3000 do
      local s = qsem.new(3, { max = 10 })
      local n = pick(rng)
      local res = try(s, "release", n)
      if res == "ok" or res == "fail" then
        local want = n == nil and 1 or math.tointeger(tonumber(n))
        assert(want and want >= 0 and want <= 7, "release accepted " .. describe_value(n))
        assert.equals(3 + want, s:available())
      end
    end
  end)

  it("hold: any value; the guard gives back exactly what it took", function ()
    for _ = 1, 2000 do
      local s = qsem.new(10, { max = 10 })
      local n, t = pick(rng), pick(rng)
      local ok, err = pcall(function ()
        local g = s:hold(n, t)
        if g then g:release() end
        return g
      end)
      if not ok then
        -- Raised through a Lua function, so it carries a position prefix
        -- and counts n as argument #1 of the method call.
        assert(tostring(err):match("bad argument #%d+ to '[^']*' %(.+%)$"), "hold raised " .. tostring(err))
      end
      assert.equals(10, s:available())
      assert.equals(0, s:waiting())
    end
  end)

  it("qsem.new: any value as initial and options", function ()
    for _ = 1, 3000 do
      local initial = pick(rng)
      local opts = rng(3) == 1 and pick(rng) or { max = pick(rng), fair = pick(rng) }
      local ok, s = pcall(qsem.new, initial, opts)
      if ok then
        local want = math.tointeger(tonumber(initial))
        assert(want and want >= 0, "new accepted initial " .. describe_value(initial))
        assert.equals(want, s:available())
      else
        assert(tostring(s):match(BAD_ARG), "new raised " .. tostring(s))
      end
    end
  end)

  it("methods called on something that is no semaphore", function ()
    local s = qsem.new(1)
    for _, method in ipairs { "acquire", "try_acquire", "release", "available", "waiting", "close", "hold" } do
      for _, v in ipairs { 1, "x", {}, io.stdout } do
        local ok, err = pcall(s[method], v)
        assert.is_false(ok)
        assert.matches("^bad argument #1 to '[^']*' %(qsem.Semaphore expected", err)
      end
    end
    assert.equals(1, s:available())
  end)
end)
