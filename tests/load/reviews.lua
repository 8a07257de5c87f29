-- wrk script of the stsauth load harness (scripts/bench.sh): the max-throughput mode.
--
--   wrk -t2 -c64 -d10s --timeout 10s -s reviews.lua https://127.0.0.1:PORT -- TOKENS THREADS [PATH]
--
-- TOKENS is a file of tokens, one a line (stsauth-load gen): each request POSTs a TokenReview
-- (as kube-apiserver sends it) of the next token to PATH (default /authenticate). Thread k of
-- THREADS (wrk's -t) takes tokens k, k+THREADS, k+2*THREADS, ... so threads never share a token,
-- and cycles through its share ("wraps" counts the restarts: with distinct tokens, a wrap means
-- cache hits). TOKENS "-" sends GET PATH instead (the /healthz baseline), with the same script,
-- connections and TLS.
--
-- Prints one line "WRK key=value ..." at the end: throughput, latency percentiles (wrk's own
-- histogram, closed loop), wrk's error counts and the outcome counts read from every answer.
-- Tokens are never printed.

local threads = {}
local thread_count = 0

function setup(thread)
   thread:set("id", thread_count)
   thread_count = thread_count + 1
   table.insert(threads, thread)
end

function init(args)
   local file, nthreads, path = args[1], tonumber(args[2]), args[3] or "/authenticate"
   if file == nil or nthreads == nil then
      error("usage: -- TOKENS|- THREADS [PATH]")
   end
   reqs = {}
   if file == "-" then
      reqs[1] = wrk.format("GET", path)
   else
      local headers = { ["Content-Type"] = "application/json", ["Accept"] = "application/json" }
      local i = 0
      for line in io.lines(file) do
         if line ~= "" then
            if i % nthreads == id then
               local body = '{"kind":"TokenReview","apiVersion":"authentication.k8s.io/v1",' ..
                  '"metadata":{"creationTimestamp":null},"spec":{"token":"' .. line ..
                  '"},"status":{"user":{}}}'
               reqs[#reqs + 1] = wrk.format("POST", path, headers, body)
            end
            i = i + 1
         end
      end
      if #reqs == 0 then
         error("no token for thread " .. id .. " in " .. file)
      end
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
   if body:find('"authenticated":true', 1, true) then
      authenticated = authenticated + 1
   elseif body:find('"authenticated":false', 1, true) then
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
