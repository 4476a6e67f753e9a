-- Shared by every benchmark request: count the answers by status in each thread, keep the
-- first body of each status (what a shopper is told), and when wrk is done print one line
-- "bench-wrk: {json}" that bench/run.py reads. Latencies are in microseconds, as wrk
-- measures them.

local threads = {}
local SAMPLE_BYTES = 1000

function setup(thread)
   thread:set("thread_number", #threads + 1)
   table.insert(threads, thread)
end

statuses = {}
samples = {}

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
   if samples[status] == nil then
      samples[status] = string.sub(body or "", 1, SAMPLE_BYTES)
   end
end

local function json_string(text)
   local escaped = string.gsub(text, '[%c"\\]', function(c)
      if c == '"' then return '\\"' end
      if c == "\\" then return "\\\\" end
      return string.format("\\u%04x", string.byte(c))
   end)
   return '"' .. escaped .. '"'
end

function done(summary, latency, requests)
   local counts, bodies = {}, {}
   for _, thread in ipairs(threads) do
      for status, n in pairs(thread:get("statuses")) do
         counts[status] = (counts[status] or 0) + n
      end
      for status, body in pairs(thread:get("samples")) do
         bodies[status] = bodies[status] or body
      end
   end
   local parts, sample_parts = {}, {}
   for status, n in pairs(counts) do
      table.insert(parts, string.format('"%d": %d', status, n))
   end
   for status, body in pairs(bodies) do
      table.insert(sample_parts, string.format('"%d": %s', status, json_string(body)))
   end
   local e = summary.errors
   io.write(string.format(
      'bench-wrk: {"requests": %d, "duration_us": %d, "bytes": %d, ' ..
      '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
      '"latency_us": {"mean": %.1f, "p50": %d, "p90": %d, "p99": %d, "max": %d}, ' ..
      '"statuses": {%s}, "samples": {%s}}\n',
      summary.requests, summary.duration, summary.bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency.mean, latency:percentile(50), latency:percentile(90),
      latency:percentile(99), latency.max,
      table.concat(parts, ", "), table.concat(sample_parts, ", ")))
end
