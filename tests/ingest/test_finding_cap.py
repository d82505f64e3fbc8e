"""A flood of row findings is capped per rule and column, and counted: ops.findings cannot fill the disk.

One CSV of unquoted multi-line text can produce millions of row findings (the fuzzer saw 15.6 million);
each load records at most ``SQW_MAX_ROW_FINDINGS`` of one rule and column per sheet, then one finding
that counts the rest, while ``ops.loads.rejected_rows`` still counts every rejected row.
"""

from __future__ import annotations

import datetime as dt

import pytest

from tests.corpus import make_corpus as corpus

JUNE = dt.date(2022, 6, 1)
pytestmark = pytest.mark.integration


def test_row_findings_past_the_cap_are_counted_in_one_finding(tmp_path, contract, loader, monkeypatch):
    from include import config
    from include.ingest.load import discover, load_delivery

    monkeypatch.setattr(config, "MAX_ROW_FINDINGS", 10)
    good = corpus.detail_rows(JUNE)
    bad = [[*row[:4], None, f"4114020000{n:04d}", *row[6:]] for n, row in enumerate(good * 9)]  # 27: no 户类型
    path = tmp_path / contract.feed / corpus.name("flood", month=JUNE)
    path.parent.mkdir(parents=True)
    corpus.standard(path, corpus.detail_sheet([*good, *bad], month=JUNE), corpus.totals_sheet(month=JUNE))
    (delivery,) = discover(contract, JUNE, tmp_path)

    result = load_delivery(loader, delivery, contract=contract)

    assert result.status == "loaded"
    rules = loader.execute(
        "select rule, count(*) from ops.findings where load_id = %s group by rule order by rule", [result.load_id]
    ).fetchall()
    assert dict(rules) == {"required_blank": 10, "more_findings": 1}
    (found,) = loader.execute(
        "select found from ops.findings where load_id = %s and rule = 'more_findings'", [result.load_id]
    ).fetchone()
    assert found == f"{len(bad) - 10} more rows with the finding required_blank"
    (rejected, detail) = loader.execute(
        "select rejected_rows, detail_rows from ops.loads where load_id = %s", [result.load_id]
    ).fetchone()
    assert (rejected, detail) == (len(bad), len(good))
