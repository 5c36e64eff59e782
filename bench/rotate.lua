-- wrk script for /aap/startCapture: every request attaches to the next
-- call of BENCH_CALLS_FILE (one CallSid a line), so each one starts a
-- real payment instead of hitting "a payment is already running".
wrk.method = "POST"
local calls = {}
for line in io.lines(os.getenv("BENCH_CALLS_FILE")) do table.insert(calls, line) end
for h in string.gmatch(os.getenv("BENCH_HEADERS") or "", "[^\n]+") do
  local name, value = string.match(h, "^([^:]+):%s*(.*)$")
  if name then wrk.headers[name] = value end
end
local body_tpl = os.getenv("BENCH_BODY")

local threads = {}
local next_id = 0
function setup(thread)
  thread:set("id", next_id)
  thread:set("nthreads", 0)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  ok, bad, i = 0, 0, 0
end

function request()
  -- threads take interleaved calls: thread t uses t, t+n, t+2n ...
  local n = #calls
  local k = (id + i * 2) % n + 1
  i = i + 1
  return wrk.format(nil, nil, nil, string.gsub(body_tpl, "@CALL@", calls[k]))
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
