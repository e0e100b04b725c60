#!/usr/bin/env bash
# Fuzzes the safetensors reader with libFuzzer + ASan/UBSan for N seconds (default 60): builds build-fuzz
# with clang, seeds a corpus with generated valid files and known regressions, exits non-zero on a crash.
# Usage: scripts/fuzz.sh [seconds]   (ZT_FUZZ_JOBS sets build parallelism; crash inputs land in build-fuzz/artifacts/)
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-60}"
build="build-fuzz"
jobs="${ZT_FUZZ_JOBS:-$(nproc)}"

CC=clang CXX=clang++ cmake -B "$build" -DZT_FUZZ=ON -DZT_CUDA=OFF -DZT_TESTS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  >"$build.configure.log" 2>&1 || { cat "$build.configure.log"; exit 1; }
cmake --build "$build" --target safetensors_fuzz safetensors_fuzz_seeds -j"$jobs"

corpus="$build/corpus/safetensors"
artifacts="$build/artifacts"
mkdir -p "$corpus" "$artifacts"
"$build/tests/fuzz/safetensors_fuzz_seeds" "$corpus"
for f in tests/fuzz/regressions/*; do
  [ "$(basename "$f")" = README.md ] || cp "$f" "$corpus/regression-$(basename "$f")"
done

echo "fuzzing the safetensors reader for ${secs}s (corpus $corpus)"
"$build/tests/fuzz/safetensors_fuzz" "$corpus" -dict=tests/fuzz/safetensors.dict -max_len=4096 \
  -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$artifacts/" -print_final_stats=1
echo "fuzz: no crashes in ${secs}s"
