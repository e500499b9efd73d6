"""Bad landed files, one per way a delivery goes wrong, with the reason validation must give (test data)."""

from __future__ import annotations

import gzip
import io

import pyarrow as pa
import pyarrow.parquet as pq

ORDERS_HEADER = (
    "order_id,customer_id,order_status,channel,currency,subtotal_amount,discount_amount,"
    "shipping_amount,tax_amount,total_amount,ordered_at,updated_at"
)
GOOD_ORDER = (
    "ord_1,cus_1,paid,web,EUR,10.00,0.00,4.99,2.98,17.97,2024-03-01T10:00:00Z,2024-03-01T10:05:00+01:00"
)
ITEMS_HEADER = "order_item_id,order_id,product_id,quantity,unit_price,discount_amount,updated_at"
FX_HEADER = "currency,rate_date,usd_per_unit,updated_at"
GOOD_RATES = (
    "EUR,2024-03-01,1.08234517,2024-03-01T16:00:00Z",
    "GBP,2024-03-01,1.26582278,2024-03-01T16:00:00Z",
)


def csv_file(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def parquet(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


GOOD_ROW = dict(zip(ORDERS_HEADER.split(","), GOOD_ORDER.split(","), strict=True))

BAD_FILES = [
    # (case, key suffix, content, expected line, expected column, words of the reason)
    ("truncated gzip", "a.csv.gz", gz(csv_file(ORDERS_HEADER, GOOD_ORDER))[:-12], None, None,
     "not a readable gzip stream"),
    ("wrong delimiter", "a.csv", csv_file(ORDERS_HEADER.replace(",", ";"), GOOD_ORDER.replace(",", ";")),
     None, None, "another separator than a comma"),
    ("missing column", "a.csv", csv_file(ORDERS_HEADER.replace(",total_amount", ""),
                                         GOOD_ORDER.replace(",17.97", "")),
     None, None, "missing required column(s) total_amount"),
    ("unparseable timestamp", "a.csv", csv_file(ORDERS_HEADER, GOOD_ORDER,
                                                GOOD_ORDER.replace("2024-03-01T10:00:00Z", "01/03/2024"))
     , 3, "ordered_at", "ISO-8601 with an offset"),
    ("timestamp without offset", "a.csv", csv_file(ORDERS_HEADER,
                                                   GOOD_ORDER.replace("10:00:00Z", "10:00:00")),
     2, "ordered_at", "ISO-8601 with an offset"),
    ("text in a money column", "a.csv", csv_file(ORDERS_HEADER, GOOD_ORDER.replace("17.97", "seventeen")),
     2, "total_amount", "a decimal with at most 2 places"),
    ("three decimal places", "a.csv", csv_file(ORDERS_HEADER, GOOD_ORDER.replace("4.99", "4.995")),
     2, "shipping_amount", "a decimal with at most 2 places"),
    ("empty file", "a.csv", b"", None, None, "file is empty"),
    ("header only", "a.csv", csv_file(ORDERS_HEADER), None, None, "header but no rows"),
    ("non-UTF-8 bytes", "a.csv", csv_file(ORDERS_HEADER, GOOD_ORDER).replace(b"web", b"w\xe9b"), 2, None,
     "not UTF-8"),
    ("required value empty", "a.csv", csv_file(ORDERS_HEADER, GOOD_ORDER.replace("EUR", "")), 2,
     "currency", "required and may not be empty"),
    ("JSON line not an object", "a.jsonl", b'{"order_id": "ord_1"}\n[1, 2, 3]\n', 2, None,
     "must be an object"),
    ("broken JSON", "a.jsonl", b'{"order_id": "ord_1"\n', 1, None, "not valid JSON"),
    ("Parquet with a wrong type", "a.parquet",
     parquet(pa.table({**{k: [v] for k, v in GOOD_ROW.items()}, "total_amount": [17.97]})),
     None, "total_amount", "has type double in the file"),
    ("Parquet timestamp without time zone", "a.parquet",
     parquet(pa.table({**{k: [v] for k, v in GOOD_ROW.items()},
                       "ordered_at": pa.array([1709287200], pa.timestamp("s"))})),
     None, "ordered_at", "has type timestamp[ms] in the file"),
    ("renamed extension", "a.txt", csv_file(ORDERS_HEADER, GOOD_ORDER), None, None,
     "unsupported file name 'a.txt'"),
    ("no line end in the first MiB", "a.csv", b"\0" * (1 << 21), 1, None, "the header is not a CSV line"),
    ("a JSON line of over a MiB", "a.jsonl", b'{"order_id": "ord_1"}\n{"x": "' + b"y" * (1 << 21), 2, None,
     "no line end in 1,048,576 bytes"),
    ("ragged row", "a.csv", csv_file(ORDERS_HEADER, GOOD_ORDER + ",extra"), None, None,
     "not valid comma-separated CSV"),
]  # fmt: skip
