# Shared by the bench scripts (sourced after scripts/lib.sh). Callers set WORKERS and
# KAMAILIO_MODULES, and an array `pids` of the processes cleanup_pids stops.

# make_cfg PORT FILE: the seed's Example 1.18 for one relay of a run (msrpd or Kamailio), on
# 127.0.0.1:PORT with WORKERS children. mi_fifo is dropped (Kamailio 5.6 has no such module);
# use_path_addr is given as host:port, as Kamailio's own documentation of the parameter says
# (Kamailio would double a scheme written in it; msrpd accepts both).
make_cfg() {
  sed -e '/mi_fifo/d' \
      -e "s|^listen=.*|listen=tcp:127.0.0.1:$1|" \
      -e "s|^mpath=.*|mpath=\"$KAMAILIO_MODULES\"|" \
      -e "s|^children=.*|children=$WORKERS|" \
      -e "s|\"use_path_addr\", \".*\"|\"use_path_addr\", \"127.0.0.1:$1\"|" \
      examples/kamailio-1.18.cfg >"$2"
  grep -q "use_path_addr\", \"127.0.0.1:$1\"" "$2" || { echo "make_cfg: use_path_addr not rewritten" >&2; exit 2; }
}

# Stops every process in `pids`: TERM, then KILL what is left.
stop_pids() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 0.5
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
}
