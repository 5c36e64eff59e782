-- wrk script: one request shape (method, body, headers from the
-- environment); counts answers by status so a run that only measured
-- errors says so.  With BENCH_CALLS_FILE (one CallSid a line) every
-- request puts the next call of the file in place of @CALL@ in the body,
-- so /aap/startCapture starts a real payment each time instead of
-- hitting "a payment is already running".
wrk.method = os.getenv("BENCH_METHOD") or "POST"
local body = os.getenv("BENCH_BODY")
if body and body ~= "" then wrk.body = body end
for h in string.gmatch(os.getenv("BENCH_HEADERS") or "", "[^\n]+") do
  local name, value = string.match(h, "^([^:]+):%s*(.*)$")
  if name then wrk.headers[name] = value end
end
local calls = {}
local calls_file = os.getenv("BENCH_CALLS_FILE")
if calls_file and calls_file ~= "" then
  for line in io.lines(calls_file) do table.insert(calls, line) end
end
local nthreads = tonumber(os.getenv("BENCH_THREADS") or "2")

local threads = {}
local next_id = 0
function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  ok, bad, i = 0, 0, 0
end

if #calls > 0 then
  function request()
    -- threads take interleaved calls: thread t uses t, t+n, t+2n ...
    local k = (id + i * nthreads) % #calls + 1
    i = i + 1
    return wrk.format(nil, nil, nil, string.gsub(body, "@CALL@", calls[k]))
  end
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
