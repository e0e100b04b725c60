# G2 (4 GPUs): ZeRO tests, then ckpt on at 1, 2, 4 GPUs beside FSDP2.
. scripts/device/lib.sh
for t in cuda_comm_nccl_test cuda_zero_cuda_test; do timeout 150 carry/bin/$t --gtest_brief=1 > $OUT/$t.log 2>&1; echo "$t rc=$?"; tail -2 $OUT/$t.log; done
b z0c1n1 1 --zero_stage 0 --ckpt 1
b z3c1n1 1 --zero_stage 3 --ckpt 1
ZEROTUNE_COMM_TRACE=1 b z3c1n2 2 --zero_stage 3 --ckpt 1
b z3c1n4 4 --zero_stage 3 --ckpt 1
p f1n1 1 --ckpt 1
p f1n2 2 --ckpt 1
p f1n4 4 --ckpt 1
fin
