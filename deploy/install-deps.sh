#!/usr/bin/env bash
# Installs every Debian package Storepulse needs to build, test and demo.
# The README, .ci/run and every other script call this one script, so the
# dependency list lives in one place. Idempotent: a second run is quick.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  librdkafka-dev librocksdb-dev libboost-dev
  prometheus-cpp-dev nlohmann-json3-dev libyaml-cpp-dev libsimdjson-dev
  libcli11-dev libspdlog-dev libfmt-dev libre2-dev libabsl-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  kcat prometheus maven openjdk-17-jre-headless curl
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi

sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# prometheus pulls in a service we do not want started; only promtool is used.
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
