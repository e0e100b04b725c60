# Sourced by the session-4 device scripts (run on the GPU machine from the repository root after
# `scripts/gpu-run.sh --stage build-cuda`, with the staged carry/ folder copied here). Logs and JSON go to $OUT.
tar -C carry -xJf carry/carry.tar.xz 2>/dev/null; export NCCL_NVLS_ENABLE=0 LD_LIBRARY_PATH=$PWD/carry/lib; Z=$PWD/carry/bin/zerotune
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader > $OUT/device.txt; head -1 $OUT/device.txt
# b TAG NGPUS ARGS...: zerotune bench under launch; p TAG NGPUS ARGS...: peer_fsdp.py under torchrun. JSON to z.jsonl.
b() { local tag=$1 n=$2; shift 2; timeout 120 "$Z" launch --num_gpus $n --master_port $((29700 + RANDOM % 200)) --no_local_rank -- "$Z" bench --layers 32 --warmup 2 --steps 6 "$@" > $OUT/b_$tag.log 2>&1
  grep '^\[rank 0\] {' $OUT/b_$tag.log | sed "s/^\[rank 0\] {/{\"tag\":\"$tag\",/" | tee -a $OUT/z.jsonl | grep -o '"tokens_per_s_per_gpu":[0-9.]*\|"peak_gib":[0-9.]*' | tr '\n' ' '; echo " $tag ${SECONDS}s"; grep "comm trace" $OUT/b_$tag.log | cut -c1-330; }
p() { local tag=$1 n=$2; shift 2; timeout 150 torchrun --standalone --nproc_per_node $n carry/peers/peer_fsdp.py --layers 32 --steps 6 "$@" > $OUT/p_$tag.log 2>&1
  grep '^{' $OUT/p_$tag.log | sed "s/^{/{\"tag\":\"$tag\",/" | tee -a $OUT/z.jsonl | grep -o '"tokens_per_s_per_gpu": [0-9.]*\|"peak_gib": [0-9.]*' | tr '\n' ' '; echo " $tag ${SECONDS}s"; }
fin() { echo "total $SECONDS s"; cd $OUT && tar czf logs.tgz *.log && rm -f *.log; }
