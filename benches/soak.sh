#!/usr/bin/env bash
# benches/soak.sh - load/soak run of `exwatch live` on a virtual SPAN port, and the same run
# for Suricata 7 (no rules) for comparison. Not a CI test: it runs for minutes and needs root.
#
# usage: benches/soak.sh [--seconds N] [--no-suricata] [MIX_PCAP] [EXWATCH_BIN]
#   MIX_PCAP     default: $MIX, else /work/bench/mix.pcap (shared/bench/make-mix.sh builds it)
#   EXWATCH_BIN  default: target/release/exwatch built with `--features live`
#   --seconds N  how long tcpreplay sends (default 180)
#
# A network namespace of its own holds a veth pair (rep0 -> cap0, MTU 65535, no IPv6
# autoconfiguration): nothing leaves the machine. tcpreplay preloads the capture and sends
# it into rep0 as fast as it can, looping with --unique-ip (each loop new addresses, so new
# flows: the flow table churns as on a real link), for N seconds. The sensor captures on
# cap0:
#   exwatch live -i cap0 --promisc --threads ${THREADS:-2} --stats-interval 10
#   suricata --af-packet=cap0 -S /dev/null (workers runmode, threads auto = 2 here)
# Each sensor's resident memory is sampled every 5 s. Reported per sensor: packets sent by
# tcpreplay and its rate, packets the sensor received and dropped (kernel, interface and,
# for exwatch, its worker queues), and resident memory over time (peak, and first vs last
# third: flat or growing). The raw outputs stay in the printed work directory.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SECS=180
SURICATA=yes
POS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) SECS=${2:?--seconds needs a number}; shift ;;
    --seconds=*) SECS=${1#--seconds=} ;;
    --no-suricata) SURICATA=no ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) POS+=("$1") ;;
  esac
  shift
done
MIX=${POS[0]:-${MIX:-/work/bench/mix.pcap}}
BIN=${POS[1]:-$ROOT/target/release/exwatch}
[ "$(id -u)" = 0 ] || { echo "soak.sh: needs root (network namespace, capture)" >&2; exit 2; }
for t in ip tcpreplay; do command -v $t >/dev/null || { echo "soak.sh: missing $t" >&2; exit 2; }; done
[ -r "$MIX" ] || { echo "soak.sh: no capture at $MIX" >&2; exit 2; }
if [ ! -x "$BIN" ] || ! "$BIN" live --help >/dev/null 2>&1; then
  (cd "$ROOT" && cargo build --release --features live)
fi
if [ $SURICATA = yes ] && ! command -v suricata >/dev/null; then
  echo "soak.sh: no suricata: running exwatch only" >&2; SURICATA=no
fi

NS=exwsoak$$
WORK=$(mktemp -d /tmp/exwatch-soak.XXXXXX)
cleanup() {
  [ -n "${SENSOR:-}" ] && kill -TERM "$SENSOR" 2>/dev/null || true
  ip netns del "$NS" 2>/dev/null || true
}
trap cleanup EXIT
ip netns add "$NS"
ip -n "$NS" link add rep0 type veth peer name cap0
for d in rep0 cap0; do
  ip -n "$NS" link set "$d" mtu 65535 up
  ip netns exec "$NS" sysctl -qw "net.ipv6.conf.$d.disable_ipv6=1"
done
ip -n "$NS" link set lo up

# rss PID FILE: resident KiB every 5 s while PID lives
rss() {
  while kill -0 "$1" 2>/dev/null; do
    awk -v t="$(date +%s)" '/^VmRSS/ {print t, $2}' "/proc/$1/status" 2>/dev/null >> "$2" || true
    sleep 5
  done
}

# replay NAME: tcpreplay into rep0 for SECS seconds, summary to $WORK/NAME.replay
replay() {
  ip netns exec "$NS" tcpreplay -q -i rep0 --topspeed --preload-pcap --loop=0 --unique-ip \
    --duration="$SECS" "$MIX" > "$WORK/$1.replay" 2>&1 || true
}

# memory NAME: peak, and the mean of the first and last third of the samples
memory() {
  awk '{ v[NR] = $2; if ($2 > max) max = $2 }
       END { n = NR; if (n < 3) { printf "peak %d MiB (%d samples)\n", max/1024, n; exit }
             k = int(n/3); for (i = 1; i <= k; i++) a += v[i]; for (i = n-k+1; i <= n; i++) b += v[i];
             printf "peak %d MiB; mean of first third %d MiB, last third %d MiB (%d samples, 5 s apart)\n",
                    max/1024, a/k/1024, b/k/1024, n }' "$WORK/$1.rss"
}

sent() { grep -E "Actual:|Rated:|Failed packets" "$WORK/$1.replay" | sed 's/^ */  tcpreplay: /'; }

# measure NAME WARMUP_S: the sensor $SENSOR started; let it settle, sample its memory while
# tcpreplay sends, stop it with SIGTERM, say what tcpreplay sent
measure() {
  sleep "$2"
  rss "$SENSOR" "$WORK/$1.rss" &
  replay "$1"
  sleep 5
  kill -TERM "$SENSOR"; wait "$SENSOR" || true; SENSOR=
  sent "$1"
}

echo "== exwatch ($BIN), $SECS s, work dir $WORK"
ip netns exec "$NS" "$BIN" live -i cap0 --promisc --threads ${THREADS:-2} --stats-interval 10 \
  -o "$WORK/exwatch.jsonl" 2> "$WORK/exwatch.stderr" &
SENSOR=$!
measure exwatch 2
grep '"event_type":"stats"' "$WORK/exwatch.jsonl" > "$WORK/exwatch.stats.jsonl" || true
python3 - "$WORK/exwatch.stats.jsonl" <<'EOF'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
last = recs[-1]
d = last.get("capture_drops", {})
print(f"  exwatch: received {d.get('received')} packets, processed {last['packets']}, "
      f"kernel dropped {d.get('kernel_dropped')}, interface dropped {d.get('interface_dropped')}, "
      f"worker queues dropped {d.get('queue_dropped')}; flows {last['flows']['total']}, "
      f"p99 per-packet time {last['packet_time_ns']['p99']} ns")
rates = []
for a, b in zip(recs, recs[1:]):
    if b.get("final"):
        break
    rates.append((b["capture_drops"]["received"] - a["capture_drops"]["received"]) / 10)
if rates:
    print(f"  exwatch: received packets/s per 10 s: min {min(rates):.0f}, max {max(rates):.0f}")
EOF
echo "  exwatch memory: $(memory exwatch)"
grep -i warning "$WORK/exwatch.stderr" | sed 's/^/  /' | tail -3 || true
rm -f "$WORK/exwatch.jsonl"

if [ $SURICATA = yes ]; then
  echo "== suricata $(suricata -V | grep -o '[0-9][0-9.]*' | head -1), no rules, $SECS s"
  mkdir -p "$WORK/suricata"
  ip netns exec "$NS" suricata --af-packet=cap0 -S /dev/null -k none -l "$WORK/suricata" \
    --set stats.interval=10 > "$WORK/suricata.stdout" 2>&1 &
  SENSOR=$!
  measure suricata 10
  awk -F'|' '/capture.kernel_packets|capture.kernel_drops|decoder.pkts / {gsub(/ /, "", $1); gsub(/ /, "", $3); v[$1] = $3}
             END { printf "  suricata: kernel packets %s, kernel drops %s, decoded %s\n",
                   v["capture.kernel_packets"], v["capture.kernel_drops"], v["decoder.pkts"] }' \
    "$WORK/suricata/stats.log"
  echo "  suricata memory: $(memory suricata)"
  rm -f "$WORK/suricata/eve.json"
fi
echo "raw outputs: $WORK"
