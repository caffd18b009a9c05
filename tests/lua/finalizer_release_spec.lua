-- SPDX-License-Identifier: MIT
-- Releases made by finalizers while cqueues coroutines wait on the same
-- semaphore.  A finalizer runs wherever the collector takes a step: while
-- a wait is being set up (the glue making its record), while a release's
-- answer is being read, while a wait is being signalled.  Every grant must
-- still reach its coroutine: a lost wake-up leaves one asleep with its
-- tokens granted, and nothing looks again, so the program hangs and its
-- deadline reports it.  Such a loss hit a few runs in a hundred, so the
-- program runs many times, each a fresh interpreter.
local RUNS = 200

local PROGRAM = [=[
local qsem, cqueues = require "qsem", require "cqueues"
math.randomseed(tonumber(arg[1]))
local s = qsem.new(0)
local cq = cqueues.new()
local W, ROUNDS, done, got, need = 10, 300, 0, 0, 0
for r = 1, ROUNDS do need = need + ((r % 3 == 0) and 2 or 1) end
need = need * W

-- an object that gives one token back when the collector takes it
local function gives_back_when_collected ()
  if newproxy then   -- Lua 5.1: only a userdata has a finalizer
    getmetatable(newproxy(true)).__gc = function () s:release(1) end
  else
    setmetatable({}, { __gc = function () s:release(1) end })
  end
end

for _ = 1, W do
  cq:wrap(function ()
    for r = 1, ROUNDS do
      local n = (r % 3 == 0) and 2 or 1
      assert(s:acquire(n))
      got = got + n
      local t = {}
      for j = 1, 10 do t[j] = { j } end   -- garbage, so that the collector steps
    end
    done = done + 1
  end)
end

cq:wrap(function ()
  local given = 0
  while given < need do
    cqueues.sleep(0)
    for _ = 1, 6 do
      if given < need then gives_back_when_collected(); given = given + 1 end
    end
    if math.random(4) == 1 and given < need then s:release(1); given = given + 1 end
  end
  while done < W do collectgarbage(); cqueues.sleep(0.01) end
end)

local t0 = cqueues.monotime()
while not cq:empty() do
  assert(cq:step(0.1))
  if cqueues.monotime() - t0 > 20 then
    print(("HANG %d of %d done, got %d of %d, available %d, waiting %d"):format(
      done, W, got, need, s:available(), s:waiting()))
    os.exit(1)
  end
end
print(("ok %d %d %d %d"):format(got, need, s:available(), s:waiting()))
]=]

describe("releases made by finalizers under cqueues", function ()
  it("reach every waiting coroutine, run after run", function ()
    local lua = os.getenv("QSEM_TEST_LUA") or "lua5.4"
    local file = os.tmpname()
    local f = assert(io.open(file, "w"))
    f:write(PROGRAM)
    f:close()
    local cmd = ("for i in $(seq 1 %d); do timeout -k 5 60 %s %s $i 2>&1 || echo \"exit=$?\"; done")
      :format(RUNS, lua, file)
    local p = assert(io.popen(cmd))
    local out = p:read("a")
    p:close()
    os.remove(file)
    local ok, bad = 0, {}
    for line in out:gmatch("[^\n]+") do
      local got, need, available, waiting = line:match("^ok (%d+) (%d+) (%d+) (%d+)$")
      if got and got == need and available == "0" and waiting == "0" then
        ok = ok + 1
      elseif #bad < 5 then
        bad[#bad + 1] = line
      end
    end
    assert(ok == RUNS, ("%d of %d runs ended well; others said:\n%s"):format(ok, RUNS, table.concat(bad, "\n")))
  end)
end)
