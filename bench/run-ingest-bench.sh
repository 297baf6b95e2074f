#!/usr/bin/env bash
# The ingest benchmark, end to end: builds `ingest_bench` and `cel_bench`,
# starts a real Kafka broker (deploy/test-kafka.sh), runs the benchmark
# against it (produce, raw consume, engine ingest-only, engine with rules),
# stops the broker, then runs `cel_bench` (ns per rule condition), so one
# command prints both. See bench/README.md.
#
#   bench/run-ingest-bench.sh [INGEST_BENCH_ARGS...]
#       e.g. bench/run-ingest-bench.sh --events 2000000
#
# Environment:
#   STOREPULSE_BENCH_BUILD_DIR  build directory (default: build, in the repo)
#   STOREPULSE_BENCH_BUILD_TYPE CMake build type when configuring a fresh
#                               build directory (default: RelWithDebInfo)
#   STOREPULSE_TEST_KAFKA       use this running broker instead of starting one
#   STOREPULSE_KAFKA_HEAP       the test broker's heap (see deploy/test-kafka.sh)
#   STOREPULSE_BENCH_CEL        0: skip cel_bench (default 1)
set -euo pipefail

readonly REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly BUILD_DIR="${STOREPULSE_BENCH_BUILD_DIR:-$REPO/build}"
readonly BUILD_TYPE="${STOREPULSE_BENCH_BUILD_TYPE:-RelWithDebInfo}"

log() { echo "run-ingest-bench: $*" >&2; }

"$REPO/deploy/install-deps.sh"

if [[ ! -f "$BUILD_DIR/build.ninja" ]]; then
  log "configuring $BUILD_DIR ($BUILD_TYPE)"
  cmake -S "$REPO" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE="$BUILD_TYPE" >/dev/null
fi
log "building ingest_bench and cel_bench in $BUILD_DIR"
cmake --build "$BUILD_DIR" --target ingest_bench cel_bench
readonly BENCH="$BUILD_DIR/bench/ingest_bench"
readonly CEL_BENCH="$BUILD_DIR/bench/cel_bench"

broker_dir=""
cleanup() {
  if [[ -n "$broker_dir" ]]; then
    log "stopping the test broker"
    "$REPO/deploy/test-kafka.sh" stop --dir "$broker_dir" || true
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ -n "${STOREPULSE_TEST_KAFKA:-}" ]]; then
  bootstrap="$STOREPULSE_TEST_KAFKA"
  log "using the running broker $bootstrap"
else
  broker_dir="$(mktemp -d "${TMPDIR:-/tmp}/storepulse-bench-kafka.XXXXXX")"
  log "starting a test broker in $broker_dir"
  bootstrap="$("$REPO/deploy/test-kafka.sh" start --dir "$broker_dir" | tail -n 1)"
  log "broker at $bootstrap"
fi

log "running: $BENCH --bootstrap $bootstrap $*"
"$BENCH" --bootstrap "$bootstrap" "$@"

# The evaluator's cost per condition, without the broker competing for the cores.
cleanup
broker_dir=""
if [[ "${STOREPULSE_BENCH_CEL:-1}" != 0 ]]; then
  log "running: $CEL_BENCH --benchmark_min_time=0.2 (ns per evaluation of typical rule conditions)"
  "$CEL_BENCH" --benchmark_min_time=0.2
else
  log "cel_bench skipped; run it with: $CEL_BENCH --benchmark_min_time=0.2"
fi
