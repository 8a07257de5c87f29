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

-- wrk runs each thread's init() in its main thread, one thread after the other, and starts a
-- thread as soon as its own init() has returned; the clock that req/s divides by starts only
-- after the last one. With a large input (the uncached run's ~500,000 tokens take each init
-- ~1.5 s) the first thread would answer requests for seconds before that clock starts: those
-- requests counted, their time not, req/s inflated. So every thread's first request waits until
-- wrk has started all its threads (/proc/self/status counts wrk's main thread and its workers).
-- wrk's main thread itself calls request() once, on the first thread's state before starting it
-- (to check the script's requests): that call must not wait.
local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } wrk_timespec;
int clock_gettime(int clock, wrk_timespec* ts);
int usleep(unsigned int usec);
int getpid(void);
int gettid(void);
]]

local timespec = ffi.new("wrk_timespec")
local function monotonic_ms()
   ffi.C.clock_gettime(1, timespec)  -- CLOCK_MONOTONIC
   return tonumber(timespec.tv_sec) * 1e3 + tonumber(timespec.tv_nsec) / 1e6
end

local function process_threads()
   local f = assert(io.open("/proc/self/status", "r"))
   for line in f:lines() do
      local n = line:match("^Threads:%s*(%d+)")
      if n then
         f:close()
         return tonumber(n)
      end
   end
   f:close()
   error("no Threads: line in /proc/self/status")
end

local function await_all_threads()
   for _ = 1, 120000 do  -- 2 minutes, polled every millisecond
      if process_threads() > thread_total then return end
      ffi.C.usleep(1000)
   end
   error("wrk started " .. (process_threads() - 1) .. " of " .. thread_total .. " threads within 2 minutes")
end

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
      if not started and ffi.C.gettid() ~= ffi.C.getpid() then
         await_all_threads()
         started = true
         first_ms = monotonic_ms()
      end
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
      -- How far apart the threads sent their first requests (the start barrier's spread).
      local first_min, first_max
      for _, t in ipairs(threads) do
         local f = t:get("first_ms")
         if f then
            first_min = math.min(first_min or f, f)
            first_max = math.max(first_max or f, f)
         end
      end
      local e = summary.errors
      local seconds = summary.duration / 1e6
      io.write(string.format(
         "WRK requests=%d duration_s=%.3f rps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f p999_ms=%.3f max_ms=%.3f " ..
         "err_connect=%d err_read=%d err_write=%d err_status=%d err_timeout=%d errors=%d " ..
         "answers=%d status_2xx=%d non_2xx=%d authenticated=%d denied=%d other=%d wraps=%d start_skew_ms=%.3f\n",
         summary.requests, seconds, summary.requests / seconds,
         latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
         latency:percentile(99.9) / 1000, latency.max / 1000,
         e.connect, e.read, e.write, e.status, e.timeout, e.connect + e.read + e.write + e.timeout,
         sum.answers, sum.ok2xx, sum.non2xx, sum.authenticated, sum.denied, sum.other, sum.wraps,
         first_max and (first_max - first_min) or -1))
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

-- Starts this thread's request cycle over `requests` (the first request waits for all
-- `nthreads` of wrk's threads, wrk's -t) and zeroes its counters.
function common.start(requests, nthreads)
   thread_total = nthreads
   started = false
   reqs = requests
   count = #reqs
   cursor = 0
   wraps = 0
   answers, ok2xx, non2xx, authenticated, denied, other = 0, 0, 0, 0, 0, 0
end

return common
