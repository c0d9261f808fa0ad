#!/usr/bin/env bash
# benches/e2e.sh - end-to-end throughput of `exwatch read` on the benchmark capture,
# next to `tcpdump -r FILE -w /dev/null` (the floor: libpcap read + write, no parsing)
# and, optionally, Suricata 7 with no rules and nDPI's ndpiReader.
#
# usage: benches/e2e.sh [--peers|--no-peers] [--runs N] [MIX_PCAP] [EXWATCH_BIN]
#   MIX_PCAP     default: $MIX, else /work/bench/mix.pcap
#   EXWATCH_BIN  default: target/release/exwatch (built with `cargo build --release`
#                if missing); anything that accepts `read FILE -o OUT --threads N`
#   --peers      also run Suricata (no rules; --runmode single and autofp) and
#                ndpiReader; fail if they are not installed
#   --no-peers   skip them (default: run them when `suricata` / `ndpiReader` exist)
#   --runs N     timed runs per tool (default 3, env RUNS); the median wall time is used
#
# Each tool runs N times after `cat MIX > /dev/null` (page cache warm), timed with
# `/usr/bin/time -f '%e %M'` (wall s, peak RSS KiB). Packets/s uses the count from
# `capinfos -c -M` (falls back to counting with tcpdump).
#
# Build the capture (outside the repo, ~1.5 GB) with shared/bench/make-mix.sh:
#   mkdir -p /work/bench && cd /work/bench && \
#     WORK=/work/bench/work bash ../shared/bench/make-mix.sh /work/bench/mix.pcap
# expected: 2,917,500 packets, 1,510,538,841 bytes,
#   sha256 8eb79bc4f2d1455c8af30354d3852d8212b5ea27868e94d742e4e7dbb3245763
# Tools (Debian 12): apt-get install tcpdump tshark time; peers:
#   suricata from bookworm-backports (apt-get install -t bookworm-backports suricata),
#   libndpi-bin (ndpiReader).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
RUNS=${RUNS:-3}
PEERS=auto
POS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --peers) PEERS=yes ;;
    --no-peers) PEERS=no ;;
    --runs) RUNS=${2:?--runs needs a number}; shift ;;
    --runs=*) RUNS=${1#--runs=} ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    --) shift; POS+=("$@"); break ;;
    -*) echo "e2e.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) POS+=("$1") ;;
  esac
  shift
done
MIX_PCAP=${POS[0]:-${MIX:-/work/bench/mix.pcap}}
EXWATCH_BIN=${POS[1]:-}
case "$RUNS" in ''|*[!0-9]*|0) echo "e2e.sh: --runs must be a positive integer" >&2; exit 2 ;; esac

die() { echo "e2e.sh: $*" >&2; exit 1; }

# ---- prerequisites --------------------------------------------------------------------
if [ ! -f "$MIX_PCAP" ]; then
  MAKE_MIX=$(cd "$ROOT/.." && pwd)/shared/bench/make-mix.sh
  die "capture not found: $MIX_PCAP
  build it (outside the repo) with ../shared/bench/make-mix.sh, e.g.
    mkdir -p /work/bench && cd /work/bench && WORK=/work/bench/work bash $MAKE_MIX /work/bench/mix.pcap
  (needs tcprewrite from tcpreplay and editcap/mergecap/capinfos from tshark), or pass MIX_PCAP / set MIX="
fi
[ -x /usr/bin/time ] || die "/usr/bin/time not found (GNU time): apt-get install time"
command -v tcpdump >/dev/null || die "tcpdump not found: apt-get install tcpdump"

if [ -z "$EXWATCH_BIN" ]; then
  EXWATCH_BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/exwatch
  if [ ! -x "$EXWATCH_BIN" ]; then
    echo "e2e.sh: $EXWATCH_BIN missing; running cargo build --release" >&2
    (cd "$ROOT" && cargo build --release) || die "cargo build --release failed"
    [ -x "$EXWATCH_BIN" ] || die "cargo build --release did not produce $EXWATCH_BIN"
  elif [ -n "$(find "$ROOT/src" "$ROOT/Cargo.toml" -newer "$EXWATCH_BIN" -print -quit 2>/dev/null)" ]; then
    echo "e2e.sh: warning: $EXWATCH_BIN is older than the sources (run cargo build --release)" >&2
  fi
else
  if [ ! -x "$EXWATCH_BIN" ]; then
    EXWATCH_BIN=$(command -v "$EXWATCH_BIN" 2>/dev/null) || die "exwatch binary not found/executable: ${POS[1]}"
  fi
fi

HAVE_SURI=no; HAVE_NDPI=no
command -v suricata >/dev/null && HAVE_SURI=yes
command -v ndpiReader >/dev/null && HAVE_NDPI=yes
if [ "$PEERS" = yes ]; then
  [ $HAVE_SURI = yes ] || die "--peers: suricata not found (apt-get install -t bookworm-backports suricata)"
  [ $HAVE_NDPI = yes ] || die "--peers: ndpiReader not found (apt-get install libndpi-bin)"
elif [ "$PEERS" = no ]; then
  HAVE_SURI=no; HAVE_NDPI=no
fi

# ---- packet count -----------------------------------------------------------------------
PKTS=""
if command -v capinfos >/dev/null; then
  PKTS=$(capinfos -c -M "$MIX_PCAP" 2>/dev/null | awk -F: '/Number of packets/ {gsub(/[^0-9]/, "", $2); print $2}')
fi
if [ -z "$PKTS" ]; then
  echo "e2e.sh: capinfos unavailable; counting packets with tcpdump" >&2
  PKTS=$(tcpdump -r "$MIX_PCAP" -nq 2>/dev/null | wc -l)
fi
SIZE=$(stat -c %s "$MIX_PCAP")

# ---- timing -------------------------------------------------------------------------------
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
FAILED=0
ROWS=()   # "name|median_wall|peak_rss_kib"

median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2]+a[NR/2+1])/2}'; }

# bench NAME CMD... : RUNS timed runs; records median wall and max peak RSS
bench() {
  local name=$1; shift
  local walls=() rss=0 i w m
  printf '%-22s' "$name" >&2
  for i in $(seq 1 "$RUNS"); do
    rm -rf "$TMP/out"; mkdir -p "$TMP/out"
    if ! /usr/bin/time -o "$TMP/time" -f '%e %M' "$@" >"$TMP/log" 2>&1; then
      echo " FAILED (run $i): $*" >&2
      tail -n 5 "$TMP/log" | sed 's/^/    /' >&2
      FAILED=1
      ROWS+=("$name|FAIL|0")
      return 0
    fi
    read -r w m < <(tail -n 1 "$TMP/time")
    walls+=("$w")
    [ "$m" -gt "$rss" ] && rss=$m
    printf ' %6.2fs' "$w" >&2
  done
  echo >&2
  ROWS+=("$name|$(printf '%s\n' "${walls[@]}" | median)|$rss")
}

echo "capture: $MIX_PCAP ($PKTS packets, $SIZE bytes); runs: $RUNS; cores: $(nproc)" >&2
echo "exwatch: $EXWATCH_BIN" >&2
echo "warming page cache..." >&2
cat "$MIX_PCAP" > /dev/null

bench "tcpdump" tcpdump -r "$MIX_PCAP" -w /dev/null
bench "exwatch --threads 1" "$EXWATCH_BIN" read "$MIX_PCAP" --threads 1 -o /dev/null
bench "exwatch --threads 2" "$EXWATCH_BIN" read "$MIX_PCAP" --threads 2 -o /dev/null
if [ $HAVE_SURI = yes ]; then
  # no rules (-S /dev/null), default eve logging, into a scratch log dir
  bench "suricata single" suricata -r "$MIX_PCAP" -S /dev/null -l "$TMP/out" --runmode single
  bench "suricata autofp" suricata -r "$MIX_PCAP" -S /dev/null -l "$TMP/out" --runmode autofp
fi
if [ $HAVE_NDPI = yes ]; then
  bench "ndpiReader" ndpiReader -i "$MIX_PCAP" -q
fi

# ---- report -------------------------------------------------------------------------------
TCPDUMP_WALL=$(printf '%s\n' "${ROWS[0]}" | cut -d'|' -f2)
echo
printf '%-22s %12s %14s %14s %10s\n' tool "median wall s" "peak RSS MiB" "packets/s" "x tcpdump"
for r in "${ROWS[@]}"; do
  IFS='|' read -r name wall rss <<<"$r"
  if [ "$wall" = FAIL ]; then
    printf '%-22s %12s %14s %14s %10s\n' "$name" FAILED - - -
    continue
  fi
  awk -v n="$name" -v w="$wall" -v r="$rss" -v p="$PKTS" -v t="$TCPDUMP_WALL" 'BEGIN {
    pps = (w > 0) ? sprintf("%.0f", p / w) : "inf";
    x = (t != "FAIL" && t > 0) ? sprintf("%.2f", w / t) : "-";
    printf "%-22s %12.2f %14.1f %14s %10s\n", n, w, r / 1024, pps, x }'
done
echo
for r in "${ROWS[@]}"; do
  IFS='|' read -r name wall rss <<<"$r"
  case "$name" in exwatch*) ;; *) continue ;; esac
  if [ "$wall" = FAIL ] || [ "$TCPDUMP_WALL" = FAIL ]; then
    echo "ratio $name / tcpdump: n/a"
  else
    awk -v n="$name" -v w="$wall" -v t="$TCPDUMP_WALL" 'BEGIN { printf "ratio %s / tcpdump: %.2f\n", n, (t > 0 ? w / t : 0) }'
  fi
done
exit $FAILED
