# G4 (2 GPUs): repeated 1-GPU / 2-GPU pairs.
. scripts/device/lib.sh
b z0c0n1a 1 --zero_stage 0 --ckpt 0
b z3c0n2a 2 --zero_stage 3 --ckpt 0
b z0c0n1b 1 --zero_stage 0 --ckpt 0
b z3c0n2b 2 --zero_stage 3 --ckpt 0
b z0c1n1 1 --zero_stage 0 --ckpt 1
b z3c1n2 2 --zero_stage 3 --ckpt 1
fin
