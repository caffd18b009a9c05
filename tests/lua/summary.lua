-- SPDX-License-Identifier: MIT
-- busted output handler for ctest and CI logs: one TAP-style line per test,
-- failure details as TAP comments, and a closing "N passed, N failed" line.
-- A pending test counts as failed: the suite has no skips to hide behind.
return function (options)
  local busted = require "busted"
  local handler = require "busted.outputHandlers.base"()
  local count, passed, failed = 0, 0, 0

  local function line (s)
    io.write(s, "\n")
    io.flush()
  end

  local function comment (text)
    line("# " .. tostring(text):gsub("\n", "\n# "))
  end

  handler.testEnd = function (element, parent, status)
    count = count + 1
    local name = handler.getFullName(element)
    if status == "success" then
      passed = passed + 1
      line(("ok %d - %s"):format(count, name))
    else
      failed = failed + 1
      line(("not ok %d - %s (%s)"):format(count, name, status))
      local list = status == "failure" and handler.failures
                   or status == "error" and handler.errors or handler.pendings
      local t = list[#list]
      if t then
        if t.trace and t.trace.short_src then
          comment(t.trace.short_src .. ":" .. tostring(t.trace.currentline))
        end
        comment(t.message or "(no message)")
      end
    end
    return nil, true
  end

  -- errors outside any test (a file that does not load, a failing
  -- before_each) are failures too
  handler.error = function (element, parent, message)
    if element.descriptor ~= "it" then
      failed = failed + 1
      line(("not ok - %s: %s"):format(element.name or element.descriptor, "error"))
      comment(message)
    end
    return nil, true
  end

  handler.suiteEnd = function ()
    line(("1..%d"):format(count))
    line(("%d passed, %d failed"):format(passed, failed))
    return nil, true
  end

  busted.subscribe({ "test", "end" }, handler.testEnd, { predicate = handler.cancelOnPending })
  busted.subscribe({ "error" }, handler.error)
  busted.subscribe({ "failure" }, handler.error)
  busted.subscribe({ "suite", "end" }, handler.suiteEnd)
  return handler
end
