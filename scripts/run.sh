#!/usr/bin/env bash
# Builds stsauth if needed and starts the main job: `stsauth server` on the embedded default
# config (extra arguments are passed to `stsauth server`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSTSAUTH_TESTS=OFF >/dev/null
cmake --build build-release --target stsauth -j "$(nproc)"
exec build-release/server/stsauth server "$@"
