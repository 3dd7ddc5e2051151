#!/usr/bin/env bash
# Load test of the example proxy (examples/proxy.rs) on loopback, key derivation ON (the
# stickykey layer reads each body, the Router picks the upstream) against OFF (round robin, the
# body streamed through unread), with oha (crates.io). Not run in CI.
#
#   examples/proxy-load.sh [REQUESTS] [CONCURRENCY] [SIZES...]
#   examples/proxy-load.sh 20000 32 8192 204800     # the defaults
#
# Every request goes to 127.0.0.1 only; each oha run is bounded by its request count. Prints one
# table line per (body, mode): p50, p99 (ms), requests per second; raw oha JSON stays in $OUT.
set -euo pipefail
cd "$(dirname "$0")/.."

REQUESTS=${1:-20000}
CONCURRENCY=${2:-32}
shift $(( $# < 2 ? $# : 2 ))
SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(8192 204800)
PORT=${PORT:-18480}
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"

command -v oha >/dev/null || cargo install oha --locked
cargo build --release --features tower --example proxy
BIN=${CARGO_TARGET_DIR:-target}/release/examples/proxy

for size in "${SIZES[@]}"; do
    "$BIN" body "$size" > "$OUT/body-$size.json"
done

wait_port() {
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "proxy did not start on port $1" >&2
    return 1
}

summary() { # oha JSON file -> "p50_ms p99_ms rps status-codes"
    python3 - "$1" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
p, s = d["latencyPercentiles"], d["summary"]
codes = ",".join(f"{k}:{v}" for k, v in sorted(d["statusCodeDistribution"].items()))
print(f"{p['p50'] * 1e3:.2f} {p['p99'] * 1e3:.2f} {s['requestsPerSec']:.0f} {codes}")
PY
}

echo "# $(date -u +%FT%TZ) requests=$REQUESTS concurrency=$CONCURRENCY oha=$(oha --version)"
echo "# uptime before: $(uptime)"
echo "| body | key derivation | p50 ms | p99 ms | req/s | statuses |"
echo "|---|---|---:|---:|---:|---:|"
for size in "${SIZES[@]}"; do
    body="$OUT/body-$size.json"
    bytes=$(wc -c < "$body")
    for mode in key round-robin; do
        "$BIN" serve --port "$PORT" --mode "$mode" > "$OUT/proxy-$mode-$size.log" &
        pid=$!
        wait_port "$PORT"
        url="http://127.0.0.1:$PORT/v1/chat/completions"
        args=(-c "$CONCURRENCY" -m POST -H "content-type: application/json" -D "$body" --no-tui)
        oha -n 1000 "${args[@]}" "$url" > /dev/null # warm-up: connections, pools, caches
        oha -n "$REQUESTS" "${args[@]}" --output-format json "$url" > "$OUT/oha-$mode-$size.json"
        kill "$pid"
        wait "$pid" 2>/dev/null || true
        read -r p50 p99 rps codes < <(summary "$OUT/oha-$mode-$size.json")
        label=$([ "$mode" = key ] && echo "ON (layer + Router)" || echo "OFF (round robin)")
        echo "| $bytes B | $label | $p50 | $p99 | $rps | $codes |"
    done
done
echo "# uptime after: $(uptime)"
echo "# raw results: $OUT"
