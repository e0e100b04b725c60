# G5 (2 GPUs, commit 0a36087): ZeRO tests, then 1-GPU / 2-GPU pairs, ckpt off and on.
. scripts/device/lib.sh
for t in cuda_zero_cuda_test cuda_comm_nccl_test; do timeout 150 carry/bin/$t --gtest_brief=1 > $OUT/$t.log 2>&1; echo "$t rc=$?"; tail -1 $OUT/$t.log; done
b z0c0n1a 1 --zero_stage 0 --ckpt 0
ZEROTUNE_COMM_TRACE=1 b z3c0n2a 2 --zero_stage 3 --ckpt 0
b z0c0n1b 1 --zero_stage 0 --ckpt 0
b z3c0n2b 2 --zero_stage 3 --ckpt 0
b z0c1n1 1 --zero_stage 0 --ckpt 1
b z3c1n2 2 --zero_stage 3 --ckpt 1
[ $SECONDS -lt 300 ] && b z3c1n1 1 --zero_stage 3 --ckpt 1
fin
