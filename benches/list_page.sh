#!/usr/bin/env bash
# Load test of the promo code list with 1,000,000 codes in one brand.
#
#   benches/list_page.sh [ROWS]        (default 1000000)
#
# Builds the release binary, starts it with a private PostgreSQL under
# target/bench-list (demo data + ROWS generated codes in the demo brand),
# logs in, and runs wrk against /codes with several filters: one connection
# for the median latency, then 32 connections for throughput. Prints a
# summary; copy the figures into docs/PERFORMANCE.md.
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-1000000}
PORT=${PORT:-8181}
DIR=target/bench-list
DURATION=${DURATION:-10s}

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk"; exit 1; }
cargo build --release --quiet
BIN=target/release/promodesk

mkdir -p "$DIR"
DATA_DIR="$DIR/data" BIND="127.0.0.1:$PORT" RUST_LOG=warn "$BIN" serve > "$DIR/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.5; done

PSQL=(psql -X -q -v ON_ERROR_STOP=1 "postgresql://postgres@/promodesk?host=$PWD/$DIR/data/postgres&port=5432")
have=$("${PSQL[@]}" -At -c "SELECT count(*) FROM promo_codes c JOIN brands b ON b.id = c.brand_id WHERE b.name = 'Northwind Outfitters'")
if [ "$have" -lt "$ROWS" ]; then
  echo "seeding $ROWS codes (once) ..."
  time "${PSQL[@]}" <<SQL
INSERT INTO promo_codes (brand_id, program_id, code, code_type, partner_id, credit_rule, match_mode, deal_id,
                         active_start, active_end, time_zone)
SELECT b.id, p.id,
       'GEN' || lpad(g::text, 8, '0') || chr(65 + g % 26),
       'TRACKING', (SELECT id FROM partners WHERE brand_id = b.id ORDER BY id OFFSET g % 12 LIMIT 1),
       (ARRAY['ALWAYS','INVOLVED','WINNER'])[1 + g % 3], 'LI', NULL,
       now() - ((g % 400) || ' days')::interval,
       CASE WHEN g % 5 = 0 THEN now() - ((g % 400) || ' days')::interval + ((g % 30 + 1) || ' days')::interval END,
       'America/New_York'
FROM brands b JOIN programs p ON p.brand_id = b.id AND p.name = 'Northwind US',
     generate_series(1, $ROWS) g
WHERE b.name = 'Northwind Outfitters';
ANALYZE promo_codes;
SQL
fi

# Log in and keep the session cookie.
JAR=$(mktemp)
token=$(curl -s -c "$JAR" -b "$JAR" "http://127.0.0.1:$PORT/login" | grep -o 'name="csrf_token" value="[^"]*"' | head -1 | sed 's/.*value="//;s/"//')
curl -s -c "$JAR" -b "$JAR" -o /dev/null -d "csrf_token=$token&email=demo@promodesk.test&password=promodesk-demo" "http://127.0.0.1:$PORT/login"
COOKIE="promodesk_session=$(awk '$6 == "promodesk_session" {print $7}' "$JAR")"

echo
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; $(date -u +%F); codes in brand: $("${PSQL[@]}" -At -c 'SELECT count(*) FROM promo_codes')"
printf '%-42s %10s %10s %12s\n' "URL" "p50 (1c)" "p99 (1c)" "req/s (32c)"
for path in "/codes" "/codes?status=active" "/codes?status=expired&type=TRACKING" "/codes?q=gen0012" \
            "/codes?partner=3&credit_rule=WINNER" "/codes?sort=code" "/codes?page=50" \
            "/codes?sort=partner" "/codes?sort=-partner&page=50" "/codes?sort=end" "/codes?sort=-start" "/codes?q=*0012a"; do
  one=$(wrk -t1 -c1 -d"$DURATION" --latency -H "Cookie: $COOKIE" "http://127.0.0.1:$PORT$path")
  p50=$(echo "$one" | awk '$1 == "50%" {print $2}')
  p99=$(echo "$one" | awk '$1 == "99%" {print $2}')
  many=$(wrk -t2 -c32 -d"$DURATION" -H "Cookie: $COOKIE" "http://127.0.0.1:$PORT$path")
  rps=$(echo "$many" | awk '/Requests\/sec/ {print $2}')
  non2xx=$(echo "$many" | awk '/Non-2xx/ {print $NF}')
  printf '%-42s %10s %10s %12s %s\n' "$path" "$p50" "$p99" "$rps" "${non2xx:+(non-2xx: $non2xx)}"
done
rm -f "$JAR"
