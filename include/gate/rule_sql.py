"""The SQL a rule compiles to: one template per rule kind (``TEMPLATES``), and ``compile_sql``.

Each rule compiles to the unexpected-rows query of one Great Expectations
``UnexpectedRowsExpectation``. Every query returns the same columns:
``county_code, month_start, measure, declared, computed, difference``, plus the
lineage ``load_id, source_sheet, source_row`` when the row comes from a staging
or fact relation, so the gate can record and report any failure the same way.
``{batch}`` is the rule's primary relation restricted to the run's month; other
relations are read through their month-scoped ``gate.<relation>`` views, and
earlier months (monotonic, outlier) from the relation itself.

A rule compared per group (``by``) pairs its rows per county, month and group, and each
offending row names its group in ``group_key`` (``program_code=dibao``).

The rules come parsed and checked from ``rule_schema``; the templates check again what they
splice into SQL (identifiers, expressions, literals) with its validators.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal

from include import config
from include.gate.rule_schema import (
    COMPARE_TO,
    OPERATORS,
    WAREHOUSE,
    Rule,
    Schemas,
    Side,
    expression,
    identifier,
    literal,
)

LINEAGE = ("load_id", "source_sheet", "source_row")
LINEAGE_PREFIXES = ("stg_", "fct_")  # staging and facts carry lineage by convention; marts aggregate it away

# ---------------------------------------------------------------------------------------------
# SQL templates, one per rule kind. Each builds a CTE `compared` with one row per county, month
# and measure (county_code, month_start, measure, declared, computed [, lineage]); `_report`
# then keeps the rows in scope that break the rule.
# ---------------------------------------------------------------------------------------------

_WORD = re.compile(r"\b([a-z_][a-z0-9_]*)\b")
_FUNCTIONS = {"round", "abs", "coalesce", "nullif", "greatest", "least"}


def _qualify(text: str, alias: str) -> str:
    """Prefix the column names of a rule expression with a table alias; arithmetic is in numeric.

    ``balance_households / (lifted_households + monitored_households)`` on integer columns
    would otherwise divide as integers.
    """
    return _WORD.sub(lambda m: m[1] if m[1] in _FUNCTIONS else f"{alias}.{m[1]}::numeric", text)


def _has_lineage(relation: str) -> bool:
    return relation.startswith(LINEAGE_PREFIXES)


def _lineage(alias: str, relation: str) -> str:
    """``, alias.load_id, alias.source_sheet, alias.source_row`` when the relation carries lineage."""
    return "".join(f", {alias}.{column}" for column in LINEAGE) if _has_lineage(relation) else ""


def _group_key(by: tuple[str, ...], alias: str) -> str:
    """``, concat('program_code=', s.program_code::text) as group_key``: the group of a row as text, which
    pairs rows of relations whose group columns differ in type, and pairs null groups too (``=`` on the
    columns would not); empty without ``by``."""
    if not by:
        return ""
    parts = ", ".join(f"'{', ' if i else ''}{column}=', {alias}.{column}::text" for i, column in enumerate(by))
    return f", concat({parts}) as group_key"


def _same_group(by: tuple[str, ...], left: str, right: str) -> str:
    """`` and left.group_key = right.group_key``: the join condition a rule compared per group adds."""
    return f" and {left}.group_key = {right}.group_key" if by else ""


def _either_group(by: tuple[str, ...], left: str, right: str) -> str:
    """The group of a row of a full outer join of ``left`` and ``right`` (either side may be missing)."""
    return f",\n        coalesce({left}.group_key, {right}.group_key) as group_key" if by else ""


def _number(value: Decimal | float) -> str:
    return format(Decimal(str(value)).normalize(), "f")


def _scope(rule: Rule, alias: str = "", places: bool = True) -> str:
    """SQL condition restricting rows to the rule's levels, counties and months."""
    prefix = f"{alias}." if alias else ""
    county, month = f"{prefix}county_code", f"{prefix}month_start"
    parts = []
    if places:
        if rule.levels == ("county",):
            parts.append(f"{county} <> '{config.CITY_CODE}'")
        elif rule.levels == ("city",):
            parts.append(f"{county} = '{config.CITY_CODE}'")
        if rule.counties:
            parts.append(f"{county} in ({', '.join(repr(c) for c in rule.counties)})")
        if rule.exclude_counties:
            parts.append(f"{county} not in ({', '.join(repr(c) for c in rule.exclude_counties)})")
    if rule.months:
        listed = [f"date '{m}-01'" for m in rule.months if "-" in m]
        numbers = [m for m in rule.months if "-" not in m]
        either = []
        if listed:
            either.append(f"{month} in ({', '.join(listed)})")
        if numbers:
            either.append(f"extract(month from {month}) in ({', '.join(numbers)})")
        parts.append(either[0] if len(either) == 1 else f"({' or '.join(either)})")
    return " and ".join(parts) or "true"


def _slack(rule: Rule, computed: str) -> str:
    """How far declared may be from computed: the tolerance, absolute or relative to computed."""
    tolerance = _number(rule.tolerance)
    return f"{tolerance} * abs({computed})" if rule.relative else tolerance


def _broken(rule: Rule, declared: str, computed: str) -> str:
    slack = _slack(rule, computed)
    if rule.operator in ("=", "in"):
        return f"abs({declared} - {computed}) > {slack}"
    sign = "+" if rule.operator in ("<", "<=") else "-"
    return f"not ({declared} {rule.operator} {computed} {sign} {slack})"


def _report(
    rule: Rule,
    ctes: str,
    lineage: bool,
    *,
    extra: str = "",
    broken: Callable[[str, str], str] | None = None,
    required: tuple[str, ...] = ("declared", "computed"),
    places: bool = True,
) -> str:
    """The offending rows of ``compared``: in scope, and breaking the rule (``missing`` decides nulls);
    with ``by``, each names its group (``group_key``)."""
    declared, computed = "declared", "computed"
    if rule.missing == "zero":
        declared, computed = "coalesce(declared, 0)", "coalesce(computed, 0)"
    condition = f"({(broken or (lambda d, c: _broken(rule, d, c)))(declared, computed)})"
    nullable = [{"declared": declared, "computed": computed}[name] for name in required]
    if rule.missing == "fail":
        condition = " or ".join([*(f"{value} is null" for value in nullable), condition])
    elif rule.missing == "skip":
        condition = " and ".join([*(f"{value} is not null" for value in nullable), condition])
    scope = _scope(rule, places=places)
    where = f"({condition})" if scope == "true" else f"{scope} and ({condition})"
    lineage_columns = "".join(f",\n    {column}" for column in LINEAGE) if lineage else ""
    if rule.by:
        lineage_columns += ",\n    group_key"
    values = (
        "declared,\n    computed" if rule.missing != "zero" else f"{declared} as declared,\n    {computed} as computed"
    )
    return f"""with
{ctes.strip()}
select
    county_code,
    month_start,
    measure,
    {values},
    {declared} - {computed} as difference{lineage_columns}{extra}
from compared
where {where}
"""


def _where(side: Side, alias: str) -> str:
    conditions = []
    for column, values in side.where:
        literals = [literal(value) for value in values]
        rendered = f"= {literals[0]}" if len(literals) == 1 else f"in ({', '.join(literals)})"
        conditions.append(f"{alias}.{column} {rendered}")
    return " and ".join(conditions) or "true"


def _side_rows(side: Side, source: str, pairs: list[tuple[str, str]], by: tuple[str, ...] = ()) -> str:
    """One side of a comparison as rows (county_code, month_start, measure, value [, lineage] [, group_key]).

    An aggregated side sums (counts) its rows per county and month (and group, ``by``), and over the
    whole city for the 商丘市 row: a distinct count there counts each key once, not once per county.
    """
    alias = "s"
    group = _group_key(by, alias)
    if not side.aggregate:
        values = ", ".join(f"('{name}', ({_qualify(expr, alias)})::numeric)" for name, expr in pairs)
        return f"""
    select {alias}.county_code, {alias}.month_start, v.measure, v.value{_lineage(alias, side.relation)}{group}
    from {source} as {alias} cross join lateral (values {values}) as v (measure, value)
    where {_where(side, alias)}"""
    if side.aggregate == "sum":
        values = ", ".join(f"('{name}', ({_qualify(expr, alias)})::numeric)" for name, expr in pairs)
        total = "sum(v.value)"
    else:  # count rows (or non-null values), or distinct values: compared as text
        values = ", ".join(f"('{name}', ({f'{alias}.{expr}' if expr else '1'})::text)" for name, expr in pairs)
        total = "count(distinct v.value)" if side.aggregate == "count_distinct" else "count(v.value)"
    groups = [f"{alias}.{column}" for column in by]  # kept in the 商丘市 grouping set too
    per_county = ", ".join([f"{alias}.month_start", f"{alias}.county_code", "v.measure", *groups])
    per_city = ", ".join([f"{alias}.month_start", "v.measure", *groups])
    return f"""
    select
        case when grouping({alias}.county_code) = 1 then '{config.CITY_CODE}' else {alias}.county_code end
            as county_code,
        {alias}.month_start,
        v.measure,
        {total}::numeric as value{group}
    from {source} as {alias} cross join lateral (values {values}) as v (measure, value)
    where {_where(side, alias)}
    group by grouping sets (({per_county}), ({per_city}))"""


def _source(rule: Rule, relation: str, schemas: Schemas) -> str:
    return "{batch}" if relation == rule.relation else schemas.scoped(relation)


def _comparison(rule: Rule, schemas: Schemas) -> str:
    """Left <operator> right per county and month (and group, ``by``): 汇总 = detail, part <= whole,
    declared = computed."""
    assert rule.left
    left, right = rule.left, rule.right[0]
    if rule.measures:
        pairs = [(m, left.value or m, right.value or m) for m in rule.measures]
    else:
        pairs = [(rule.measure, left.value, right.value)]
    traced = [
        name for name, side in (("lhs", left), ("rhs", right)) if _has_lineage(side.relation) and not side.aggregate
    ]
    lineage = "".join(
        f",\n        {f'coalesce(lhs.{column}, rhs.{column})' if len(traced) == 2 else f'{traced[0]}.{column}'}"
        f" as {column}"
        for column in LINEAGE
        if traced
    )
    ctes = f"""
lhs as ({_side_rows(left, _source(rule, left.relation, schemas), [(n, lhs) for n, lhs, _ in pairs], rule.by)}
),
rhs as ({_side_rows(right, _source(rule, right.relation, schemas), [(n, rhs) for n, _, rhs in pairs], rule.by)}
),
compared as (
    select
        coalesce(lhs.county_code, rhs.county_code) as county_code,
        coalesce(lhs.month_start, rhs.month_start) as month_start,
        coalesce(lhs.measure, rhs.measure) as measure,
        lhs.value as declared,
        rhs.value as computed{lineage}{_either_group(rule.by, "lhs", "rhs")}
    from lhs
    full outer join rhs
        on lhs.county_code = rhs.county_code and lhs.month_start = rhs.month_start and lhs.measure = rhs.measure{
        _same_group(rule.by, "lhs", "rhs")
    }
)"""
    return _report(rule, ctes, bool(traced))


def _unpivot(alias: str, measures: tuple[str, ...], previous: str = "") -> str:
    """``cross join lateral (values ...) as m (measure, value[, previous])``: one row per measure."""
    rows = ", ".join(
        f"('{m}', {alias}.{m}::numeric{f', {previous}.{m}::numeric' if previous else ''})" for m in measures
    )
    return f"cross join lateral (values {rows}) as m (measure, value{', previous' if previous else ''})"


def _hierarchy(rule: Rule, schemas: Schemas) -> str:
    """The county rows add up to the 商丘市 row (declared: the city row; computed: the sum of the counties),
    in each group (``by``: the county rows of a programme add up to its 商丘市 row)."""
    city = config.CITY_CODE
    lineage = _has_lineage(rule.relation)
    group = ", group_key" if rule.by else ""
    ctes = f"""
long as (
    select b.county_code, b.month_start, m.measure, m.value{_lineage("b", rule.relation)}{_group_key(rule.by, "b")}
    from {{batch}} as b {_unpivot("b", rule.measures)}
),
city as (select * from long where county_code = '{city}'),
parts as (
    select month_start, measure{group}, sum(value) as value from long where county_code <> '{city}'
    group by month_start, measure{group}
),
compared as (
    select
        '{city}' as county_code,
        coalesce(city.month_start, parts.month_start) as month_start,
        coalesce(city.measure, parts.measure) as measure,
        city.value as declared,
        parts.value as computed{_lineage("city", rule.relation)}{_either_group(rule.by, "city", "parts")}
    from city
    full outer join parts on city.month_start = parts.month_start and city.measure = parts.measure{
        _same_group(rule.by, "city", "parts")
    }
)"""
    return _report(rule, ctes, lineage, places=False)


def _declared_in_batch(column: str) -> str:
    """The head of a ``compared`` CTE whose declared figure is a column of the batch's own rows."""
    return f"""
compared as (
    select
        b.county_code,
        b.month_start,
        '{column}' as measure,
        b.{column}::numeric as declared,"""


def _ratio(rule: Rule, schemas: Schemas) -> str:
    """A printed rate equals numerator / denominator, within the tolerance of what was printed.

    ``tolerance: {decimals: 2}`` is the precision the rate is printed with (24.41% -> within
    0.005); ``operand_rounding`` is how far the printed numerator and denominator may each be from
    their true values (0 for counts, 0.005 for amounts printed in 亿元 with two decimals).
    """
    rate = identifier(rule.options["rate"])
    scale = _number(rule.options.get("scale", 100))
    slack = _number(rule.options.get("operand_rounding", 0))
    num = _qualify(expression(rule.options["numerator"]), "b")
    den = _qualify(expression(rule.options["denominator"]), "b")
    ctes = f"""{_declared_in_batch(rate)}
        round({scale} * ({num}) / nullif({den}, 0), 4) as computed,
        {scale} * (({num}) - {slack}) / nullif(({den}) + {slack}, 0) as lowest,
        {scale} * (({num}) + {slack}) / nullif(({den}) - {slack}, 0) as highest{_lineage("b", rule.relation)}
    from {{batch}} as b
)"""

    def broken(declared: str, computed: str) -> str:
        tolerance = _slack(rule, computed)
        return f"{declared} + {tolerance} < lowest or {declared} - {tolerance} > highest"

    return _report(rule, ctes, _has_lineage(rule.relation), broken=broken)


def _rank(rule: Rule, schemas: Schemas) -> str:
    """A printed rank equals the order of the figure it ranks, among the counties in scope
    (highest first unless ``ascending``)."""
    printed = identifier(rule.options["rank"])
    order = "asc" if rule.options.get("ascending") else "desc"
    by = _qualify(expression(rule.options["by"]), "b")
    ctes = f"""{_declared_in_batch(printed)}
        rank() over (partition by b.month_start order by ({by}) {order} nulls last)::numeric as computed{
        _lineage("b", rule.relation)
    }
    from {{batch}} as b
    where b.county_code <> '{config.CITY_CODE}' and {_scope(rule, "b")}
)"""
    return _report(rule, ctes, _has_lineage(rule.relation))


def _previous(rule: Rule, schemas: Schemas, interval: str) -> str:
    """The same county's (and group's) row ``interval`` earlier, as ``p``."""
    same_group = "".join(f" and p.{column} is not distinct from b.{column}" for column in rule.by)
    return (
        f"left join {schemas.full(rule.relation)} as p\n"
        f"        on p.county_code = b.county_code and p.month_start = (b.month_start - interval '{interval}')::date"
        f"{same_group}"
    )


def _monotonic(rule: Rule, schemas: Schemas) -> str:
    """A year-to-date figure never falls from one month to the next (declared: this month; computed:
    the previous month), except in January and in a month whose feed was restated (version > 1)."""
    feed = rule.options.get("feed")
    restated = (
        f"\n        and not exists (select 1 from {config.SCHEMA_OPS}.loads as l where l.feed = '{identifier(feed)}'"
        f" and l.feed_month = b.month_start and l.is_current and l.version > 1)"
        if feed
        else ""
    )
    ctes = f"""
compared as (
    select b.county_code, b.month_start, m.measure, m.value as declared, m.previous as computed{
        _lineage("b", rule.relation)
    }{_group_key(rule.by, "b")}
    from {{batch}} as b
    {_previous(rule, schemas, "1 month")}
    {_unpivot("b", rule.measures, "p")}
    where extract(month from b.month_start) > 1{restated}
)"""
    return _report(rule, ctes, _has_lineage(rule.relation))


def _cross_reference(rule: Rule, schemas: Schemas) -> str:
    """Every key on the list (left) is known to one of the registers (right): declared 1, computed 1
    when found, 0 when not. Registers are read for the same month unless ``same_month: false`` (then
    any month up to the list's). One hash join: the registers' distinct keys against the list."""
    assert rule.left
    key = identifier(rule.left.value)
    same_month = rule.options.get("same_month", True)
    known = "\n    union all\n".join(
        f"    select r.{identifier(side.value)}::text as key, r.month_start\n"
        f"    from {schemas.scoped(side.relation) if same_month else schemas.full(side.relation)} as r\n"
        f"    where {_where(side, 'r')} and r.month_start <= (select max(month_start) from listed)"
        for side in rule.right
    )
    ctes = f"""
listed as (
    select s.county_code, s.month_start, s.{key}{_lineage("s", rule.relation)}
    from {{batch}} as s
    where {_where(rule.left, "s")}
),
known as (
{known}
),
compared as (
    select
        listed.*,
        '{rule.measure}' as measure,
        1::numeric as declared,
        (case
            when listed.{key} is null then null
            when found.key is not null then 1
            else 0
        end)::numeric as computed
    from listed
    left join (select distinct key from known) as found on found.key = listed.{key}::text
)"""
    return _report(rule, ctes, _has_lineage(rule.relation), extra=f",\n    {key}")


def _outlier(rule: Rule, schemas: Schemas) -> str:
    """A value outside [min, max] (computed: the bound), or moving more than ``max_change`` (a fraction)
    from the previous month or, with ``compare_to: previous_year``, the same month a year before
    (computed: that value). Only the value itself can be missing: without an earlier value there is
    no change to judge."""
    low, high, change = (rule.options.get(k) for k in ("min", "max", "max_change"))
    bounds = "".join(
        f" when m.value {op} {_number(limit)} then {_number(limit)}"
        for op, limit in (("<", low), (">", high))
        if limit is not None
    )
    ctes = f"""
compared as (
    select
        b.county_code,
        b.month_start,
        m.measure,
        m.value as declared,
        {f"case{bounds} else m.previous end" if bounds else "m.previous"} as computed,
        m.previous{_lineage("b", rule.relation)}{_group_key(rule.by, "b")}
    from {{batch}} as b
    {_previous(rule, schemas, COMPARE_TO[rule.options.get("compare_to", "previous_month")])}
    {_unpivot("b", rule.measures, "p")}
)"""

    def broken(declared: str, computed: str) -> str:
        conditions = [
            f"{declared} {op} {_number(limit)}" for op, limit in (("<", low), (">", high)) if limit is not None
        ]
        if change is not None:
            conditions.append(f"(previous <> 0 and abs({declared} / previous - 1) > {_number(change)})")
        return " or ".join(conditions)

    return _report(rule, ctes, _has_lineage(rule.relation), broken=broken, required=("declared",))


# The columns of a declared figure the report and the official-indicators mart need: as printed, and its name.
_PRINTED = ("declared_value", "declared_unit", "base_unit", "base_tolerance", "indicator_name")


def _truncated(declared: str, computed: str) -> str:
    """A rate whose exact value lies in [printed, printed + one printed unit): it was truncated, not rounded."""
    return f"(base_unit = '%' and {computed} >= {declared} and {computed} < {declared} + 2 * base_tolerance)"


def _findings(rule: Rule, broken: str, truncated: str) -> str:
    """``finds: contradiction`` reports what no reading of the printing satisfies; ``truncation`` what only
    a truncated rate satisfies."""
    if rule.options.get("finds", "contradiction") == "truncation":
        return f"({broken}) and {truncated}"
    return f"({broken}) and not {truncated}"


def _declared_ctes(rule: Rule, schemas: Schemas) -> str:
    computed = []
    for code, spec in rule.options["indicators"].items():
        relation = identifier(spec["relation"])
        where = " and ".join(f"{identifier(c)} = {literal(v)}" for c, v in spec.get("where", {}).items())
        operator = OPERATORS[str(spec.get("operator", "="))]
        computed.append(
            f"select county_code, month_start, {literal(identifier(code))} as measure, "
            f"{literal(relation)} as mart, '{operator}' as operator, "
            f"sum(({expression(spec['value'])})::numeric) as computed "
            f"from {schemas.scoped(relation)} where {where or 'true'} group by county_code, month_start"
        )
    union = "\n        union all\n        ".join(computed)
    printed = "".join(f", d.{column}" for column in _PRINTED)
    return f"""
declared as (select * from {{batch}} as declared_rows),
computed as (
        {union}
),
compared as (
    select d.county_code, d.month_start, d.indicator_code as measure, d.base_value as declared, c.computed,
        c.operator, c.mart{printed}, d.load_id, d.source_sheet, d.source_row
    from declared as d
    inner join computed as c
        on c.county_code = d.county_code and c.month_start = d.month_start and c.measure = d.indicator_code
)"""


def _declared(rule: Rule, schemas: Schemas) -> str:
    """Figures a report declares (one row per county, month and indicator code) = the marts' values.

    ``indicators`` maps each code to the mart ``relation``, the ``value`` expression over its
    columns, summed over the rows ``where`` (column: value) picks for each county and month
    (one row for most figures), and optionally ``operator: ">"``
    for a printed bound such as 超过50%. The declared value comes in its base unit with
    ``base_tolerance`` beside it (half a unit of its last printed digit). Each offending row
    names its mart; the gate decides which side is wrong. A rate whose computed value it
    truncates (57.03 for 57.038) is reported by ``finds: truncation`` only.
    """

    def broken(declared: str, computed: str) -> str:
        differs = (
            f"case operator when '=' then abs({declared} - {computed}) > base_tolerance "
            f"when '>' then not ({computed} > {declared}) else not ({computed} >= {declared}) end"
        )
        return _findings(rule, differs, f"(operator = '=' and {_truncated(declared, computed)})")

    extra = "".join(f",\n    {column}" for column in ("mart", *_PRINTED))
    return _report(rule, _declared_ctes(rule, schemas), True, extra=extra, broken=broken)


def declared_values_sql(rule: Rule, schemas: Schemas = WAREHOUSE) -> str:
    """Every declared figure of the month with the value its mart computes (``{batch}``: the declared rows)."""
    ctes = _declared_ctes(rule, schemas).strip()
    return f"with\n{ctes}\nselect county_code, month_start, measure, computed, mart from compared"


def _consistency(rule: Rule, schemas: Schemas) -> str:
    """Declared figures that cannot all be true at their printed precision (interval arithmetic).

    Each of ``relations`` ties a ``figure`` to others declared for the same county and month:
    ``ratio: [a, b]`` (the figure is the rate 100 × a / b), ``sum: [parts]`` (the figure is their
    total) or ``at_most: whole`` (a part never exceeds its whole). Every declared value stands for
    the interval its printing allows (± ``base_tolerance``, whole base units for counts and amounts);
    the relation holds when some exact values inside those intervals satisfy it. ``computed`` is what
    the other figures give (the rate of their printed values, the sum, the whole), ``low``/``high``
    the exact values they allow for the figure.
    A figure missing from the report skips its relation.
    """
    selects = []
    for relation in rule.options["relations"]:
        figure = identifier(relation["figure"])
        (kind,) = set(relation) - {"figure"}
        others = [relation[kind]] if isinstance(relation[kind], str) else list(relation[kind])
        names = [identifier(code) for code in others]
        joins = "".join(
            f"\n    inner join figures as o{i} on o{i}.county_code = f.county_code and o{i}.month_start = f.month_start"
            f" and o{i}.indicator_code = '{code}'"
            for i, code in enumerate(names)
        )
        if kind == "ratio":
            (a, b) = ("o0", "o1")
            computed = f"round(100 * {a}.base_value / nullif({b}.base_value, 0), 4)"
            low = f"100 * greatest({a}.lo, 0) / nullif({b}.hi, 0)"
            high = f"100 * {a}.hi / nullif({b}.lo, 0)"
        elif kind == "sum":
            computed = " + ".join(f"o{i}.base_value" for i in range(len(names)))
            low = " + ".join(f"o{i}.lo" for i in range(len(names)))
            high = " + ".join(f"o{i}.hi" for i in range(len(names)))
        else:  # at_most
            computed, low, high = "o0.base_value", "null::numeric", "o0.hi"
        values = " || '; ' || ".join(
            f"{alias}.indicator_name || ' ' || trim_scale({alias}.declared_value)::text || {alias}.declared_unit"
            for alias in ("f", *(f"o{i}" for i in range(len(names))))
        )
        selects.append(
            f"""select f.county_code, f.month_start, '{figure}' as measure, f.base_value as declared,
        {computed} as computed, {low} as low, {high} as high, '{kind}' as relation,
        '{",".join([figure, *names])}' as figures, {values} as printed,
        f.lo, f.hi{"".join(f", f.{column}" for column in _PRINTED)}, f.load_id, f.source_sheet, f.source_row
    from figures as f{joins}
    where f.indicator_code = '{figure}'"""
        )
    union = "\n    union all\n    ".join(selects)
    ctes = f"""
figures as (
    select
        declared_rows.*,
        case when base_unit = '%' then base_value - base_tolerance else ceil(base_value - base_tolerance) end as lo,
        case when base_unit = '%' then base_value + base_tolerance else floor(base_value + base_tolerance) end as hi
    from {{batch}} as declared_rows
),
compared as (
    {union}
)"""

    def broken(declared: str, computed: str) -> str:
        outside = "(hi < low or lo > high)"
        truncated = (
            f"(base_unit = '%' and relation = 'ratio' and {declared} + 2 * base_tolerance > low and {declared} <= high)"
        )
        return _findings(rule, outside, truncated)

    extra = "".join(f",\n    {column}" for column in ("relation", "figures", "printed", "low", "high", *_PRINTED))
    return _report(rule, ctes, True, extra=extra, broken=broken, required=("declared",))


TEMPLATES: dict[str, Callable[[Rule, Schemas], str]] = {
    "declared": _declared,
    "consistency": _consistency,
    "hierarchy": _hierarchy,
    "comparison": _comparison,
    "ratio": _ratio,
    "rank": _rank,
    "monotonic": _monotonic,
    "cross_reference": _cross_reference,
    "outlier": _outlier,
}


_JOIN = re.compile(r"\bjoin\b", re.IGNORECASE)
_QUOTED = re.compile(r"'(?:[^']|'')*'")
_BATCH = re.compile(r"\{batch\} as (\w+)")


def compile_sql(rule: Rule, schemas: Schemas = WAREHOUSE) -> str:
    """The unexpected-rows query of a rule; ``{batch}`` is the month-scoped primary relation.

    GX substitutes ``{batch}`` with an aliased subquery (``... AS subselect``) unless the
    query contains a JOIN (outside quotes), in which case aliasing is left to the query.
    Every template aliases the batch itself, so a query without a join gets a no-op one.
    """
    sql = TEMPLATES[rule.kind](rule, schemas).strip()
    if not _JOIN.search(_QUOTED.sub("''", sql)):
        sql = _BATCH.sub(r"{batch} as \1 cross join (select 1 as one) as no_op_join", sql, count=1)
    return sql
