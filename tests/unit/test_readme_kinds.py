"""``expectations/README.md`` documents the rule schema: its kinds table has a row for every kind the schema
accepts, naming the kind's own fields and a real rule of that kind, and its YAML examples are real rules."""

import re

import pytest

from include import config
from include.gate.rule_schema import GROUPED, KIND_FIELDS, KINDS, all_rules, parse

README = config.GX_ROOT_DIR / "README.md"
EXAMPLE = re.compile(r"^`(\w+)` \(`rules/([\w.]+\.yml)`\)$")  # `rule_id` (`rules/file.yml`)
YAML_EXAMPLE = re.compile(r"^- id: (\w+)(?: +# rules/([\w.]+\.yml))?\n  kind: (\w+)$", re.MULTILINE)


def _kinds_table() -> dict[str, list[str]]:
    """The cells of each row of the table under ``## Kinds``, by the kind the row names first."""
    section = README.read_text(encoding="utf-8").split("\n## Kinds", 1)[1].split("\n#", 1)[0]
    lines = [line.strip() for line in section.splitlines() if line.startswith("|")]
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]
    table = {cells[0].split("`")[1]: cells for cells in rows if cells[0].startswith("`")}
    assert len(table) == sum(cells[0].startswith("`") for cells in rows), "a kind has two rows"
    return table


def test_every_kind_the_schema_accepts_has_a_row():
    assert sorted(_kinds_table()) == sorted(KINDS)


@pytest.mark.parametrize("kind", KINDS)
def test_a_row_names_the_fields_of_its_kind(kind):
    fields = set(re.findall(r"`(\w+)`", _kinds_table()[kind][4]))
    own = KIND_FIELDS[kind] | ({"by"} if kind in GROUPED else set())
    assert own <= fields, f"the {kind} row's own fields lack {sorted(own - fields)}"


@pytest.mark.parametrize("kind", KINDS)
def test_a_row_names_a_real_rule_of_its_kind(kind):
    example = EXAMPLE.match(_kinds_table()[kind][-1])
    assert example, f"the {kind} row ends in `rule_id` (`rules/file.yml`)"
    rule_id, file = example.groups()
    path = config.RULES_DIR / file
    assert path.is_file(), f"no {path}"
    assert {rule.id: rule.kind for rule in parse(path)}.get(rule_id) == kind, f"no {kind} rule {rule_id} in {file}"


def test_the_yaml_examples_are_real_rules():
    examples = YAML_EXAMPLE.findall(README.read_text(encoding="utf-8"))
    assert examples
    kinds = {rule.id: rule.kind for rule in all_rules()}
    for rule_id, file, kind in examples:
        assert kinds.get(rule_id) == kind, f"the README's example {rule_id} is no {kind} rule in rules/"
        if file:
            assert rule_id in {rule.id for rule in parse(config.RULES_DIR / file)}, f"{rule_id} is not in {file}"
