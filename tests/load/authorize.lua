-- wrk script of the stsauth load harness (scripts/bench.sh): POST /authorize at max throughput.
--
--   wrk -t2 -c64 -d10s --timeout 10s -s authorize.lua https://127.0.0.1:PORT -- BODIES THREADS [PATH]
--
-- BODIES is a file of SubjectAccessReview JSON documents, one a line (as kube-apiserver sends
-- them: the user, groups and the extras of stsauth's own TokenReview answer). Each request POSTs
-- the next one to PATH (default /authorize); thread k of THREADS (wrk's -t) takes lines k,
-- k+THREADS, ... and cycles through them.
--
-- Prints one line "WRK key=value ..." at the end, with the keys of reviews.lua's line (so
-- bench.sh reads both alike); there "authenticated" counts answers with "allowed":true and
-- "denied" answers with "allowed":false (no opinion: stsauth never denies); "other" anything else.

local threads = {}
local thread_count = 0

function setup(thread)
   thread:set("id", thread_count)
   thread_count = thread_count + 1
   table.insert(threads, thread)
end

function init(args)
   local file, nthreads, path = args[1], tonumber(args[2]), args[3] or "/authorize"
   if file == nil or nthreads == nil then
      error("usage: -- BODIES THREADS [PATH]")
   end
   local headers = { ["Content-Type"] = "application/json", ["Accept"] = "application/json, */*" }
   reqs = {}
   local i = 0
   for line in io.lines(file) do
      if line ~= "" then
         if i % nthreads == id then
            reqs[#reqs + 1] = wrk.format("POST", path, headers, line)
         end
         i = i + 1
      end
   end
   if #reqs == 0 then
      error("no SubjectAccessReview for thread " .. id .. " in " .. file)
   end
   count = #reqs
   cursor = 0
   wraps = 0
   answers, ok2xx, non2xx, authenticated, denied, other = 0, 0, 0, 0, 0, 0
end

function request()
   cursor = cursor + 1
   if cursor > count then
      cursor = 1
      wraps = wraps + 1
   end
   return reqs[cursor]
end

function response(status, headers, body)
   answers = answers + 1
   if status >= 200 and status < 300 then ok2xx = ok2xx + 1 else non2xx = non2xx + 1 end
   if body:find('"allowed":true', 1, true) then
      authenticated = authenticated + 1
   elseif body:find('"allowed":false', 1, true) then
      denied = denied + 1
   else
      other = other + 1
   end
end

function done(summary, latency, requests)
   local sum = { answers = 0, ok2xx = 0, non2xx = 0, authenticated = 0, denied = 0, other = 0, wraps = 0 }
   for _, t in ipairs(threads) do
      for k, _ in pairs(sum) do
         sum[k] = sum[k] + (t:get(k) or 0)
      end
   end
   local e = summary.errors
   local seconds = summary.duration / 1e6
   io.write(string.format(
      "WRK requests=%d duration_s=%.3f rps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f p999_ms=%.3f max_ms=%.3f " ..
      "err_connect=%d err_read=%d err_write=%d err_status=%d err_timeout=%d errors=%d " ..
      "answers=%d status_2xx=%d non_2xx=%d authenticated=%d denied=%d other=%d wraps=%d\n",
      summary.requests, seconds, summary.requests / seconds,
      latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
      latency:percentile(99.9) / 1000, latency.max / 1000,
      e.connect, e.read, e.write, e.status, e.timeout, e.connect + e.read + e.write + e.timeout,
      sum.answers, sum.ok2xx, sum.non2xx, sum.authenticated, sum.denied, sum.other, sum.wraps))
end
