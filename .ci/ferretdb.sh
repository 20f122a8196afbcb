#!/usr/bin/env bash
# FerretDB v1.24.2 (SQLite backend) on a free loopback port, for the MongoDB store tests.
#
# Developers:
#   .ci/ferretdb.sh run npm test        start FerretDB, run the command with MAKAI_TEST_MONGODB_URI set, stop it
#   .ci/ferretdb.sh start               start it in the background and print the export line; `stop` stops it
#   .ci/ferretdb.sh build               build (or reuse) the binary and print its path
# CI (.ci/run) sources this file and calls `ferretdb_start`, which exports MAKAI_TEST_MONGODB_URI
# and stops FerretDB when the shell exits.
#
# Environment:
#   MAKAI_FERRETDB_BIN        use this ferretdb binary instead of building one
#   MAKAI_FERRETDB_CACHE      where the built binary is kept (default ${XDG_CACHE_HOME:-$HOME/.cache}/makai-ferretdb)
#   MAKAI_FERRETDB_TMP        parent of the throw-away data directories (default /dev/shm when writable, else
#                             ${TMPDIR:-/tmp}: SQLite on tmpfs skips fsync, which makes the tests several times faster)
#   MAKAI_FERRETDB_STATE_DIR  data, log and pid of `start`/`stop` (default <tmp>/makai-ferretdb-<uid>)
# Needs: bash, Go >= 1.24 to build (once; later runs reuse the binary), node (to find a free port).

FERRETDB_VERSION=v1.24.2
FERRETDB_MODULE=github.com/FerretDB/FerretDB

ferretdb_log() { printf 'ferretdb.sh: %s\n' "$*" >&2; }

ferretdb_cache_dir() { printf '%s\n' "${MAKAI_FERRETDB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/makai-ferretdb}"; }

# True when $1 is a working ferretdb binary of the pinned version.
ferretdb_is_usable() {
  local out
  [[ -x "$1" ]] && out="$("$1" --version 2>/dev/null)" && grep -qx "version: $FERRETDB_VERSION" <<<"$out"
}

# Prints the path of a usable ferretdb binary, building it into the cache dir when needed.
ferretdb_binary() {
  if [[ -n "${MAKAI_FERRETDB_BIN:-}" ]]; then
    ferretdb_is_usable "$MAKAI_FERRETDB_BIN" || { ferretdb_log "MAKAI_FERRETDB_BIN=$MAKAI_FERRETDB_BIN is not ferretdb $FERRETDB_VERSION"; return 1; }
    printf '%s\n' "$MAKAI_FERRETDB_BIN"
    return 0
  fi
  local cache bin
  cache="$(ferretdb_cache_dir)"
  bin="$cache/ferretdb"
  if ferretdb_is_usable "$bin"; then
    printf '%s\n' "$bin"
    return 0
  fi
  mkdir -p "$cache"
  (
    # One build at a time per cache dir; a second caller waits and then reuses the result.
    if command -v flock >/dev/null 2>&1; then
      exec 9>"$cache/.lock"
      flock 9
    fi
    ferretdb_is_usable "$bin" && exit 0
    ferretdb_build "$cache"
  ) || return 1
  ferretdb_is_usable "$bin" || { ferretdb_log "the build did not produce a working $bin"; return 1; }
  printf '%s\n' "$bin"
}

# Builds ferretdb into $1 with `go install`. A plain `go install …/cmd/ferretdb@v1.24.2` gives a
# binary that panics at start-up ("Invalid build/version/version.txt"): release builds embed a
# generated version.txt that the module zip does not contain. So install from a copy of the
# module source with that file written.
ferretdb_build() {
  local cache="$1" work dir status=0
  command -v go >/dev/null 2>&1 || {
    ferretdb_log "Go is needed to build FerretDB $FERRETDB_VERSION once (or set MAKAI_FERRETDB_BIN)"
    return 1
  }
  work="$(mktemp -d)"
  ferretdb_log "building FerretDB $FERRETDB_VERSION into $cache (takes a few minutes the first time)"
  dir="$(cd "$work" && go mod download -json "$FERRETDB_MODULE@$FERRETDB_VERSION" |
    sed -n 's/^[[:space:]]*"Dir":[[:space:]]*"\(.*\)",\{0,1\}$/\1/p')" || status=$?
  if [[ $status -eq 0 && -d "$dir" ]]; then
    cp -R "$dir/." "$work/src" && chmod -R u+w "$work/src" &&
      printf '%s\n' "$FERRETDB_VERSION" >"$work/src/build/version/version.txt" &&
      (cd "$work/src" && GOBIN="$cache" go install -trimpath ./cmd/ferretdb) || status=$?
  else
    ferretdb_log "go mod download $FERRETDB_MODULE@$FERRETDB_VERSION failed"
    status=1
  fi
  chmod -R u+w "$work" 2>/dev/null
  rm -rf "$work"
  return "$status"
}

# Prints a TCP port that was free on 127.0.0.1 a moment ago (the caller retries if it is taken since).
ferretdb_free_port() {
  node -e "const s = require('node:net').createServer(); s.listen(0, '127.0.0.1', () => { console.log(s.address().port); s.close(); });"
}

# Starts ferretdb with data, state and log in $2 (created); sets FERRETDB_PID and FERRETDB_URI.
ferretdb_launch() {
  local bin="$1" dir="$2" port attempt waited
  mkdir -p "$dir/data"
  for attempt in 1 2 3 4 5; do
    port="$(ferretdb_free_port)" || return 1
    "$bin" --handler=sqlite --sqlite-url="file:$dir/data/" --state-dir="$dir" \
      --listen-addr="127.0.0.1:$port" --debug-addr=- --telemetry=disable \
      --log-level=error >"$dir/ferretdb.log" 2>&1 </dev/null &
    FERRETDB_PID=$!
    # Ready when the port accepts connections (the SQLite backend is set up before listening).
    for ((waited = 0; waited < 300; waited++)); do
      if ! kill -0 "$FERRETDB_PID" 2>/dev/null; then
        break
      fi
      if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        FERRETDB_URI="mongodb://127.0.0.1:$port/"
        return 0
      fi
      sleep 0.1
    done
    if kill -0 "$FERRETDB_PID" 2>/dev/null; then
      ferretdb_log "FerretDB did not accept connections on 127.0.0.1:$port within 30 s"
      ferretdb_kill "$FERRETDB_PID"
      break
    fi
    wait "$FERRETDB_PID" 2>/dev/null || true
    ferretdb_log "FerretDB exited at start (attempt $attempt, port $port); retrying on another port"
  done
  ferretdb_log "could not start FerretDB; its log ($dir/ferretdb.log):"
  tail -n 20 "$dir/ferretdb.log" >&2
  return 1
}

# Stops the process $1: SIGTERM, then SIGKILL after 10 s.
ferretdb_kill() {
  local pid="$1" i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
}

# Where throw-away data goes: tmpfs when there is one (no fsync cost), else the temp dir.
ferretdb_tmp_root() {
  if [[ -n "${MAKAI_FERRETDB_TMP:-}" ]]; then
    printf '%s\n' "$MAKAI_FERRETDB_TMP"
  elif [[ -d /dev/shm && -w /dev/shm ]]; then
    printf '%s\n' /dev/shm
  else
    printf '%s\n' "${TMPDIR:-/tmp}"
  fi
}

# For sourcing shells (CI): start FerretDB in a temporary directory, export
# MAKAI_TEST_MONGODB_URI, and stop it (removing the directory) when the shell exits.
ferretdb_start() {
  local bin
  bin="$(ferretdb_binary)" || return 1
  FERRETDB_DIR="$(mktemp -d "$(ferretdb_tmp_root)/makai-ferretdb.XXXXXX")"
  trap ferretdb_stop EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  ferretdb_launch "$bin" "$FERRETDB_DIR" || return 1
  export MAKAI_TEST_MONGODB_URI="$FERRETDB_URI"
  ferretdb_log "FerretDB $FERRETDB_VERSION (SQLite) on $MAKAI_TEST_MONGODB_URI, pid $FERRETDB_PID"
}

ferretdb_stop() {
  if [[ -n "${FERRETDB_PID:-}" ]]; then
    ferretdb_kill "$FERRETDB_PID"
    wait "$FERRETDB_PID" 2>/dev/null || true
    FERRETDB_PID=
  fi
  if [[ -n "${FERRETDB_DIR:-}" ]]; then
    rm -rf "$FERRETDB_DIR"
    FERRETDB_DIR=
  fi
}

ferretdb_state_dir() { printf '%s\n' "${MAKAI_FERRETDB_STATE_DIR:-$(ferretdb_tmp_root)/makai-ferretdb-$(id -u)}"; }

ferretdb_main() {
  set -euo pipefail
  local command="${1:-}" bin state
  shift || true
  case "$command" in
    build)
      ferretdb_binary
      ;;
    run)
      [[ "${1:-}" == "--" ]] && shift
      [[ $# -gt 0 ]] || { ferretdb_log "usage: $0 run <command> [args...]"; return 2; }
      ferretdb_start
      local status=0
      "$@" || status=$?
      return "$status"
      ;;
    start)
      state="$(ferretdb_state_dir)"
      if [[ -f "$state/pid" ]] && kill -0 "$(cat "$state/pid")" 2>/dev/null; then
        ferretdb_log "already running (pid $(cat "$state/pid"))"
      else
        bin="$(ferretdb_binary)"
        rm -rf "$state"
        ferretdb_launch "$bin" "$state"
        printf '%s\n' "$FERRETDB_PID" >"$state/pid"
        printf '%s\n' "$FERRETDB_URI" >"$state/uri"
        ferretdb_log "started (pid $FERRETDB_PID, data in $state); stop it with: $0 stop"
      fi
      printf 'export MAKAI_TEST_MONGODB_URI=%s\n' "$(cat "$state/uri")"
      ;;
    stop)
      state="$(ferretdb_state_dir)"
      if [[ -f "$state/pid" ]]; then
        ferretdb_kill "$(cat "$state/pid")"
        rm -rf "$state"
        ferretdb_log "stopped"
      else
        ferretdb_log "not running"
      fi
      ;;
    *)
      ferretdb_log "usage: $0 build | run <command> [args...] | start | stop"
      return 2
      ;;
  esac
}

# Executed (not sourced): dispatch the subcommand.
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  ferretdb_main "$@"
fi
