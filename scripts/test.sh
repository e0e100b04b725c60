#!/usr/bin/env bash
# The README's test command: configure, build and run the CPU test suite (`ctest -L cpu`).
# On a machine with a GPU, `scripts/test.sh cuda` runs the CUDA suite instead.
set -euo pipefail
cd "$(dirname "$0")/.."
label="${1:-cpu}"
build="${ZT_BUILD_DIR:-build}"
cmake -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$build.configure.log" 2>&1 || { cat "$build.configure.log"; exit 1; }
cmake --build "$build" -j"$(nproc)"
cd "$build"
ctest -L "$label" --output-on-failure -j"$(nproc)"
