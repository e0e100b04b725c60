# G1 (2 GPUs): the README demo on GPU 0, then ZeRO-3 ckpt off with NCCL kernels, copy engines, 4 CTAs.
. scripts/device/lib.sh
( D=$OUT/demo; mkdir -p $D; export CUDA_VISIBLE_DEVICES=0
  $Z init --config assets/demo/model/config.json --out $D/base-model --seed 1 && cp assets/demo/model/tokenizer.json assets/demo/model/tokenizer_config.json $D/base-model/ &&
  timeout 120 $Z train --deepspeed --data_path assets/demo/dataset --data_split 10,0,0 --model_name_or_path $D/base-model \
   --per_device_train_batch_size 16 --per_device_eval_batch_size 32 --max_seq_len 64 --learning_rate 3e-3 --weight_decay 0.1 \
   --num_train_epochs 1 --gradient_accumulation_steps 1 --lr_scheduler_type cosine --num_warmup_steps 20 --seed 1234 \
   --data_output_path $D/data_files --output_dir $D/model; echo "demo rc=$?"; ls $D/model ) > $OUT/demo.log 2>&1
b z0c0 1 --zero_stage 0 --ckpt 0
ZEROTUNE_COMM_TRACE=1 ZEROTUNE_COMM_CE=0 b z3c0 2 --zero_stage 3 --ckpt 0
ZEROTUNE_COMM_TRACE=1 ZEROTUNE_COMM_CE=1 b z3c0ce 2 --zero_stage 3 --ckpt 0
ZEROTUNE_COMM_TRACE=1 ZEROTUNE_COMM_CE=0 NCCL_MAX_CTAS=4 NCCL_MIN_CTAS=4 b z3c0cta4 2 --zero_stage 3 --ckpt 0
ZEROTUNE_COMM_CE=1 b z3c1ce 2 --zero_stage 3 --ckpt 1
b z0c1 1 --zero_stage 0 --ckpt 1
fin
