#!/usr/bin/env bash
# `make demo`: the whole job on the embedded default, on a laptop with no cloud account and no network.
# Starts the local S3 server, lands 30 days of exports in its bucket exactly as the shop's systems would,
# loads them into DuckDB, runs the daily pipeline for the last day (which loads nothing twice, checks
# freshness, runs `dbt build` and the quality gate, publishes the readers' copy of the warehouse and writes the
# KPI dashboard) and prints the last week of daily KPIs. Stops the server on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

port="${SHOPWAREHOUSE_DEMO_S3_PORT:-9000}"
export SHOPWAREHOUSE_S3_ENDPOINT_URL="http://127.0.0.1:${port}"
export SHOPWAREHOUSE_LANDING="s3://shopwarehouse-landing"
mkdir -p data

if (exec 3<>"/dev/tcp/127.0.0.1/${port}") 2>/dev/null; then
    echo "port ${port} is already in use: stop what listens there or set SHOPWAREHOUSE_DEMO_S3_PORT" >&2
    exit 1
fi
shopwarehouse s3 serve --port "${port}" 2>data/demo-s3-server.log &
server=$!
trap 'kill "${server}" 2>/dev/null || true; wait "${server}" 2>/dev/null || true' EXIT

echo "== starting local S3 on ${SHOPWAREHOUSE_S3_ENDPOINT_URL}"
for _ in $(seq 1 150); do
    if ! kill -0 "${server}" 2>/dev/null; then
        echo "the local S3 server failed to start:" >&2
        cat data/demo-s3-server.log >&2
        exit 1
    fi
    grep -q "local S3 ready" data/demo-s3-server.log && break
    sleep 0.2
done

echo "== landing 30 days of exports in ${SHOPWAREHOUSE_LANDING}"
shopwarehouse generate --days 30 --seed 7

echo "== loading them into DuckDB (${SHOPWAREHOUSE_DUCKDB_PATH:-data/shopwarehouse.duckdb})"
shopwarehouse load

echo "== the daily run for the last day: check the landing zone, load (nothing twice), freshness, dbt build, quality gate, publish, dashboard"
shopwarehouse run
shopwarehouse status --last 3

echo "== the last 7 days of kpi_daily (money in the reporting currency, USD)"
python scripts/print_kpis.py --days 7

echo "== for analysts"
echo "KPI dashboard (one file, opens offline): ${SHOPWAREHOUSE_REPORT_PATH:-data/kpi_report.html}"
echo "the warehouse for ad-hoc SQL, read-only (README, 'Querying the marts'): data/shopwarehouse.published.duckdb"
echo "docs site: shopwarehouse docs --serve, then http://127.0.0.1:8080/"

echo "== demo finished"
