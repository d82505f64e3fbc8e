"""Throughput: a city-scale CSV delivery (300k loan rows) loaded end to end, against a plain COPY.

Both are measured in the same run on the same server, so the ratio holds on a slow or busy
machine where absolute times do not: the assertion is on the ratio only. The numbers are
printed (``-s`` is not needed).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import time
from pathlib import Path

import pytest
from psycopg import sql

from samples import microcredit
from samples.common import resident_id

ROWS = 300_000
MONTH = dt.date(2022, 6, 1)
MAX_RATIO = 15  # ingestion (read, parse, validate, hash, COPY) against COPY of the finished rows
COUNTIES = [
    ("永城市", "411481"),
    ("睢　县", "411422"),
    ("商丘市梁园区", "411402"),
    ("城乡一体化示范区", "411402"),
    ("夏邑县", "411426"),
    ("虞城县", "411425"),
    ("柘城县", "411424"),
    ("宁陵县", "411423"),
    ("民权县", "411421"),
    ("睢阳区", "411403"),
]
# The microcredit template, with amounts in 元 (thousands separators in the cells).
DETAIL_HEADER = [header.replace("(万元)", "(元)") for header in microcredit.DETAIL_HEADER]
TOTALS_HEADER = list(microcredit.TOTALS_HEADER[:5])
pytestmark = [pytest.mark.benchmark, pytest.mark.integration]


def write_delivery(folder: Path) -> tuple[Path, Path]:
    """A CSV pair shaped like a real month: titles, 元 amounts with separators, dashes, county variants."""
    rng = random.Random("benchmark")
    taken: set[str] = set()
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"小额信贷_{MONTH:%Y-%m}"
    detail, totals = folder / f"{stem}_明细.csv", folder / f"{stem}_汇总.csv"
    first = dt.date(2019, 1, 1)
    with open(detail, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow([f"商丘市脱贫人口小额信贷明细表（{MONTH.year}年{MONTH.month}月）"])
        writer.writerow(DETAIL_HEADER)
        for serial in range(ROWS):
            county, region = COUNTIES[serial % len(COUNTIES)]
            issued = first + dt.timedelta(days=rng.randrange(1000))
            amount = rng.randrange(10_000, 50_001)
            writer.writerow(
                [
                    county,
                    f"乡镇{rng.randrange(1, 21):02d}",
                    f"村{rng.randrange(1, 400):03d}",
                    resident_id(rng, region, taken),
                    "监测户" if rng.random() < 0.1 else "已脱贫户",
                    f"{region}{serial:08d}",
                    "农商银行",
                    issued.isoformat(),
                    (issued + dt.timedelta(days=1095)).isoformat(),
                    f"{amount:,}",
                    f"{rng.uniform(0, amount):,.2f}",
                    "—" if rng.random() < 0.8 else f"{rng.randrange(100, 5000):,}",
                    f"{MONTH:%Y-%m}",
                ]
            )
    with open(totals, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(TOTALS_HEADER)
        for county, _ in COUNTIES:
            writer.writerow([county, "4,011", 447, "1,088", "1,088"])
    return detail, totals


def test_ingestion_is_within_a_small_factor_of_a_plain_copy(tmp_path, contract, loader, capsys):
    from include.ingest.load import discover, load_delivery

    write_delivery(tmp_path / contract.feed)
    (delivery,) = discover(contract, MONTH, tmp_path)

    started = time.perf_counter()
    result = load_delivery(loader, delivery, run_id="benchmark", contract=contract)
    ingest_seconds = time.perf_counter() - started
    assert result.status == "loaded" and result.rows == {"detail": ROWS, "control_totals": len(COUNTIES)}
    assert result.findings == [f for f in result.findings if f.rule == "encoding_detected"]

    table = contract.section("detail").table
    names = [
        name
        for (name,) in loader.execute(
            "select column_name from information_schema.columns "
            "where table_schema = 'raw' and table_name = %s order by ordinal_position",
            [table],
        ).fetchall()
    ]
    columns = sql.SQL(", ").join(map(sql.Identifier, names))
    clean = io.BytesIO()
    with loader.cursor().copy(
        sql.SQL("copy (select {} from {} where _load_id = {}) to stdout").format(
            columns, sql.Identifier("raw", table), sql.Literal(result.load_id)
        )
    ) as out:
        for block in out:
            clean.write(block)
    data = clean.getvalue()
    assert data.count(b"\n") == ROWS

    bare = sql.Identifier("raw", "ingest_test_benchmark_plain")
    loader.execute(sql.SQL("drop table if exists {}").format(bare))
    loader.execute(sql.SQL("create table {} (like {})").format(bare, sql.Identifier("raw", table)))
    try:
        chunk = len(data) // 6 + 1
        started = time.perf_counter()
        with loader.transaction(), loader.cursor().copy(sql.SQL("copy {} from stdin").format(bare)) as copy:
            for offset in range(0, len(data), chunk):
                copy.write(data[offset : offset + chunk])
        copy_seconds = time.perf_counter() - started
        (copied,) = loader.execute(sql.SQL("select count(*) from {}").format(bare)).fetchone()
        assert copied == ROWS
    finally:
        loader.execute(sql.SQL("drop table if exists {}").format(bare))
        with loader.transaction():  # leave the test warehouse as small as it was
            for section in contract.sections:
                loader.execute(
                    sql.SQL("delete from {} where _load_id = %s").format(sql.Identifier("raw", section.table)),
                    [result.load_id],
                )
            loader.execute("delete from ops.loads where load_id = %s", [result.load_id])

    ratio = ingest_seconds / copy_seconds
    with capsys.disabled():
        print(
            f"\n[benchmark] {ROWS} rows: load_delivery {ingest_seconds:.2f} s = {ROWS / ingest_seconds:,.0f} rows/s; "
            f"plain COPY {copy_seconds:.2f} s = {ROWS / copy_seconds:,.0f} rows/s; ratio {ratio:.1f}x"
        )
    assert ratio <= MAX_RATIO
