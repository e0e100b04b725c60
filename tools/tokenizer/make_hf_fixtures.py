#!/usr/bin/env python3
# Writes tests/fixtures/tokenizer/hf_<name>.json: Hugging Face's ids and decodes for the corpus, the reference
# zt::Tokenizer is tested against. Runs offline where `tokenizers` and `transformers` are installed.
#
# usage: python3 tools/tokenizer/make_hf_fixtures.py --corpus tests/fixtures/tokenizer/corpus.json \
#            --out tests/fixtures/tokenizer  .cache/tokenizers/llama3 .cache/tokenizers/qwen3 ...
# Each positional argument is a directory holding tokenizer.json (+ tokenizer_config.json); its base name
# names the fixture.
import argparse
import json
import os
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("dirs", nargs="+")
    a = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import tokenizers
    import transformers
    from transformers import AutoTokenizer

    corpus = json.load(open(a.corpus, encoding="utf-8"))
    os.makedirs(a.out, exist_ok=True)
    for d in a.dirs:
        name = os.path.basename(os.path.normpath(d))
        raw = tokenizers.Tokenizer.from_file(os.path.join(d, "tokenizer.json"))
        tf = AutoTokenizer.from_pretrained(d, local_files_only=True)
        ids = [tf(t, add_special_tokens=False)["input_ids"] for t in corpus]
        ids_special = [tf(t, add_special_tokens=True)["input_ids"] for t in corpus]
        raw_ids = [raw.encode(t, add_special_tokens=False).ids for t in corpus]
        raw_special = [raw.encode(t, add_special_tokens=True).ids for t in corpus]
        decoded = [raw.decode(x, skip_special_tokens=False) for x in ids]
        decoded_tf = [tf.decode(x, skip_special_tokens=False) for x in ids]
        for label, x, y in (("ids", ids, raw_ids), ("ids_special", ids_special, raw_special)):
            diff = [i for i in range(len(corpus)) if x[i] != y[i]]
            if diff:
                print(f"{name}: transformers and tokenizers differ on {label} for texts {diff[:10]}", file=sys.stderr)
        fx = {
            "format": "zerotune-hf-tokenizer-fixture/1",
            "tokenizer": name,
            "tokenizer_class": type(tf).__name__,
            "versions": {"tokenizers": tokenizers.__version__, "transformers": transformers.__version__},
            "corpus": corpus,
            "ids": ids,                      # transformers: tok(text, add_special_tokens=False)
            "ids_special": ids_special,      # transformers: tok(text, add_special_tokens=True)
            "ids_tokenizers": raw_ids,       # tokenizers.Tokenizer.encode(text, add_special_tokens=False)
            "ids_special_tokenizers": raw_special,
            "decoded": decoded,              # tokenizers decode(ids, skip_special_tokens=False)
            "decoded_transformers": decoded_tf,  # transformers decode (clean_up_tokenization_spaces from config)
        }
        path = os.path.join(a.out, f"hf_{name}.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(fx, f, ensure_ascii=True, separators=(",", ":"))
        print(f"{path}: {len(corpus)} texts ({type(tf).__name__}, tokenizers {tokenizers.__version__}, "
              f"transformers {transformers.__version__})")


if __name__ == "__main__":
    main()
