#!/usr/bin/env bash
# Soak run (docs/reliability.md): stsauth-fake-sts + `stsauth server` on 127.0.0.1, mixed
# valid / cached / unmapped / locally refused / malformed TokenReviews at a fixed rate for N
# minutes, the server's RSS and FD count sampled every 5 s, one table and a verdict
# (tests/integration/hostile/soak.py). Exit 0 on PASS, 1 on FAIL, 2 on a usage error.
#
#   scripts/soak.sh --minutes N [--rate R] [--connections C] [--build-dir DIR]
#
# Bounded: N <= 120, R <= 500 req/s; nothing leaves loopback. Without --build-dir the binaries
# of build/ are used (built first if missing).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
minutes=""
rate=20
connections=4
build_dir=""
while (($#)); do
  case "$1" in
    --minutes) minutes=$2; shift ;;
    --rate) rate=$2; shift ;;
    --connections) connections=$2; shift ;;
    --build-dir) build_dir=$2; shift ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "soak.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
if [[ -z "$minutes" ]]; then
  echo "soak.sh: --minutes N is required" >&2
  exit 2
fi
if [[ -z "$build_dir" ]]; then
  build_dir="$repo/build"
  if [[ ! -x "$build_dir/server/stsauth" || ! -x "$build_dir/tests/fakests/stsauth-fake-sts" ]]; then
    cmake -S "$repo" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build "$build_dir" --target stsauth stsauth-fake-sts
  fi
fi
stsauth=$(find "$build_dir" -path '*/server/stsauth' -type f -perm -u+x | head -1)
fake=$(find "$build_dir" -name stsauth-fake-sts -type f -perm -u+x | head -1)
if [[ -z "$stsauth" || -z "$fake" ]]; then
  echo "soak.sh: stsauth or stsauth-fake-sts not found under $build_dir" >&2
  exit 2
fi
python=/usr/bin/python3
[[ -x "$python" ]] || python=python3
export BOTO_DISABLE_CRT=true
echo "soak.sh: $(uname -srm), $(nproc) CPUs, $(date -u +%Y-%m-%dT%H:%M:%SZ), stsauth $("$stsauth" version 2>/dev/null | head -1 || true)"
exec "$python" "$repo/tests/integration/hostile/soak.py" --stsauth "$stsauth" --fake "$fake" \
  --credentials "$repo/tests/data/integration/fake-credentials.yaml" \
  --minutes "$minutes" --rate "$rate" --connections "$connections"
