-- wrk script: one fixed request (method, body, headers from the
-- environment), counts answers by status so a run that only measured
-- errors says so.
wrk.method = os.getenv("BENCH_METHOD") or "POST"
local body = os.getenv("BENCH_BODY")
if body and body ~= "" then wrk.body = body end
for h in string.gmatch(os.getenv("BENCH_HEADERS") or "", "[^\n]+") do
  local name, value = string.match(h, "^([^:]+):%s*(.*)$")
  if name then wrk.headers[name] = value end
end

local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  ok, bad = 0, 0
end

function response(status, headers, body)
  if status >= 200 and status < 300 then ok = ok + 1 else bad = bad + 1 end
end

function done(summary, latency, requests)
  local o, b = 0, 0
  for _, t in ipairs(threads) do
    o = o + t:get("ok")
    b = b + t:get("bad")
  end
  io.write(string.format("STATUS ok=%d bad=%d\n", o, b))
  io.write(string.format("LAT p50=%.3f p90=%.3f p99=%.3f max=%.3f\n",
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
  io.write(string.format("RPS %.1f\n", summary.requests / (summary.duration / 1e6)))
end
