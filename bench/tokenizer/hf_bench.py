#!/usr/bin/env python3
# HF tokenizers (Rust) throughput on the benchmark corpus, same output format as tokenizer_bench:
# single thread (RAYON_NUM_THREADS=1, encode_batch, so Python per-call overhead is not counted) and all cores.
import json
import os
import subprocess
import sys
import time


def child(tok_path, corpus, threads):
    import tokenizers
    tok = tokenizers.Tokenizer.from_file(tok_path)
    texts = [json.loads(l) for l in open(corpus, encoding="utf-8")]
    nbytes = sum(len(t.encode("utf-8")) for t in texts)
    for p in range(2):
        t0 = time.perf_counter()
        enc = tok.encode_batch(texts, add_special_tokens=False)
        s = time.perf_counter() - t0
        n = sum(len(e.ids) for e in enc)
        print(json.dumps({"bench": "hf_tokenizers", "mode": "single" if threads == 1 else "batch", "threads": threads,
                          "pass": p, "tokens": n, "seconds": round(s, 3), "tokens_per_s": round(n / s),
                          "mb_per_s": round(nbytes / 1e6 / s, 2), "tokenizers": tokenizers.__version__}), flush=True)


def main():
    if len(sys.argv) >= 5 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return
    if len(sys.argv) < 3:
        print("usage: hf_bench.py TOKENIZER.json CORPUS.jsonl [threads]", file=sys.stderr)
        sys.exit(2)
    tok_path = sys.argv[1]
    if os.path.isdir(tok_path):
        tok_path = os.path.join(tok_path, "tokenizer.json")
    threads = int(sys.argv[3]) if len(sys.argv) > 3 else os.cpu_count()
    for n in (1, threads):
        env = dict(os.environ, RAYON_NUM_THREADS=str(n), RAYON_RS_NUM_CPUS=str(n), TOKENIZERS_PARALLELISM="true")
        subprocess.run([sys.executable, __file__, "--child", tok_path, sys.argv[2], str(n)], env=env, check=True)


if __name__ == "__main__":
    main()
