"""The words of a finding: values at the printed precision, and which side is blamed."""

from __future__ import annotations

from include.gate import blame


def row(**values: object) -> dict[str, object]:
    return {"measure": "employment_done", "indicator_name": "稳岗就业已完成", **values}


def test_values_are_shown_in_the_unit_and_precision_they_were_printed_in():
    employed = row(declared_value=23.15, declared=231500.0, base_tolerance=50.0, declared_unit="万人")
    assert blame.at_printing(231540, employed) == "23.15万人"
    assert blame.at_printing(231449, employed) == "23.14万人"
    assert blame.at_printing(5586.0, row(declared_value=56586.0, declared=56586.0, base_tolerance=0.5)) == "5586"
    rate = row(declared_value=22.14, declared=22.14, base_tolerance=0.005, declared_unit="%")
    assert blame.at_printing(23.4699082719232, rate) == "23.47%"
    assert blame.at_printing(None, rate) == "—"


def test_a_declared_figure_is_blamed_only_when_its_mart_passes_its_own_checks():
    found = row(declared_value=48612, declared=48612, computed=48059, base_tolerance=0.5, declared_unit="户")
    zh, en = blame.declared_explanation(found, "mart_microcredit_league", "declared", [])
    assert "申报 48612户" in zh and "48059户" in zh and "申报数存疑" in zh and "warning flag" in en
    zh, en = blame.declared_explanation(found, "mart_microcredit_league", "computed", ["microcredit_rank"])
    assert "暂缓发布" in zh and "microcredit_rank" in zh and "held back" in en


def test_a_truncated_rate_says_what_rounding_would_print():
    zh, en = blame.truncation_explanation(row(declared=57.03, computed=57.0381507235482, base_tolerance=0.005))
    assert "57.038%" in zh and "应为 57.04%" in zh and "57.0381" not in zh and "truncated" in en


def test_figures_that_cannot_all_be_true_name_the_one_the_detail_contradicts():
    found = {
        "relation": "at_most",
        "figures": "a,b",
        "printed": "突发严重困难户已消除… 56586人; 突发严重困难户人数 16523人",
    }
    zh, en = blame.consistency_explanation(found, ["突发严重困难户已消除…"])
    assert "2个数不可能同时成立" in zh and "部分不超过整体" in zh and "与明细计算不符的是 突发严重困难户已消除…" in zh
    assert "part ≤ whole" in en
