-- scripts/bench-webhooks.lua: POSTs pre-signed webhook events to a receiver,
-- each request a different event (so each one is stored and applied, not
-- deduplicated). Arguments: the events file written by scripts/bench.sh (one
-- "signature-header-value<TAB>body" line per event), wrk's thread count (-t),
-- and optionally the signature header and the path (default: Cal.com's
-- X-Cal-Signature-256 to /api/cal/webhooks/receiver; Stripe's is
-- Stripe-Signature to /api/stripe/webhook).
-- Threads take interleaved events; once all are used they wrap around (and
-- the receiver answers duplicates), which bench.sh reports.
local events = {}
local path = "/api/cal/webhooks/receiver"
local header = "X-Cal-Signature-256"
local next_id = 0
local pos, stride = 0, 1

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end

function init(args)
  local file = args[1]
  stride = tonumber(args[2] or "1")
  header = args[3] or header
  path = args[4] or path
  for line in io.lines(file) do
    local tab = line:find("\t", 1, true)
    events[#events + 1] = { line:sub(1, tab - 1), line:sub(tab + 1) }
  end
  pos = id
end

function request()
  local e = events[(pos % #events) + 1]
  pos = pos + stride  -- thread k takes events k, k + stride, ...
  return wrk.format("POST", path, { ["Content-Type"] = "application/json", [header] = e[1] }, e[2])
end
