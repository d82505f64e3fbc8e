from decimal import Decimal

import pytest
import yaml

from include import audit_report, config
from include.ingest import values


@pytest.mark.parametrize(
    ("text", "expected"),
    [("24.41%", "24.41"), ("0.2441", "24.41"), ("—", "0"), ("", "0"), ("100%", "100")],
)
def test_rates(text, expected):
    assert values.parse_rate(text) == expected


@pytest.mark.parametrize(("text", "expected"), [("1,088", "1088"), ("-", "0"), ("51531", "51531")])
def test_counts(text, expected):
    assert values.parse_count(text) == expected


@pytest.mark.parametrize("text", ["1.5", "-3", "abc", "NaN"])
def test_bad_counts_say_what_was_expected(text):
    with pytest.raises(ValueError, match="whole"):
        values.parse_count(text)


@pytest.mark.parametrize(
    ("text", "unit", "expected"),
    [
        ("3.5", "万元", ("3.5", "万元")),
        ("3.5万元", "元", ("3.5", "万元")),
        ("1,234,567", "元", ("1234567", "元")),
        ("2.4亿元", None, ("2.4", "亿元")),
        ("—", "万元", ("0", "万元")),
    ],
)
def test_amounts_keep_their_unit(text, unit, expected):
    assert values.parse_amount(text, unit) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2021-12", "2021-12-01"), ("2021年12月", "2021-12-01"), ("202112", "2021-12-01"), ("2021-12-31", "2021-12-01")],
)
def test_months(text, expected):
    assert values.parse_month(text) == expected


def test_cell_text_folds_full_width_and_integral_floats():
    assert values.cell_text(4011.0) == "4011"
    assert values.cell_text("１２３") == "123"
    assert values.cell_text(None) == ""


@pytest.mark.parametrize(
    ("text", "unit", "expected"),
    [("10.54", "亿千瓦时", ("10.54", "亿千瓦时")), ("1200度", None, ("1200", "千瓦时"))],
)
def test_quantities_keep_their_unit(text, unit, expected):
    assert values.parse_amount(text, unit, "quantity") == expected


def test_a_money_unit_on_a_quantity_is_rejected():
    with pytest.raises(ValueError, match="千瓦时"):
        values.parse_amount("3万元", None, "quantity")


def test_the_indicator_units_agree_with_dbts_unit_factors():
    """samples/figures.yml declares the units of the published figures for the sample generator and the
    figure tests; the warehouse converts with dbt's count_units and unit_factors (values.UNITS, the audit
    report). A unit the figures use that the warehouse does not convert alike fails here."""
    declared = yaml.safe_load((config.PROJECT_ROOT / "samples" / "figures.yml").read_text("utf-8"))["units"]
    warehouse = audit_report.unit_factors()
    assert {unit: Decimal(1 if factor == "percent" else factor) for unit, factor in declared.items()} == warehouse
    for factors in values.UNITS.values():
        assert {unit: declared[unit] for unit in factors} == factors
