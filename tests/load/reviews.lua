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

local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = dir .. "?.lua;" .. package.path
local common = require("wrk_common")

common.install('"authenticated":true', '"authenticated":false')

function init(args)
   local file, nthreads, path = args[1], tonumber(args[2]), args[3] or "/authenticate"
   if file == nil or nthreads == nil then
      error("usage: -- TOKENS|- THREADS [PATH]")
   end
   if file == "-" then
      common.start({ wrk.format("GET", path) }, nthreads)
      return
   end
   local headers = { ["Content-Type"] = "application/json", ["Accept"] = "application/json" }
   common.start(common.share(file, nthreads, function(line)
      return wrk.format("POST", path, headers, '{"kind":"TokenReview","apiVersion":"authentication.k8s.io/v1",' ..
         '"metadata":{"creationTimestamp":null},"spec":{"token":"' .. line .. '"},"status":{"user":{}}}')
   end, "token"), nthreads)
end
