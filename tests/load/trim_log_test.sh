#!/usr/bin/env bash
# CTest load.trim_log: scripts/trim-log.sh keeps a log's ends and its lines not at level info (text
# and JSON formats), caps those, says what it cut, and leaves short files alone.
set -euo pipefail
trim=$(cd "$(dirname "$0")/../.." && pwd)/scripts/trim-log.sh
dir=$(mktemp -d /tmp/stsauth-trim.XXXXXX)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

info() { echo "time=\"t\" level=info msg=\"review outcome=authenticated n=$1\""; }
{
  for i in $(seq 1 50); do info "$i"; done
  echo 'time="t" level=warn msg="sts: connection reset"'
  for i in $(seq 51 100); do info "$i"; done
  echo '{"time":"t","level":"error","msg":"json error line"}'
  echo '{"time":"t","level":"info","msg":"json info line"}'
  for i in $(seq 101 150); do info "$i"; done
} >"$dir/a.log"

bash "$trim" "$dir/a.log" 10
out=$(cat "$dir/a.log")
[ "$(head -10 "$dir/a.log")" = "$(for i in $(seq 1 10); do info "$i"; done)" ] || fail "first 10 lines not kept"
[ "$(tail -11 "$dir/a.log" | head -10)" = "$(for i in $(seq 141 150); do info "$i"; done)" ] || fail "last 10 lines not kept"
grep -q 'level=warn msg="sts: connection reset"' <<<"$out" || fail "warn line cut"
grep -q '"level":"error"' <<<"$out" || fail "JSON error line cut"
grep -q 'json info line' <<<"$out" && fail "JSON info line kept"
grep -q 'n=11"' <<<"$out" && fail "an info line from the middle kept"
grep -qx '\[trim-log.sh: of lines 11-143, only those not at level info kept\]' <<<"$out" || fail "no cut marker: $out"
grep -qx '\[trim-log.sh: 131 lines cut; scripts/bench.sh --keep-logs keeps them\]' <<<"$out" || fail "no count of cut lines"
[ "$(wc -l <"$dir/a.log")" = 24 ] || fail "expected 24 lines, got $(wc -l <"$dir/a.log")"
# The marker comes before the kept warning, in file order.
[ "$(grep -n 'trim-log.sh: of lines' "$dir/a.log" | cut -d: -f1)" -lt "$(grep -n 'level=warn' "$dir/a.log" | cut -d: -f1)" ] ||
  fail "marker after the kept lines"

# At most CAP lines not at level info are kept.
{ for i in $(seq 1 20); do info "$i"; done; for i in $(seq 1 30); do echo "time=\"t\" level=error msg=\"e$i\""; done
  for i in $(seq 21 40); do info "$i"; done; } >"$dir/b.log"
bash "$trim" "$dir/b.log" 5 7
[ "$(grep -c 'level=error' "$dir/b.log")" = 7 ] || fail "cap of 7 not applied"
grep -qx '\[trim-log.sh: 53 lines cut; scripts/bench.sh --keep-logs keeps them\]' "$dir/b.log" || fail "cap: wrong count"

# Short files are left as they are.
for i in $(seq 1 20); do info "$i"; done >"$dir/c.log"
cp "$dir/c.log" "$dir/c.orig"
bash "$trim" "$dir/c.log" 10
cmp -s "$dir/c.log" "$dir/c.orig" || fail "a file of 2 x KEEP lines changed"

# A missing file is an error.
if bash "$trim" "$dir/none.log" 2>/dev/null; then fail "missing file accepted"; fi
echo "trim-log.sh: ok"
