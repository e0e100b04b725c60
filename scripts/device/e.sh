# G6 (same machine as G5): three more ckpt-off pairs.
. scripts/device/lib.sh
for r in a b c; do b z0c0n1$r 1 --zero_stage 0 --ckpt 0; b z3c0n2$r 2 --zero_stage 3 --ckpt 0; done
fin
