"""Rules are data: every rule compiles, and the committed GX suites (and their readable SQL) are the compiled rules."""

import json

import pytest

from include import config
from include.gate import gx_context
from include.gate.rule_schema import KINDS, all_rules, parse
from include.gate.rule_sql import TEMPLATES, compile_sql


def test_every_kind_the_schema_accepts_has_a_template():
    assert sorted(TEMPLATES) == sorted(KINDS)


def test_rules_compile_to_unexpected_rows_queries():
    rules = all_rules()
    assert rules
    for rule in rules:
        sql = compile_sql(rule)
        assert "{batch}" in sql and rule.severity in ("fail", "warn")


GX_DIR = config.GX_ROOT_DIR / "gx"


def test_committed_gx_suites_match_the_rules():
    committed = {}
    for path in (GX_DIR / "expectations").glob("*.json"):
        for expectation in json.loads(path.read_text(encoding="utf-8"))["expectations"]:
            committed[expectation["meta"]["rule_id"]] = (path.stem, expectation["kwargs"]["unexpected_rows_query"])
    expected = {rule.id: (rule.relation, compile_sql(rule)) for rule in all_rules()}
    assert committed == expected, "run `make rules` and commit expectations/gx"


def test_committed_gx_json_is_readable_utf8():
    """No ``\\u`` escapes: a reviewer reads the Chinese descriptions in the diff as written."""
    paths = sorted(p for store in gx_context.STORES for p in (GX_DIR / store).glob("*.json"))
    assert paths
    stale = [str(p) for p in paths if p.read_text(encoding="utf-8") != gx_context.utf8_json(p.read_text("utf-8"))]
    assert not stale, "run `make rules` and commit expectations/gx"


def test_committed_query_pages_are_the_compiled_rules():
    """``gx/queries/<relation>.md``: every rule's query on readable lines, one page a suite, and nothing else."""
    pages = GX_DIR / gx_context.QUERIES_DIR
    committed = {
        p.relative_to(pages).as_posix(): p.read_text(encoding="utf-8") for p in pages.rglob("*") if p.is_file()
    }
    assert committed == gx_context.query_files(all_rules()), "run `make rules` and commit expectations/gx"


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


def test_by_pairs_the_sides_per_group_and_keeps_the_group_in_the_city_row(tmp_path):
    (rule,) = _parse(
        tmp_path,
        BASE.replace("right: {relation: mart_c, value: y}", "right: {relation: mart_c, value: y, aggregate: sum}")
        + "    by: [program_code, item]\n",
    )
    sql = compile_sql(rule)
    assert rule.by == ("program_code", "item")
    assert "concat('program_code=', s.program_code::text, ', item=', s.item::text) as group_key" in sql
    assert "grouping sets ((s.month_start, s.county_code, v.measure, s.program_code, s.item)," in sql
    assert "(s.month_start, v.measure, s.program_code, s.item))" in sql  # the 商丘市 row of each group
    assert "and lhs.group_key = rhs.group_key" in sql
    assert sql.rstrip().split("from compared")[0].rstrip().endswith("group_key")  # reported with each row


def test_by_partitions_the_county_sum_of_a_hierarchy(tmp_path):
    (rule,) = _parse(
        tmp_path,
        """  - id: h
    kind: hierarchy
    relation: mart_c
    by: feed
    measures: [rows]
    severity: fail
    description_zh: 测试
    description_en: test
""",
    )
    sql = compile_sql(rule)
    assert "group by month_start, measure, group_key" in sql
    assert "city.measure = parts.measure and city.group_key = parts.group_key" in sql


@pytest.mark.parametrize(
    "by",
    [
        "    by: [county_code]\n",  # already how rows are paired
        "    by: [program_code, program_code]\n",
        "    by: []\n",
        '    by: ["program_code; drop table x"]\n',
    ],
)
def test_malformed_by_is_rejected(tmp_path, by):
    with pytest.raises(ValueError):
        _parse(tmp_path, BASE + by)


def test_by_is_for_the_kinds_that_pair_rows(tmp_path):
    ratio = BASE.replace("kind: comparison", "kind: ratio").replace(
        "    left: {relation: stg_a__b, value: x}\n    right: {relation: mart_c, value: y}\n",
        "    relation: stg_a__b\n    rate: r\n    numerator: a\n    denominator: b\n",
    )
    assert _parse(tmp_path, ratio)[0].by == ()
    with pytest.raises(ValueError):
        _parse(tmp_path, ratio + "    by: [program_code]\n")
