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

local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = dir .. "?.lua;" .. package.path
local common = require("wrk_common")

common.install('"allowed":true', '"allowed":false')

function init(args)
   local file, nthreads, path = args[1], tonumber(args[2]), args[3] or "/authorize"
   if file == nil or nthreads == nil then
      error("usage: -- BODIES THREADS [PATH]")
   end
   local headers = { ["Content-Type"] = "application/json", ["Accept"] = "application/json, */*" }
   common.start(common.share(file, nthreads, function(line)
      return wrk.format("POST", path, headers, line)
   end, "SubjectAccessReview"), nthreads)
end
