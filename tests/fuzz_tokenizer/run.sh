#!/usr/bin/env bash
# Builds the tokenizer fuzzers with clang (ASan/UBSan/libFuzzer) outside the main build and runs each for N
# seconds (default 60). Seeds: the oracle corpus texts and small tokenizer.json files. Non-zero exit on a crash.
# usage: tests/fuzz_tokenizer/run.sh [seconds]   (ZT_FUZZ_TOKENIZER=path/to/tokenizer.json adds a real vocabulary)
set -euo pipefail
cd "$(dirname "$0")/../.."
secs="${1:-60}"
b=build-fuzz-tokenizer
mkdir -p "$b"
cat > "$b/CMakeLists.txt" <<CM
cmake_minimum_required(VERSION 3.25)
project(zt_tokenizer_fuzz CXX)
set(CMAKE_CXX_STANDARD 20)
find_package(nlohmann_json 3 REQUIRED)
set(ZT_ROOT $PWD)
add_subdirectory($PWD/tests/fuzz_tokenizer fuzz)
CM
CC=clang CXX=clang++ cmake -S "$b" -B "$b/out" >/dev/null
cmake --build "$b/out" -j"${ZT_FUZZ_JOBS:-$(nproc)}"
mkdir -p "$b/corpus_text" "$b/corpus_json" "$b/artifacts"
python3 - "$b/corpus_text" <<'PY'
import json, sys, hashlib
for t in json.load(open("tests/fixtures/tokenizer/corpus.json", encoding="utf-8")):
    d = t.encode("utf-8")[:4096]
    open(f"{sys.argv[1]}/{hashlib.sha1(d).hexdigest()}", "wb").write(d)
PY
cp tests/fuzz_tokenizer/seeds/*.json "$b/corpus_json/" 2>/dev/null || true
"$b/out/fuzz/tokenizer_text_fuzz" "$b/corpus_text" -max_len=4096 -max_total_time="$secs" -timeout=10 \
  -artifact_prefix="$b/artifacts/" -print_final_stats=1
"$b/out/fuzz/tokenizer_json_fuzz" "$b/corpus_json" -max_len=8192 -max_total_time="$secs" -timeout=10 \
  -artifact_prefix="$b/artifacts/" -print_final_stats=1
echo "tokenizer fuzz: no crashes in 2 x ${secs}s"
