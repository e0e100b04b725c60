#!/usr/bin/env bash
# On the GPU machine, after scripts/gpu-run.sh unpacked carry/: `zerotune bench` with ZeRO-3 on 1..N GPUs beside
# ../shared/peers/peer_fsdp.py (FSDP2 + peft) with the same settings, checkpointing on and off; JSON lines to
# $OUT/zero_bench.jsonl. Usage: scripts/gpu-bench-zero.sh "1 2 4" [layers] [steps]
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${OUT:-$root/gpu-out}"
mkdir -p "$out"
export NCCL_NVLS_ENABLE=0
export LD_LIBRARY_PATH="$root/carry/lib:${LD_LIBRARY_PATH:-}"
counts="${1:-1 2}"
layers="${2:-32}"
steps="${3:-10}"
zt="$root/carry/bin/zerotune"
# The device tool carries only the repository: stage copies the peers into carry/peers.
peer="$root/carry/peers/peer_fsdp.py"
port=29600
for ckpt in ${CKPTS:-1 0}; do
  for n in $counts; do
    port=$((port + 1))
    echo "=== zerotune ZeRO-3, $n GPU(s), ckpt $ckpt"
    "$zt" launch --num_gpus "$n" --master_port "$port" --no_local_rank -- "$zt" bench --zero_stage 3 --layers "$layers" --ckpt "$ckpt" \
      --steps "$steps" --warmup 3 2>&1 | tee -a "$out/zero_bench.log" | grep '^\[rank 0\] {' | sed 's/^\[rank 0\] //' |
      tee -a "$out/zero_bench.jsonl"
    if [[ -f "$peer" ]]; then
      port=$((port + 1))
      echo "=== peer_fsdp, $n GPU(s), ckpt $ckpt"
      torchrun --standalone --nproc_per_node "$n" "$peer" --layers "$layers" --ckpt "$ckpt" --steps "$steps" 2>&1 |
        tee -a "$out/peer_fsdp.log" | grep '^{' | tee -a "$out/zero_bench.jsonl"
    fi
  done
done
