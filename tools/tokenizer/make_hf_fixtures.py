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


def special_affixes(ids, ids_special):
    """(prefix, suffix) if every ids_special[i] == prefix + ids[i] + suffix, else (None, None)."""
    x, y = ids[0], ids_special[0]
    if len(y) < len(x):
        return None, None
    for p in range(len(y) - len(x) + 1):
        if y[p:p + len(x)] == x:
            pre, suf = y[:p], y[p + len(x):]
            if all(s == pre + i + suf for i, s in zip(ids, ids_special)):
                return pre, suf
    return None, None


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
        # transformers 5 ignores clean_up_tokenization_spaces for BPE models unless forced like this
        tf.clean_up_tokenization_spaces_for_bpe_even_though_it_will_corrupt_output = True
        decoded_forced = [tf.decode(x, skip_special_tokens=False, clean_up_tokenization_spaces=True) for x in ids]
        for label, x, y in (("ids", ids, raw_ids), ("ids_special", ids_special, raw_special)):
            diff = [i for i in range(len(corpus)) if x[i] != y[i]]
            if diff:
                print(f"{name}: transformers and tokenizers differ on {label} for texts {diff[:10]}", file=sys.stderr)
        # compact form: ids with special tokens as a common prefix/suffix when that is what they are; decodes
        # only where they differ from the input text (resp. from the tokenizers decode)
        fx = {
            "format": "zerotune-hf-tokenizer-fixture/1",
            "tokenizer": name,
            "tokenizer_class": type(tf).__name__,
            "versions": {"tokenizers": tokenizers.__version__, "transformers": transformers.__version__},
            "corpus": corpus,
            "ids": ids,  # transformers: tok(text, add_special_tokens=False)["input_ids"]
        }
        pre, suf = special_affixes(ids, ids_special)
        if pre is not None:
            fx["special_prefix"], fx["special_suffix"] = pre, suf
        else:
            fx["ids_special"] = ids_special  # transformers: add_special_tokens=True
        # tokenizers.Tokenizer.encode where it differs from transformers
        fx["tokenizers_ids_differ"] = {str(i): raw_ids[i] for i in range(len(corpus)) if raw_ids[i] != ids[i]}
        fx["tokenizers_ids_special_differ"] = {str(i): raw_special[i] for i in range(len(corpus))
                                               if raw_special[i] != ids_special[i]}
        # tokenizers decode(ids, skip_special_tokens=False), where it is not the input text
        fx["decoded_differ"] = {str(i): decoded[i] for i in range(len(corpus)) if decoded[i] != corpus[i]}
        # transformers decode (clean_up_tokenization_spaces from tokenizer_config.json), where it differs from decoded
        fx["decoded_transformers_differ"] = {str(i): decoded_tf[i] for i in range(len(corpus)) if decoded_tf[i] != decoded[i]}
        # transformers decode with the clean-up forced (zerotune: DecodeOptions::clean_up_tokenization_spaces = true)
        fx["decoded_cleaned_differ"] = {str(i): decoded_forced[i] for i in range(len(corpus)) if decoded_forced[i] != decoded[i]}
        path = os.path.join(a.out, f"hf_{name}.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(fx, f, ensure_ascii=True, separators=(",", ":"))
        print(f"{path}: {len(corpus)} texts ({type(tf).__name__}, tokenizers {tokenizers.__version__}, "
              f"transformers {transformers.__version__})")


if __name__ == "__main__":
    main()
