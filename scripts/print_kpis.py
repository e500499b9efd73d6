"""Print the last days of kpi_daily from the embedded warehouse's published copy (the end of `make demo`).

python scripts/print_kpis.py [--days 7]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import duckdb

from shopwarehouse.config import Settings
from shopwarehouse.surfaces.publish import marts_schema, published_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=7)
    args = parser.parse_args()
    settings = Settings.from_env()
    path = published_path(
        Path(os.environ.get("SHOPWAREHOUSE_DUCKDB_PATH", "data/shopwarehouse.duckdb")), settings.env
    )
    with duckdb.connect(str(path), read_only=True) as conn:
        rows = (
            conn.table(f"{marts_schema(settings)}.kpi_daily")
            .project(
                "date_day, orders_placed, valid_orders, gross_revenue, net_revenue, average_order_value, "
                "new_customers, returning_customers, payment_success_rate, refund_rate"
            )
            .order("date_day desc")
            .limit(args.days)
            .fetchall()
        )
    print(
        f"{'day':<11}{'orders':>7}{'valid':>7}{'gross':>12}{'net':>12}{'AOV':>8}{'new':>6}{'return':>7}"
        f"{'pay ok':>8}{'refund':>8}"
    )
    for day, placed, valid, gross, net, aov, new, returning, success, refund in reversed(rows):
        print(
            f"{day!s:<11}{placed:>7}{valid:>7}{gross:>12,.2f}{net:>12,.2f}{aov or 0:>8.2f}{new:>6}"
            f"{returning:>7}{success or 0:>8.1%}{refund or 0:>8.1%}"
        )


if __name__ == "__main__":
    main()
