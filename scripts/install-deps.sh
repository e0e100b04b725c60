#!/usr/bin/env bash
# Installs everything zerotune needs to build and test on Debian 12, from Debian's packages only.
# Safe to run again; skips apt when every package is already present.
set -euo pipefail
pkgs=(cmake g++ make pkg-config libopenblas-dev libopenblas-openmp-dev libgtest-dev libgmock-dev nlohmann-json3-dev
      clang libclang-rt-14-dev python3-numpy python3-yaml zlib1g-dev libzstd-dev libsnappy-dev
      libssl-dev libgloo-dev
      iproute2 openssh-client openssh-server pdsh openmpi-bin slurm-wlm munge)  # launcher: runners; netns test hosts
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# node and npm fetch the tokenizer oracles; the machine may already carry a newer nodejs with npm.
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
