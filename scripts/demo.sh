#!/usr/bin/env bash
# The README's main job on the embedded default: installs the Debian packages, builds zerotune, writes a randomly
# initialised tiny Llama-3-architecture model (assets/demo/model: config + a BPE tokenizer trained on the data) and
# fine-tunes it with DeepSpeed-Chat step-1 flags on the bundled synthetic dataset (assets/demo/dataset, rm-static
# layout) on the CPU. Eval perplexity is printed before training and after each epoch; the fine-tuned model is
# written in Hugging Face format. Output folder: $ZT_DEMO_OUT (default ./demo-output).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
# The demo trains on the CPU: skip compiling the CUDA kernels (plain `cmake -B build` builds them when nvcc exists).
cmake -B build-demo -DCMAKE_BUILD_TYPE=Release -DZT_CUDA=OFF -DZT_TESTS=OFF >build-demo.configure.log 2>&1 ||
  { cat build-demo.configure.log; exit 1; }
cmake --build build-demo -j"$(nproc)" --target zerotune
zt=build-demo/zerotune
out="${ZT_DEMO_OUT:-demo-output}"
mkdir -p "$out"
"$zt" init --config assets/demo/model/config.json --out "$out/base-model" --seed 1
cp assets/demo/model/tokenizer.json assets/demo/model/tokenizer_config.json "$out/base-model/"
"$zt" train --deepspeed \
  --data_path assets/demo/dataset --data_split 10,0,0 \
  --model_name_or_path "$out/base-model" \
  --per_device_train_batch_size 16 --per_device_eval_batch_size 32 --max_seq_len 64 \
  --learning_rate 3e-3 --weight_decay 0.1 --num_train_epochs 1 --gradient_accumulation_steps 1 \
  --lr_scheduler_type cosine --num_warmup_steps 20 --seed 1234 \
  --data_output_path "$out/data_files" --output_dir "$out/model"
echo "demo: fine-tuned model written to $out/model (Hugging Face format)"
