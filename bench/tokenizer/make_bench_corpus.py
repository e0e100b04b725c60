#!/usr/bin/env python3
# Writes a large deterministic mixed-language corpus (JSON lines, one string each) for the tokenizer benchmark:
# Zipf-distributed English-like prose from local license texts, code, digits, CJK/Arabic/Devanagari/Thai, emoji.
import glob
import json
import random
import re
import sys

out = sys.argv[1] if len(sys.argv) > 1 else "bench_corpus.jsonl"
mb = float(sys.argv[2]) if len(sys.argv) > 2 else 50
rng = random.Random(7)
words = []
for f in sorted(glob.glob("/usr/share/common-licenses/*"))[:40]:
    try:
        words += re.findall(r"[A-Za-z']+|[0-9]+|[.,;:!?()\"-]", open(f, encoding="utf-8", errors="ignore").read())
    except (IsADirectoryError, PermissionError):
        pass
if not words:
    words = "the quick brown fox jumps over the lazy dog and we're sure it's 42 times faster".split()
vocab = sorted(set(words))
weights = [1.0 / (r + 1) for r in range(len(vocab))]
rng.shuffle(vocab)
scripts = ["中文文本测试包括标点符号日本語のテキスト한국어문장", "مرحبا بالعالم هذا نص عربي", "नमस्ते दुनिया यह हिंदी पाठ है",
           "สวัสดีชาวโลกนี่คือข้อความภาษาไทย", "Привет мир как дела", "😀👍🏽👨‍👩‍👧‍👦🇫🇷"]
code = ["def f(x):\n    return x ** 2  # square\n", "for (int i = 0; i < n; ++i) {\n\tsum += a[i];\n}\n",
        "https://example.com/path?q=1&r=%20", "    if (ptr == nullptr) return -1;\n"]
total = 0
with open(out, "w", encoding="utf-8") as f:
    while total < mb * 1e6:
        kind = rng.random()
        if kind < 0.75:
            n = rng.randint(20, 400)
            text = " ".join(rng.choices(vocab, weights, k=n))
            text = text.replace(" .", ".").replace(" ,", ",")
            if rng.random() < 0.3:
                text = text.replace(". ", ".\n\n")
        elif kind < 0.88:
            text = "".join(rng.choice(code) for _ in range(rng.randint(1, 20)))
        elif kind < 0.96:
            s = rng.choice(scripts)
            text = "".join(rng.choice(s) if rng.random() < 0.9 else " " for _ in range(rng.randint(10, 300)))
        else:
            text = " ".join(str(rng.randint(0, 10 ** rng.randint(1, 12))) for _ in range(rng.randint(5, 60)))
        line = json.dumps(text, ensure_ascii=False)
        f.write(line + "\n")
        total += len(text.encode("utf-8"))
print(f"{out}: {total / 1e6:.1f} MB of text")
