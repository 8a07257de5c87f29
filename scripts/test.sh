#!/usr/bin/env bash
# Runs stsauth's whole test suite on a fresh Debian 12 machine: installs the packages it needs,
# builds with warnings as errors and runs every test through CTest.
#   scripts/test.sh            release build (g++), all tests
#   scripts/test.sh sanitize   clang-14 build with AddressSanitizer + UndefinedBehaviorSanitizer
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

mode=${1:-release}
case "$mode" in
  release)  dir=build-release
            args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo) ;;
  sanitize) dir=build-asan
            args=(-DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-g -O1"
                  -DCMAKE_CXX_COMPILER=clang++-14 -DSTSAUTH_SANITIZE=ON -DSTSAUTH_FUZZ=ON)
            export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
            export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ;;
  *) echo "usage: $0 [release|sanitize]" >&2; exit 2 ;;
esac

cmake -S . -B "$dir" -G Ninja -DSTSAUTH_WERROR=ON "${args[@]}"
cmake --build "$dir" -j "$(nproc)"
ctest --test-dir "$dir" --output-on-failure -j "$(nproc)" --timeout 300
