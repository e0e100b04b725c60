// Reference encodings from third-party JS tokenizers (fetched by scripts/fetch-tokenizer-oracles.sh) for a
// corpus: prints {"<oracle>": {"ids": [[...]], "ids_special": [[...]] | null, "decoded": [...] | null}} as JSON.
// usage: node oracle.js NODE_MODULES TOKENIZERS_DIR NAME CORPUS.json
"use strict";
const fs = require("fs");
const path = require("path");
const [nm, tokdir, name, corpusPath] = process.argv.slice(2);
const corpus = JSON.parse(fs.readFileSync(corpusPath, "utf8"));
const req = (p) => require(path.join(nm, p));
const out = {};

async function main() {
  // transformers.js port (@lenml/tokenizers) on the tokenizer.json itself
  {
    const { TokenizerLoader } = req("@lenml/tokenizers");
    const dir = path.join(tokdir, name);
    const tok = TokenizerLoader.fromPreTrained({
      tokenizerJSON: JSON.parse(fs.readFileSync(path.join(dir, "tokenizer.json"), "utf8")),
      tokenizerConfig: JSON.parse(fs.readFileSync(path.join(dir, "tokenizer_config.json"), "utf8")),
    });
    const ids = corpus.map((t) => tok.encode(t, { add_special_tokens: false }));
    const ids_special = corpus.map((t) => tok.encode(t, { add_special_tokens: true }));
    const decoded = ids.map((x) => x.length === 0 ? "" : tok.decode(x, { skip_special_tokens: false, clean_up_tokenization_spaces: false }));
    out["lenml"] = { ids, ids_special, decoded };
  }
  if (name === "llama3") {
    const m = await import(path.join(nm, "llama3-tokenizer-js", "bundle", "llama3-tokenizer-with-baked-data.js"));
    const t = m.default;
    out["llama3-tokenizer-js"] = {
      ids: corpus.map((s) => t.encode(s, { bos: false, eos: false })),
      ids_special: null,
      decoded: null,
    };
  }
  if (name === "gpt2") {
    const g3 = req("gpt-3-encoder");
    out["gpt-3-encoder"] = { ids: corpus.map((s) => g3.encode(s)), ids_special: null, decoded: null };
    const gt = req("gpt-tokenizer/cjs/encoding/r50k_base.js");
    out["gpt-tokenizer"] = {
      ids: corpus.map((s) => gt.encode(s, { allowedSpecial: new Set(["<|endoftext|>"]) })),
      ids_special: null,
      decoded: null,
    };
  }
  process.stdout.write(JSON.stringify(out));
}
main().catch((e) => { console.error("oracle.js: " + (e && e.stack || e)); process.exit(1); });
