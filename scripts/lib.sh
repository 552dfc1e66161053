# Shared by scripts/run and scripts/test. Source it; it changes nothing until a function is called.
# shellcheck shell=bash

MSRPD_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# ensure_packages GROUP...: apt-get install -y whatever of those groups (scripts/packages) is missing.
ensure_packages() {
  local want=() missing=() group pkg
  for group in "$@"; do
    # shellcheck disable=SC2207
    want+=($(awk -v g="$group" '$1 == g { for (i = 2; i <= NF; i++) print $i }' "$MSRPD_ROOT/scripts/packages"))
  done
  for pkg in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "== installing: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq || true
  $sudo apt-get install -y -qq "${missing[@]}"
}

# build DIR BUILD_TYPE [cmake args...]: configure and build DIR (everything, or only the targets
# named in $BUILD_TARGETS).
build() {
  local dir=$1 type=$2 targets=()
  shift 2
  cmake -S "$MSRPD_ROOT" -B "$MSRPD_ROOT/$dir" -DCMAKE_BUILD_TYPE="$type" "$@" >/dev/null
  # shellcheck disable=SC2206
  [ -n "${BUILD_TARGETS:-}" ] && targets=(--target $BUILD_TARGETS)
  cmake --build "$MSRPD_ROOT/$dir" -j"$(nproc)" "${targets[@]}"
}
