"""Rules are data: every rule compiles, and the committed GX suites are the compiled rules."""

import json

from include import config
from include.gate.rules import all_rules, compile_sql


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
