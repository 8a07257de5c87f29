#!/usr/bin/env bash
# The stsauth load benchmark (docs/benchmarks.md): starts stsauth-fake-sts and `stsauth server` on
# loopback (ephemeral ports, a temporary state directory), runs every scenario in ONE run, samples
# the server's RSS and CPU, and prints one table with the ratios against the targets
# (PASS/FAIL). It reports: the exit status is 0 whatever the verdicts, non-zero only when the
# harness itself is broken (a process that does not start, a scenario that cannot run).
#
#   scripts/bench.sh            full run (5 to 8 minutes here, at most 13), after building if needed
#   scripts/bench.sh --quick    every scenario, shorter (at most 2 minutes)
#   scripts/bench.sh --smoke    a few seconds of each mode, no targets judged; exit 1 if the
#                               harness is broken (the CTest test load.smoke), 77 without wrk
#   scripts/bench.sh --only authorize   just POST /authorize against the same server's /healthz,
#                               in as many rounds as --rounds (with --quick: shorter)
#   scripts/bench.sh --only fixed       just the uncached max throughput and the fixed-rate runs at
#                               half of it: the fake STS alone, stsauth, the fake alone again (the
#                               lower fake p99 is the baseline of the added p50/p99), with where the
#                               time goes (the client's send lag, the server's own time per review
#                               and its STS wait from its log lines, new STS connections)
#   scripts/bench.sh --only hiding      just the uncached max throughput (the denominator) and
#                               STS at 100 ms on 1,000 connections (not with --smoke)
#   scripts/bench.sh --only uncached    just the /healthz baseline and the uncached max throughput
#                               (the uncached / healthz verdict), in as many rounds as --rounds
# Options: --build-dir DIR (use the binaries there, do not build), --out DIR (keep results
# there: logs, wrk/stsauth-load outputs, callgrind files; default build-load/bench-results/<date>),
# --rate N (the fixed-rate pair at N reviews/s instead of half the uncached maximum: the added
# latency at other loads, reported but not judged, the target being set at half the maximum),
# --rounds N (how many times /healthz, cached and uncached reviews are measured, back to back,
# for the two throughput ratios, how many times /authorize and its server's /healthz are, and
# how many times the 100,000- and 10-role servers alternate (at least twice): each ratio is
# judged on its median over the rounds, and every round is
# printed; default 3 in a full run, 2 with --smoke, 1 with --quick), --conns N (connections of the
# throughput and fixed-rate runs, both arms alike; default 64, 16 with --smoke), --keep-logs (keep
# the servers' logs whole: a full run writes ~2 GB of them, a line per review, so on exit each
# log over 8 MiB is cut to its first and last 200 lines and its lines not at level info, by
# scripts/trim-log.sh).
#
# Max throughput comes from wrk (-t2, closed loop, tests/load/reviews.lua); fixed-rate latency,
# request counts, the 1,000-at-once burst and the reload probe from tests/load's stsauth-load.
# Nothing leaves 127.0.0.1; every run is bounded in time and requests; everything started here
# is stopped on exit. Tokens are made for made-up fake-STS keys and are never printed.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
mode=full
only=""
build_dir=""
out_dir=""
fixed_rate=""
rounds=""
conns_opt=""
keep_logs=0
while (($#)); do
  case "$1" in
    --quick) mode=quick ;;
    --smoke) mode=smoke ;;
    --build-dir) build_dir=$2; shift ;;
    --out) out_dir=$2; shift ;;
    --rate) fixed_rate=$2; shift
      [[ "$fixed_rate" =~ ^[1-9][0-9]*$ ]] || { echo "bench.sh: --rate takes a whole number of reviews per second" >&2; exit 2; } ;;
    --rounds) rounds=$2; shift
      [[ "$rounds" =~ ^[1-9]$ ]] || { echo "bench.sh: --rounds takes a number from 1 to 9" >&2; exit 2; } ;;
    --conns) conns_opt=$2; shift
      [[ "$conns_opt" =~ ^[1-9][0-9]{0,3}$ ]] || { echo "bench.sh: --conns takes a number from 1 to 9999" >&2; exit 2; } ;;
    --only) only=$2; shift
      case "$only" in authorize|fixed|hiding|uncached) ;; *) echo "bench.sh: --only takes: authorize, fixed, hiding, uncached" >&2; exit 2 ;; esac ;;
    --keep-logs) keep_logs=1 ;;
    -h|--help) sed -n '2,40p' "$0"; exit 0 ;;
    *) echo "bench.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

# ---- scenario sizes --------------------------------------------------------------------------
threads=2            # wrk -t, and the server's io threads (CPU count)
conns=64             # connections of the throughput and fixed-rate runs
hide_conns=1000
burst_conns=1000
case "$mode" in
  full)  dur=10; hide_dur=15; scale_dur=10; scale_roles=100000; cg_requests=1000; budget=600; cg_needs=240
         : "${rounds:=3}" ;;
  quick) dur=3;  hide_dur=4;  scale_dur=2; scale_roles=100000; cg_requests=150;  budget=120; cg_needs=40 ;;
  smoke) dur=2;  hide_dur=0;  scale_dur=0; scale_roles=1000;   cg_requests=0;    budget=100
         conns=16; burst_conns=50; : "${rounds:=2}" ;;  # two rounds: the smoke test runs that path too
esac
: "${rounds:=1}"
[ -n "$conns_opt" ] && conns=$conns_opt
# The 100,000-vs-10-role comparison alternates its two servers for as many rounds, at least two.
scale_rounds=$((rounds < 2 ? 2 : rounds))
# The ratio rounds after the first add time to the budget: ~65 s each in a full run.
budget=$((budget + (rounds - 1) * (6 * dur + 2 * scale_dur + 10)))
cluster_id=stsauth-load
account=111122223333
# Key ranges of the token family (tests/load/tokens.hpp): disjoint per scenario, so no scenario
# can hit tokens another one put in the cache. Each key signs at most 600 tokens a second of the
# run (gen_tokens), so the ranges are sized for the fastest rate a scenario reaches.
unc_key=0;    unc_keys=800
hide_key=800; hide_keys=1000
rate_key=1800; rate_keys=400
cached_key=2200; cached_keys=100
burst_key=2300
cg_key=2350;  cg_keys=100
total_keys=2450
# Rounds 2.. of the uncached run (--rounds) sign with keys of their own, after all of the above.
rounds_key=$total_keys
total_keys=$((total_keys + (rounds - 1) * unc_keys))

start_epoch=$(date +%s)
start_date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- tools and binaries ------------------------------------------------------------------------
if ! command -v wrk >/dev/null; then
  echo "bench.sh: wrk is not installed (scripts/setup.sh installs it)" >&2
  [ "$mode" = smoke ] && exit 77
  exit 1
fi
for tool in curl awk; do
  command -v "$tool" >/dev/null || { echo "bench.sh: $tool is not installed" >&2; exit 1; }
done
if [ -z "$build_dir" ]; then
  build_dir=$repo/build-load
  # A release build with debug info (-g changes no code; callgrind can then name lines).
  if [ ! -f "$build_dir/build.ninja" ]; then
    cmake -S "$repo" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSTSAUTH_TESTS=ON \
      "-DCMAKE_CXX_FLAGS_RELEASE=-O3 -DNDEBUG -g" >/dev/null
  fi
  ninja -C "$build_dir" -j2 stsauth stsauth-fake-sts stsauth-load >/dev/null
fi
build_dir=$(cd "$build_dir" && pwd)
stsauth=$build_dir/server/stsauth
fake=$build_dir/tests/fakests/stsauth-fake-sts
loadtool=$build_dir/tests/load/stsauth-load
lua=$repo/tests/load/reviews.lua
authz_lua=$repo/tests/load/authorize.lua
for b in "$stsauth" "$fake" "$loadtool"; do
  [ -x "$b" ] || { echo "bench.sh: missing $b (build stsauth, stsauth-fake-sts, stsauth-load)" >&2; exit 1; }
done

work=$(mktemp -d /tmp/stsauth-bench.XXXXXX)
if [ -z "$out_dir" ]; then
  if [ "$mode" = smoke ]; then out_dir=$work/results; else out_dir=$build_dir/bench-results/$(date -u +%Y%m%dT%H%M%SZ)-$mode; fi
fi
mkdir -p "$out_dir"

# ---- process bookkeeping: everything started here is stopped on exit ---------------------------
pids=()
watchdog=""
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  [ -n "$watchdog" ] && kill "$watchdog" 2>/dev/null || true
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  # The servers have stopped writing: their logs (a line per review) are cut to what one reads.
  # Smoke's logs go with its work directory.
  if [ "$keep_logs" = 0 ] && [[ "$out_dir" != "$work"/* ]]; then
    local f
    for f in "$out_dir"/*.log; do
      if [ -f "$f" ] && (($(stat -c %s "$f") > 8 * 1024 * 1024)); then bash "$repo/scripts/trim-log.sh" "$f" || true; fi
    done
  fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP PIPE
# The whole run is bounded: past the budget the script stops itself (and its children, above).
# (Its sleep is killed with it and holds no output pipe open.)
(
  sleep "$budget" </dev/null >/dev/null 2>&1 &
  sleeper=$!
  trap 'kill $sleeper 2>/dev/null; exit 0' TERM
  wait "$sleeper"
  echo "bench.sh: time budget of ${budget}s exceeded, stopping" >&2
  kill -TERM $$
) </dev/null >/dev/null &
watchdog=$!

die() { echo "bench.sh: $*" >&2; exit 1; }
log() { echo "[$(date +%H:%M:%S)] $*" >&2; }

# ---- results: R[scenario.key]=value ----------------------------------------------------------------
declare -A R
# kv_load NAME FILE: reads key=value words (one or more a line) into R[NAME.key].
kv_load() {
  local name=$1 file=$2 word
  for word in $(grep -h -o '[a-z0-9_]*=[^ ]*' "$file"); do R[$name.${word%%=*}]=${word#*=}; done
}
get() { echo "${R[$1]:-}"; }
dump_results() {  # every figure of the run, sorted, to $out_dir/results.txt
  local k; for k in "${!R[@]}"; do echo "$k=${R[$k]}"; done | sort >"$out_dir/results.txt"
}
num() { local v=${R[$1]:-}; echo "${v:-0}"; }
calc() { awk "BEGIN { printf \"%s\", ($*) }"; }

# ---- the table's rows and verdicts -------------------------------------------------------------------
fmt_num() { [ -n "$2" ] && awk "BEGIN { printf \"%.${1}f\", ($2) }"; }
row_format='%-44s %9s %8s %8s %8s %6s %6s %7s %6s %6s %5s %7s %7s\n'
header_row() {
  printf "$row_format" scenario 'req/s' 'p50 ms' 'p99 ms' 'p99.9' errors non2xx auth denied sts/rv 'cpu%' 'cpu us' 'RSS MiB'
}
scen() {  # scen LABEL NAME
  local n=$2
  printf "$row_format" "$1" \
    "$(fmt_num 0 "$(get "$n.rps")")" "$(get "$n.p50_ms")" "$(get "$n.p99_ms")" "$(get "$n.p999_ms")" \
    "$(num "$n.errors")" "$(num "$n.non_2xx")" "$(num "$n.authenticated")" "$(num "$n.denied")" \
    "$(fmt_num 2 "$(get "$n.sts_per_review")")" "$(fmt_num 0 "$(get "$n.cpu_pct")")" \
    "$(fmt_num 1 "$(get "$n.cpu_us")")" "$(fmt_num 1 "$(get "$n.rss_peak_mib")")"
}
verdicts=()
target() {  # target LABEL MEASURED REQUIRED OK(1/0)
  local v=FAIL; [ "$4" = 1 ] && v=PASS
  [ "$mode" = smoke ] && v=-
  printf '%-52s %-30s %-22s %s\n' "$1" "$2" "$3" "$v"
  verdicts+=("$v")
}
note() { printf '%-52s %-30s %-22s %s\n' "$1" "$2" "(reported)" "-"; }  # note LABEL MEASURED
ratio() { calc "$(num "$2") > 0 ? $(num "$1") / $(num "$2") : 0"; }
ge() { awk "BEGIN { exit !($1 >= $2) }" && echo 1 || echo 0; }
le() { awk "BEGIN { exit !($1 <= $2) }" && echo 1 || echo 0; }
f2() { awk "BEGIN { printf \"%.2f\", ($1) }"; }

# ---- /proc sampling ----------------------------------------------------------------------------------
clk_tck=$(getconf CLK_TCK)
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
minflt() { awk '{ print $10 }' "/proc/$1/stat" 2>/dev/null || echo 0; }  # minor page faults so far
now_ns() { date +%s%N; }

# sched_stats PID: "RUNQ_NS INVOLUNTARY VOLUNTARY" summed over PID's threads: the time they waited
# for a CPU while runnable (schedstat), and their context switches (preempted / went to sleep).
sched_stats() {
  local q; q=$(cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ q += $2 } END { printf "%.0f", q }')
  cat /proc/"$1"/task/*/status 2>/dev/null |
    awk -v q="$q" '/^voluntary_ctxt_switches/ { v += $2 } /^nonvoluntary_ctxt_switches/ { n += $2 } END { printf "%.0f %.0f %.0f\n", q, n, v }'
}

# Seconds between two samples of measure(): each sample forks a few processes (awk, cat), which
# on two CPUs is itself a source of latency spikes. 0: no sampling while the command runs (RSS
# before and after only): the fixed-rate runs, whose tail a sample a second raised from ~2 to
# ~3.6 ms (2026-11-24).
sample_s=0.2
# measure NAME PID CMD...: runs CMD (output to $out_dir/NAME.out), sampling PID's RSS every $sample_s s;
# sets R[NAME.rss_peak_mib], R[NAME.load_s] (how long the load ran) and R[NAME.cpu_pct] (CPU of
# PID over it, 100 = one core), and
# where the CPUs went: R[NAME.runq_us] (PID's threads' wait for a CPU per answer, µs),
# R[NAME.preempt_per_s] (PID's involuntary context switches per second), R[NAME.sleeps_per_req]
# (its voluntary ones — a thread going to sleep — per answer), R[NAME.minflt_per_req] (its minor
# page faults per answer), R[NAME.cmd_runq_us] (the CPU wait of CMD itself, per answer: what
# stsauth-load reports of itself, else sampled until CMD's last sample).
measure() {
  local name=$1 pid=$2; shift 2
  local t0 c0 peak=0 r s0 cs=(0 0 0)
  t0=$(now_ns); c0=$(cpu_ticks "$pid"); read -ra s0 <<<"$(sched_stats "$pid")"; local m0; m0=$(minflt "$pid")
  local sampling=1; [ "$sample_s" = 0 ] && sampling=0 && peak=$(rss_kib "$pid")
  # stsauth-load measures its own CPU wait (client_runq_us): only other commands are sampled for it.
  local sample_cmd=1; [ "$1" = "$loadtool" ] && sample_cmd=0
  "$@" >"$out_dir/$name.out" 2>"$out_dir/$name.err" &
  local cmd=$!
  while ((sampling)) && kill -0 "$cmd" 2>/dev/null; do
    r=$(rss_kib "$pid"); ((r > peak)) && peak=$r
    if ((sample_cmd)); then read -ra r <<<"$(sched_stats "$cmd")"; [ "${#r[@]}" = 3 ] && cs=("${r[@]}"); fi
    sleep "$sample_s"
  done
  wait "$cmd" || die "$name: $(head -c 300 "$out_dir/$name.err")"
  if ((!sampling)); then r=$(rss_kib "$pid"); ((r > peak)) && peak=$r; fi
  local t1 c1 s1
  t1=$(now_ns); c1=$(cpu_ticks "$pid"); read -ra s1 <<<"$(sched_stats "$pid")"
  R[$name.rss_peak_mib]=$(calc "$peak / 1024")
  kv_load "$name" "$out_dir/$name.out"
  # R[NAME.load_s]: how long the load itself ran where the tool says (wrk's duration_s,
  # stsauth-load's elapsed_s), else the command's wall time, which for wrk also holds every
  # thread's init() (seconds for a large token file, the server idle). CPU shares divide by it.
  local span; span=$(num "$name.duration_s"); [ "$span" = 0 ] && span=$(num "$name.elapsed_s")
  [ "$(ge "$span" 0.001)" = 1 ] || span=$(calc "($t1 - $t0) / 1e9")
  R[$name.load_s]=$span
  R[$name.cpu_pct]=$(calc "($c1 - $c0) / $clk_tck / $span * 100")
  # CPU time of PID per answer: a figure other processes on the machine disturb less than req/s.
  local answers; answers=$(num "$name.answers"); [ "$answers" = 0 ] && answers=$(num "$name.completed")
  R[$name.cpu_us]=$(calc "$answers > 0 ? ($c1 - $c0) / $clk_tck * 1e6 / $answers : 0")
  R[$name.runq_us]=$(calc "$answers > 0 ? (${s1[0]:-0} - ${s0[0]:-0}) / 1e3 / $answers : 0")
  R[$name.preempt_per_s]=$(calc "int((${s1[1]:-0} - ${s0[1]:-0}) / (($t1 - $t0) / 1e9))")
  R[$name.sleeps_per_req]=$(calc "$answers > 0 ? (${s1[2]:-0} - ${s0[2]:-0}) / $answers : 0")
  R[$name.minflt_per_req]=$(calc "$answers > 0 ? ($(minflt "$pid") - m0) / $answers : 0")
  if ((sample_cmd)); then R[$name.cmd_runq_us]=$(calc "$answers > 0 ? ${cs[0]} / 1e3 / $answers : 0")
  else R[$name.cmd_runq_us]=$(num "$name.client_runq_us"); fi
}

# ---- the machine: what a wake-up costs (tests/load/wake.hpp), before anything else runs ---------------
# Every fixed-rate review is four hand-offs between processes; on a VM whose idle CPUs halt, a
# hand-off to the other CPU can cost more than the work it hands over.
wake_rounds=20000; [ "$mode" = smoke ] && wake_rounds=2000
"$loadtool" wake --rounds "$wake_rounds" >"$out_dir/wake.txt" || die "stsauth-load wake failed"
kv_load machine "$out_dir/wake.txt"

# ---- the fake STS ------------------------------------------------------------------------------------
"$loadtool" fake-config --keys "$total_keys" --account "$account" --out "$work/fake-creds.yaml"
"$fake" --config "$work/fake-creds.yaml" --ca-out "$work/fake-ca.pem" --log-level warn \
  >"$work/fake.out" 2>"$out_dir/fake-sts.log" &
fake_pid=$!
pids+=("$fake_pid")
for _ in $(seq 100); do grep -q 'listening on' "$work/fake.out" 2>/dev/null && break; sleep 0.1; done
fake_port=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$work/fake.out")
[ -n "$fake_port" ] || die "the fake STS did not start: $(cat "$out_dir/fake-sts.log")"
fake_curl() { curl -sS --max-time 10 --cacert "$work/fake-ca.pem" "$@"; }
fake_faults() { fake_curl -X POST -d "$1" "https://127.0.0.1:$fake_port/_faults" >/dev/null; }
sts_total() {  # STS requests the fake has answered so far
  local stats
  stats=$(fake_curl "https://127.0.0.1:$fake_port/_stats") || die "the fake STS is gone: $(tail -3 "$out_dir/fake-sts.log")"
  grep -o '"total":[0-9]*' <<<"$stats" | cut -d: -f2
}
# metric SERVER NAME: the value of an unlabelled metric on SERVER's /metrics.
metric() {
  curl -sS --max-time 5 --cacert "$work/state/cert.pem" --resolve "localhost:$(get "$1.port"):127.0.0.1" \
    "https://localhost:$(get "$1.port")/metrics" | awk -v m="$2" '$1 == m { print $2 }'
}
# quiesce SERVER: waits (at most 30 s) until SERVER has no review in flight, so the backlog of
# one scenario (reviews whose clients left) does not spill into the next one's counts.
quiesce() {
  local n=""
  for _ in $(seq 300); do
    n=$(metric "$1" stsauth_reviews_in_flight | awk '{ print ($1 == 0 ? 0 : $1) }' || true)
    [ "$n" = 0 ] && return 0
    sleep 0.1
  done
  die "$1 still has ${n:-?} reviews in flight after 30 s"
}

# ---- stsauth servers ---------------------------------------------------------------------------------
# write_config (scripts/bench-config.sh): the server configs of every scenario.
source "$repo/scripts/bench-config.sh"

# start_server NAME CONFIG [WRAPPER...]: starts `stsauth server`, waits for its listener; sets
# R[NAME.pid], R[NAME.port], R[NAME.start_s] (until listening: includes loading the mappings).
start_server() {
  local name=$1 config=$2; shift 2
  local t0; t0=$(now_ns)
  (cd "$work" && exec "$@" "$stsauth" server -c "$config" 2>"$out_dir/$name.log") &
  local pid=$!
  pids+=("$pid")
  local port="" limit=300
  [ $# -gt 0 ] && limit=1200  # under valgrind
  for _ in $(seq $limit); do
    port=$(sed -n 's/.*main: listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$out_dir/$name.log" 2>/dev/null | head -1 || true)
    [ -n "$port" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  [ -n "$port" ] || die "$name did not start: $(tail -5 "$out_dir/$name.log")"
  R[$name.pid]=$pid
  R[$name.port]=$port
  R[$name.start_s]=$(calc "($(now_ns) - $t0) / 1e9")
}
stop_server() { kill -TERM "$(get "$1.pid")" 2>/dev/null || true; wait "$(get "$1.pid")" 2>/dev/null || true; }

gen_tokens() {  # gen_tokens FILE COUNT FIRST_KEY KEYS
  local window=$(( ($2 + $4 - 1) / $4 ))
  ((window <= 600)) || die "too many tokens asked ($2) for $4 keys"
  "$loadtool" gen --count "$2" --first-key "$3" --keys "$4" --window-s "$window" --cluster-id "$cluster_id" --out "$1"
}

# wrk_run NAME SERVER TOKENS|- PATH CONNS SECONDS [LUA_SCRIPT]
wrk_run() {
  local name=$1 server=$2 tokens=$3 path=$4 c=$5 d=$6 script=${7:-$lua}
  quiesce "$server"
  local s0 f0; s0=$(sts_total); f0=$(cpu_ticks "$fake_pid")
  measure "$name" "$(get "$server.pid")" wrk -t"$threads" -c"$c" -d"${d}s" --timeout 10s -s "$script" \
    "https://127.0.0.1:$(get "$server.port")" -- "$tokens" "$threads" "$path"
  grep -q '^WRK ' "$out_dir/$name.out" || die "$name: wrk printed no result"
  R[$name.fake_cpu_pct]=$(calc "($(cpu_ticks "$fake_pid") - $f0) / $clk_tck / $(num "$name.load_s") * 100")
  R[$name.sts_requests]=$(( $(sts_total) - s0 ))
  R[$name.sts_per_review]=$(calc "$(num "$name.answers") > 0 ? $(num "$name.sts_requests") / $(num "$name.answers") : 0")
}

# tool_run NAME SERVER ARGS...: stsauth-load run against SERVER (its port and certificate).
tool_run() {
  local name=$1 server=$2; shift 2
  quiesce "$server"
  local s0; s0=$(sts_total)
  measure "$name" "$(get "$server.pid")" "$loadtool" run --port "$(get "$server.port")" --ca "$work/state/cert.pem" "$@"
  R[$name.sts_requests]=$(( $(sts_total) - s0 ))
}

warm() {  # warm SERVER TOKENS: one review of each token, so the next runs are cache hits
  local name="warm_$1_$RANDOM" n; n=$(wc -l <"$2")
  tool_run "$name" "$1" --tokens "$2" --mode closed -c 16 --requests "$n" --duration 60
  [ "$(num "$name.authenticated")" = "$n" ] || die "$name: $(num "$name.authenticated") of $n tokens authenticated"
}

# ---- POST /authorize (ACCESS-ENTRIES C5-C7) -----------------------------------------------------------
# Its own server: the 10-role config plus an access-entries file of $authz_entries principals
# (every tenth ClusterAdmin at cluster scope, the others View on dev-*) and authorization on;
# /healthz of the same server is the baseline. The SubjectAccessReviews are what kube-apiserver
# sends for a user authenticated by stsauth (its extras included): a View principal's get/list
# in dev-* allowed, its delete and prod reviews no opinion (half each); the admins always allowed.
authz_entries=100
write_authz_inputs() {
  awk -v n=$authz_entries -v acct=$account 'BEGIN {
    print "authenticationMode: API_AND_CONFIG_MAP"; print "accessEntries:"
    for (i = 1; i <= n; i++) {
      printf "  - principalArn: arn:aws:iam::%s:role/authz-%d\n    principalId: AROAAUTHZ%011d\n", acct, i, i
      printf "    kubernetesGroups: [authz-%d]\n    accessPolicies:\n", i % 10
      if (i % 10 == 0)
        print "      - policyArn: arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy\n        accessScope: {type: cluster}"
      else
        print "      - policyArn: arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy\n        accessScope: {type: namespace, namespaces: [\"dev-*\"]}"
    }
  }' >"$work/access-entries.yaml"
  awk -v n=$authz_entries -v acct=$account 'BEGIN {
    split("get pods dev-a|list deployments dev-b|delete pods dev-a|get pods prod", kinds, "|")
    for (j = 0; j < 400; j++) {
      i = j % n + 1; split(kinds[j % 4 + 1], k, " ")
      group = (k[2] == "deployments") ? "apps" : ""
      id = sprintf("AROAAUTHZ%011d", i); s = "session-" j
      printf "{\"kind\":\"SubjectAccessReview\",\"apiVersion\":\"authorization.k8s.io/v1\",\"metadata\":{\"creationTimestamp\":null},"
      printf "\"spec\":{\"resourceAttributes\":{\"namespace\":\"%s\",\"verb\":\"%s\",\"group\":\"%s\",\"version\":\"v1\",\"resource\":\"%s\"},", k[3], k[1], group, k[2]
      printf "\"user\":\"arn:aws:sts::%s:assumed-role/authz-%d/%s\",\"groups\":[\"authz-%d\",\"system:authenticated\"],", acct, i, s, i % 10
      printf "\"uid\":\"aws-iam-authenticator:%s:%s\",\"extra\":{\"accessKeyId\":[\"ASIAAUTHZEXAMPLEKEY0\"],", acct, id
      printf "\"arn\":[\"arn:aws:sts::%s:assumed-role/authz-%d/%s\"],\"canonicalArn\":[\"arn:aws:iam::%s:role/authz-%d\"],", acct, i, s, acct, i
      printf "\"principalId\":[\"%s\"],\"sessionName\":[\"%s\"],\"sigs.k8s.io/aws-iam-authenticator/principalId\":[\"%s\"]}},", id, s, id
      printf "\"status\":{\"allowed\":false}}\n"
    }
  }' >"$work/sar.txt"
}
authorize_scenario() {
  log "POST /authorize against the same server's /healthz ($authz_entries access entries)"
  write_authz_inputs
  write_config "$work/server-authz.yaml" 10 'admin:{{SessionName}}' "" "  accessEntries:
    file: $work/access-entries.yaml
  authorization:
    enabled: true"
  start_server authz "$work/server-authz.yaml"
  # As many rounds as the other ratios (--rounds), /healthz and /authorize back to back in each:
  # the verdict is on the median of the rounds' ratios.
  local authz_round sfx
  for ((authz_round = 1; authz_round <= rounds; authz_round++)); do
    sfx=$(round_suffix "$authz_round")
    ((authz_round > 1)) && log "round $authz_round of $rounds of /authorize against /healthz"
    wrk_run "authz_healthz$sfx" authz - /healthz "$conns" "$dur"
    wrk_run "authorize$sfx" authz "$work/sar.txt" /authorize "$conns" "$dur" "$authz_lua"
  done
  quiesce authz
  stop_server authz
}
# Ir per /authorize request (callgrind: load-independent), minus nothing: /healthz on the same
# server under valgrind is measured alongside. $cg_requests requests each, after 100 warm-ups.
authorize_callgrind() {
  local cg_out="$out_dir/callgrind-authz"
  mkdir -p "$cg_out"
  start_server authz_cg "$work/server-authz.yaml" valgrind --tool=callgrind \
    "--callgrind-out-file=$cg_out/callgrind.out" --dump-instr=no --compress-strings=no --compress-pos=no
  local pid; pid=$(get authz_cg.pid)
  local common=(--port "$(get authz_cg.port)" --ca "$work/state/cert.pem" --mode closed -c 4 --duration 300 --timeout 60)
  "$loadtool" run "${common[@]}" --kind body --path /authorize --tokens "$work/sar.txt" --requests 100 >"$out_dir/cg-authz-warm.out"
  callgrind_control -z "$pid" >/dev/null
  "$loadtool" run "${common[@]}" --kind get --path /healthz --requests "$cg_requests" >"$out_dir/cg-authz-healthz.out"
  callgrind_control -d healthz "$pid" >/dev/null
  "$loadtool" run "${common[@]}" --kind body --path /authorize --tokens "$work/sar.txt" --requests "$cg_requests" \
    >"$out_dir/cg-authorize.out"
  callgrind_control -d authorize "$pid" >/dev/null
  local kind part f
  for kind in healthz authorize; do
    part=$( [ $kind = healthz ] && echo 1 || echo 2 )
    f=$(ls "$cg_out/callgrind.out".*"$part" 2>/dev/null | head -1)
    [ -n "$f" ] || continue
    R[cg_authz_$kind.ir]=$(awk '/^(summary|totals):/ { print $2; exit }' "$f")
    awk '/^fn=/ { fn = substr($0, 4); call = 0; next }
         /^calls=/ { call = 1; next }
         /^[0-9]/ { if (call) call = 0; else { self[fn] += $2; total += $2 } }
         END { for (f in self) printf "%12d %5.1f%%  %s\n", self[f], 100 * self[f] / total, f }' "$f" |
      sort -rn | head -50 >"$cg_out/$kind.self.txt" || true
    callgrind_annotate --inclusive=yes "$f" 2>/dev/null | head -80 >"$cg_out/$kind.inclusive.txt" || true
  done
  stop_server authz_cg
  printf '%-52s %-30s %-22s %s\n' "Ir per request, /healthz and /authorize (callgrind)" \
    "$(calc "$(num cg_authz_healthz.ir) / $cg_requests" | awk '{printf "%.0f", $1}'), $(calc "$(num cg_authz_authorize.ir) / $cg_requests" | awk '{printf "%.0f", $1}')" \
    "(reported)" "-"
}
authorize_verdict() {  # the ratio (median of the rounds), errors in any round, p99s and outcome counts
  local k s errs=0
  for ((k = 1; k <= rounds; k++)); do
    s=$(round_suffix "$k")
    errs=$((errs + $(num "authorize$s.errors") + $(num "authorize$s.non_2xx") + $(num "authorize$s.other")))
  done
  judge_rounds "/authorize / healthz throughput (same server)" 0.80 authz "$(round_ratios authorize authz_healthz)"
  target "  /authorize errors, every round" "$errs" "0" "$([ "$errs" = 0 ] && echo 1 || echo 0)"
  printf '%-52s %-30s %-22s %s\n' "  /authorize p99 (healthz p99)" "$(get authorize.p99_ms) ms ($(get authz_healthz.p99_ms) ms)" \
    "(reported)" "-"
  printf '%-52s %-30s %-22s %s\n' "  /authorize answers: allowed, no opinion, errors" \
    "$(num authorize.authenticated), $(num authorize.denied), $(( $(num authorize.errors) + $(num authorize.non_2xx) + $(num authorize.other) ))" \
    "(reported)" "-"
}

# ---- uncached reviews, the fixed-rate pair, latency hiding (on the main server) ----------------------
# uncached_scenario [NAME FIRST_KEY]: wrk at max throughput, a new token per review, the fake STS
# at 0 ms (NAME uncached, keys from $unc_key, unless a later round names its own).
uncached_scenario() {
  local name=${1:-uncached} first=${2:-$unc_key}
  log "uncached reviews, fake STS at 0 ms${1:+ ($name)}"
  # Tokens for the whole run without wrapping: sized from the cached rate when it was measured
  # (more than the uncached one), else from a rate no run here comes near.
  local per_s; per_s=$(num cached.rps); [ "$per_s" = 0 ] && per_s=40000
  local count; count=$(calc "int($per_s * $dur * 1.25) + 2000")
  ((count > unc_keys * 590)) && count=$((unc_keys * 590))
  gen_tokens "$work/$name.txt" "$count" "$first" "$unc_keys"
  wrk_run "$name" main "$work/$name.txt" /authenticate "$conns" "$dur"
  rm -f "$work/$name.txt"  # ~0.5 KB a token: not kept once sent
  # The uncached maximum the fixed rate and latency hiding are set from (ratio_rounds: the median).
  [ "$name" = uncached ] && R[uncached.rps_median]=$(num uncached.rps)
  return 0
}

# Rounds 2..$rounds of the throughput ratios (--rounds), back to back on the main server after the
# first: /healthz, cached reviews (WITH_CACHED 1; warmed again, as the uncached runs have evicted
# them from the cache) and uncached reviews with tokens of their own. Named NAME_rK; round 1
# keeps the plain names every other scenario reads. A ratio is judged on its median over the
# rounds (round_ratios): on a shared VM one pair of 10-second runs moved by ±15%.
ratio_rounds() {  # ratio_rounds WITH_CACHED(1/0)
  local k
  for ((k = 2; k <= rounds; k++)); do
    log "round $k of $rounds of the throughput ratios"
    wrk_run "healthz_r$k" main - /healthz "$conns" "$dur"
    if [ "$1" = 1 ]; then
      warm main "$work/cached.txt"
      wrk_run "cached_r$k" main "$work/cached.txt" /authenticate "$conns" "$dur"
    fi
    uncached_scenario "uncached_r$k" $((rounds_key + (k - 2) * unc_keys))
  done
  R[uncached.rps_median]=$(for ((k = 1; k <= rounds; k++)); do num "uncached$(round_suffix "$k").rps"; done | median)
}
round_rows() {  # round_rows WITH_CACHED(1/0): the table's rows of rounds 2..$rounds
  local k
  for ((k = 2; k <= rounds; k++)); do
    scen "GET /healthz ($conns conns, round $k)" "healthz_r$k"
    [ "$1" = 1 ] && scen "cached reviews ($conns conns, round $k)" "cached_r$k"
    scen "uncached reviews, STS 0 ms (round $k)" "uncached_r$k"
  done
}
round_suffix() { (($1 > 1)) && echo "_r$1" || true; }
median() { sort -g | awk '{ v[NR] = $1 } END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# round_ratios NUM DEN: each round's NUM / DEN throughput ratio and its CPU twin (DEN's CPU per
# request over NUM's), "ratio cpu_ratio" a line.
round_ratios() {
  local k s
  for ((k = 1; k <= rounds; k++)); do
    s=$(round_suffix "$k")
    echo "$(ratio "$1$s.rps" "$2$s.rps") $(ratio "$2$s.cpu_us" "$1$s.cpu_us")"
  done
}
# ratio_target LABEL NUM DEN REQUIRED: the verdict on the median of the rounds' NUM / DEN ratios.
ratio_target() { judge_rounds "$1" "$4" "$2" "$(round_ratios "$2" "$3")"; }
# judge_rounds LABEL REQUIRED KEY LINES: LINES holds a round's "ratio cpu_ratio" a line; the verdict
# is on the median ratio (R[KEY.ratio_median], its CPU twin's median beside it), followed by a
# line with every round's ratio when there is more than one.
judge_rounds() {
  local n r rc
  n=$(wc -l <<<"$4")
  r=$(cut -d' ' -f1 <<<"$4" | median); rc=$(cut -d' ' -f2 <<<"$4" | median)
  R[$3.ratio_median]=$r; R[$3.cpu_ratio_median]=$rc
  if ((n == 1)); then
    target "$1" "$(f2 "$r") (cpu: $(f2 "$rc"))" ">= $2" "$(ge "$r" "$2")"
  else
    target "$1" "$(f2 "$r") (cpu: $(f2 "$rc")), median of $n" ">= $2" "$(ge "$r" "$2")"
    note "  each round: ratio (cpu)" "$(awk '{ printf "%s%.2f (%.2f)", (NR > 1 ? ", " : ""), $1, $2 }' <<<"$4")"
  fi
}

# Connections opened on this machine so far (/proc/net/snmp Tcp ActiveOpens), and the open
# connections to the fake STS (the server's STS pool; the fake-alone run's client too).
tcp_active_opens() { awk '/^Tcp:/ { if (seen) { print $6; exit } seen = 1 }' /proc/net/snmp; }
sts_conns_open() { ss -Htn state established "( dport = :$fake_port )" 2>/dev/null | wc -l; }
# review_latencies NAME FROM_LINE: the latency_ms of the main server's review log lines after
# line FROM_LINE (p50, p99, p99.9, max): the server's own time per review, from the decoded
# request to the answer handed to the HTTP layer (STS call included; the TLS, HTTP parsing and
# waiting for an I/O thread around it not).
review_latencies() {
  local name=$1 from=$2 f
  f=$work/$name.lat
  sleep 0.3  # the log sink writes in batches
  # Each review line's latency_ms and, when it asked STS, sts_ms: the server's time as a whole,
  # the STS wait, and the server's own time without it (per review, then the percentiles).
  { tail -n +"$((from + 1))" "$out_dir/main.log" | grep -o 'review outcome=.*latency_ms=[0-9.]*\( sts_ms=[0-9.]*\)\?' || true; } |
    sed 's/.*latency_ms=\([0-9.]*\)\( sts_ms=\)\?\([0-9.]*\)\?/\1 \3/' |
    awk '{ if ($2 != "") printf "%s %s %.3f\n", $1, $2, $1 - $2; else print $1 }' >"$f"
  { column_percentiles "$f" 1 srv; column_percentiles "$f" 2 srv_sts; column_percentiles "$f" 3 srv_own; } >"$out_dir/$name.srv"
  kv_load "$name" "$out_dir/$name.srv"
}
# column_percentiles FILE COLUMN PREFIX: "PREFIX_n= PREFIX_p50_ms= … PREFIX_max_ms=" over the
# lines of FILE that have that column (nothing when none has).
column_percentiles() {
  awk -v c="$2" 'NF >= c { print $c }' "$1" | sort -n | awk -v p="$3" '{ v[NR] = $1 }
    function at(q,  r) { r = int(q * NR / 100 + 0.999999); if (r < 1) r = 1; return v[r] }
    END { if (NR) printf "%s_n=%d %s_p50_ms=%.3f %s_p99_ms=%.3f %s_p999_ms=%.3f %s_max_ms=%.3f\n",
                         p, NR, p, at(50), p, at(99), p, at(99.9), p, v[NR] }'
}

# fake_alone_run NAME: the fake STS alone at $rate, driven as stsauth drives it (the presigned URLs).
fake_alone_run() {
  local s0; s0=$(sts_total)
  measure "$1" "$fake_pid" "$loadtool" run --port "$fake_port" --ca "$work/fake-ca.pem" \
    --server-name sts.us-west-2.amazonaws.com --kind sts --cluster-id "$cluster_id" \
    --tokens "$work/rate.txt" --mode rate --rate "$rate" -c "$conns" --duration "$dur"
  R[$1.sts_requests]=$(( $(sts_total) - s0 ))
}
# copy_results FROM TO: every R[FROM.key] as R[TO.key].
copy_results() {
  local k; for k in "${!R[@]}"; do [[ $k == "$1".* ]] && R[$2.${k#"$1".}]=${R[$k]}; done
  return 0
}

fixed_scenario() {  # open loop at half the uncached maximum: the fake STS alone, stsauth, the fake again
  log "fixed rate at half the uncached maximum: the fake STS alone, stsauth, the fake STS alone again"
  if [ -n "$fixed_rate" ]; then rate=$fixed_rate
  elif [ "$mode" = smoke ]; then rate=200
  else rate=$(calc "int($(num uncached.rps_median) / 2)"); fi
  ((rate >= 10)) || rate=10
  gen_tokens "$work/rate.txt" "$(calc "int($rate * $dur * 1.1) + 100")" "$rate_key" "$rate_keys"
  sample_s=0
  # The fake's own p99 is measured before and after stsauth's run and the lower one is the
  # baseline: a pause of the machine during one of them would otherwise shrink the added
  # latency (a false pass); it can only make the verdict stricter.
  fake_alone_run rate_fake_before
  quiesce main
  local lines0 opens0
  lines0=$(wc -l <"$out_dir/main.log"); opens0=$(tcp_active_opens)
  R[rate_stsauth.sts_conns_before]=$(sts_conns_open)
  local f0 f1 fc0; read -ra f0 <<<"$(sched_stats "$fake_pid")"; fc0=$(cpu_ticks "$fake_pid")
  tool_run rate_stsauth main --tokens "$work/rate.txt" --mode rate --rate "$rate" -c "$conns" --duration "$dur"
  read -ra f1 <<<"$(sched_stats "$fake_pid")"
  R[rate_stsauth.fake_cpu_s]=$(calc "($(cpu_ticks "$fake_pid") - $fc0) / $clk_tck")
  R[rate_stsauth.fake_runq_us]=$(calc "$(num rate_stsauth.completed) > 0 ? (${f1[0]} - ${f0[0]}) / 1e3 / $(num rate_stsauth.completed) : 0")
  # Less the client's own connections: the STS connections (handshakes on the review path) the
  # server opened during the run, when nothing else on the machine connects meanwhile.
  R[rate_stsauth.new_conns]=$(( $(tcp_active_opens) - opens0 - conns ))
  R[rate_stsauth.sts_conns_after]=$(sts_conns_open)
  quiesce main
  review_latencies rate_stsauth "$lines0"
  fake_alone_run rate_fake_after
  sample_s=0.2
  if [ "$(le "$(num rate_fake_before.p99_ms)" "$(num rate_fake_after.p99_ms)")" = 1 ]; then
    copy_results rate_fake_before rate_fake; R[rate_fake.baseline]=before
  else
    copy_results rate_fake_after rate_fake; R[rate_fake.baseline]=after
  fi
}

hiding_scenario() {  # hiding_scenario WITH_POOL_VARIANT(1/0): the fake STS at 100 ms, $hide_conns connections
  log "latency hiding: fake STS at 100 ms, $hide_conns connections"
  local max; max=$(num uncached.rps_median)
  hide_target=$(calc "$max < 10000 ? $max : 10000")
  gen_tokens "$work/hide.txt" "$(calc "int($hide_target * $hide_dur * 1.3) + 2000")" "$hide_key" "$hide_keys"
  fake_faults '{"latency_ms":100}'
  quiesce main
  local lines0 opens0; lines0=$(wc -l <"$out_dir/main.log"); opens0=$(tcp_active_opens)
  R[hide.sts_conns_before]=$(sts_conns_open)
  wrk_run hide main "$work/hide.txt" /authenticate "$hide_conns" "$hide_dur"
  R[hide.new_conns]=$(( $(tcp_active_opens) - opens0 - hide_conns ))
  R[hide.sts_conns_after]=$(sts_conns_open)
  quiesce main
  review_latencies hide "$lines0"
  if [ "$1" = 1 ]; then
    # The same on a server whose STS pool may open one connection per client connection
    # (server.sts.maxConnectionsPerHost, default 1,024): is the pool the limit? (Its own cache:
    # the same tokens are misses there.)
    write_config "$work/server-pool.yaml" 10 'admin:{{SessionName}}' "    maxConnectionsPerHost: $hide_conns"
    start_server pool "$work/server-pool.yaml"
    wrk_run hide_pool pool "$work/hide.txt" /authenticate "$hide_conns" "$hide_dur"
    quiesce pool
    stop_server pool
  fi
  fake_faults '{"latency_ms":0}'
}

uncached_verdict() { ratio_target "uncached (STS 0 ms) / healthz throughput" uncached healthz 0.35; }
fixed_verdict() {
  local added added50
  added=$(calc "$(num rate_stsauth.p99_ms) - $(num rate_fake.p99_ms)")
  added50=$(calc "$(num rate_stsauth.p50_ms) - $(num rate_fake.p50_ms)")
  if [ -n "$fixed_rate" ]; then  # not half the maximum: the target does not apply
    note "added p99 at $rate/s (--rate; max $(num uncached.rps_median)/s)" "$(f2 "$added") ms (p50: $(f2 "$added50") ms)"
  else
    target "added p99 at $rate/s (stsauth - fake STS)" "$(f2 "$added") ms (p50: $(f2 "$added50") ms)" "<= 1 ms" "$(le "$added" 1)"
  fi
  # Where a p99 comes from: the client's delay before the write (no idle connection, or the
  # client itself late), the time from the write to the answer, the server's own time per review.
  note "  p99 client lag / write-to-answer: stsauth" "$(num rate_stsauth.lag_p99_ms) / $(num rate_stsauth.svc_p99_ms) ms"
  note "  fake alone p99 before / after stsauth's run" \
    "$(num rate_fake_before.p99_ms) / $(num rate_fake_after.p99_ms) ms (baseline: $(get rate_fake.baseline))"
  note "  p99 client lag / write-to-answer: fake alone" "$(num rate_fake.lag_p99_ms) / $(num rate_fake.svc_p99_ms) ms"
  note "  stsauth's own time per review p50/p99/p99.9" \
    "$(num rate_stsauth.srv_p50_ms)/$(num rate_stsauth.srv_p99_ms)/$(num rate_stsauth.srv_p999_ms) ms"
  note "    of it, the STS wait p50/p99; the rest p50/p99" \
    "$(num rate_stsauth.srv_sts_p50_ms)/$(num rate_stsauth.srv_sts_p99_ms); $(num rate_stsauth.srv_own_p50_ms)/$(num rate_stsauth.srv_own_p99_ms) ms"
  note "  TCP connects (machine-wide) less the client's" \
    "$(num rate_stsauth.new_conns) (to STS: $(num rate_stsauth.sts_conns_before) -> $(num rate_stsauth.sts_conns_after))"
  # Runnable but waiting for a CPU, per request (schedstat): what 2 shared CPUs cost each party.
  note "  CPU wait per review: server / fake / client" \
    "$(f2 "$(num rate_stsauth.runq_us)") / $(f2 "$(num rate_stsauth.fake_runq_us)") / $(f2 "$(num rate_stsauth.cmd_runq_us)") us"
  note "  CPU per review: server / fake / client" \
    "$(f2 "$(num rate_stsauth.cpu_us)") / $(f2 "$(calc "$(num rate_stsauth.completed) > 0 ? $(num rate_stsauth.fake_cpu_s) * 1e6 / $(num rate_stsauth.completed) : 0")") / $(num rate_stsauth.client_cpu_us) us"
  note "  CPU wait per request, fake alone: fake / client" \
    "$(f2 "$(num rate_fake.runq_us)") / $(f2 "$(num rate_fake.cmd_runq_us)") us"
  note "  server: preemptions/s, sleeps and page faults per review" \
    "$(num rate_stsauth.preempt_per_s), $(f2 "$(num rate_stsauth.sleeps_per_req)"), $(f2 "$(num rate_stsauth.minflt_per_req)")"
  note "  wake-up round trip p50/p99: 1 CPU, 2, unpinned" "$(wake_figures)"
}
# The machine's wake-up round trips, p50/p99 in microseconds (measured at the start of the run).
wake_figures() {
  local out="" w
  for w in same_cpu cross_cpu unpinned; do
    if [ -n "$(get "machine.wake_${w}_p50_us")" ]; then
      out+="${out:+, }$(get "machine.wake_${w}_p50_us")/$(get "machine.wake_${w}_p99_us")"
    else out+="${out:+, }-"; fi  # one CPU only: nothing to cross
  done
  echo "$out us"
}
hiding_verdict() {
  local r ok
  r=$(calc "$(num hide.rps) / $hide_target")
  ok=$(ge "$r" 0.80); { [ "$(num hide.errors)" = 0 ] && [ "$(num hide.non_2xx)" = 0 ]; } || ok=0
  target "STS 100 ms: req/s / min(10000, uncached max)" \
    "$(f2 "$r") ($(get hide.rps)/$(f2 "$hide_target")), $(( $(num hide.errors) + $(num hide.non_2xx) )) err" \
    ">= 0.80, 0 errors" "$ok"
  if [ -n "$(get hide_pool.rps)" ]; then
    r=$(calc "$(num hide_pool.rps) / $hide_target")
    printf '%-52s %-30s %-22s %s\n' "  same with maxConnectionsPerHost $hide_conns" \
      "$(f2 "$r"), $(( $(num hide_pool.errors) + $(num hide_pool.non_2xx) )) err" "(not the default)" "-"
  fi
  note "  stsauth's own time per review p50/p99 (STS incl.)" "$(num hide.srv_p50_ms)/$(num hide.srv_p99_ms) ms"
  note "  TCP connects (machine-wide) less the client's" \
    "$(num hide.new_conns) (to STS: $(num hide.sts_conns_before) -> $(num hide.sts_conns_after))"
  note "  server: CPU wait, cpu per review (64 conns: uncached)" \
    "$(f2 "$(num hide.runq_us)"), $(f2 "$(num hide.cpu_us)") us ($(f2 "$(num uncached.cpu_us)") us)"
  note "  server: sleeps and page faults per review (64 conns)" \
    "$(f2 "$(num hide.sleeps_per_req)"), $(f2 "$(num hide.minflt_per_req)") ($(f2 "$(num uncached.sleeps_per_req)"), $(f2 "$(num uncached.minflt_per_req)"))"
}

# ---- --only fixed | hiding | uncached -----------------------------------------------------------------
if [ "$only" = fixed ] || [ "$only" = hiding ] || [ "$only" = uncached ]; then
  [ "$only" = hiding ] && [ "$mode" = smoke ] && die "--only hiding does not run in --smoke mode"
  log "--only $only, mode $mode; results in $out_dir"
  write_config "$work/server-10.yaml" 10
  start_server main "$work/server-10.yaml"
  main_pid=$(get main.pid)
  if [ "$only" = uncached ]; then
    log "healthz baseline"
    wrk_run healthz main - /healthz "$conns" "$dur"
  fi
  uncached_scenario
  [ "$only" = uncached ] && ratio_rounds 0
  case $only in fixed) fixed_scenario ;; hiding) hiding_scenario 0 ;; esac
  quiesce main
  echo
  echo "stsauth benchmark (--only $only, $mode) — $start_date, $(( $(date +%s) - start_epoch )) s"
  echo "machine: $(nproc) CPU ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)); load average at start $load_start, at end $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "server: $threads io threads; wrk -t$threads; fake STS: 1 thread, $(fmt_num 0 "$(num uncached.fake_cpu_pct)")% CPU during the uncached run"
  echo
  header_row
  [ "$only" = uncached ] && scen "GET /healthz ($conns conns)" healthz
  scen "uncached reviews, STS 0 ms ($conns conns)" uncached
  [ "$only" = uncached ] && round_rows 0
  if [ "$only" = fixed ]; then
    scen "fixed $rate/s: stsauth (uncached)" rate_stsauth
    scen "fixed $rate/s: fake STS alone (cpu, RSS: fake)" rate_fake
  elif [ "$only" = hiding ]; then
    scen "STS 100 ms, $hide_conns conns (uncached)" hide
  fi
  echo
  printf '%-52s %-30s %-22s %s\n' target measured required verdict
  case $only in fixed) fixed_verdict ;; hiding) hiding_verdict ;; uncached) uncached_verdict ;; esac
  dump_results
  echo "outputs: $out_dir"
  exit 0
fi

if [ "$only" = authorize ]; then
  authorize_scenario
  echo
  echo "stsauth benchmark (--only authorize, $mode) — $start_date, $(( $(date +%s) - start_epoch )) s"
  echo "machine: $(nproc) CPU ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)); load average at start $load_start, at end $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "server: $threads io threads; wrk -t$threads -c$conns -d${dur}s, TLS keep-alive"
  echo
  for n in authz_healthz authorize $(for ((k = 2; k <= rounds; k++)); do echo "authz_healthz_r$k authorize_r$k"; done); do
    printf '%-16s req/s %9.0f  p50 %7s ms  p99 %7s ms  p99.9 %7s ms  errors %s  non2xx %s  cpu %5.0f%%  cpu us %6.1f\n' \
      "$n" "$(num "$n.rps")" "$(get "$n.p50_ms")" "$(get "$n.p99_ms")" "$(get "$n.p999_ms")" "$(num "$n.errors")" \
      "$(num "$n.non_2xx")" "$(num "$n.cpu_pct")" "$(num "$n.cpu_us")"
  done
  echo
  authorize_verdict
  if [ "$mode" != smoke ] && command -v callgrind_control >/dev/null; then authorize_callgrind; fi
  echo "outputs: $out_dir"
  exit 0
fi

# ======================================================================================================
log "mode $mode; results in $out_dir"
write_config "$work/server-10.yaml" 10
start_server main "$work/server-10.yaml"
main_pid=$(get main.pid)
sleep 1
R[idle.rss_mib]=$(calc "$(rss_kib "$main_pid") / 1024")
# Of which anonymous memory (heap, stacks) — the rest are pages of the binary and shared libraries.
R[idle.anon_mib]=$(awk '/^Anonymous:/ { printf "%.2f", $2 / 1024 }' "/proc/$main_pid/smaps_rollup" 2>/dev/null || echo 0)

# Round 1 of the throughput ratios: /healthz, cached and uncached reviews back to back, as in
# the later rounds (ratio_rounds), so that each ratio's arms run within ~30 s of each other.
gen_tokens "$work/cached.txt" 1000 "$cached_key" "$cached_keys"
log "healthz baseline"
wrk_run healthz main - /healthz "$conns" "$dur"

log "cached reviews"
warm main "$work/cached.txt"
wrk_run cached main "$work/cached.txt" /authenticate "$conns" "$dur"

uncached_scenario
ratio_rounds 1
# /authorize against its own server's /healthz, in as many rounds (after the rounds above: it
# used to run between round 1's /healthz and its reviews, ~80 s apart).
authorize_scenario
fixed_scenario

if [ "$mode" != smoke ]; then
  hiding_scenario 1
  quiesce main
fi

log "$burst_conns concurrent reviews of one new token"
gen_tokens "$work/burst.txt" 1 "$burst_key" 1
fake_faults '{"latency_ms":1000}'
tool_run burst main --tokens "$work/burst.txt" --mode burst -c "$burst_conns" --duration 30 --timeout 20
fake_faults '{"latency_ms":0}'

if [ "$mode" != smoke ]; then
  # The main server's cache now holds every token the scenarios above sent (up to 100,000
  # identities, kept until evicted): worth a line, but not what the connection target is about.
  quiesce main
  R[main_cache.entries]=$(metric main stsauth_cache_entries)
  R[main_cache.rss_mib]=$(calc "$(rss_kib "$main_pid") / 1024")
  log "memory: cached reviews on $hide_conns keep-alive connections (a fresh server)"
  write_config "$work/server-mem.yaml" 10
  start_server mem "$work/server-mem.yaml"
  warm mem "$work/cached.txt"
  wrk_run mem1000 mem "$work/cached.txt" /authenticate "$hide_conns" "$dur"
  sleep 2
  R[idle_after.rss_mib]=$(calc "$(rss_kib "$(get mem.pid)") / 1024")
  # After 10 s without activity the server gives back what the load left free (server/heap.hpp).
  # Nothing may touch it meanwhile: a /metrics scrape is a request, and restarts the quiet period.
  sleep 12
  R[idle_quiet.rss_mib]=$(calc "$(rss_kib "$(get mem.pid)") / 1024")
  R[idle_quiet.heap_trims]=$(metric mem stsauth_heap_trims_total)
  stop_server mem
fi

log "mapRoles scale: $scale_roles entries"
write_config "$work/server-big.yaml" "$scale_roles"
start_server big "$work/server-big.yaml"
warm big "$work/cached.txt"
if [ "$mode" != smoke ]; then
  # Against a fresh 10-entry server, so both have the same short history (the main server's
  # cache is full of the uncached scenarios' entries by now).
  stop_server main
  write_config "$work/server-small.yaml" 10
  start_server small "$work/server-small.yaml"
  warm small "$work/cached.txt"
  for ((round = 1; round <= scale_rounds; round++)); do
    wrk_run "scale10_$round" small "$work/cached.txt" /authenticate "$conns" "$scale_dur"
    wrk_run "scalebig_$round" big "$work/cached.txt" /authenticate "$conns" "$scale_dur"
  done
  stop_server small
fi

log "reload of the $scale_roles-entry file under load"
reload_dur=$((dur > 4 ? dur : 4))
write_config "$work/server-big-new.yaml" "$scale_roles" "reloaded:{{SessionName}}"
warm big "$work/cached.txt"
head -1 "$work/cached.txt" >"$work/probe.txt"
# One second into the load: replace the file, SIGHUP, and probe until a review shows the new
# username; the reload time is from the replacement to that answer (an upper bound: it includes
# starting the probe and its TLS handshake).
(
  sleep 1
  t0=$(now_ns)
  mv "$work/server-big-new.yaml" "$work/server-big.yaml"
  kill -HUP "$(get big.pid)"
  "$loadtool" run --port "$(get big.port)" --ca "$work/state/cert.pem" --tokens "$work/probe.txt" --mode probe \
    --probe-until '"username":"reloaded:' --probe-interval-ms 2 --duration 30 >"$out_dir/reload_probe.out"
  echo "reload_ms=$(calc "($(now_ns) - $t0) / 1e6")" >>"$out_dir/reload_probe.out"
) 2>"$out_dir/reload_probe.err" &
reload_probe=$!
pids+=("$reload_probe")
wrk_run reload_load big "$work/cached.txt" /authenticate "$conns" "$reload_dur"
wait "$reload_probe" || die "reload probe: $(cat "$out_dir/reload_probe.err")"
kv_load reload_probe "$out_dir/reload_probe.out"
stop_server big

cg_note=""
if [ "$mode" != smoke ] && ! command -v callgrind_control >/dev/null; then
  cg_note="callgrind skipped: valgrind is not installed"
elif [ "$mode" != smoke ] && (( $(date +%s) - start_epoch + cg_needs > budget )); then
  cg_note="callgrind skipped: less than ${cg_needs} s left of the ${budget} s budget"
fi
if [ "$mode" != smoke ] && [ -z "$cg_note" ]; then
  log "callgrind: $cg_requests requests each of healthz, cached and uncached reviews"
  write_config "$work/server-cg.yaml" 10
  mkdir -p "$out_dir/callgrind"
  start_server cg "$work/server-cg.yaml" valgrind --tool=callgrind \
    "--callgrind-out-file=$out_dir/callgrind/callgrind.out" --dump-instr=no --compress-strings=no --compress-pos=no
  cg_pid=$(get cg.pid)
  # The valgrind process is the server (exec); warm its connections, pool and cache first.
  head -100 "$work/cached.txt" >"$work/cg-cached.txt"
  gen_tokens "$work/cg-uncached.txt" "$cg_requests" "$cg_key" "$cg_keys"
  "$loadtool" run --port "$(get cg.port)" --ca "$work/state/cert.pem" --tokens "$work/cg-cached.txt" \
    --mode closed -c 4 --requests 100 --duration 120 --timeout 60 >"$out_dir/cg-warm.out"
  callgrind_control -z "$cg_pid" >/dev/null
  for kind in healthz cached uncached; do
    case $kind in
      healthz) args=(--kind get --path /healthz) ;;
      cached) args=(--tokens "$work/cg-cached.txt") ;;
      uncached) args=(--tokens "$work/cg-uncached.txt") ;;
    esac
    "$loadtool" run --port "$(get cg.port)" --ca "$work/state/cert.pem" "${args[@]}" --mode closed -c 4 \
      --requests "$cg_requests" --duration 300 --timeout 60 >"$out_dir/cg-$kind.out"
    kv_load "cg_$kind" "$out_dir/cg-$kind.out"
    callgrind_control -d "$kind" "$cg_pid" >/dev/null
  done
  for kind in healthz cached uncached; do
    part=$( case $kind in healthz) echo 1 ;; cached) echo 2 ;; uncached) echo 3 ;; esac )
    f=$(ls "$out_dir/callgrind/callgrind.out".*"$part" 2>/dev/null | head -1)
    [ -z "$f" ] && f=$(ls "$out_dir"/callgrind/callgrind.out*."$part" 2>/dev/null | head -1)
    if [ -n "$f" ]; then
      R[cg_$kind.ir]=$(awk '/^(summary|totals):/ { print $2; exit }' "$f")
      # Self cost per function (callgrind_annotate 3.19 folds the self costs of these mid-run
      # dumps into io_context::run, so they are summed here from the file itself).
      awk '/^fn=/ { fn = substr($0, 4); call = 0; next }
           /^calls=/ { call = 1; next }
           /^[0-9]/ { if (call) call = 0; else { self[fn] += $2; total += $2 } }
           END { for (f in self) printf "%12d %5.1f%%  %s\n", self[f], 100 * self[f] / total, f }' "$f" |
        sort -rn | head -50 >"$out_dir/callgrind/$kind.self.txt" || true
      callgrind_annotate --inclusive=yes "$f" 2>/dev/null | head -80 >"$out_dir/callgrind/$kind.inclusive.txt" || true
    fi
  done
  stop_server cg
fi

end_epoch=$(date +%s)
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# ======================================================================================================
# The table.

cpu_model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
mem_total=$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
echo
echo "stsauth benchmark ($mode) — $start_date, $(( end_epoch - start_epoch )) s"
echo "machine: $(nproc) CPU ($cpu_model), $mem_total; load average at start $load_start, at end $load_end"
echo "machine: wake-up round trip between two processes, p50/p99: on one CPU, on two, unpinned $(wake_figures)"
echo "server: $(get main.start_s | cut -c1-4) s to listen; $threads io threads; wrk -t$threads; fake STS: 1 thread"
echo
header_row
scen "GET /healthz ($conns conns)" healthz
scen "cached reviews ($conns conns)" cached
scen "uncached reviews, STS 0 ms ($conns conns)" uncached
round_rows 1
scen "fixed $rate/s: stsauth (uncached)" rate_stsauth
scen "fixed $rate/s: fake STS alone (cpu, RSS: fake)" rate_fake
if [ "$mode" != smoke ]; then
  scen "STS 100 ms, $hide_conns conns (uncached)" hide
  scen "  same, maxConnectionsPerHost $hide_conns" hide_pool
fi
scen "burst: $burst_conns x one new token" burst
if [ "$mode" != smoke ]; then
  scen "cached, $hide_conns conns (memory; fresh server)" mem1000
  for ((round = 1; round <= scale_rounds; round++)); do
    scen "cached, 10 mapRoles (round $round)" "scale10_$round"
    scen "cached, $scale_roles mapRoles (round $round)" "scalebig_$round"
  done
fi
scen "cached during the reload ($scale_roles roles)" reload_load
if ((rounds == 1)); then
  scen "GET /healthz, /authorize server" authz_healthz
  scen "POST /authorize (auth=allowed, denied=none)" authorize
else
  for ((k = 1; k <= rounds; k++)); do
    s=$(round_suffix "$k")
    scen "GET /healthz, /authorize server (round $k)" "authz_healthz$s"
    scen "POST /authorize (round $k)" "authorize$s"
  done
fi
echo

printf '%-52s %-30s %-22s %s\n' target measured required verdict
# Beside each throughput ratio, the same ratio of the server's CPU time per request ("cpu"):
# what the ratio would be if the server had the CPUs to itself (wrk, the fake STS and anything
# else running share them).
ratio_target "cached / healthz throughput" cached healthz 0.70
uncached_verdict
fixed_verdict
if [ "$mode" != smoke ]; then hiding_verdict; fi
ok=0; [ "$(num burst.sts_requests)" = 1 ] && [ "$(num burst.authenticated)" = "$burst_conns" ] && ok=1
target "$burst_conns concurrent reviews of one new token" \
  "$(num burst.sts_requests) STS req, $(num burst.authenticated) auth, spread $(f2 "$(num burst.send_spread_ms)") ms" \
  "1 STS request" "$ok"
target "RSS idle (after start)" "$(f2 "$(num idle.rss_mib)") MiB (anon $(f2 "$(num idle.anon_mib)"))" "<= 12 MiB" \
  "$(le "$(num idle.rss_mib)" 12)"
if [ "$mode" != smoke ]; then
  target "RSS, $hide_conns keep-alive conns under load" "$(f2 "$(num mem1000.rss_peak_mib)") MiB" "<= 48 MiB" \
    "$(le "$(num mem1000.rss_peak_mib)" 48)"
  judge_rounds "throughput $scale_roles / 10 mapRoles" 0.95 scale "$(for ((k = 1; k <= scale_rounds; k++)); do
    echo "$(ratio "scalebig_$k.rps" "scale10_$k.rps") $(ratio "scale10_$k.cpu_us" "scalebig_$k.cpu_us")"; done)"
fi
failed=$(( $(num reload_load.errors) + $(num reload_load.non_2xx) + $(num reload_load.denied) + $(num reload_load.other) ))
ok=$(le "$(num reload_probe.reload_ms)" 1000); { [ "$failed" = 0 ] && [ "$(num reload_probe.probe_matched)" = 1 ]; } || ok=0
target "reload of the $scale_roles-role file" "$(f2 "$(num reload_probe.reload_ms)") ms, $failed failed" "<= 1000 ms, 0 failed" "$ok"
printf '%-52s %-30s %-22s %s\n' "  req/s during the reload (before: round $scale_rounds)" \
  "$(fmt_num 0 "$(num reload_load.rps)") ($(fmt_num 0 "$(num "scalebig_$scale_rounds.rps")"))" "(reported)" "-"
authorize_verdict
if [ -n "$(get cg_healthz.ir)" ]; then
  per() { calc "$(num "cg_$1.ir") / $cg_requests"; }
  net() { calc "($(num "cg_$1.ir") - $(num cg_healthz.ir)) / $cg_requests"; }
  printf '%-52s %-30s %-22s %s\n' "Ir per request, healthz (callgrind)" "$(per healthz | awk '{printf "%.0f", $1}')" "(reported)" "-"
  for kind in cached uncached; do
    printf '%-52s %-30s %-22s %s\n' "Ir per review, $kind (minus healthz)" \
      "$(per $kind | awk '{printf "%.0f", $1}') ($(net $kind | awk '{printf "%.0f", $1}'))" "(reported)" "-"
  done
fi
echo
echo "start-up with $scale_roles mapRoles: $(get big.start_s | cut -c1-5) s; uncached STS requests/review: $(get uncached.sts_per_review), token wraps: $(num uncached.wraps)"
if [ "$mode" = smoke ]; then
  echo "fake STS CPU: $(fmt_num 0 "$(num uncached.fake_cpu_pct)")% during the uncached run"
else
  echo "fake STS CPU: $(fmt_num 0 "$(num uncached.fake_cpu_pct)")% during the uncached run, $(fmt_num 0 "$(num hide.fake_cpu_pct)")% at 100 ms"
fi
if [ "$mode" != smoke ]; then
  echo "RSS idle after the $hide_conns-connection load: $(f2 "$(num idle_after.rss_mib)") MiB, 14 s later $(f2 "$(num idle_quiet.rss_mib)") MiB ($(num idle_quiet.heap_trims) heap trims); RSS peak at STS 100 ms / $hide_conns conns: $(f2 "$(num hide.rss_peak_mib)") MiB"
  echo "main server after the STS scenarios: $(get main_cache.entries) identities cached, RSS $(f2 "$(num main_cache.rss_mib)") MiB"
fi
[ -n "$cg_note" ] && echo "$cg_note"
dump_results
echo "outputs: $out_dir"

# ---- smoke: is the harness itself working? -------------------------------------------------------
if [ "$mode" = smoke ]; then
  problems=()
  check() { [ "$2" = 1 ] || problems+=("$1"); }
  check "healthz answered"                "$( (( $(num healthz.status_2xx) > 0 && $(num healthz.errors) == 0 )) && echo 1)"
  check "cached reviews authenticated"    "$( (( $(num cached.authenticated) > 0 && $(num cached.errors) == 0 && $(num cached.non_2xx) == 0 && $(num cached.denied) == 0 )) && echo 1)"
  check "cached reviews made no STS call" "$( (( $(num cached.sts_requests) == 0 )) && echo 1)"
  check "uncached reviews authenticated"  "$( (( $(num uncached.authenticated) > 0 && $(num uncached.errors) == 0 )) && echo 1)"
  check "uncached reviews asked STS"      "$( (( $(num uncached.sts_requests) > 0 )) && echo 1)"
  for ((k = 2; k <= rounds; k++)); do
    check "round $k: healthz, cached (no STS call) and uncached reviews" \
      "$( (( $(num "healthz_r$k.status_2xx") > 0 && $(num "cached_r$k.authenticated") > 0 && $(num "cached_r$k.sts_requests") == 0 && $(num "cached_r$k.errors") == 0 && $(num "uncached_r$k.authenticated") > 0 && $(num "uncached_r$k.sts_requests") > 0 && $(num "uncached_r$k.errors") == 0 )) && echo 1)"
  done
  check "fixed-rate reviews"              "$( (( $(num rate_stsauth.authenticated) > 0 && $(num rate_stsauth.errors) == 0 )) && echo 1)"
  check "fixed-rate fake STS, before"     "$( (( $(num rate_fake_before.status_200) > 0 && $(num rate_fake_before.non_2xx) == 0 )) && echo 1)"
  check "fixed-rate fake STS, after"      "$( (( $(num rate_fake_after.status_200) > 0 && $(num rate_fake_after.non_2xx) == 0 )) && echo 1)"
  check "burst answered"                  "$( (( $(num burst.authenticated) == burst_conns )) && echo 1)"
  check "reload seen by the probe"        "$( (( $(num reload_probe.probe_matched) == 1 )) && echo 1)"
  check "reviews during the reload"       "$( (( $(num reload_load.authenticated) > 0 && failed == 0 )) && echo 1)"
  # wrk's threads send their first requests together (tests/load/wrk_common.lua's start barrier:
  # without it the first thread ran for the length of the others' init before wrk's clock).
  for k in healthz cached uncached authorize healthz_r2 cached_r2 uncached_r2 authorize_r2; do
    ((rounds >= 2)) || [[ $k != *_r2 ]] || continue
    check "wrk's threads started together ($k: $(num "$k.start_skew_ms") ms apart)" \
      "$([ -n "${R[$k.start_skew_ms]:-}" ] && [ "$(ge "$(num "$k.start_skew_ms")" 0)" = 1 ] && le "$(num "$k.start_skew_ms")" 100)"
  done
  for k in authorize authorize_r2; do
    ((rounds >= 2)) || [ "$k" = authorize ] || continue
    check "/authorize allowed and no opinion ($k)" "$( (( $(num "$k.authenticated") > 0 && $(num "$k.denied") > 0 && $(num "$k.errors") == 0 && $(num "$k.non_2xx") == 0 && $(num "$k.other") == 0 )) && echo 1)"
  done
  if ((${#problems[@]})); then
    printf 'harness broken: %s\n' "${problems[@]}" >&2
    exit 1
  fi
  echo "smoke: the harness works (no targets judged); wrk's threads started $(num healthz.start_skew_ms), $(num cached.start_skew_ms), $(num uncached.start_skew_ms) and $(num authorize.start_skew_ms) ms apart"
fi
exit 0
