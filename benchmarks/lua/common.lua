-- Shared by the benchmark scripts: a thread id for unique values, the bearer token, and one
-- machine-readable result line (latencies in microseconds) that benchmarks/load.py reads.
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

function seed()
  math.randomseed(tid * 7919 + os.time())
end

wrk.headers["Authorization"] = "Bearer " .. (os.getenv("BENCH_TOKEN") or "")

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"errors":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.status + e.timeout))
end
