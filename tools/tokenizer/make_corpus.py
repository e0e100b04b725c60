#!/usr/bin/env python3
# Writes tests/fixtures/tokenizer/corpus.json: the texts every tokenizer oracle is compared on (our own
# text, covering scripts, spacing, digits, contractions, code, URLs, special-token text, long words).
import json
import random
import sys

OUT = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/tokenizer/corpus.json"
rng = random.Random(1234)

c = [
    "",
    "Hello world!",
    " Hello world",
    "  leading two spaces",
    "trailing spaces   ",
    "a  b   c    d",
    "line one\nline two\n\nline four\n\n\n",
    "windows\r\nline\r\nendings\r\n\r\n",
    "tabs\tand\t\tmore\ttabs \t mixed",
    " \n \n  \n",
    "\n",
    " ",
    "   ",
    "12345678901234567890 and 3.14159 and 1,000,000 and 0042",
    "phone 555-0199, year 2024, 1e-9",
    "I'm sure you're right, we've done it, they'll see, he'd go, it's John's, don't",
    "I'M SURE YOU'RE RIGHT, WE'VE DONE IT, THEY'LL SEE, HE'D GO, IT'S, DON'T",
    "i'M sUrE yOu'Re, We'Ve, tHeY'lL, hE'd, It'S, 'S 'T 'RE 'VE 'M 'LL 'D",
    "quotes 'single' and \"double\" and `back` and ’curly’ l'homme",
    "def f(x):\n    return x ** 2  # square\n\nprint(f(3))\n",
    "for (int i = 0; i < n; ++i) {\n\tsum += a[i];\n}\n",
    "    indented code\n        more\n",
    "https://huggingface.co/meta-llama/Meta-Llama-3-8B?x=1&y=%20#frag",
    "mailto:someone@example.com, ftp://a.b/c_d-e.tar.gz",
    "中文文本测试，包括标点符号。日本語のテキストもあります。한국어 문장도 있습니다.",
    "我爱北京天安门",
    "مرحبا بالعالم، هذا نص عربي.",
    "नमस्ते दुनिया, यह हिंदी पाठ है।",
    "สวัสดีชาวโลก นี่คือข้อความภาษาไทย",
    "Привет, мир! Как дела?",
    "Ελληνικά κείμενα και αριθμοί ١٢٣ ४५६ ๗๘๙",
    "emoji 😀😃😄 family 👨‍👩‍👧‍👦 thumbs 👍🏽👍🏿 flags 🇫🇷🇯🇵 heart ❤️",
    "combining: e\u0301 a\u0300 o\u0308 n\u0303 \u1100\u1161\u11a8 Å Å \u0041\u030a",
    "precomposed é vs decomposed e\u0301, ﬁ ligature, ① circled, Ｆｕｌｌ width",
    "nbsp\u00a0here, narrow\u202fnbsp, em\u2003space, ideographic\u3000space, zwsp\u200bhere",
    "line sep\u2028para sep\u2029nel\u0085end",
    "vertical\x0btab form\x0cfeed",
    "<|begin_of_text|>Hello<|end_of_text|>",
    "<s> inside </s> text <unk>",
    "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n",
    "<|endoftext|>gpt2<|endoftext|> and <|endoftext|",
    "not special: <|begin_of_text <s <|im_start",
    "a" * 3000,
    "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(5000)),
    "9" * 1000,
    "ab" * 1500 + " " + "xyz" * 700,
    "!" * 500 + "?" * 500,
    " " * 300 + "x" + "\n" * 200,
    "mixed123abc456def 7a8b9c",
    "under_score camelCase PascalCase kebab-case SCREAMING_CASE",
    "¿Qué tal? ¡Muy bien! Ça va? Größe, straße, ﬀ",
    "math: ∑∫√∞≠≤≥ ± × ÷ → ⇒ ∀x∃y",
    "ſ's 'ſ I'ſ",
    "\u00ad soft hyphen and \ufeff bom",
    "control \x01\x02\x7f chars",
    "a\ufeffb c\u001cd e\u0085f g\u180eh i\u200bj",
    "tab-led\tword and nbsp-led\u00a0word and ideographic\u3000word",
    "<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>",
    "surrogate-free astral: 𝕳𝖊𝖑𝖑𝖔 𠜎𠜱𠝹 𓀀",
]
# random mixed-script texts
alphabet = list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 \n\t.,;:!?'\"()[]{}<>-_/\\@#$%^&*+=") + \
    list("éüñçøåßœ中文日本語한국어العربيةहिंदीไทย😀👍🏽\u00a0\u3000\u0301")
for _ in range(40):
    n = rng.randint(1, 200)
    c.append("".join(rng.choice(alphabet) for _ in range(n)))
json.dump(c, open(OUT, "w", encoding="utf-8"), ensure_ascii=True, indent=0)
print(f"{OUT}: {len(c)} texts")
