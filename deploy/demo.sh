#!/usr/bin/env bash
# The demo command of the README: installs the Debian packages, builds the
# `storepulse` binary into build/ and runs `storepulse demo` with the given
# arguments (e.g. --for 30s, --port 9090). Nothing else needs to be set up:
# the demo brings its own in-process Kafka.
set -euo pipefail

cd "$(dirname "$0")/.."
build_dir="${STOREPULSE_BUILD_DIR:-build}"

deploy/install-deps.sh
mkdir -p "$build_dir"
log="$build_dir/demo-build.log"
echo "demo: building storepulse (the first time takes a few minutes; log: $log)" >&2
if ! { cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo &&
       cmake --build "$build_dir" --target storepulse -j"$(nproc)"; } >"$log" 2>&1; then
  tail -n 40 "$log" >&2
  echo "demo: build failed; the whole log is $log" >&2
  exit 1
fi
exec "$build_dir/storepulse" demo "$@"
