#!/usr/bin/env bash
# The test suite against an extension built with AddressSanitizer (a nightly Rust toolchain):
# a heap or stack error anywhere the engine or the binding touches memory stops the run with
# the address, the access and both stacks. For a crash seen only in CI (a SIGSEGV in safe code).
#
#   ./asan.sh                 # the whole suite (about 9 minutes on two cores)
#   ./asan.sh tests/test_x.py # some of it (pytest's arguments)
#
# The extension goes to target-asan/pkg/perpsim (the package's Python files beside it); the
# working tree's python/perpsim is left alone. ASan's runtime comes from gcc (libasan), preloaded
# into python with libstdc++ (matplotlib's C++ throws before libstdc++ would be loaded).
# Deselected: the memory test (ASan reserves address space the test's rlimit forbids) and the
# browser test (chromium would inherit the preload). ASan's reports go to target-asan/log.*.
set -euo pipefail
cd "$(dirname "$0")"
TARGET=x86_64-unknown-linux-gnu
RUSTFLAGS="-Zsanitizer=address -Cdebuginfo=1" cargo +nightly build --release -p perpsim-py \
  --target "$TARGET" --target-dir target-asan --quiet
rm -rf target-asan/pkg && mkdir -p target-asan/pkg
cp -r python/perpsim target-asan/pkg/
cp "target-asan/$TARGET/release/lib_core.so" target-asan/pkg/perpsim/_core.abi3.so
lib=$(gcc -print-file-name=libasan.so)
cxx=$(gcc -print-file-name=libstdc++.so)
export LD_PRELOAD="$lib $cxx"
export ASAN_OPTIONS="detect_leaks=0:log_path=$PWD/target-asan/log"
export PYTHONPATH="$PWD/target-asan/pkg"
exec python -m pytest -p no:cacheprovider \
  --deselect "tests/test_memory.py::test_an_allocation_that_fails_mid_run_stops_the_run_with_out_of_memory_and_the_next_run_works" \
  --deselect "tests/test_report_browser.py::test_the_demo_report_shows_its_charts_in_a_browser" \
  "$@"
