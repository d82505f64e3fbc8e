"""The report's pure parts: SVG charts from a series, a failure's lineage, exact numbers."""

import datetime as dt
import re
from decimal import Decimal

from include.audit_report import lineage, number, rule_feed_names
from include.charts import bar_chart, line_chart

DECEMBER = dt.date(2021, 12, 1)
LOADS = [
    {
        "load_id": 7,
        "feed": "microcredit",
        "file_name": "小额信贷_2021-12.xlsx",
        "is_current": False,
        "feed_month": DECEMBER,
    },
    {
        "load_id": 9,
        "feed": "microcredit",
        "file_name": "小额信贷_2021-12_更正.xlsx",
        "is_current": True,
        "feed_month": DECEMBER,
    },
    {"load_id": 4, "feed": "employment", "file_name": "就业_2021-12.xlsx", "is_current": True, "feed_month": DECEMBER},
]


def test_bar_chart_draws_a_bar_per_value_and_escapes_labels():
    svg = bar_chart(
        [("永城市", Decimal("26.94")), ("<b>x</b>", 3), ("睢县", None)], title="A & B", unit="%", decimals=2
    )
    assert len(re.findall(r'<rect class="bar"', svg)) == 2, "no bar for a missing value"
    assert "26.94%" in svg and "&lt;b&gt;x&lt;/b&gt;" in svg and "<b>" not in svg and "A &amp; B" in svg
    widths = [float(w) for w in re.findall(r'class="bar" x="\d+" y="\d+" width="([\d.]+)"', svg)]
    assert widths[0] > widths[1] > 0, "bars scale with their values"


def test_bar_chart_reference_line_and_empty_series():
    assert 'class="reference"' in bar_chart([("a", 1)], title="t", reference=("商丘市", 2))
    assert "<rect" not in bar_chart([], title="empty")


def test_line_chart_breaks_at_missing_points():
    svg = line_chart([("1月", 10), ("2月", 12), ("3月", None), ("4月", 9), ("5月", 11)], title="trend")
    assert len(re.findall("<polyline", svg)) == 2 and len(re.findall('<circle class="point"', svg)) == 4
    assert "<polyline" not in line_chart([("12月", 51531)], title="one month"), "a single point has no line"


def test_lineage_uses_the_source_row_when_the_rule_returns_it():
    exact = lineage(
        {"load_id": "7", "source_sheet": "明细", "source_row": 42}, LOADS, frozenset({"microcredit"}), DECEMBER
    )
    assert [(s["file_name"], s["sheet"], s["row"]) for s in exact] == [("小额信贷_2021-12.xlsx", "明细", 42)]


def test_lineage_falls_back_to_the_current_files_of_the_rule_feeds():
    files = lineage({"county_code": "411400"}, LOADS, frozenset({"microcredit"}), DECEMBER)
    assert [s["file_name"] for s in files] == ["小额信贷_2021-12_更正.xlsx"]
    assert lineage({}, LOADS, frozenset(), DECEMBER) == []


def test_rules_know_their_feeds():
    assert "microcredit" in rule_feed_names()["microcredit_league_county_sum"]


def test_numbers_are_exact():
    assert [number(v) for v in (Decimal("48060"), Decimal("24.4100"), Decimal("-1"), None, 0.5)] == [
        "48060",
        "24.41",
        "-1",
        "—",
        "0.5",
    ]
