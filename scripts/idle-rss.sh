#!/usr/bin/env bash
# Idle RSS of `stsauth server`, measured as scripts/bench.sh measures it (the bench's 10-role
# config, VmRSS one second after "listening on"), over N starts: for A/B comparisons of build and
# link changes (docs/benchmarks.md, "Idle RSS").
#
#   scripts/idle-rss.sh BUILD_DIR [N] [STSAUTH_BINARY]
#
# BUILD_DIR provides stsauth-fake-sts and stsauth-load (and the server unless STSAUTH_BINARY is
# given). Prints each start (VmRSS, anonymous memory, threads) and min/mean/max in MiB. With
# SMAPS_OUT=PREFIX, copies /proc/PID/smaps of start i to PREFIX.i. Loopback only; everything
# started here is stopped on exit.
set -euo pipefail
[ $# -ge 1 ] || { sed -n '2,12p' "$0"; exit 2; }
bd=$(cd "$1" && pwd)
n=${2:-3}
stsauth=${3:-$bd/server/stsauth}
fake=$bd/tests/fakests/stsauth-fake-sts
loadtool=$bd/tests/load/stsauth-load
for b in "$stsauth" "$fake" "$loadtool"; do [ -x "$b" ] || { echo "idle-rss.sh: missing $b" >&2; exit 1; }; done
work=$(mktemp -d /tmp/stsauth-idle-rss.XXXXXX)
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
account=111122223333

"$loadtool" fake-config --keys 10 --account "$account" --out "$work/fake-creds.yaml"
"$fake" --config "$work/fake-creds.yaml" --ca-out "$work/fake-ca.pem" --log-level warn >"$work/fake.out" 2>"$work/fake.log" &
pids+=($!)
for _ in $(seq 100); do grep -q 'listening on' "$work/fake.out" 2>/dev/null && break; sleep 0.1; done
fake_port=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$work/fake.out")
[ -n "$fake_port" ] || { echo "idle-rss.sh: the fake STS did not start: $(cat "$work/fake.log")" >&2; exit 1; }

# The bench's 10-role config.
cluster_id=stsauth-load
source "$(dirname "$0")/bench-config.sh"
write_config "$work/server-10.yaml" 10

values=()
for i in $(seq "$n"); do
  (cd "$work" && exec "$stsauth" server -c "$work/server-10.yaml" 2>"$work/server.log") &
  pid=$!
  pids+=("$pid")
  for _ in $(seq 300); do
    grep -q 'main: listening on' "$work/server.log" 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  grep -q 'main: listening on' "$work/server.log" || { echo "idle-rss.sh: the server did not start: $(tail -3 "$work/server.log")" >&2; exit 1; }
  sleep 1
  rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status")
  anon=$(awk '/^Anonymous:/ { print $2 }' "/proc/$pid/smaps_rollup")
  threads=$(ls "/proc/$pid/task" | wc -l)
  [ -z "${SMAPS_OUT:-}" ] || cp "/proc/$pid/smaps" "$SMAPS_OUT.$i"
  values+=("$rss")
  awk -v i="$i" -v r="$rss" -v a="$anon" -v t="$threads" \
    'BEGIN { printf "start %d: VmRSS %.2f MiB (anonymous %.2f MiB, %d threads)\n", i, r / 1024, a / 1024, t }'
  kill -TERM "$pid"
  wait "$pid" 2>/dev/null || true
done
printf '%s\n' "${values[@]}" | awk '{ s += $1; if (NR == 1 || $1 < mn) mn = $1; if ($1 > mx) mx = $1 }
  END { printf "idle RSS min %.2f mean %.2f max %.2f MiB (%d starts)\n", mn / 1024, s / NR / 1024, mx / 1024, NR }'
