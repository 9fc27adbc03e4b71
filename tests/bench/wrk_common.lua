-- Shared by the wrk scripts: numbers the threads, and prints the figures as one RESULT line.
local threads = {}

function setup(thread)
  thread:set("thread_id", #threads + 1)  -- a global in the thread: its scripts read thread_id
  table.insert(threads, thread)
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    'RESULT {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "non_2xx": %d, "socket_errors": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    errors.status, errors.connect + errors.read + errors.write + errors.timeout))
end
