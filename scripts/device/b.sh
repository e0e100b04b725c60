# G3 (same 4-GPU machine): ckpt off on 1 and 2 GPUs (copy engines on and off) beside FSDP2; full fine-tune on 4.
. scripts/device/lib.sh
b z0c0n1 1 --zero_stage 0 --ckpt 0
ZEROTUNE_COMM_TRACE=1 b z3c0n2 2 --zero_stage 3 --ckpt 0
ZEROTUNE_COMM_CE=0 b z3c0n2sm 2 --zero_stage 3 --ckpt 0
p f0n2 2 --ckpt 0
b full4 4 --zero_stage 3 --ckpt 1 --lora 0
fin
