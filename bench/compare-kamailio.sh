#!/usr/bin/env bash
# msrpd against Kamailio 5.6 (Debian's kamailio package) in one run: both run the same routing
# script (the seed's Example 1.18, with mi_fifo dropped because Kamailio 5.6 has no such module),
# with the same number of workers, under the same msrpbench load; prints both results and the
# frames/s ratio.
#
#   bench/compare-kamailio.sh                      # defaults below
#   WORKERS=2 PAIRS=50 WINDOW=8 SIZE=1024 DURATION=10 bench/compare-kamailio.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
ensure_packages build interop
build build/release Release >/dev/null

WORKERS=${WORKERS:-2}
PAIRS=${PAIRS:-50}
WINDOW=${WINDOW:-8}
SIZE=${SIZE:-1024}
DURATION=${DURATION:-10}
THREADS=${THREADS:-1}
PORT_M=${PORT_M:-28555}
PORT_K=${PORT_K:-28556}
KAMAILIO_MODULES=${KAMAILIO_MODULES:-/usr/lib/x86_64-linux-gnu/kamailio/modules/}

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 0.5
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# make_cfg PORT FILE: Example 1.18 for this run. use_path_addr is given as host:port, as Kamailio's
# own documentation of the parameter says (Kamailio would double a scheme written in it).
make_cfg() {
  sed -e '/mi_fifo/d' \
      -e "s|^listen=.*|listen=tcp:127.0.0.1:$1|" \
      -e "s|^mpath=.*|mpath=\"$KAMAILIO_MODULES\"|" \
      -e "s|^children=.*|children=$WORKERS|" \
      -e "s|\"use_path_addr\", \".*\"|\"use_path_addr\", \"127.0.0.1:$1\"|" \
      examples/kamailio-1.18.cfg >"$2"
}

wait_port() {
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "port $1 never opened" >&2
  return 1
}

bench() { # bench PORT -> prints msrpbench's result line
  build/release/apps/msrpbench --port "$1" --pairs "$PAIRS" --window "$WINDOW" --size "$SIZE" \
    --duration "$DURATION" --threads "$THREADS" | tail -1
}

fps() { sed -n 's/.*frames\/s=\([0-9.]*\).*/\1/p'; }

make_cfg "$PORT_M" "$work/msrpd.cfg"
make_cfg "$PORT_K" "$work/kamailio.cfg"

echo "== load: pairs=$PAIRS window=$WINDOW size=$SIZE duration=${DURATION}s workers=$WORKERS bench-threads=$THREADS"
echo "== machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p')"

build/release/apps/msrpd -f "$work/msrpd.cfg" -n "$WORKERS" -E >"$work/msrpd.log" 2>&1 &
pids+=($!)
wait_port "$PORT_M"
m=$(bench "$PORT_M")
echo "msrpd:    $m"
kill "${pids[0]}"

mkdir -p "$work/kam"
kamailio -f "$work/kamailio.cfg" -DD -E -n "$WORKERS" -m 256 -M 32 -w "$work/kam" -P "$work/kam/pid" \
  -Y "$work/kam" >"$work/kamailio.log" 2>&1 &
pids+=($!)
wait_port "$PORT_K"
k=$(bench "$PORT_K")
echo "kamailio: $k"

mf=$(echo "$m" | fps)
kf=$(echo "$k" | fps)
if [ -n "$mf" ] && [ -n "$kf" ] && [ "${kf%.*}" -gt 0 ]; then
  echo "ratio msrpd/kamailio frames/s: $(python3 -c "print(f'{$mf/$kf:.2f}')")"
else
  echo "ratio: n/a (see $work logs)"
  tail -20 "$work/kamailio.log" >&2
fi
