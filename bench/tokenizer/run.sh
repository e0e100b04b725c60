#!/usr/bin/env bash
# Runs the tokenizer benchmark against HF tokenizers on this machine and prints the ratios.
# usage: bench/tokenizer/run.sh TOKENIZER_BENCH_EXE TOKENIZER_DIR [CORPUS_MB]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
exe="$1"; tokdir="$2"; mb="${3:-50}"
corpus="${TMPDIR:-/tmp}/zt_tokenizer_bench_${mb}mb.jsonl"
[ -f "$corpus" ] || python3 "$here/make_bench_corpus.py" "$corpus" "$mb" >&2
threads="$(nproc)"
ours="$("$exe" "$tokdir" "$corpus" "$threads")"
hf="$(python3 "$here/hf_bench.py" "$tokdir" "$corpus" "$threads")"
echo "$ours"; echo "$hf"
python3 - "$ours" "$hf" <<'PY'
import json, sys
ours = [json.loads(l) for l in sys.argv[1].splitlines()]
hf = [json.loads(l) for l in sys.argv[2].splitlines()]
def best(rows, mode): return max((r for r in rows if r["mode"] == mode), key=lambda r: r["tokens_per_s"])
for mode in ("single", "batch"):
    o, h = best(ours, mode), best(hf, mode)
    same = "same token count" if o["tokens"] == h["tokens"] else f"TOKEN COUNTS DIFFER ({o['tokens']} vs {h['tokens']})"
    print(f"{mode}: zerotune {o['tokens_per_s']:,} tok/s, HF tokenizers {h['tokens_per_s']:,} tok/s, "
          f"ratio {o['tokens_per_s'] / h['tokens_per_s']:.2f}x ({same})")
o1, ob = best(ours, "single"), best(ours, "batch")
print(f"zerotune batch scaling: {ob['tokens_per_s'] / o1['tokens_per_s']:.1f}x on {ob.get('threads')} threads")
PY
