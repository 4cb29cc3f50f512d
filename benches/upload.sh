#!/usr/bin/env bash
# Bulk upload benchmark: review and accept of generated files through HTTP,
# with the server's peak memory, and the commit compared with the
# database's own floor (the same INSERT ... SELECT typed by hand).
#
#   benches/upload.sh [ROWS ...]      (default: 100000 1000000)
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES=("${@:-100000 1000000}")
[ $# -eq 0 ] && SIZES=(100000 1000000)
PORT=${PORT:-8182}
DIR=target/bench-upload
cargo build --release --quiet --bin promodesk --example gen_codes
BIN=target/release/promodesk
rm -rf "$DIR"; mkdir -p "$DIR"
DATA_DIR="$DIR/data" BIND="127.0.0.1:$PORT" RUST_LOG=warn "$BIN" serve > "$DIR/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.5; done
PSQL=(psql -X -q -v ON_ERROR_STOP=1 "postgresql://postgres@/promodesk?host=$PWD/$DIR/data/postgres&port=5432")
# SLOW_MS=300 logs every statement slower than that to $DIR/data/postgres/postgres.log
[ -n "${SLOW_MS:-}" ] && "${PSQL[@]}" -c "ALTER SYSTEM SET log_min_duration_statement = ${SLOW_MS}" -c "SELECT pg_reload_conf()" >/dev/null

JAR="$DIR/cookies"
token=$(curl -s -c "$JAR" -b "$JAR" "http://127.0.0.1:$PORT/login" | grep -o 'name="csrf_token" value="[^"]*"' | head -1 | sed 's/.*value="//;s/"//')
curl -s -c "$JAR" -b "$JAR" -o /dev/null -d "csrf_token=$token&email=demo@promodesk.test&password=promodesk-demo" "http://127.0.0.1:$PORT/login"
token=$(curl -s -c "$JAR" -b "$JAR" "http://127.0.0.1:$PORT/uploads/new" | grep -o 'name="csrf_token" value="[^"]*"' | head -1 | sed 's/.*value="//;s/"//')

peak_rss() { awk '/VmHWM/ {print int($2/1024) " MB"}' "/proc/$SERVER/status"; }
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(date -u +%F)"
n=0
for rows in "${SIZES[@]}"; do
  n=$((n + 1))
  file="$DIR/codes-$rows.csv"
  target/release/examples/gen_codes --rows "$rows" --errors-every 1000 --prefix "B${n}X" --out "$file"
  size=$(du -m "$file" | cut -f1)
  t0=$(date +%s.%N)
  url=$(curl -s -c "$JAR" -b "$JAR" -o /dev/null -w '%{redirect_url}' -F "csrf_token=$token" -F "file=@$file" "http://127.0.0.1:$PORT/uploads")
  curl -s -b "$JAR" -o /dev/null "$url"
  t1=$(date +%s.%N)
  id=${url##*/}
  curl -s -c "$JAR" -b "$JAR" -o /dev/null -d "csrf_token=$token" "http://127.0.0.1:$PORT/uploads/$id/accept"
  t2=$(date +%s.%N)
  created=$("${PSQL[@]}" -At -c "SELECT create_rows || ' created, ' || error_rows || ' errors, status ' || status FROM uploads WHERE id = $id")
  printf '%9s rows (%4s MB): upload+review %6.2f s, accept %6.2f s, %s; server peak RSS %s\n' \
    "$rows" "$size" "$(echo "$t1 - $t0" | bc)" "$(echo "$t2 - $t1" | bc)" "$created" "$(peak_rss)"
done

# The floor: the same INSERT ... SELECT from an already-loaded staging table,
# typed by hand, for the last size (fresh values, same schema and indexes).
rows=${SIZES[-1]}
floor=$("${PSQL[@]}" -At <<SQL
CREATE TEMP TABLE floor_rows AS
  SELECT b.id AS brand_id, p.id AS program_id, 'FLOOR' || lpad(g::text, 9, '0') AS code
  FROM brands b JOIN programs p ON p.brand_id = b.id AND p.name = 'Northwind US', generate_series(1, $rows) g
  WHERE b.name = 'Northwind Outfitters';
\timing on
INSERT INTO promo_codes (brand_id, program_id, code, code_type, partner_id, credit_rule, match_mode, active_start, time_zone)
SELECT brand_id, program_id, code, 'TRACKING', (SELECT min(id) FROM partners), 'ALWAYS', 'LI', now(), 'UTC' FROM floor_rows;
SQL
)
echo "floor: hand-typed INSERT ... SELECT of $rows rows: $(echo "$floor" | awk '/Time:/ {print $2/1000 " s"}')"
