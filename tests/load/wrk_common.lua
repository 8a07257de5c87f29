-- What the wrk scripts of the load harness share (reviews.lua, authorize.lua): the split of an
-- input file between wrk's threads, the request cycle, the outcome counts and the "WRK ..." line.
-- A script loads it with require from its own directory:
--
--   local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
--   package.path = dir .. "?.lua;" .. package.path
--   local common = require("wrk_common")
--
-- wrk runs setup() and done() in its main Lua state and init(), request() and response() in one
-- state per thread; each state loads the script (and so this module) on its own. The per-thread
-- counters are globals of the thread's state, which is where done() reads them (thread:get).

local common = {}

local threads = {}
local thread_count = 0

-- Installs the globals setup, request, response and done. `yes` and `no` are the strings whose
-- presence in an answer counts it as "authenticated" and "denied"; anything else is "other".
function common.install(yes, no)
   function setup(thread)
      thread:set("id", thread_count)
      thread_count = thread_count + 1
      table.insert(threads, thread)
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
      if body:find(yes, 1, true) then
         authenticated = authenticated + 1
      elseif body:find(no, 1, true) then
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
end

-- This thread's share of the non-empty lines of `file`: lines id, id+nthreads, ... (thread k of
-- nthreads), each made a request by make(line). An empty share is an error naming `what`.
function common.share(file, nthreads, make, what)
   local share = {}
   local i = 0
   for line in io.lines(file) do
      if line ~= "" then
         if i % nthreads == id then
            share[#share + 1] = make(line)
         end
         i = i + 1
      end
   end
   if #share == 0 then
      error("no " .. what .. " for thread " .. id .. " in " .. file)
   end
   return share
end

-- Starts this thread's request cycle over `requests` and zeroes its counters.
function common.start(requests)
   reqs = requests
   count = #reqs
   cursor = 0
   wraps = 0
   answers, ok2xx, non2xx, authenticated, denied, other = 0, 0, 0, 0, 0, 0
end

return common
