-- SPDX-License-Identifier: MIT
local qsem = require "qsem"
local helper = require "helper"

describe("require 'qsem'", function ()
  it("exposes the version, the back end and VALUE_MAX", function ()
    assert.matches("^%d+%.%d+%.%d+$", qsem.VERSION)
    assert.is_true(qsem.backend == "futex" or qsem.backend == "pthread")
    if math.type then
      assert.equals(4611686018427387903, qsem.VALUE_MAX)   -- 2^62 - 1
      assert.equals(math.type(qsem.VALUE_MAX), "integer")
    else
      -- Lua 5.1 numbers are doubles: the largest one up to 2^62 - 1
      assert.equals(2^62 - 512, qsem.VALUE_MAX)
    end
  end)

  it("has a WAIT sentinel that is a unique light userdata", function ()
    assert.equals("userdata", type(qsem.WAIT))
    assert.is_nil(getmetatable(qsem.WAIT))
  end)

  it("shares its objects, metatables and hub with a second require in one state", function ()
    local s = qsem.new(2)
    local g = s:hold(1)
    g:release()
    package.loaded.qsem = nil
    local ok, q2 = pcall(require, "qsem")
    package.loaded.qsem = qsem
    assert.is_true(ok, q2)
    assert.are_not.equal(qsem, q2)
    assert.equals(qsem.pollfd(), q2.pollfd())
    local t = q2.new(1)
    assert.equals(getmetatable(s), getmetatable(t))
    local h = t:hold(1)
    h:release()
    assert.equals(getmetatable(g), getmetatable(h))   -- released guards too
    assert.equals(2, t.available(s))   -- each one's methods take the other's objects
    assert.equals(1, s.available(t))
    assert.equals(0, h.count(g))
  end)

  it("does not set globals", function ()
    assert.is_nil(rawget(_G, "qsem"))
  end)
end)

describe("the semaphore metatable", function ()
  local mt = getmetatable(qsem.new(0))

  it("has __name, __index, __tostring, __gc and __close", function ()
    assert.equals("qsem.Semaphore", mt.__name)
    assert.equals("table", type(mt.__index))
    for _, k in ipairs { "__tostring", "__gc", "__close" } do
      assert.equals("function", type(mt[k]), k)
    end
    for _, m in ipairs { "acquire", "try_acquire", "hold", "release", "available",
                         "waiting", "max", "close", "is_closed" } do
      assert.equals("function", type(mt.__index[m]), m)
    end
  end)

  it("is the one in the registry, so luaL_checkudata names it", function ()
    assert.equals(mt, debug.getregistry()["qsem.Semaphore"])
  end)

  it("describes the semaphore in tostring()", function ()
    local s = qsem.new(2, { max = 5 })
    assert.matches("^qsem%.Semaphore %(2/5%): ", tostring(s))
    s:close()
    assert.matches("^qsem%.Semaphore %(closed%): ", tostring(s))
  end)
end)

describe("the guard metatable", function ()
  it("has __name, __index, __tostring and __close, and no __gc", function ()
    local g = qsem.new(1):hold(1)
    if jit then   -- LuaJIT: an FFI cdata guard (drive51.lua) has no such metatable
      assert.equals("cdata", type(g))
      assert.matches("^qsem%.Guard %(1 held%): 0x%x+$", tostring(g))
      assert.equals("function", type(g.release))
      assert.equals("function", type(g.count))
      return
    end
    local mt = getmetatable(g)
    assert.equals("qsem.Guard", mt.__name)
    for _, k in ipairs { "__tostring", "__close" } do
      assert.equals("function", type(mt[k]), k)
    end
    assert.is_nil(mt.__gc)   -- the collector's sentinel gives back unreleased guards
    assert.equals("function", type(mt.__index.release))
    assert.equals("function", type(mt.__index.count))
  end)
end)

describe("qsem.new()", function ()
  it("makes a semaphore with the initial count and no bound by default", function ()
    local s = qsem.new(3)
    assert.equals(3, s:available())
    assert.equals(qsem.VALUE_MAX, s:max())
    assert.equals(0, s:waiting())
    assert.is_false(s:is_closed())
  end)

  it("bounds it at qsem.VALUE_MAX, which max() and available() report exactly", function ()
    local s = qsem.new(3)
    assert.error_matches(function () s:release(qsem.VALUE_MAX) end, "count would pass the maximum")
    assert.equals(3, s:available())
    s = qsem.new(0)
    s:release(qsem.VALUE_MAX)   -- (under Lua 5.1, VALUE_MAX - 3 is no number: doubles that big step by 512)
    assert.equals(qsem.VALUE_MAX, s:available())
    local digits = math.type and math.type(qsem.VALUE_MAX) == "integer" and tostring(qsem.VALUE_MAX)
                   or ("%.0f"):format(qsem.VALUE_MAX)   -- Lua 5.1: a double
    assert.matches("(" .. digits .. "/" .. digits .. ")", tostring(s), 1, true)
    assert(s:acquire(qsem.VALUE_MAX, 0))
    assert.equals(0, s:available())
  end)

  it("accepts max and fair", function ()
    local s = qsem.new(1, { max = 4, fair = true })
    assert.equals(4, s:max())
    assert.equals(1, s:available())
  end)

  it("accepts numeric strings, for the count and for max, on every version", function ()
    local s = qsem.new("1", { max = "2" })
    assert.equals(2, s:max())
    assert.equals(1, s:available())
    local function pack (...) return { n = select("#", ...), ... } end
    assert.same({ n = 1, true }, pack(s:try_acquire("1")))   -- one value, as for a number
    assert.same({ n = 2, nil, "timeout" }, pack(s:try_acquire("1")))
    s:release("1")
    assert.equals(1, s:available())
  end)

  it("accepts a zero count and a float with an integer value", function ()
    assert.equals(0, qsem.new(0):available())
    assert.equals(2, qsem.new(2.0):available())
  end)

  it("accepts VALUE_MAX", function ()
    assert.equals(qsem.VALUE_MAX, qsem.new(qsem.VALUE_MAX):available())
  end)

  local function fails (pattern, ...)
    local args = table.pack(...)
    assert.error_matches(function () qsem.new(table.unpack(args, 1, args.n)) end, pattern)
  end

  it("rejects a missing count", function ()
    fails("bad argument #1 to 'new' %(number expected, got no value%)")
  end)

  it("rejects a non-number count", function ()
    fails("bad argument #1 to 'new' %(number expected, got table%)", {})
    fails("bad argument #1 to 'new' %(number expected, got boolean%)", true)
  end)

  it("rejects a fractional count", function ()
    fails("bad argument #1 to 'new' %(number has no integer representation%)", 1.5)
  end)

  it("rejects a NaN count", function ()
    fails("bad argument #1 to 'new' %(number has no integer representation%)", 0/0)
  end)

  it("rejects a negative count", function ()
    fails("bad argument #1 to 'new' %(negative count%)", -1)
  end)

  it("rejects a count past VALUE_MAX", function ()
    fails("bad argument #1 to 'new' %(count out of range%)", helper.PAST_MAX)
  end)

  it("rejects options that are not a table", function ()
    fails("bad argument #2 to 'new' %(table expected, got string%)", 1, "fair")
  end)

  it("rejects an unknown option", function ()
    fails("bad argument #2 to 'new' %(unknown option 'fiar'%)", 1, { fiar = true })
    fails("bad argument #2 to 'new' %(unknown option '1'%)", 1, { true })
  end)

  it("rejects a max that is not an integer", function ()
    fails("bad argument #2 to 'new' %(option 'max' must be an integer%)", 1, { max = "x" })
    fails("bad argument #2 to 'new' %(option 'max' must be an integer%)", 1, { max = 2.5 })
  end)

  it("rejects a max below the initial count", function ()
    fails("bad argument #2 to 'new' %(option 'max' is below the initial count%)", 3, { max = 2 })
  end)

  it("rejects a max out of range", function ()
    fails("bad argument #2 to 'new' %(option 'max' out of range%)", 0, { max = -1 })
    fails("bad argument #2 to 'new' %(option 'max' out of range%)", 0, { max = helper.PAST_MAX })
  end)

  it("rejects a fair that is not a boolean", function ()
    fails("bad argument #2 to 'new' %(option 'fair' must be a boolean%)", 1, { fair = 1 })
  end)
end)

describe("methods called on something else", function ()
  it("name the expected type", function ()
    local s = qsem.new(1)
    assert.error_matches(function () s.acquire({}) end,
      "bad argument #1 to 'acquire' %(qsem%.Semaphore expected, got table%)")
    assert.error_matches(function () s.release(nil) end,
      "bad argument #1 to 'release' %(qsem%.Semaphore expected, got nil%)")
    local g = s:hold(1)
    assert.error_matches(function () s.available(g) end,
      "bad argument #1 to 'available' %(qsem%.Semaphore expected, got qsem%.Guard%)")
    assert.error_matches(function () g.release(s) end,
      "bad argument #1 to 'release' %(qsem%.Guard expected, got qsem%.Semaphore%)")
    g:release()
  end)
end)
