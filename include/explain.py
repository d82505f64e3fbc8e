"""Explain a published figure: how one mart cell was made, from the source files to the rules.

``make explain MART=mart_microcredit_league COUNTY=睢县 MONTH=2021-12 METRIC=balance_households``
prints, reading as the auditor role:

1. the published row (schema ``marts``), the metric's value and its 口径 (the column's description);
2. the fact and staging rows upstream of the mart (dbt lineage, ``target/manifest.json``) for that
   county and month: their row counts, and the metric recomputed from its fact when the column says how;
3. a few staging rows' lineage (load, sheet, row number);
4. the source files (``ops.loads``) with sheet, row range and row count, and the raw table they sit in;
5. the rules that checked the mart or anything upstream of it in the publishing run (``dq.rule_runs``),
   the county's failures (``dq.rule_failures``) and the month's publications (``dq.publications``).

Every fact and staging model carries ``month_start`` and ``county_code`` (the house convention).
商丘市 (411400) means every county: the 商丘市 total row a model may carry is left out.

Column meta convention, optional on any mart column in ``models/marts/_*__models.yml``::

    - name: balance_households
      config:
        meta:
          explain:
            model: fct_loans                                   # the upstream model it aggregates
            measure: "count(distinct household_key) filter (where has_balance)"  # one SQL aggregate
            where: "loan_program = 'microcredit'"              # optional row filter on that model

``measure`` is evaluated over ``model``'s rows of the county (every county for 商丘市) and month,
``where`` applied, and must give the published value: the output says whether it does. Without
meta the other upstream models are still shown, with their row counts and the sums of their numeric
columns. The SQL comes from reviewed YAML, never from the command line; the CLI runs it as the
auditor in a read-only transaction.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter, deque
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
from psycopg import Connection, sql

from include import config
from include.gate.rule_schema import all_rules
from include.ingest.counties import county_names, resolve

NUMERIC = ["smallint", "integer", "bigint", "numeric", "real", "double precision"]
NOT_SUMMED = ("load_id", "file_version", "source_row", "_id", "_year", "_rank", "_pct")
EXAMPLES = 3


@dataclass(frozen=True)
class Node:
    """A dbt model, seed or source upstream of a mart, and the relation it is built in."""

    unique_id: str
    name: str
    kind: str
    schema: str
    identifier: str
    parents: tuple[str, ...]

    @property
    def relation(self) -> str:
        return f"{self.schema}.{self.identifier}"


def _node(manifest: dict[str, Any], unique_id: str) -> Node:
    spec = manifest["nodes"].get(unique_id) or manifest["sources"][unique_id]
    return Node(
        unique_id=unique_id,
        name=spec["name"],
        kind=spec["resource_type"],
        schema=spec["schema"],
        identifier=spec.get("alias") or spec.get("identifier") or spec["name"],
        parents=tuple(spec.get("depends_on", {}).get("nodes", [])),
    )


def upstream(manifest: dict[str, Any], unique_id: str) -> list[Node]:
    """Every node ``unique_id`` is built from, down to the sources: nearest first, each once."""
    seen, found, queue = {unique_id}, [], deque(_node(manifest, unique_id).parents)
    while queue:
        parent = queue.popleft()
        if parent in seen:
            continue
        seen.add(parent)
        node = _node(manifest, parent)
        found.append(node)
        queue.extend(node.parents)
    return found


def load_manifest(path: Path = config.DBT_MANIFEST) -> dict[str, Any]:
    return dict(json.loads(path.read_text(encoding="utf-8")))


def mart_id(manifest: dict[str, Any], mart: str) -> str:
    """The manifest id of a mart named with or without its ``mart_`` prefix."""
    name = mart if mart.startswith("mart_") else f"mart_{mart}"
    for unique_id, spec in manifest["nodes"].items():
        if spec["resource_type"] == "model" and spec["name"] == name:
            return str(unique_id)
    marts = sorted(s["name"] for s in manifest["nodes"].values() if s["name"].startswith("mart_"))
    raise LookupError(f"no mart {mart!r}; marts: {', '.join(marts)}")


def county_code(text: str) -> str:
    """A county code from a code, a name in any of its spellings, or 商丘市."""
    code = text.strip() if text.strip() in county_names() else resolve(text)
    if code is None:
        raise LookupError(f"no county {text!r} in 商丘市")
    return code


def month_start(text: str) -> dt.date:
    if not re.fullmatch(r"\d{4}-\d{2}(-01)?", text.strip()):
        raise ValueError(f"a month is written YYYY-MM: {text!r}")
    return dt.date.fromisoformat(text.strip()[:7] + "-01")


def column_meta(manifest: dict[str, Any], unique_id: str, column: str) -> tuple[str, dict[str, Any]]:
    """A mart column's description and its ``explain`` meta (empty when it has none)."""
    spec = manifest["nodes"][unique_id]["columns"].get(column, {})
    meta = {**spec.get("meta", {}), **spec.get("config", {}).get("meta", {})}
    return spec.get("description", ""), dict(meta.get("explain") or {})


@dataclass
class Count:
    """One upstream model's rows for the county and month."""

    relation: str
    rows: int
    sums: dict[str, Any] = field(default_factory=dict)
    recomputed: Any = None
    error: str | None = None


@dataclass
class Explanation:
    mart: str
    county_code: str
    county_name: str
    month: dt.date
    metric: str
    row: dict[str, Any]
    definition: str
    meta: dict[str, Any]
    counts: list[Count] = field(default_factory=list)
    examples: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    loads: list[dict[str, Any]] = field(default_factory=list)
    rules: list[dict[str, Any]] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)
    publications: list[dict[str, Any]] = field(default_factory=list)

    @property
    def value(self) -> Any:
        return self.row[self.metric]

    @property
    def recomputed(self) -> Any:
        return next((c.recomputed for c in self.counts if c.recomputed is not None), None)

    @property
    def matches(self) -> bool | None:
        """Whether the fact measure of the meta gives the published value (None: nothing to compare)."""
        if self.recomputed is None or self.value is None:
            return None
        return Decimal(str(self.recomputed)) == Decimal(str(self.value))


def _scope(code: str, month_column: str = "month_start") -> sql.Composable:
    county = "county_code <> %(city)s" if code == config.CITY_CODE else "county_code = %(county)s"
    return sql.SQL("{} = %(month)s and " + county).format(sql.Identifier(month_column))


def _literal_sql(text: str) -> sql.SQL:
    """SQL text from the meta; ``%`` doubled so it is not read as a parameter."""
    return sql.SQL(text.replace("%", "%%"))


def _dicts(cursor: psycopg.Cursor[Any]) -> list[dict[str, Any]]:
    names = [c.name for c in cursor.description or []]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _count(conn: Connection, node: Node, params: dict[str, Any], meta: dict[str, Any]) -> Count:
    table = sql.Identifier(node.schema, node.identifier)
    scope = _scope(params["county"])
    if meta.get("model") == node.name:
        where = _literal_sql(meta.get("where") or "true")
        query = sql.SQL("select count(*), {} from {} where {} and ({})").format(
            _literal_sql(meta["measure"]), table, scope, where
        )
        try:
            with conn.transaction():
                rows, value = conn.execute(query, params).fetchone() or (0, None)
        except psycopg.Error as error:
            return Count(node.relation, 0, error=str(error).splitlines()[0])
        return Count(node.relation, rows, recomputed=value)
    numeric = [
        name
        for (name,) in conn.execute(
            """select column_name from information_schema.columns
               where table_schema = %s and table_name = %s and data_type = any(%s) order by ordinal_position""",
            [node.schema, node.identifier, NUMERIC],
        ).fetchall()
        if not name.endswith(NOT_SUMMED)
    ]
    sums = sql.SQL("").join(sql.SQL(", sum({})").format(sql.Identifier(name)) for name in numeric)
    found = conn.execute(sql.SQL("select count(*){} from {} where {}").format(sums, table, scope), params).fetchone()
    rows, *totals = found or (0,)
    return Count(node.relation, rows, sums=dict(zip(numeric, totals, strict=True)))


def _sources(conn: Connection, node: Node, raw: list[Node], params: dict[str, Any]) -> list[dict[str, Any]]:
    """The staging model's rows grouped by load and sheet, with the raw rows of the same load."""
    groups = _dicts(
        conn.execute(
            sql.SQL(
                """select load_id, source_sheet as sheet, count(*) as rows,
                       min(source_row) as first_row, max(source_row) as last_row
                   from {} where {} group by 1, 2 order by 1, 2"""
            ).format(sql.Identifier(node.schema, node.identifier), _scope(params["county"])),
            params,
        )
    )
    raw_rows: Counter[tuple[int, str]] = Counter()
    for source in raw:
        for load_id, sheet, rows in conn.execute(
            sql.SQL("select _load_id, _sheet, count(*) from {} where {} group by 1, 2").format(
                sql.Identifier(source.schema, source.identifier), _scope(params["county"], "_feed_month")
            ),
            params,
        ):
            raw_rows[load_id, sheet] += rows
    for group in groups:
        group["staging"], group["raw"] = node.relation, ", ".join(s.relation for s in raw) or "—"
        group["raw_rows"] = raw_rows[group["load_id"], group["sheet"]]
    return groups


def explain(
    conn: Connection,
    mart: str,
    county: str,
    month: str,
    metric: str,
    *,
    manifest: dict[str, Any] | None = None,
    meta: dict[str, Any] | None = None,
) -> Explanation:
    """Everything an auditor needs to see how one published figure was made (``meta`` overrides the YAML's)."""
    manifest = manifest or load_manifest()
    unique_id = mart_id(manifest, mart)
    name = manifest["nodes"][unique_id]["name"]
    code, start = county_code(county), month_start(month)
    params = {"month": start, "county": code, "city": config.CITY_CODE}
    published = sql.Identifier(config.SCHEMA_PUBLISHED, name)
    query = sql.SQL("select * from {} where month_start = %(month)s and county_code = %(county)s")
    rows = _dicts(conn.execute(query.format(published), params))
    if not rows:
        raise LookupError(f"{config.SCHEMA_PUBLISHED}.{name} has no published row for {county} {start:%Y-%m}")
    if metric not in rows[0]:
        raise LookupError(f"{name} has no column {metric!r}; columns: {', '.join(rows[0])}")
    definition, yaml_meta = column_meta(manifest, unique_id, metric)
    result = Explanation(
        name, code, county_names()[code], start, metric, rows[0], definition, yaml_meta if meta is None else meta
    )

    nodes = upstream(manifest, unique_id)
    models = [n for prefix in ("fct_", "stg_") for n in nodes if n.kind == "model" and n.name.startswith(prefix)]
    by_id = {n.unique_id: n for n in nodes}
    for node in models:
        result.counts.append(_count(conn, node, params, result.meta))
    for node in (n for n in models if n.name.startswith("stg_")):
        examples = conn.execute(
            sql.SQL("select * from {} where {} order by load_id, source_row limit {}").format(
                sql.Identifier(node.schema, node.identifier), _scope(code), sql.Literal(EXAMPLES)
            ),
            params,
        )
        result.examples[node.name] = _dicts(examples)
        raw = [by_id[p] for p in node.parents if by_id[p].kind == "source"]
        result.loads.extend(_sources(conn, node, raw, params))
    load_ids = sorted({group["load_id"] for group in result.loads})
    files = {
        row["load_id"]: row
        for row in _dicts(conn.execute("select * from ops.loads where load_id = any(%s)", [load_ids]))
    }
    for group in result.loads:
        group["file"] = files.get(group["load_id"], {})

    result.publications = _dicts(
        conn.execute(
            """select publication_id, run_id, gate_run_id, status, decided_at, rules_passed, rules_failed,
                      rules_warned, reason
               from dq.publications where month_start = %s and %s = any(marts) order by publication_id""",
            [start, name],
        )
    )
    published_runs = [p["gate_run_id"] for p in result.publications]  # each published this mart (or part of it)
    run = published_runs[-1] if published_runs else None
    relations = {name} | {n.name for n in nodes}
    rules = {rule.id: rule for rule in all_rules()}
    runs = _dicts(
        conn.execute(
            """select rule_run_id, run_id, rule_id, kind, relation, severity, status, unexpected_count,
                      description_zh, description_en, checked_at
               from dq.rule_runs where month_start = %s
                 and gate_run_id = coalesce(%s, (select max(gate_run_id) from dq.gate_runs where month_start = %s))
               order by rule_run_id""",
            [start, run, start],
        )
    )
    result.rules = [
        r
        for r in runs
        if r["relation"] in relations or (r["rule_id"] in rules and rules[r["rule_id"]].relations() & relations)
    ]
    result.failures = _dicts(
        conn.execute(
            """select r.rule_id, f.measure, f.declared, f.computed, f.difference
               from dq.rule_failures as f inner join dq.rule_runs as r using (rule_run_id)
               where f.rule_run_id = any(%s) and f.county_code = %s order by r.rule_id, f.measure""",
            [[r["rule_run_id"] for r in result.rules], code],
        )
    )
    return result


def _text(value: Any) -> str:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral() else format(value, "f")
    if isinstance(value, dt.datetime):
        return f"{value:%Y-%m-%d %H:%M}"
    return "—" if value is None else str(value)


def _pairs(values: dict[str, Any]) -> str:
    return ", ".join(f"{key}={_text(value)}" for key, value in values.items())


def _figure(e: Explanation) -> list[str]:
    lines = [f"1 发布值 Published figure — {config.SCHEMA_PUBLISHED}.{e.mart}", f"  {e.metric} = {_text(e.value)}"]
    if e.definition:
        lines.append(f"  口径 Definition: {e.definition}")
    if e.meta:
        filtered = f" where {e.meta['where']}" if e.meta.get("where") else ""
        lines.append(f"  计算 Computed as: {e.meta.get('measure')} over {e.meta.get('model')}{filtered}")
    shown = {k: v for k, v in e.row.items() if k not in ("month_start", "county_code", "county_name")}
    return [*lines, f"  整行 Row: {_pairs(shown)}"]


def _counts(e: Explanation) -> list[str]:
    where = "全部县（市、区） all counties" if e.county_code == config.CITY_CODE else e.county_name
    lines = [f"2 事实与明细 Fact and staging rows ({where}, {e.month:%Y-%m})"]
    for count in e.counts:
        line = f"  {count.relation:<42} {count.rows:>8} 行 rows"
        if count.error:
            line += f"  复算失败 recomputation failed: {count.error}"
        elif count.recomputed is not None:
            verdict = (
                "✓ 一致 matches the published value"
                if e.matches
                else f"✗ 不一致 MISMATCH: published {_text(e.value)}, difference {_text(count.recomputed - e.value)}"
            )
            line += f"  复算 recomputed = {_text(count.recomputed)}  {verdict}"
        elif count.sums:
            line += f"  合计 sums: {_pairs(count.sums)}"
        lines.append(line)
    if e.meta and e.recomputed is None and not any(c.error for c in e.counts):
        lines.append(f"  ! meta model {e.meta.get('model')!r} is not a fact or staging model upstream of {e.mart}")
    return lines


def _examples(e: Explanation) -> list[str]:
    lines = ["3 明细行示例 Staging rows, examples (load · sheet · row in the sheet)"]
    for model, rows in e.examples.items():
        for row in rows:
            first = next(iter(row))
            lineage = f"load {row['load_id']} · {row['source_sheet']} · 第 {row['source_row']} 行 row"
            lines.append(f"  {model}: {first}={row[first]}  {lineage}")
    return lines


def _files(e: Explanation) -> list[str]:
    lines = ["4 源文件 Source files (ops.loads)"]
    for load_id in sorted({g["load_id"] for g in e.loads}):
        groups = [g for g in e.loads if g["load_id"] == load_id]
        f = groups[0]["file"]
        state = "current 现行" if f.get("is_current") else "superseded 已更正"
        lines += [
            f"  load {load_id} · {f.get('feed')} · {f.get('file_name')} · 版本 version {f.get('version')} ({state})",
            f"    sha256 {f.get('file_sha256')}",
            f"    收到 received {_text(f.get('received_at'))} · 入库 loaded {_text(f.get('loaded_at'))}",
        ]
        lines += [
            f"    sheet {g['sheet']}  rows {g['first_row']}–{g['last_row']}: {g['rows']} 行 rows → {g['staging']}"
            f" ← {g['raw']} ({g['raw_rows']} 行 rows)"
            for g in groups
        ]
    return lines


def _checks(e: Explanation) -> list[str]:
    run = e.rules[0]["run_id"] if e.rules else "—"
    lines = [f"5 校验规则 Rules that checked it (dq.rule_runs, run {run})"]
    lines += [
        f"  {'✓' if r['status'] == 'passed' else '✗'} {r['status']:<6} [{r['severity']}] {r['rule_id']}"
        f" ({r['kind']} on {r['relation']})  {r['description_zh']}"
        for r in e.rules
    ]
    in_force = [p for p in e.publications if p["status"] == "published"]
    if in_force and e.rules and max(r["checked_at"] for r in e.rules) > in_force[-1]["decided_at"]:
        lines.append(
            f"  注意 Note: checked again after publication #{in_force[-1]['publication_id']} (in force) and"
            " not published since: these are the later results"
        )
    lines.append(f"  {e.county_name} 未通过 failures: {'' if e.failures else '无 none'}")
    lines += [
        f"    {f['rule_id']} {f['measure']}: declared {_text(f['declared'])}, computed {_text(f['computed'])},"
        f" difference {_text(f['difference'])}{' ←' if f['measure'] == e.metric else ''}"
        for f in e.failures
    ]
    lines.append("  发布 Publications (dq.publications):" + ("" if e.publications else " 无 none"))
    lines += [
        f"    #{p['publication_id']} {p['status']} {_text(p['decided_at'])} · run {p['run_id']}"
        f" · rules passed {p['rules_passed']}, failed {p['rules_failed']}, warned {_text(p['rules_warned'])}"
        + (f" · {p['reason']}" if p["reason"] else "")
        for p in e.publications
    ]
    return lines


def render(e: Explanation) -> str:
    """The explanation as an auditor reads it: Chinese labels with English, one or two screens."""
    title = f"解释 Explain  {e.mart} · {e.county_name} ({e.county_code}) · {e.month:%Y-%m} · {e.metric}"
    sections = [[title], _figure(e), _counts(e), _examples(e), _files(e), _checks(e)]
    return "\n\n".join("\n".join(lines) for lines in sections)
