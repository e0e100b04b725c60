#!/usr/bin/env bash
# On the GPU machine (device tool), from the repository root, with carry/ staged by `scripts/gpu-run.sh --stage`:
# issue 5's single-GPU figures in one call: zerotune bench beside peer_torch.py (checkpointing on and off), the HH
# epoch table (pad-free vs padded), and sequences of 4096 and 8192 tokens. JSON lines to $OUT/single.jsonl, the
# epoch table to $OUT/epoch_table.md, logs and a per-run status list ($OUT/runs.txt) beside them.
# Env: GPU=<index> (sets CUDA_VISIBLE_DEVICES), BUDGET_S (default 540: runs that would start past it are skipped,
# and each run's timeout is cut to what is left, so the call ends inside the device tool's 600 s).
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
if [[ -f carry/carry.tar.xz && ! -x carry/bin/zerotune ]]; then
  tar -C carry -xJf carry/carry.tar.xz
fi
out="${OUT:-$root/gpu-out}"
mkdir -p "$out"
export NCCL_NVLS_ENABLE=0
export LD_LIBRARY_PATH="$root/carry/lib:${LD_LIBRARY_PATH:-}"
[[ -n "${GPU:-}" ]] && export CUDA_VISIBLE_DEVICES="$GPU"
zt="$root/carry/bin/zerotune"
peer="$root/carry/peers/peer_torch.py"
[[ -f "$peer" ]] || peer="$root/../shared/peers/peer_torch.py"
budget="${BUDGET_S:-540}"
jsonl="$out/single.jsonl"
[[ -x "$zt" ]] || { echo "no $zt: stage first (scripts/gpu-run.sh --stage build-dir)" >&2; exit 2; }
{
  nvidia-smi --query-gpu=index,name,driver_version,memory.total,clocks.max.sm --format=csv 2>&1
  echo "CUDA_VISIBLE_DEVICES=${CUDA_VISIBLE_DEVICES:-}"
  python3 -c 'import torch, transformers, peft; print("torch", torch.__version__, "transformers", transformers.__version__, "peft", peft.__version__)' 2>&1
} | tee "$out/device.txt"

# run NAME TIMEOUT_S LOG TAG CMD...: runs CMD under timeout (cut to the budget left), appends its JSON line(s) to
# single.jsonl (a peer's tagged with "engine": "peer_torch"), the whole output to LOG, a status line to runs.txt.
run() {
  local name="$1" limit="$2" log="$3" tag="$4"
  shift 4
  local left=$((budget - SECONDS))
  if ((left < 30)); then
    echo "$name skipped (budget ${budget}s spent)" | tee -a "$out/runs.txt"
    return
  fi
  ((limit > left)) && limit=$left
  echo "=== $name: $* (timeout ${limit}s)" | tee -a "$log"
  local t0=$SECONDS
  timeout -k 10 "$limit" "$@" > "$out/.run.out" 2>&1
  local rc=$?
  cat "$out/.run.out" >> "$log"
  if [[ "$tag" == peer ]]; then
    grep '^{' "$out/.run.out" | sed 's/^{/{"engine": "peer_torch", /' | tee -a "$jsonl"
  else
    grep '^{' "$out/.run.out" | tee -a "$jsonl"
  fi
  ((rc != 0)) && tail -5 "$out/.run.out"
  echo "$name rc=$rc $((SECONDS - t0))s" | tee -a "$out/runs.txt"
  rm -f "$out/.run.out"
}

b8=(bench --layers 32 --mbs 4 --seq 512 --lora 128)
# Most wanted first: if the budget runs out, what is skipped is the least needed.
run "zerotune ckpt 1" 120 "$out/zerotune.log" z "$zt" "${b8[@]}" --ckpt 1 --steps 8 --warmup 2
run "peer ckpt 1" 180 "$out/peer_torch.log" peer python3 "$peer" --layers 32 --mbs 4 --seq 512 --lora 128 --ckpt 1 --steps 8
run "zerotune hh ckpt 1" 150 "$out/zerotune.log" z "$zt" "${b8[@]}" --ckpt 1 --lengths hh --steps 40 --warmup 5
python3 "$root/scripts/bench-epoch.py" "$jsonl" 2>&1 | tee "$out/epoch_table.md"
python3 "$root/scripts/bench-epoch.py" --json "$jsonl" > "$out/epoch_table.json" 2>/dev/null
run "zerotune seq 4096 ckpt 1" 120 "$out/zerotune.log" z "$zt" bench --layers 32 --mbs 1 --seq 4096 --ckpt 1 --steps 2 --warmup 1
run "zerotune seq 8192 ckpt 1" 150 "$out/zerotune.log" z "$zt" bench --layers 32 --mbs 1 --seq 8192 --ckpt 1 --steps 2 --warmup 1
run "zerotune ckpt 0" 120 "$out/zerotune.log" z "$zt" "${b8[@]}" --ckpt 0 --steps 8 --warmup 2
run "peer ckpt 0" 180 "$out/peer_torch.log" peer python3 "$peer" --layers 32 --mbs 4 --seq 512 --lora 128 --ckpt 0 --steps 8
run "zerotune seq 8192 ckpt 0" 150 "$out/zerotune.log" z "$zt" bench --layers 32 --mbs 1 --seq 8192 --ckpt 0 --steps 2 --warmup 1
echo "total ${SECONDS}s" | tee -a "$out/runs.txt"
