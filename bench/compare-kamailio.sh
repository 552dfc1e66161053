#!/usr/bin/env bash
# msrpd against Kamailio 5.6 (Debian's kamailio package) in one run: both run the same routing
# script (the seed's Example 1.18, with mi_fifo dropped because Kamailio 5.6 has no such module),
# with the same number of workers, under the same msrpbench load; prints both results, the CPU
# time each relay used, and the frames/s ratio.
#
#   bench/compare-kamailio.sh                      # defaults below
#   WORKERS=2 PAIRS=50 WINDOW=8 SIZE=1024 DURATION=10 bench/compare-kamailio.sh
#   REPEAT=5 WORKERS=2 bench/compare-kamailio.sh  # five alternating pairs of runs, median ratio
#
# Environment:
#   WORKERS PAIRS WINDOW SIZE DURATION THREADS   the load (THREADS = msrpbench epoll threads)
#   REPEAT (1)                                   msrpd/Kamailio run pairs; the ratios printed last
#                                                are the medians (with min and max) over them
#   BUILD_DIR (build/release)  SKIP_BUILD=1      where msrpd and msrpbench are (built Release)
#   RELAY_CPUS BENCH_CPUS                        taskset CPU lists for the relay (all its threads
#                                                or processes) and for msrpbench. Default: with
#                                                WORKERS=1 on >= 2 CPUs, relay on CPU 0 and
#                                                msrpbench on CPU 1 (so frames/s is per relay
#                                                core); otherwise no pinning. "none" = no pinning.
#
# Exit status: 0 when both runs delivered frames with no errors and no misrouted frames.
# Each relay's CPU time (user+system of all its processes/threads, from /proc) is printed too:
# "frames/cpu-s" = delivered frames per CPU second the relay used, a per-core figure that does not
# depend on how the load generator shares the machine.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
source bench/lib.sh

WORKERS=${WORKERS:-2}
PAIRS=${PAIRS:-50}
WINDOW=${WINDOW:-8}
SIZE=${SIZE:-1024}
DURATION=${DURATION:-10}
THREADS=${THREADS:-1}
REPEAT=${REPEAT:-1}
PORT_M=${PORT_M:-28555}
PORT_K=${PORT_K:-28556}
BUILD_DIR=${BUILD_DIR:-build/release}
KAMAILIO_MODULES=${KAMAILIO_MODULES:-/usr/lib/x86_64-linux-gnu/kamailio/modules/}
if [ "$WORKERS" -eq 1 ] && [ "$(nproc)" -ge 2 ]; then
  RELAY_CPUS=${RELAY_CPUS:-0}
  BENCH_CPUS=${BENCH_CPUS:-1}
fi
RELAY_CPUS=${RELAY_CPUS:-none}
BENCH_CPUS=${BENCH_CPUS:-none}

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  ensure_packages build interop
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$BUILD_DIR" --target msrpd msrpbench -j"$(nproc)" >/dev/null
fi
MSRPD=$BUILD_DIR/apps/msrpd
MSRPBENCH=$BUILD_DIR/apps/msrpbench
for b in "$MSRPD" "$MSRPBENCH"; do
  [ -x "$b" ] || { echo "missing $b (build it, or unset SKIP_BUILD)" >&2; exit 2; }
done
command -v kamailio >/dev/null || { echo "kamailio is not installed (apt-get install kamailio)" >&2; exit 2; }

# taskset prefixes (taskset execs the program, so $! of "${relay_pin[@]}" prog & is the relay itself).
relay_pin=()
bench_pin=()
[ "$RELAY_CPUS" = none ] || relay_pin=(taskset -c "$RELAY_CPUS")
[ "$BENCH_CPUS" = none ] || bench_pin=(taskset -c "$BENCH_CPUS")

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in "$PORT_M" "$PORT_K"; do
  # A relay left on the port would share it (SO_REUSEPORT) and take half the connections.
  port_free "$p" || { echo "port $p is in use: stop whatever listens there first" >&2; exit 2; }
done

work=$(mktemp -d)
pids=()
cleanup() {
  stop_pids
  if [ "${KEEP_LOGS:-0}" = 1 ]; then echo "logs kept in $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

wait_port() { # wait_port PORT PID
  for _ in $(seq 1 100); do
    kill -0 "$2" 2>/dev/null || { echo "relay (pid $2) exited before opening port $1" >&2; return 1; }
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "port $1 never opened" >&2
  return 1
}

# cpu_ticks PID: user+system clock ticks of PID and all its descendants (threads included).
cpu_ticks() {
  local all
  all=$(cat /proc/[0-9]*/stat 2>/dev/null || true)
  echo "$all" | awk -v root="$1" '
    { # comm (field 2) has no spaces for msrpd and kamailio
      pid = $1; ppid[pid] = $4; t[pid] = $14 + $15 }
    END {
      sum = 0
      for (p in t) { q = p; while (q != "" && q != 0 && q != root) q = ppid[q]; if (q == root) sum += t[p] }
      print sum }'
}

# bench NAME PORT RELAY_PID: runs msrpbench, prints its result line plus the relay's CPU use, and
# checks the result (exit status 1 on errors, misrouted or no frames).
bench() {
  local name=$1 port=$2 relay=$3 rc=0 c0 c1 hz line
  hz=$(getconf CLK_TCK)
  c0=$(cpu_ticks "$relay")
  "${bench_pin[@]}" "$MSRPBENCH" --port "$port" --pairs "$PAIRS" --window "$WINDOW" --size "$SIZE" \
    --duration "$DURATION" --threads "$THREADS" >"$work/$name.bench" 2>&1 || rc=$?
  c1=$(cpu_ticks "$relay")
  line=$(grep '^frames/s=' "$work/$name.bench" | tail -1 || true)
  if [ -z "$line" ]; then
    echo "$name: msrpbench failed (exit $rc):" >&2
    tail -5 "$work/$name.bench" >&2
    return 1
  fi
  local delivered cpu
  delivered=$(echo "$line" | sed -n 's/.*delivered=\([0-9]*\).*/\1/p')
  cpu=$(python3 -c "print(f'{($c1 - $c0) / $hz:.2f}')")
  echo "$line relay_cpu_s=$cpu frames/cpu-s=$(python3 -c "
c = ($c1 - $c0) / $hz
print(f'{$delivered / c:.0f}' if c > 0 else 'n/a')")"
  kill -0 "$relay" 2>/dev/null || { echo "$name: the relay died during the run" >&2; return 1; }
  if [ "$rc" -ne 0 ] || [ "${delivered:-0}" -eq 0 ]; then
    echo "$name: msrpbench reported errors (exit $rc):" >&2
    grep -v '^frames/s=\|^pairs=' "$work/$name.bench" | tail -5 >&2 || true
    return 1
  fi
}

fps() { sed -n 's/^frames\/s=\([0-9.]*\).*/\1/p'; }
cpufps() { sed -n 's/.*frames\/cpu-s=\([0-9.]*\).*/\1/p'; }

make_cfg "$PORT_M" "$work/msrpd.cfg"
make_cfg "$PORT_K" "$work/kamailio.cfg"

echo "== load: pairs=$PAIRS window=$WINDOW size=$SIZE duration=${DURATION}s workers=$WORKERS bench-threads=$THREADS"
echo "== machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), loadavg $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== pinning: relay cpus=$RELAY_CPUS msrpbench cpus=$BENCH_CPUS"
status=0

# run_once N: one msrpd run then one Kamailio run under the same load; appends the frames/s and
# frames/cpu-s ratios of the pair to $work/ratios.
run_once() {
  local n=$1 m k mpid kpid
  "${relay_pin[@]}" "$MSRPD" -f "$work/msrpd.cfg" -n "$WORKERS" -E >"$work/msrpd.log" 2>&1 &
  mpid=$!
  pids+=("$mpid")
  wait_port "$PORT_M" "$mpid" || { tail -20 "$work/msrpd.log" >&2; exit 1; }
  m=$(bench msrpd "$PORT_M" "$mpid") || status=1
  echo "msrpd:    $m"
  kill "$mpid"
  wait "$mpid" 2>/dev/null || true
  for _ in $(seq 1 50); do port_free "$PORT_M" && break; sleep 0.1; done

  rm -rf "$work/kam"
  mkdir -p "$work/kam"
  "${relay_pin[@]}" kamailio -f "$work/kamailio.cfg" -DD -E -n "$WORKERS" -m 256 -M 32 -w "$work/kam" \
    -P "$work/kam/pid" -Y "$work/kam" >"$work/kamailio.log" 2>&1 &
  kpid=$!
  pids+=("$kpid")
  wait_port "$PORT_K" "$kpid" || { tail -20 "$work/kamailio.log" >&2; exit 1; }
  k=$(bench kamailio "$PORT_K" "$kpid") || status=1
  echo "kamailio: $k"
  [ "$status" -eq 0 ] || tail -20 "$work/kamailio.log" >&2
  kill "$kpid"
  wait "$kpid" 2>/dev/null || true
  for _ in $(seq 1 50); do port_free "$PORT_K" && break; sleep 0.1; done

  local mf kf mc kc r rc
  mf=$(echo "$m" | fps)
  kf=$(echo "$k" | fps)
  mc=$(echo "$m" | cpufps)
  kc=$(echo "$k" | cpufps)
  if [ -n "$mf" ] && [ -n "$kf" ] && [ "${kf%.*}" -gt 0 ]; then
    r=$(python3 -c "print(f'{$mf/$kf:.2f}')")
    rc=n/a
    if [ -n "$mc" ] && [ -n "$kc" ] && [ "${kc%.*}" -gt 0 ]; then rc=$(python3 -c "print(f'{$mc/$kc:.2f}')"); fi
    echo "run $n: ratio msrpd/kamailio frames/s: $r  per relay CPU second: $rc"
    echo "$r $rc" >>"$work/ratios"
  else
    echo "run $n: ratio: n/a"
    status=1
  fi
}

: >"$work/ratios"
for n in $(seq 1 "$REPEAT"); do run_once "$n"; done
if [ -s "$work/ratios" ]; then
  python3 - "$work/ratios" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1]) if line.strip()]
fps = sorted(float(r[0]) for r in rows)
cpu = sorted(float(r[1]) for r in rows if r[1] != "n/a")
print(f"ratio msrpd/kamailio frames/s: {statistics.median(fps):.2f}"
      + (f" (median of {len(fps)} runs, min {fps[0]:.2f}, max {fps[-1]:.2f})" if len(fps) > 1 else ""))
if cpu:
    print(f"ratio msrpd/kamailio frames per relay CPU second: {statistics.median(cpu):.2f}"
          + (f" (median of {len(cpu)} runs, min {cpu[0]:.2f}, max {cpu[-1]:.2f})" if len(cpu) > 1 else ""))
PY
fi
exit "$status"
