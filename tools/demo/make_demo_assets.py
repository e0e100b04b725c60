#!/usr/bin/env python3
"""Generates zerotune's embedded demo: a synthetic dataset in Dahoas/rm-static's layout, a small byte-level
BPE tokenizer (Llama 3 style tokenizer.json) trained on it, and a tiny Llama-3-architecture config.json.

    python3 tools/demo/make_demo_assets.py --out assets/demo

Standard library only, deterministic. Writes <out>/dataset/data/{train,test}.jsonl always and, where pyarrow
is importable, <out>/dataset/data/{train,test}-00000-of-00001.parquet as `datasets` writes them (run it on a
machine with pyarrow, e.g. the GPU machine, to refresh the parquet files).
Rows: prompt "\n\nHuman: <question>\n\nAssistant:", chosen " <right answer>", rejected " <wrong answer>",
response = chosen, as rm-static. The questions are arithmetic, counting, comparisons and word games, so a
small model can learn them and eval perplexity falls clearly within a couple of minutes on a CPU.
"""
import argparse, collections, json, os, random, re

WORDS = ["apple", "river", "stone", "cloud", "tiger", "paper", "glass", "honey", "light", "music", "ocean", "plant",
         "queen", "sugar", "table", "water", "zebra", "bread", "chair", "dream", "eagle", "flame", "grape", "house"]

def make_row(rng):
    k = rng.randrange(6)
    a, b = rng.randrange(0, 100), rng.randrange(0, 100)
    if k == 0:
        q, right, wrong = f"What is {a} + {b}?", f"{a} + {b} = {a + b}.", f"{a} + {b} = {a + b + rng.choice([-10, -1, 1, 10])}."
    elif k == 1:
        a, b = max(a, b), min(a, b)
        q, right, wrong = f"What is {a} minus {b}?", f"{a} minus {b} is {a - b}.", f"{a} minus {b} is {a + b}."
    elif k == 2:
        q, right, wrong = (f"Which is larger, {a} or {b}?", f"The larger number is {max(a, b)}.",
                           f"The larger number is {min(a, b)}.")
    elif k == 3:
        w = rng.choice(WORDS)
        q, right, wrong = f"Spell the word {w} backwards.", f"Backwards, {w} is {w[::-1]}.", f"Backwards, {w} is {w}."
    elif k == 4:
        n = rng.randrange(1, 20)
        q, right, wrong = (f"What number comes after {n}?", f"The number after {n} is {n + 1}.",
                           f"The number after {n} is {n - 1}.")
    else:
        w = rng.choice(WORDS)
        q, right, wrong = (f"How many letters are in the word {w}?", f"The word {w} has {len(w)} letters.",
                           f"The word {w} has {len(w) + 2} letters.")
    prompt = f"\n\nHuman: {q}\n\nAssistant:"
    return {"prompt": prompt, "response": " " + right, "chosen": " " + right, "rejected": " " + wrong}

# ---- byte-level BPE (GPT-2 byte-to-unicode mapping, Llama 3 pre-tokenizer) ----
LLAMA3_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|"
                r"\s*[\r\n]+|\s+(?!\S)|\s+")
# The same pattern in Python's re for ASCII text (the generated data is ASCII only).
ASCII_SPLIT = re.compile(r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\nA-Za-z0-9]?[A-Za-z]+|[0-9]{1,3}| ?[^\sA-Za-z0-9]+[\r\n]*|"
                         r"\s*[\r\n]+|\s+(?!\S)|\s+")

def byte_symbols():
    keep = set(range(ord("!"), ord("~") + 1)) | set(range(0xA1, 0xAD)) | set(range(0xAE, 0x100))
    table, extra = {}, 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return table

def pretokenize(text):
    return ASCII_SPLIT.findall(text)

def train_bpe(texts, n_merges):
    sym = byte_symbols()
    words = collections.Counter()
    for t in texts:
        for piece in pretokenize(t):
            words[tuple(sym[b] for b in piece.encode("utf-8"))] += 1
    merges = []
    for _ in range(n_merges):
        pairs = collections.Counter()
        for w, c in words.items():
            for i in range(len(w) - 1):
                pairs[(w[i], w[i + 1])] += c
        if not pairs:
            break
        best = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))[0]
        if pairs[best] < 2:
            break
        merges.append(best)
        merged = best[0] + best[1]
        nw = collections.Counter()
        for w, c in words.items():
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and (w[i], w[i + 1]) == best:
                    out.append(merged)
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            nw[tuple(out)] += c
        words = nw
    vocab = {}
    for b in range(256):
        vocab[sym[b]] = b
    for a, b in merges:
        vocab.setdefault(a + b, len(vocab))
    return vocab, merges

def tokenizer_json(vocab, merges, specials):
    added = [{"id": i, "content": s, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False,
              "special": True} for s, i in specials]
    bos, bos_id = specials[0]
    return {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added, "normalizer": None,
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": LLAMA3_SPLIT}, "behavior": "Isolated", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]},
        "post_processor": {"type": "Sequence", "processors": [
            {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
            {"type": "TemplateProcessing",
             "single": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
             "pair": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                      {"SpecialToken": {"id": bos, "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
             "special_tokens": {bos: {"id": bos, "ids": [bos_id], "tokens": [bos]}}}]},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": True,
                  "vocab": vocab, "merges": [[a, b] for a, b in merges]},
    }

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--train_rows", type=int, default=6000)
    ap.add_argument("--test_rows", type=int, default=600)
    ap.add_argument("--merges", type=int, default=500)
    a = ap.parse_args()
    rng = random.Random(20261126)
    train = [make_row(rng) for _ in range(a.train_rows)]
    test = [make_row(rng) for _ in range(a.test_rows)]
    ddir = os.path.join(a.out, "dataset", "data")
    os.makedirs(ddir, exist_ok=True)
    for name, rows in (("train", train), ("test", test)):
        with open(os.path.join(ddir, f"{name}.jsonl"), "w") as f:
            for r in rows:
                f.write(json.dumps(r) + "\n")
        try:
            import pyarrow as pa, pyarrow.parquet as pq
            cols = {k: [r[k] for r in rows] for k in ("prompt", "response", "chosen", "rejected")}
            pq.write_table(pa.table(cols), os.path.join(ddir, f"{name}-00000-of-00001.parquet"))
        except ImportError:
            pass
    vocab, merges = train_bpe([r["prompt"] + r["chosen"] for r in train], a.merges)
    specials = [("<|begin_of_text|>", len(vocab)), ("<|end_of_text|>", len(vocab) + 1)]
    mdir = os.path.join(a.out, "model")
    os.makedirs(mdir, exist_ok=True)
    with open(os.path.join(mdir, "tokenizer.json"), "w") as f:
        json.dump(tokenizer_json(vocab, merges, specials), f, ensure_ascii=False, indent=1)
    with open(os.path.join(mdir, "tokenizer_config.json"), "w") as f:
        json.dump({"bos_token": specials[0][0], "eos_token": specials[1][0], "add_bos_token": True,
                   "add_eos_token": False, "model_max_length": 512, "tokenizer_class": "PreTrainedTokenizerFast",
                   "clean_up_tokenization_spaces": True}, f, indent=1)
    vocab_size = (len(vocab) + 2 + 63) // 64 * 64  # padded to a multiple of 64 as hub models often are
    cfg = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": vocab_size,
           "hidden_size": 128, "intermediate_size": 384, "num_hidden_layers": 4, "num_attention_heads": 4,
           "num_key_value_heads": 2, "head_dim": 32, "hidden_act": "silu", "max_position_embeddings": 512,
           "rms_norm_eps": 1e-5, "rope_theta": 500000.0, "tie_word_embeddings": False, "attention_bias": False,
           "mlp_bias": False, "attention_dropout": 0.0, "initializer_range": 0.02,
           "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                            "original_max_position_embeddings": 128},
           "bos_token_id": specials[0][1], "eos_token_id": specials[1][1], "torch_dtype": "float32"}
    with open(os.path.join(mdir, "config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
    print(f"{len(train)} train / {len(test)} test rows; vocab {len(vocab)} + 2 specials (config vocab_size {vocab_size})")

if __name__ == "__main__":
    main()
