#!/usr/bin/env bash
# Fetches the independent Parquet implementations used as test oracles (npm: hyparquet reader with its
# compressors, hyparquet-writer) into .cache/npm/data-oracles (ignored by git). Safe to run again.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="$root/.cache/npm/data-oracles"
pkgs=(hyparquet@1.33.0 hyparquet-compressors@1.1.2 hyparquet-writer@0.17.0)
command -v npm >/dev/null || { echo "fetch-data-oracles: npm not found (apt-get install npm)" >&2; exit 1; }
command -v node >/dev/null || { echo "fetch-data-oracles: node not found (apt-get install nodejs)" >&2; exit 1; }
mkdir -p "$dir"
stamp="$dir/.done-$(echo "${pkgs[*]}" | cksum | cut -d' ' -f1)"
if [ ! -f "$stamp" ]; then
  [ -f "$dir/package.json" ] || echo '{"name":"zt-data-oracles","private":true,"type":"module"}' > "$dir/package.json"
  (cd "$dir" && npm install --no-audit --no-fund --ignore-scripts --loglevel=error "${pkgs[@]}") || {
    echo "fetch-data-oracles: npm install failed (network or registry unavailable?)" >&2; exit 1; }
  rm -f "$dir"/.done-*
  touch "$stamp"
fi
echo "fetch-data-oracles: ok ($dir/node_modules)"
