#!/usr/bin/env bash
# Memory per connection: opens N TCP connections to msrpd and to Kamailio 5.6 (same generated
# Example 1.18 config as compare-kamailio.sh, WORKERS workers), has each send one AUTH (answered
# 401, so every connection was read, parsed and routed once), and prints each relay's memory
# growth per connection (PSS summed over all its processes/threads, from /proc/PID/smaps_rollup,
# so Kamailio's shared memory is counted once).
#
#   bench/idle-connections.sh                 # N=8000 (the client and the relay share the fd limit)
#   N=9000 WORKERS=2 bench/idle-connections.sh
#
# Needs: a Release build (BUILD_DIR, default build/release; SKIP_BUILD=1 to use it as is),
# kamailio (apt), python3. The open-file limit must allow N descriptors in the relay and N here.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
source bench/lib.sh

N=${N:-8000}
WORKERS=${WORKERS:-1}
PORT_M=${PORT_M:-28565}
PORT_K=${PORT_K:-28566}
BUILD_DIR=${BUILD_DIR:-build/release}
KAMAILIO_MODULES=${KAMAILIO_MODULES:-/usr/lib/x86_64-linux-gnu/kamailio/modules/}

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  ensure_packages build interop
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$BUILD_DIR" --target msrpd -j"$(nproc)" >/dev/null
fi
ulimit -n "$(ulimit -Hn)"
need=$((N + 64))
[ "$(ulimit -n)" -ge "$need" ] || { echo "open-file limit $(ulimit -n) < $need: lower N" >&2; exit 2; }

work=$(mktemp -d)
pids=()
cleanup() {
  stop_pids
  rm -rf "$work"
}
trap cleanup EXIT

# relay_cfg PORT FILE [kamailio]: make_cfg (bench/lib.sh) plus the connection limits.
relay_cfg() {
  make_cfg "$1" "$2"
  # Kamailio's own limit on TCP connections (default 2048) would refuse the rest; its file limit
  # is a core parameter (msrpd raises its own to the hard limit at start).
  printf 'tcp_max_connections=%d\n' "$((N + 100))" >>"$2"
  [ "${3:-}" != kamailio ] || printf 'open_files_limit=%d\n' "$((N + 1000))" >>"$2"
}

measure() { # measure NAME PORT ROOTPID
  python3 - "$@" "$N" <<'PY'
import os, socket, sys, time
name, port, root, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])

def pids_of(root):
    kids = {}
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                ppid = int(open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            kids.setdefault(ppid, []).append(int(p))
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out

def pss_kb():
    total = 0
    for p in pids_of(root):
        try:
            for line in open(f"/proc/{p}/smaps_rollup"):
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total

time.sleep(0.5)
before = pss_kb()
socks = []
auth = (b"MSRP a%06d AUTH\r\nTo-Path: msrp://127.0.0.1:%d;tcp\r\n"
        b"From-Path: msrp://127.0.0.1:9/c%06d;tcp\r\n-------a%06d$\r\n")
t0 = time.time()
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(auth % (i, port, i, i))
    socks.append(s)
got = 0
for s in socks:
    data = b""
    while b"$\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    got += data.startswith(b"MSRP a") and b" 401 " in data.split(b"\r\n", 1)[0]
time.sleep(1.0)
after = pss_kb()
alive = sum(1 for s in socks if s.fileno() >= 0)
print(f"{name}: connections={n} answered_401={got} pss_before_kb={before} pss_after_kb={after} "
      f"per_connection_kb={(after - before) / n:.2f} setup_s={time.time() - t0:.1f}")
for s in socks:
    s.close()
sys.exit(0 if got == n else 1)
PY
}

relay_cfg "$PORT_M" "$work/msrpd.cfg"
relay_cfg "$PORT_K" "$work/kamailio.cfg" kamailio
echo "== $N connections, each one AUTH answered 401; workers=$WORKERS"
status=0
"$BUILD_DIR/apps/msrpd" -f "$work/msrpd.cfg" -n "$WORKERS" -E >"$work/msrpd.log" 2>&1 &
pids+=($!)
sleep 0.5
measure msrpd "$PORT_M" "${pids[-1]}" || status=1
mkdir -p "$work/kam"
kamailio -f "$work/kamailio.cfg" -DD -E -n "$WORKERS" -m 512 -M 32 -w "$work/kam" -P "$work/kam/pid" \
  -Y "$work/kam" >"$work/kamailio.log" 2>&1 &
pids+=($!)
sleep 1.5
measure kamailio "$PORT_K" "${pids[-1]}" || { status=1; tail -5 "$work/kamailio.log" >&2; }
exit "$status"
