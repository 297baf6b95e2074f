#!/usr/bin/env bash
# The test command of Storepulse (the README's and .ci/run's):
#
#   deploy/run-tests.sh [--unit] [-- CTEST_ARGS...]
#
# Installs the Debian packages (deploy/install-deps.sh), configures with
# CMake + Ninja into build/ (RelWithDebInfo), builds everything, then runs
# CTest against a real single-node Kafka broker started and stopped by
# deploy/test-kafka.sh (all tests except label `slow`).
#   --unit          only the tests labelled `unit`; no broker is started
#   -- ARGS...      passed on to ctest, e.g. `-- -R kafka -V`
# Environment: STOREPULSE_BUILD_DIR (default build).
# Exits non-zero if anything fails.
set -euo pipefail

cd "$(dirname "$0")/.."
build_dir="${STOREPULSE_BUILD_DIR:-build}"

log() { echo "run-tests: $*" >&2; }
die() { log "error: $*"; exit 2; }

unit=0
ctest_extra=()
while (($#)); do
  case "$1" in
    --unit) unit=1; shift ;;
    --) shift; ctest_extra=("$@"); break ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2; exit 0 ;;
    *) die "unknown argument $1 (ctest arguments go after --)" ;;
  esac
done

log "installing dependencies"
deploy/install-deps.sh

# A build dir configured with another generator cannot be reused with Ninja.
if [[ -f "$build_dir/CMakeCache.txt" ]] &&
   ! grep -q '^CMAKE_GENERATOR:INTERNAL=Ninja$' "$build_dir/CMakeCache.txt"; then
  log "$build_dir was configured with another generator: clearing its CMake cache"
  rm -rf "$build_dir/CMakeCache.txt" "$build_dir/CMakeFiles"
fi

log "configuring $build_dir (RelWithDebInfo, Ninja)"
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo

log "building with $(nproc) jobs"
cmake --build "$build_dir" -j"$(nproc)"

ctest_cmd=(ctest --test-dir "$build_dir" --output-on-failure -j2 --timeout 600)
if ((unit)); then
  log "running unit tests"
  exec "${ctest_cmd[@]}" -L unit "${ctest_extra[@]}"
fi
log "running all tests except 'slow' against a real Kafka broker"
exec deploy/test-kafka.sh run -- "${ctest_cmd[@]}" -LE slow "${ctest_extra[@]}"
