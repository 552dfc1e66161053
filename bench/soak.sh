#!/usr/bin/env bash
# The soak of issue 12: starts the real msrpd (Release) with etc/msrpd.cfg (the default config, on
# its own port), runs build/bench/soak against it (bench/soak.cpp says what it sends and checks),
# samples msrpd's RSS (/proc/PID/status VmRSS) before, every second during the run and after,
# and prints a summary and a verdict: the driver's checks passed, msrpd stayed up, and its RSS came
# back to within RSS_SLACK_MB of its start.
#
#   bench/soak.sh                                  # 1,000,000 frames, 1,000 sessions, 5 % kills
#   SOAK_FRAMES=20000 bench/soak.sh                # a short run (a few minutes)
#   SOAK_FRAMES=20000 SOAK_MAX_SIZE=65536 bench/soak.sh
#
# Environment (defaults in brackets):
#   SOAK_FRAMES [1000000] SOAK_SESSIONS [1000] SOAK_MIN_SIZE [1] SOAK_MAX_SIZE [1048576]
#   SOAK_MAX_CHUNKS [4]   chunks per message (1..N)     SOAK_KILL_PCT [5]  % of the 2 S clients killed
#   SOAK_SEED [1]         the plan (sizes, kills) is a function of it: rerun a failure with its seed
#   SOAK_THREADS [1]      driver threads                SOAK_GRACE [40]    seconds without progress = stuck
#   SOAK_ONE_HOP [0]      1: only receivers AUTH, senders write to the receiver's Use-Path directly
#                         (default: both AUTH and messages pass the relay twice, RFC 4976 §5)
#   CONFIG [etc/msrpd.cfg] (its 127.0.0.1:2855 is rewritten to 127.0.0.1:PORT)  PORT [28575]
#   WORKERS [from the config]  BUILD_DIR [build/release]  SKIP_BUILD=1  KEEP_LOGS=1
#   RSS_SLACK_MB [6]      allowed growth of msrpd's RSS from start to end ("within a few MB"). Its
#                         anonymous part (RssAnon: the heaps) is printed too: the file-backed part
#                         (code pages of msrpd and its libraries) depends on the page cache at start
#   SETTLE [10]           seconds after the run before the last RSS sample
#
# Exit status 0 on PASS. Not part of CI (a full run takes far longer than CI's 30 minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
source bench/lib.sh

PORT=${PORT:-28575}
CONFIG=${CONFIG:-etc/msrpd.cfg}
BUILD_DIR=${BUILD_DIR:-build/release}
RSS_SLACK_MB=${RSS_SLACK_MB:-6}
SETTLE=${SETTLE:-10}

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  ensure_packages build
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$BUILD_DIR" --target msrpd soak -j"$(nproc)" >/dev/null
fi
MSRPD=$BUILD_DIR/apps/msrpd
SOAK=$BUILD_DIR/bench/soak
for b in "$MSRPD" "$SOAK"; do
  [ -x "$b" ] || { echo "missing $b (build it, or unset SKIP_BUILD)" >&2; exit 2; }
done
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port_free "$PORT" || { echo "port $PORT is in use: stop whatever listens there first" >&2; exit 2; }
ulimit -n "$(ulimit -Hn)"

work=$(mktemp -d)
pids=()
cleanup() {
  stop_pids
  if [ "${KEEP_LOGS:-0}" = 1 ]; then echo "logs kept in $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

# The port, and the control socket in the work folder (not the default /run/msrpd/msrpd_ctl, which
# another msrpd on this machine may hold).
sed -e "s/127\.0\.0\.1:2855\b/127.0.0.1:$PORT/g" \
    -e "s|^loadmodule \"ctl.so\"|&\nmodparam(\"ctl\", \"binrpc\", \"unix:$work/ctl.sock\")|" \
    "$CONFIG" >"$work/msrpd.cfg"
grep -q "127.0.0.1:$PORT" "$work/msrpd.cfg" || { echo "$CONFIG: no 127.0.0.1:2855 to rewrite" >&2; exit 2; }
args=(-f "$work/msrpd.cfg" -E)
[ -z "${WORKERS:-}" ] || args+=(-n "$WORKERS")
"$MSRPD" "${args[@]}" >"$work/msrpd.log" 2>&1 &
relay=$!
pids+=("$relay")
for _ in $(seq 1 100); do
  kill -0 "$relay" 2>/dev/null || { echo "msrpd exited at start:" >&2; tail -20 "$work/msrpd.log" >&2; exit 1; }
  port_free "$PORT" || break
  sleep 0.1
done
sleep 1

rss_kb() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$1/status" 2>/dev/null || echo 0; }
anon_kb() { sed -n 's/^RssAnon:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$1/status" 2>/dev/null || echo 0; }
cpu_s() { # user+system seconds of PID (all its threads)
  awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); print ($12 + $13) / hz }' "/proc/$1/stat"
}
rss_start=$(rss_kb "$relay")
anon_start=$(anon_kb "$relay")
cpu_start=$(cpu_s "$relay")
( while kill -0 "$relay" 2>/dev/null; do echo "$(date +%s) $(rss_kb "$relay")"; sleep 1; done ) >"$work/rss" &
pids+=($!)

soak_args=(--port "$PORT" --frames "${SOAK_FRAMES:-1000000}" --sessions "${SOAK_SESSIONS:-1000}"
  --min-size "${SOAK_MIN_SIZE:-1}" --max-size "${SOAK_MAX_SIZE:-1048576}" --max-chunks "${SOAK_MAX_CHUNKS:-4}"
  --kill-pct "${SOAK_KILL_PCT:-5}" --seed "${SOAK_SEED:-1}" --threads "${SOAK_THREADS:-1}"
  --grace "${SOAK_GRACE:-40}")
[ "${SOAK_ONE_HOP:-0}" != 1 ] || soak_args+=(--one-hop)
echo "== $(date -u '+%Y-%m-%d %H:%M UTC') $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), loadavg $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== msrpd ${args[*]} (pid $relay), RSS at start ${rss_start} KiB"
echo "== $SOAK ${soak_args[*]}"
t0=$(date +%s)
rc=0
"$SOAK" "${soak_args[@]}" 2>"$work/soak.progress" | tee "$work/soak.out" || rc=$?
t1=$(date +%s)
alive=1
kill -0 "$relay" 2>/dev/null || alive=0
sleep "$SETTLE"
rss_end=$(rss_kb "$relay")
anon_end=$(anon_kb "$relay")
[ "$alive" = 1 ] && kill -0 "$relay" 2>/dev/null || alive=0
cpu_end=$(cpu_s "$relay" 2>/dev/null || echo "$cpu_start")
rss_peak=$(awk 'BEGIN { m = 0 } $2 > m { m = $2 } END { print m }' "$work/rss")
hwm=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$relay/status" 2>/dev/null || echo "?")
growth=$((rss_end - rss_start))
echo "== msrpd: RSS start ${rss_start} KiB, peak ${rss_peak} KiB (sampled each second; VmHWM ${hwm} KiB), end ${rss_end} KiB ${SETTLE} s after the run (growth ${growth} KiB); anonymous ${anon_start} -> ${anon_end} KiB"
echo "== msrpd: CPU $(python3 -c "print(f'{$cpu_end - $cpu_start:.1f}')") s in $((t1 - t0)) s; loadavg at the end $(cut -d' ' -f1-3 /proc/loadavg); $(grep -c ' WARN \| ERR ' "$work/msrpd.log" || true) warning/error lines in its log"
status=0
[ "$rc" = 0 ] || { echo "== FAIL: the soak driver reported problems (exit $rc)"; status=1; }
[ "$alive" = 1 ] || { echo "== FAIL: msrpd died"; tail -20 "$work/msrpd.log"; status=1; }
if [ "$growth" -gt $((RSS_SLACK_MB * 1024)) ]; then
  echo "== FAIL: msrpd's RSS grew by ${growth} KiB (over ${RSS_SLACK_MB} MB)"
  status=1
fi
[ "$status" = 0 ] && echo "== soak: PASS" || echo "== soak: FAIL"
exit "$status"
