#!/usr/bin/env bash
# scripts/trim-log.sh FILE [KEEP] [CAP]: cuts a server log in place to its first and last KEEP lines
# (default 200) and every line between them not at level info (text or JSON format; at most CAP,
# default 2,000), in file order, with a line where the cut starts and one at the end saying how
# many lines went. A file with no more than 2 x KEEP lines is left as it is.
# scripts/bench.sh runs it on its servers' logs after a run (one line per review: ~2 GB a full run).
set -euo pipefail
f=$1 keep=${2:-200} cap=${3:-2000}
[ -f "$f" ] || { echo "trim-log.sh: no file $f" >&2; exit 2; }
n=$(wc -l <"$f")
((n > 2 * keep)) || exit 0
awk -v n="$n" -v keep="$keep" -v cap="$cap" '
  NR <= keep || NR > n - keep { print; next }
  !/ level=info / && !/"level":"info"/ && other < cap { other++; print; next }
  { cut++; if (!said) { said = 1; printf "[trim-log.sh: of lines %d-%d, only those not at level info kept]\n", keep + 1, n - keep } }
  END { if (cut) printf "[trim-log.sh: %d lines cut; scripts/bench.sh --keep-logs keeps them]\n", cut }
' "$f" >"$f.trimmed"
mv "$f.trimmed" "$f"
