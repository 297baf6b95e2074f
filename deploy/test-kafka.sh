#!/usr/bin/env bash
# A real single-node Apache Kafka broker (KRaft, broker+controller in one JVM)
# for integration tests. The broker jars come from Maven Central through
# deploy/kafka/pom.xml and are cached, so every run after the first is offline.
#
#   deploy/test-kafka.sh start [--dir DIR] [--keep]
#       Starts a broker on two free ports of 127.0.0.1 and prints its
#       bootstrap address as the last line of stdout. DIR (default: a fresh
#       mktemp -d) holds the config, data, logs, the pid file and DIR/env
#       (`source DIR/env` exports STOREPULSE_TEST_KAFKA and
#       STOREPULSE_TEST_KAFKA_DIR). --keep: keep DIR if the start fails.
#   deploy/test-kafka.sh stop [--dir DIR] [--keep]
#       Stops that broker (TERM, KILL after 20 s) and removes DIR unless
#       --keep. DIR defaults to $STOREPULSE_TEST_KAFKA_DIR.
#   deploy/test-kafka.sh run [--dir DIR] [--keep] [--] CMD...
#       start, run CMD with STOREPULSE_TEST_KAFKA exported, stop (also on
#       failure and Ctrl-C); exits with CMD's status.
#
# Environment: STOREPULSE_CACHE (default ~/.cache/storepulse) for the jars,
# STOREPULSE_KAFKA_HEAP (default -Xmx768m), STOREPULSE_KAFKA_START_TIMEOUT
# (seconds, default 90). Several instances can run at once: each has its own
# directory and ports.
set -euo pipefail

readonly KAFKA_VERSION=3.9.1
readonly SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly POM="$SCRIPT_DIR/kafka/pom.xml"
readonly LOG4J="$SCRIPT_DIR/kafka/log4j.properties"
readonly CACHE_ROOT="${STOREPULSE_CACHE:-$HOME/.cache/storepulse}/kafka-$KAFKA_VERSION"
readonly LIB="$CACHE_ROOT/lib"
readonly MARKER="$CACHE_ROOT/.fetched"   # holds the sha256 of the pom it was fetched with
readonly DIR_TAG=".storepulse-test-kafka" # only directories holding this file are ever removed
readonly START_TIMEOUT="${STOREPULSE_KAFKA_START_TIMEOUT:-90}"
readonly STOP_TIMEOUT=20
readonly HEAP="${STOREPULSE_KAFKA_HEAP:--Xmx768m}"

log() { echo "test-kafka: $*" >&2; }
die() { log "error: $*"; exit 1; }

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
  exit 2
}

# ---------------------------------------------------------------- jars cache
ensure_jars() {
  local want
  want="$(sha256sum "$POM" | cut -d' ' -f1)"
  if [[ -f "$MARKER" && "$(<"$MARKER")" == "$want" && -d "$LIB" ]]; then
    return 0
  fi
  mkdir -p "$CACHE_ROOT"
  # Serialise concurrent fetches; the loser finds the marker written.
  exec 9>"$CACHE_ROOT/.lock"
  flock -w 900 9 || die "timed out waiting for another fetch (lock $CACHE_ROOT/.lock)"
  if [[ -f "$MARKER" && "$(<"$MARKER")" == "$want" && -d "$LIB" ]]; then
    exec 9>&-
    return 0
  fi
  command -v mvn >/dev/null || die "mvn not found: run deploy/install-deps.sh"
  log "fetching Kafka $KAFKA_VERSION jars from Maven Central into $LIB (once)"
  local tmp
  tmp="$(mktemp -d "$CACHE_ROOT/lib.tmp.XXXXXX")"
  if ! mvn -B -Dstyle.color=never -f "$POM" dependency:copy-dependencies -DincludeScope=runtime \
        -DoutputDirectory="$tmp" >"$CACHE_ROOT/fetch.log" 2>&1; then
    rm -rf "$tmp"
    grep -E '\[(ERROR|WARNING)\]' "$CACHE_ROOT/fetch.log" | tail -n 20 >&2 || true
    die "mvn could not fetch the Kafka jars (Maven Central must be reachable once); see $CACHE_ROOT/fetch.log"
  fi
  if [[ ! -f "$tmp/kafka_2.13-$KAFKA_VERSION.jar" ]] || ! compgen -G "$tmp/reload4j-*.jar" >/dev/null; then
    rm -rf "$tmp"
    die "mvn finished but kafka_2.13-$KAFKA_VERSION.jar or reload4j is missing"
  fi
  rm -f "$MARKER"
  rm -rf "$LIB"
  chmod 755 "$tmp"
  mv "$tmp" "$LIB"
  echo "$want" >"$MARKER"
  log "cached $(find "$LIB" -name '*.jar' | wc -l) jars"
  exec 9>&-
}

# ---------------------------------------------------------------- ports
port_listening() { # port -> 0 if something listens on it (any address)
  [[ -n "$(ss -ltnH "sport = :$1" 2>/dev/null)" ]]
}

random_free_port() { # [exclude]
  local p i
  for ((i = 0; i < 200; i++)); do
    p=$((20000 + (RANDOM * 32768 + RANDOM) % 40001))
    [[ "$p" == "${1:-}" ]] && continue
    port_listening "$p" || { echo "$p"; return 0; }
  done
  die "no free TCP port found in 20000-60000"
}

# ---------------------------------------------------------------- broker
cluster_id() { # 16 random bytes, base64url without padding (a Kafka Uuid)
  local id
  while :; do
    id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
    [[ "$id" != -* && ${#id} -eq 22 ]] && { echo "$id"; return 0; }
  done
}

write_config() { # dir port cport
  local dir="$1" port="$2" cport="$3"
  cat >"$dir/server.properties" <<EOF
# Written by deploy/test-kafka.sh: single-node KRaft broker for tests.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$dir/data
num.partitions=4
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=8
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
group.initial.rebalance.delay.ms=0
group.min.session.timeout.ms=1000
auto.create.topics.enable=true
delete.topic.enable=true
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
log.cleaner.threads=1
log.cleaner.dedupe.buffer.size=16777216
log.cleaner.backoff.ms=1000
EOF
}

java_cmd() { # dir main-class args... -> JAVA_CMD array
  local dir="$1" heap; shift
  read -ra heap <<<"$HEAP"
  JAVA_CMD=(java "${heap[@]}" -Djava.awt.headless=true -cp "$LIB/*"
    "-Dlog4j.configuration=file:$LOG4J" "-Dkafka.logs.dir=$dir/logs" "$@")
}

broker_pid() { # dir -> pid of our live broker, or fail
  local dir="$1" pid
  [[ -f "$dir/kafka.pid" ]] || return 1
  pid="$(<"$dir/kafka.pid")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  # Guard against a recycled pid: it must be our JVM with our config.
  { tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null | grep -qF "kafka.Kafka $dir/server.properties" || return 1
  echo "$pid"
}

kill_broker() { # dir
  local dir="$1" pid i
  pid="$(broker_pid "$dir")" || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < STOP_TIMEOUT * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  log "broker $pid did not stop within ${STOP_TIMEOUT}s: KILL"
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
}

remove_dir() { # dir
  local dir="$1"
  if [[ -f "$dir/$DIR_TAG" ]]; then
    rm -rf -- "$dir"
  else
    log "not removing $dir: it was not created by test-kafka.sh"
  fi
}

show_logs() { # dir
  local dir="$1" f
  for f in "$dir/logs/server.log" "$dir/logs/kafka.out"; do
    [[ -s "$f" ]] || continue
    log "---- tail of $f"
    tail -n 40 "$f" >&2
  done
}

# One attempt: format storage, launch, wait. Returns 0 when ready, 3 when the
# ports were taken (retry with others), 1 on any other failure.
launch_once() { # dir port cport
  local dir="$1" port="$2" cport="$3" pid deadline
  rm -rf "$dir/data" "$dir/logs" "$dir/kafka.pid"
  mkdir -p "$dir/data" "$dir/logs"
  write_config "$dir" "$port" "$cport"
  java_cmd "$dir" kafka.tools.StorageTool format -t "$(cluster_id)" \
    -c "$dir/server.properties" --ignore-formatted
  if ! "${JAVA_CMD[@]}" >"$dir/logs/format.out" 2>&1; then
    log "formatting the storage failed:"
    cat "$dir/logs/format.out" >&2
    return 1
  fi
  # setsid: the broker outlives the shell that started it (for `start`);
  # the inner bash writes its own pid, then becomes the JVM.
  java_cmd "$dir" kafka.Kafka "$dir/server.properties"
  # shellcheck disable=SC2016
  nohup setsid bash -c 'echo $$ >"$1.tmp" && mv "$1.tmp" "$1"; shift; exec "$@"' _ \
    "$dir/kafka.pid" "${JAVA_CMD[@]}" >"$dir/logs/kafka.out" 2>&1 </dev/null 9>&- &
  deadline=$((SECONDS + START_TIMEOUT))
  while [[ ! -s "$dir/kafka.pid" ]]; do
    ((SECONDS < deadline)) || { log "broker process did not start"; return 1; }
    sleep 0.05
  done
  pid="$(<"$dir/kafka.pid")"
  while :; do
    if ! kill -0 "$pid" 2>/dev/null; then
      if grep -qE 'BindException|Address already in use' "$dir/logs/server.log" "$dir/logs/kafka.out" 2>/dev/null; then
        log "port $port or $cport was taken meanwhile; retrying with other ports"
        return 3
      fi
      log "broker exited during start-up"
      show_logs "$dir"
      return 1
    fi
    if grep -q 'Kafka Server started' "$dir/logs/server.log" 2>/dev/null &&
       kcat -b "127.0.0.1:$port" -L -m 3 >/dev/null 2>&1; then
      return 0
    fi
    if ((SECONDS >= deadline)); then
      log "broker not ready after ${START_TIMEOUT}s"
      show_logs "$dir"
      kill_broker "$dir"
      return 1
    fi
    sleep 0.2
  done
}

# Sets BROKER_DIR and BOOTSTRAP.
start_broker() { # dir-or-empty keep
  local dir="$1" keep="$2" port cport attempt rc pid t0=$SECONDS
  command -v java >/dev/null || die "java not found: run deploy/install-deps.sh"
  command -v kcat >/dev/null || die "kcat not found: run deploy/install-deps.sh"
  ensure_jars
  if [[ -z "$dir" ]]; then
    dir="$(mktemp -d "${TMPDIR:-/tmp}/storepulse-kafka.XXXXXX")"
  else
    mkdir -p "$dir"
    dir="$(cd "$dir" && pwd)"
    if pid="$(broker_pid "$dir")"; then
      die "a broker (pid $pid) already runs in $dir"
    fi
  fi
  touch "$dir/$DIR_TAG"
  BROKER_DIR="$dir"
  for attempt in 1 2 3 4 5; do
    port="$(random_free_port)"
    cport="$(random_free_port "$port")"
    rc=0
    launch_once "$dir" "$port" "$cport" || rc=$?
    [[ $rc -eq 0 ]] && break
    kill_broker "$dir"
    if [[ $rc -ne 3 || $attempt -eq 5 ]]; then
      if [[ "$keep" == 1 ]]; then log "kept $dir"; else remove_dir "$dir"; fi
      BROKER_DIR=""
      die "could not start the Kafka broker"
    fi
  done
  BOOTSTRAP="127.0.0.1:$port"
  cat >"$dir/env" <<EOF
export STOREPULSE_TEST_KAFKA=$BOOTSTRAP
export STOREPULSE_TEST_KAFKA_DIR=$dir
EOF
  log "Kafka $KAFKA_VERSION ready at $BOOTSTRAP in $((SECONDS - t0))s (pid $(<"$dir/kafka.pid"), dir $dir)"
}

stop_broker() { # dir keep
  local dir="$1" keep="$2"
  [[ -d "$dir" ]] || { log "no such directory $dir (already stopped?)"; return 0; }
  kill_broker "$dir"
  if [[ "$keep" == 1 ]]; then
    log "stopped; kept $dir"
  else
    remove_dir "$dir"
    log "stopped; removed $dir"
  fi
}

# ---------------------------------------------------------------- commands
cmd="${1:-}"
[[ -n "$cmd" ]] || usage
shift
opt_dir="" opt_keep=0
while (($#)); do
  case "$1" in
    --dir) [[ $# -ge 2 ]] || die "--dir needs a value"; opt_dir="$2"; shift 2 ;;
    --dir=*) opt_dir="${1#--dir=}"; shift ;;
    --keep) opt_keep=1; shift ;;
    --) shift; break ;;
    -h|--help) usage ;;
    -*) [[ "$cmd" == run || "$cmd" == __watchdog ]] && break; die "unknown option $1" ;;
    *) [[ "$cmd" == run || "$cmd" == __watchdog ]] && break; die "unexpected argument $1" ;;
  esac
done

case "$cmd" in
  start)
    (($# == 0)) || die "start takes no command"
    start_broker "$opt_dir" "$opt_keep"
    log "stop it with: $0 stop --dir $BROKER_DIR"
    echo "$BOOTSTRAP"
    ;;
  stop)
    (($# == 0)) || die "stop takes no command"
    dir="${opt_dir:-${STOREPULSE_TEST_KAFKA_DIR:-}}"
    [[ -n "$dir" ]] || die "stop needs --dir DIR (or STOREPULSE_TEST_KAFKA_DIR)"
    stop_broker "$dir" "$opt_keep"
    ;;
  run)
    (($# > 0)) || die "run needs a command: run [--] CMD..."
    BROKER_DIR=""
    cleanup() {
      local rc=$?
      trap - EXIT INT TERM HUP
      [[ -n "$BROKER_DIR" ]] && stop_broker "$BROKER_DIR" "$opt_keep"
      exit "$rc"
    }
    trap cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    trap 'exit 129' HUP
    start_broker "$opt_dir" "$opt_keep"
    # CMD runs in the foreground (keeps the terminal: Ctrl-C reaches it and
    # then the trap stops the broker). A watchdog in its own session stops
    # the broker should this script itself be killed, even with SIGKILL.
    setsid "$0" __watchdog "$$" "$BROKER_DIR" "$opt_keep" </dev/null >/dev/null 2>&1 9>&- &
    watchdog=$!
    export STOREPULSE_TEST_KAFKA="$BOOTSTRAP" STOREPULSE_TEST_KAFKA_DIR="$BROKER_DIR"
    rc=0
    "$@" || rc=$?
    kill "$watchdog" 2>/dev/null || true
    exit "$rc"
    ;;
  __watchdog) # internal: __watchdog RUN_PID DIR KEEP
    [[ $# -eq 3 ]] || die "internal: bad watchdog arguments"
    trap '' INT HUP
    while kill -0 "$1" 2>/dev/null; do sleep 1; done
    if broker_pid "$2" >/dev/null; then stop_broker "$2" "$3"; fi
    ;;
  *) usage ;;
esac
