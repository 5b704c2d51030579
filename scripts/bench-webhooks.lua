-- scripts/bench-webhooks.lua: POSTs pre-signed Cal.com webhook events to the
-- receiver, each request a different event (so each one is stored and
-- applied, not deduplicated). Arguments: the events file written by
-- scripts/bench.sh (one "signature<TAB>body" line per event) and wrk's
-- thread count (-t).
-- Threads take interleaved events; once all are used they wrap around (and
-- the receiver answers duplicates), which bench.sh reports.
local events = {}
local path = "/api/cal/webhooks/receiver"
local next_id = 0
local pos, stride = 0, 1

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end

function init(args)
  local file = args[1]
  stride = tonumber(args[2] or "1")
  for line in io.lines(file) do
    local tab = line:find("\t", 1, true)
    events[#events + 1] = { line:sub(1, tab - 1), line:sub(tab + 1) }
  end
  pos = id
end

function request()
  local e = events[(pos % #events) + 1]
  pos = pos + stride  -- thread k takes events k, k + stride, ...
  return wrk.format("POST", path, { ["Content-Type"] = "application/json", ["X-Cal-Signature-256"] = e[1] }, e[2])
end
