-- scripts/bench-slots-cold.lua: every request asks for a 7-day window that
-- starts a few seconds later than any other, so each one misses the slot cache
-- and goes to Cal.com (the emulator). Argument: the path without start/end.
local prefix, base, step = "", 0, 0
local counter = 0
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end

function init(args)
  prefix = args[1]
  base = tonumber(args[2])
  step = 0
  counter = id * 1000000
end

function request()
  counter = counter + 1
  local t = base + counter * 7
  local path = prefix .. "&start=" .. os.date("!%Y-%m-%dT%H:%M:%SZ", t) ..
               "&end=" .. os.date("!%Y-%m-%dT%H:%M:%SZ", t + 7 * 86400)
  return wrk.format("GET", path)
end
