#!/usr/bin/env bash
# Runs on the GPU machine (device tool): the CUDA test binaries, the kernel bench and zerotune (which
# tests/cuda/train_cuda_test runs) carried in carry/, logs to $OUT.
# Build and stage here first: scripts/gpu-run.sh --stage [build dir] copies binaries + the shared libraries they need.
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

if [[ "${1:-}" == "--stage" ]]; then
  build="${2:-$root/build-cuda}"
  rm -rf "$root/carry" && mkdir -p "$root/carry/bin" "$root/carry/lib"
  for b in "$build"/tests/cuda_* "$build/zt_cuda_bench" "$build/zerotune"; do
    [[ -x "$b" ]] && cp "$b" "$root/carry/bin/" && strip "$root/carry/bin/$(basename "$b")"
  done
  # Host libraries the GPU machine may lack (it has the CUDA runtime, cuBLASLt and NCCL).
  for b in "$root"/carry/bin/*; do
    ldd "$b" | awk '/=> \// {print $3}'
  done | sort -u | grep -E '/lib(openblas|gfortran|gomp|quadmath|snappy|zstd|z|gloo|hiredis|ibverbs|nl-route-3|nl-3|crypto)[.]so' | while read -r lib; do
    cp -L "$lib" "$root/carry/lib/"
  done
  # The peer baselines (../shared/peers) do not travel with the repository.
  [[ -d "$root/../shared/peers" ]] && cp -r "$root/../shared/peers" "$root/carry/peers"
  # The tree plus carry/ must stay under the device tool's 64 MiB: ship one xz archive.
  tar -C "$root/carry" -cJf "$root/carry.tar.xz" bin lib $([[ -d "$root/carry/peers" ]] && echo peers) && rm -rf "$root/carry" && mkdir -p "$root/carry" &&
    mv "$root/carry.tar.xz" "$root/carry/"
  du -sh "$root/carry"
  exit 0
fi
if [[ -f "$root/carry/carry.tar.xz" && ! -d "$root/carry/bin" ]]; then
  tar -C "$root/carry" -xJf "$root/carry/carry.tar.xz"
fi

out="${OUT:-$root/gpu-out}"
mkdir -p "$out"
export NCCL_NVLS_ENABLE=0
export LD_LIBRARY_PATH="$root/carry/lib:${LD_LIBRARY_PATH:-}"
{
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv 2>&1
  nvcc --version 2>/dev/null | tail -1
} | tee "$out/device.txt"
status=0
for t in "$root"/carry/bin/cuda_*; do
  name="$(basename "$t")"
  echo "=== $name"
  if ! "$t" --gtest_brief=1 > "$out/$name.log" 2>&1; then
    status=1
    tail -60 "$out/$name.log"
  else
    tail -3 "$out/$name.log"
  fi
done
if [[ -x "$root/carry/bin/zt_cuda_bench" ]]; then
  echo "=== zt_cuda_bench"
  "$root/carry/bin/zt_cuda_bench" 2>&1 | tee "$out/bench.log" || status=1
fi
exit $status
