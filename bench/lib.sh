# Shared helpers for the benchmark scripts (sourced, not run).
#
# TACK_BIN   the release binary to measure (default: the bench worktree's build)
# PYTHON     python3 to use (only the standard library is needed)

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$BENCH_DIR/.." && pwd)
TACK_BIN=${TACK_BIN:-$REPO_DIR/.build/release/tack}
PYTHON=${PYTHON:-python3}
PG_SCRIPT=${PG_SCRIPT:-$REPO_DIR/scripts/postgres}

_bench_pids=()
_bench_pg_dirs=()
_bench_tmp_dirs=()

# Stops everything a script started; installed as the EXIT trap by bench_init.
bench_cleanup() {
  local pid dir
  for pid in "${_bench_pids[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  for dir in "${_bench_pg_dirs[@]}"; do "$PG_SCRIPT" stop "$dir" >/dev/null 2>&1 || true; done
  for dir in "${_bench_tmp_dirs[@]}"; do rm -rf "$dir"; done
}

bench_init() {
  set -euo pipefail
  trap bench_cleanup EXIT
  trap 'exit 130' INT TERM
  [ -x "$TACK_BIN" ] || { echo "no tack binary at $TACK_BIN (build: swift build -c release)" >&2; exit 2; }
}

bench_track_pid() { _bench_pids+=("$1"); }

# Sets TMPDIR_BENCH to a fresh temporary folder, deleted on exit (/tmp is on the disk here).
bench_tmpdir() {
  TMPDIR_BENCH=$(mktemp -d "/tmp/tack-bench.XXXXXX")
  chmod 755 "$TMPDIR_BENCH"  # PostgreSQL runs as the postgres user
  _bench_tmp_dirs+=("$TMPDIR_BENCH")
}

# Prints what the figures were measured on.
bench_machine() {
  echo "date:    $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/^Mem:/ {print $2}') GiB"
  echo "binary:  $TACK_BIN ($(git -C "$(dirname "$TACK_BIN")/../.." rev-parse --short HEAD 2>/dev/null || echo '?'), built $(date -u -r "$TACK_BIN" '+%Y-%m-%d %H:%M UTC'))"
  echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min)"
  echo "busy:    $(ps -eo pcpu=,comm= --sort=-pcpu | awk '$1 >= 5 {printf "%s(%s%%) ", $2, $1}' | head -c 300)"
}

# Starts PostgreSQL in DIR on PORT; sets PG_URL. Stopped (and DIR deleted) on exit.
bench_start_postgres() {
  local dir=$1 port=$2
  _bench_pg_dirs+=("$dir")
  PG_URL=$("$PG_SCRIPT" start "$dir" "$port") || { echo "PostgreSQL did not start; see $dir" >&2; return 1; }
}

# Starts `tack serve` in the background; sets SERVER_PID. Args: port data-dir [database-url]
bench_start_tack() {
  local port=$1 data=$2 url=${3:-}
  local args=(serve --host 127.0.0.1 --port "$port" --data-dir "$data" --public-dir "$data/public")
  mkdir -p "$data/public"
  [ -n "$url" ] && args+=(--database-url "$url")
  TACK_LOG_LEVEL=${TACK_LOG_LEVEL:-warning} "$TACK_BIN" "${args[@]}" >"$data/server.log" 2>&1 &
  SERVER_PID=$!
  bench_track_pid "$SERVER_PID"
  bench_wait_ready "$port" "$SERVER_PID" 60 || { echo "server did not become ready; log:" >&2; tail -20 "$data/server.log" >&2; return 1; }
}

# Polls /readyz until 200 (or the process dies, or TIMEOUT seconds pass).
bench_wait_ready() {
  local port=$1 pid=$2 timeout=${3:-60}
  local deadline=$(( $(date +%s) + timeout ))
  while [ "$(date +%s)" -lt "$deadline" ]; do
    kill -0 "$pid" 2>/dev/null || return 1
    if [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz" 2>/dev/null)" = 200 ]; then return 0; fi
    sleep 0.05
  done
  return 1
}

# Stops the server gracefully (SIGTERM) and waits for it.
bench_stop_tack() {
  local pid=$1
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

median() { sort -n | awk '{a[NR]=$1} END {if (NR==0) {print "nan"} else if (NR%2) {print a[(NR+1)/2]} else {print (a[NR/2]+a[NR/2+1])/2}}'; }
