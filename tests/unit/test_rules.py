"""Rules are data: every rule compiles, and the committed GX suites are the compiled rules."""

import json

import pytest

from include import config
from include.gate.rules import all_rules, compile_sql, parse


def test_rules_compile_to_unexpected_rows_queries():
    rules = all_rules()
    assert rules
    for rule in rules:
        sql = compile_sql(rule)
        assert "{batch}" in sql and rule.severity in ("fail", "warn")


def test_committed_gx_suites_match_the_rules():
    committed = {}
    for path in (config.GX_ROOT_DIR / "gx" / "expectations").glob("*.json"):
        for expectation in json.loads(path.read_text(encoding="utf-8"))["expectations"]:
            committed[expectation["meta"]["rule_id"]] = (path.stem, expectation["kwargs"]["unexpected_rows_query"])
    expected = {rule.id: (rule.relation, compile_sql(rule)) for rule in all_rules()}
    assert committed == expected, "run `make rules` and commit expectations/gx"


def _parse(tmp_path, rule_yaml: str):
    path = tmp_path / "rules.yml"
    path.write_text("owner: test\nrules:\n" + rule_yaml, encoding="utf-8")
    return parse(path)


BASE = """  - id: r
    kind: comparison
    left: {relation: stg_a__b, value: x}
    right: {relation: mart_c, value: y}
    severity: fail
    description_zh: 测试
    description_en: test
"""


def test_scope_tolerance_and_missing_compile_into_the_query(tmp_path):
    (rule,) = _parse(
        tmp_path,
        BASE
        + """    scope: {levels: [county], months: [quarter_ends, "2021-01"], exclude_counties: ["411499"]}
    tolerance: {decimals: 2}
    missing: zero
""",
    )
    sql = compile_sql(rule)
    assert rule.months == ("3", "6", "9", "12", "2021-01")
    assert "county_code <> '411400' and county_code not in ('411499')" in sql
    assert "(month_start in (date '2021-01-01') or extract(month from month_start) in (3, 6, 9, 12))" in sql
    assert "abs(coalesce(declared, 0) - coalesce(computed, 0)) > 0.005" in sql


@pytest.mark.parametrize(
    "extra",
    [
        "    tolerence: 1\n",  # a typo is not silently ignored
        "    scope: {months: [2021-13]}\n",
        "    scope: {counties: [shangqiu]}\n",
        "    missing: maybe\n",
        "    operator: in\n",  # `in` is for cross_reference only
        "    tolerance: {percent: 1}\n",
        "    rank: printed_rank\n",  # a rank field on a comparison
        '    relation: ""\n    left: {value: x}\n',  # nothing to check
    ],
)
def test_malformed_rules_are_rejected(tmp_path, extra):
    with pytest.raises(ValueError):
        _parse(tmp_path, BASE + extra)


def test_where_values_cannot_inject_sql(tmp_path):
    with pytest.raises(ValueError):
        _parse(tmp_path, BASE.replace("value: x}", "value: x, where: {kind: \"a' or 'a' = 'a\"}}"))
