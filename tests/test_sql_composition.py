"""No text from outside the code can become SQL: a static proof over include/, dags/ and plugins/.

Every call that runs SQL (``.execute``, ``.executemany``, ``.copy``, sqlalchemy ``text``, a Great Expectations
``unexpected_rows_query=``) must be given a string that only the code wrote, or a ``psycopg.sql`` composition,
and every ``sql.SQL(...)`` (the one composable that is not quoted) must itself be given such a string. "Only the
code wrote" means: a string constant, a name bound (in its function or at module level) to one, an element of a
module-level table of constants, a ``+`` or an ``if``/``else`` of those, or a ``.sql`` file of the package read by
``importlib.resources``. An f-string, ``%`` or ``.format`` on a str, a ``+`` or ``.join`` with anything else, a
parameter or an attribute never is: names, headers and cells reach SQL only through ``sql.Identifier``,
``sql.Literal`` or a query parameter. The checker is tested on planted bad snippets, so it can fail.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCANNED = ("include", "dags", "plugins")
SINKS = {"execute", "executemany", "copy"}  # methods whose first argument is SQL
SQL_KEYWORDS = {"unexpected_rows_query"}  # keyword arguments that are SQL another library runs
QUOTED = {"Identifier", "Literal", "Placeholder"}  # psycopg.sql composables that quote what they are given
COMPOSERS = {"format", "join"}  # methods of a composable that give a composable
RESOURCE_CHAIN = ("files", "joinpath", "read_text")  # resources.files(C).joinpath(C).read_text(...)

# (file, function, argument as written): SQL that the project writes elsewhere than in Python. Keep it tiny.
ALLOWED = {
    ("include/explain.py", "_literal_sql", "text.replace('%', '%%')"): (
        "the measure and filter of a figure's `meta` in the dbt models' YAML (dbt_project/models): SQL the project "
        "writes and reviews, run by the auditor's read-only role"
    ),
    ("include/gate/dbt_tests.py", "_failing_rows", "node.compiled_code"): (
        "the query dbt compiled from the project's own data tests, run to keep their failing rows"
    ),
    ("include/gate/blame.py", "build_official_indicators", "declared_values_sql(rule).replace('{batch}', batch)"): (
        "a query include.gate.rule_sql compiles from the committed rule YAML, every field of which is checked against "
        "IDENTIFIER, EXPRESSION or LITERAL before it is compiled; batch is a gate view name from the same rules"
    ),
    ("include/gate/gate.py", "_add_columns", "kind"): (
        "a column type as PostgreSQL's format_type() prints it from the catalog (it quotes what needs quoting), "
        "so that a published mart gains a column the candidate gained, in the same type"
    ),
    ("include/gate/gx_context.py", "expectation", "compile_sql(rule, schemas)"): (
        "the same compiled rule query, handed to Great Expectations to run"
    ),
}


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    function: str
    argument: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line} in {self.function}(): SQL from {self.argument}"


def _callee(node: ast.expr) -> str:
    """The last name of a call's function (``conn.execute`` -> execute, ``sql.SQL`` -> SQL)."""
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else ""


class _Checker:
    """Decides, for one module, whether an expression is SQL only the code wrote."""

    def __init__(self, tree: ast.Module) -> None:
        self.tree = tree
        self.functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
        self.parents: dict[ast.AST, ast.AST] = {}
        for parent in ast.walk(tree):
            for child in ast.iter_child_nodes(parent):
                self.parents[child] = parent
        self.uses_sqlalchemy = any(
            isinstance(n, ast.ImportFrom | ast.Import)
            and any("sqlalchemy" in (getattr(n, "module", None) or a.name) for a in n.names)
            for n in ast.walk(tree)
        )

    # --- where a name is bound ---

    def scopes(self, node: ast.AST) -> Iterator[ast.AST]:
        """The functions around ``node``, innermost first, then the module."""
        while node in self.parents:
            node = self.parents[node]
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                yield node
        yield self.tree

    def bindings(self, name: str, scope: ast.AST) -> list[ast.expr] | None:
        """What ``name`` is bound to in ``scope`` (for-loop targets: what they iterate); None: a parameter or
        another kind of binding (import, with, except), which is never trusted; []: not bound here."""
        if isinstance(scope, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            args = scope.args
            if name in {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg] if a}:
                return None
        nodes = ast.walk(scope) if scope is not self.tree else iter(self.tree.body)
        found: list[ast.expr] = []
        for node in nodes:
            if node is not scope and isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                continue
            targets: list[ast.expr] = []
            value: ast.expr | None = None
            if isinstance(node, ast.Assign):
                targets, value = node.targets, node.value
            elif isinstance(node, ast.AnnAssign | ast.AugAssign) and node.value is not None:
                targets, value = [node.target], node.value
            elif isinstance(node, ast.For | ast.comprehension):
                targets, value = [node.target], node.iter
            elif isinstance(node, ast.NamedExpr):
                targets, value = [node.target], node.value
            elif isinstance(node, ast.withitem | ast.ExceptHandler | ast.Import | ast.ImportFrom):
                names = {
                    getattr(t, "id", None)
                    for t in ast.walk(getattr(node, "optional_vars", None) or ast.Pass())
                    if isinstance(t, ast.Name)
                }
                names |= {getattr(node, "name", None)} | {
                    (a.asname or a.name).split(".")[0] for a in getattr(node, "names", [])
                }
                if name in names:
                    return None
            if value is not None and any(
                isinstance(t, ast.Name) and t.id == name for target in targets for t in ast.walk(target)
            ):
                found.append(value)
        return found

    def bound_literal(self, name: ast.Name, seen: frozenset[int]) -> bool:
        for scope in self.scopes(name):
            values = self.bindings(name.id, scope)
            if values is None:
                return False
            if values:
                return all(self.literal(v, seen) for v in values)
        return False

    # --- the two kinds of trusted SQL ---

    def literal(self, node: ast.expr, seen: frozenset[int] = frozenset()) -> bool:  # noqa: PLR0911 (one per node kind)
        """Text only the code wrote (or a table of such texts)."""
        if id(node) in seen:
            return False
        seen |= {id(node)}
        if isinstance(node, ast.Constant):
            return isinstance(node.value, str | int | float | bool) or node.value is None
        if isinstance(node, ast.Name):
            return self.bound_literal(node, seen)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            return self.literal(node.left, seen) and self.literal(node.right, seen)
        if isinstance(node, ast.IfExp):
            return self.literal(node.body, seen) and self.literal(node.orelse, seen)
        if isinstance(node, ast.Tuple | ast.List | ast.Set):
            return all(self.literal(e, seen) for e in node.elts)
        if isinstance(node, ast.Dict):
            return all(self.literal(e, seen) for e in [*node.keys, *node.values] if e is not None)
        if isinstance(node, ast.Subscript):  # an entry of a table of constants, whatever the key
            return self.literal(node.value, seen)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            method, receiver = node.func.attr, node.func.value
            arguments = [*node.args, *(k.value for k in node.keywords)]
            if method == "get":  # an entry of a table of constants, or the default
                arguments = arguments[1:]
            if method in {"items", "values", "keys", "get", "replace", "join"}:  # a constant table's rows; C.join(C)
                return self.literal(receiver, seen) and all(self.literal(a, seen) for a in arguments)
            if method == RESOURCE_CHAIN[-1]:
                return self.packaged_file(node)
        return False

    def packaged_file(self, node: ast.Call) -> bool:
        """``resources.files("include.x").joinpath("y.sql").read_text(...)``: a file of the package, i.e. code."""
        chain: list[ast.Call] = []
        current: ast.expr = node
        while isinstance(current, ast.Call) and isinstance(current.func, ast.Attribute):
            chain.append(current)
            current = current.func.value
        names = tuple(reversed([c.func.attr for c in chain if isinstance(c.func, ast.Attribute)]))
        positional = [a for c in chain[1:] for a in c.args]
        return names == RESOURCE_CHAIN and all(isinstance(a, ast.Constant) for a in positional)

    def composable(self, node: ast.expr, seen: frozenset[int] = frozenset()) -> bool:  # noqa: PLR0911 (one per node kind)
        """A psycopg.sql composition (whose every ``sql.SQL`` is checked where it is written)."""
        if id(node) in seen:
            return False
        seen |= {id(node)}
        if isinstance(node, ast.Call):
            name = _callee(node.func)
            if name in {"SQL", *QUOTED, "Composed"} or (name == "text" and self.uses_sqlalchemy):
                return True  # (the text given to sql.SQL or sqlalchemy's text is checked where it is written)
            if name in COMPOSERS and isinstance(node.func, ast.Attribute):
                return self.composable(node.func.value, seen)
            if isinstance(node.func, ast.Name) and node.func.id in self.functions:
                returns = [
                    r.value
                    for r in ast.walk(self.functions[node.func.id])
                    if isinstance(r, ast.Return) and r.value is not None
                ]
                return bool(returns) and all(self.composable(r, seen) for r in returns)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            return self.composable(node.left, seen) and self.composable(node.right, seen)
        if isinstance(node, ast.Name):
            for scope in self.scopes(node):
                values = self.bindings(node.id, scope)
                if values is None:
                    return False
                if values:
                    return all(self.composable(v, seen) or self.literal(v) for v in values)
        return False

    # --- the calls ---

    def sql_arguments(self) -> Iterator[tuple[ast.expr, bool]]:
        """(argument, whether a composition is acceptable there) of every call that runs or becomes SQL."""
        for node in ast.walk(self.tree):
            if not isinstance(node, ast.Call):
                continue
            name = _callee(node.func)
            if name == "SQL" and node.args:
                yield node.args[0], False
            elif name in SINKS and isinstance(node.func, ast.Attribute) and node.args:
                yield node.args[0], True
            elif name == "text" and self.uses_sqlalchemy and node.args:
                yield node.args[0], False
            for keyword in node.keywords:
                if keyword.arg in SQL_KEYWORDS:
                    yield keyword.value, True

    def function_of(self, node: ast.AST) -> str:
        return next((s.name for s in self.scopes(node) if isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef)), "")


def check_source(source: str, path: str = "<snippet>") -> list[Finding]:
    """Every SQL argument in ``source`` that is neither code-written text nor a composition (allowlist aside)."""
    tree = ast.parse(source)
    checker = _Checker(tree)
    found = []
    for argument, composition in checker.sql_arguments():
        if checker.literal(argument) or (composition and checker.composable(argument)):
            continue
        function = checker.function_of(argument)
        if (path, function, ast.unparse(argument)) in ALLOWED:
            continue
        found.append(Finding(path, argument.lineno, function, ast.unparse(argument)))
    return found


def _sources() -> list[Path]:
    return sorted(p for folder in SCANNED if (ROOT / folder).is_dir() for p in (ROOT / folder).rglob("*.py"))


def test_no_sql_is_built_from_strings_in_include_dags_or_plugins() -> None:
    sources = _sources()
    assert len(sources) > 50, "the scan found too few files: wrong root?"
    found = [f for path in sources for f in check_source(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))]
    assert not found, "SQL built from strings (use sql.SQL(...).format(sql.Identifier/Literal) or parameters):\n" + (
        "\n".join(map(str, found))
    )


def test_every_allowlisted_site_still_exists_and_says_why() -> None:
    """An entry whose code went away is removed, so the list stays as small as the code needs."""
    used = set()
    for path in _sources():
        relative = str(path.relative_to(ROOT))
        tree = ast.parse(path.read_text(encoding="utf-8"))
        checker = _Checker(tree)
        for argument, _ in checker.sql_arguments():
            used.add((relative, checker.function_of(argument), ast.unparse(argument)))
    assert set(ALLOWED) <= used, f"allowlisted but no longer in the code: {set(ALLOWED) - used}"
    assert all(len(reason) > 40 for reason in ALLOWED.values())
    assert len(ALLOWED) <= 5


BAD = {
    "f-string": 'def f(conn, table):\n    conn.execute(f"select * from {table}")\n',
    "percent": 'def f(conn, name):\n    conn.execute("select * from %s" % name)\n',
    "str.format": 'def f(cur, name):\n    cur.executemany("insert into {} values (%s)".format(name), [])\n',
    "concatenation": 'def f(conn, header):\n    conn.execute("alter table raw.x add column " + header)\n',
    "variable built from a header": ('def f(conn, header):\n    query = "select " + header\n    conn.execute(query)\n'),
    "join of data": 'def f(conn, names):\n    conn.execute("select " + ", ".join(names))\n',
    "sql.SQL of a header": (
        "from psycopg import sql\n"
        "def f(conn, header):\n    conn.execute(sql.SQL('select {} from t').format(sql.SQL(header)))\n"
    ),
    "sql.SQL of an f-string": (
        "from psycopg import sql\ndef f(conn, sheet):\n    conn.execute(sql.SQL(f\"select '{sheet}'\"))\n"
    ),
    "copy": 'def f(cursor, columns):\n    with cursor.copy(f"copy raw.t ({columns}) from stdin"):\n        pass\n',
    "sqlalchemy text": (
        "from sqlalchemy import text\ndef f(engine, month):\n    engine.execute(text('select ' + month))\n"
    ),
    "a parameter passed on": "def run(conn, query):\n    return conn.execute(query)\n",
    "an attribute": "def f(conn, delivery):\n    conn.execute(delivery.name)\n",
    "gx query": "def f(gx, where):\n    gx.Expect(unexpected_rows_query='select 1 where ' + where)\n",
    "a helper returning text": ('def q(name):\n    return "select " + name\ndef f(conn, n):\n    conn.execute(q(n))\n'),
    "a file outside the package": "def f(conn, path):\n    conn.execute(open(path).read())\n",
}
GOOD = {
    "constant": 'def f(conn, month):\n    conn.execute("select * from ops.loads where feed_month = %s", [month])\n',
    "module constant": 'QUERY = """select 1"""\ndef f(conn):\n    conn.execute(QUERY)\n',
    "composition": (
        "from psycopg import sql\n"
        "def f(conn, schema, table, header):\n"
        "    target = sql.Identifier(schema, table)\n"
        "    conn.execute(sql.SQL('alter table {} add column {} text').format(target, sql.Identifier(header)))\n"
    ),
    "table of constants": (
        "from psycopg import sql\nTYPES = {'a': 'bigint not null', 'b': 'text'}\n"
        "def f(conn, t):\n    for name, kind in TYPES.items():\n"
        "        conn.execute(sql.SQL('alter table {} add column {} ' + kind).format(t, sql.Identifier(name)))\n"
    ),
    "packaged file": (
        "from importlib import resources\n"
        "def f(conn):\n    conn.execute(resources.files('include.x').joinpath('s.sql').read_text(encoding='utf-8'))\n"
    ),
    "helper returning a composition": (
        "from psycopg import sql\ndef where(c):\n    return sql.SQL('{} = %s').format(sql.Identifier(c))\n"
        "def f(conn, c):\n    conn.execute(sql.SQL('select 1 where {}').format(where(c)), [1])\n"
    ),
    "numpy copy": "def f(frame):\n    return frame.copy()\n",
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_the_checker_finds_a_planted_bad_example(case: str) -> None:
    found = check_source(BAD[case])
    assert len(found) == 1, (case, found)


@pytest.mark.parametrize("case", sorted(GOOD))
def test_the_checker_accepts_sql_only_the_code_wrote(case: str) -> None:
    assert check_source(GOOD[case]) == []
