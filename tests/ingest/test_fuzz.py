"""Hostile input, measured: the feed parser fuzzed with broken CSV and xlsx deliveries (tests/ingest/fuzz_inputs.py).

Every input either loads or yields a finding: no unhandled exception, no hang, no row dropped
in silence and no partial load. Two properties:

* parse level, over most inputs (``parse_delivery``): every non-blank data row below the header
  is accepted or named by a finding, an accepted row never has an error, the valid base rows the
  mutation left untouched are accepted, and a file that cannot be read yields a file-level finding;
* load level, over a few hundred (``load_delivery`` into the real PostgreSQL): a loaded delivery's
  raw rows are exactly its accepted rows, a quarantined one leaves raw unchanged and its findings
  in ops.findings, and no resident ID reaches raw or ops in clear text.

``SQW_FUZZ_EXAMPLES`` (default 1000) sets the parse-level inputs, a tenth of them (at least 300)
are loaded; ``SQW_FUZZ_RANDOM=1`` draws them at random instead of hypothesis' fixed sequence.
The counts are written to ``$SQW_STATE_DIR/logs/fuzz-counts.json`` and printed.
"""

from __future__ import annotations

import json
import os
import re
import signal
import time
import unicodedata
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from psycopg import sql

from tests.ingest import fuzz_inputs
from tests.ingest.fuzz_inputs import IDS, MONTH, Case

EXAMPLES = int(os.environ.get("SQW_FUZZ_EXAMPLES", "1000"))
LOADS = max(300, EXAMPLES // 10)
RANDOM = os.environ.get("SQW_FUZZ_RANDOM", "") not in ("", "0")
HANG_SECONDS = float(os.environ.get("SQW_FUZZ_HANG_SECONDS", "30"))
KEY = b"fuzz-test-key"
ID_PATTERN = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9])")
KNOWN = [*IDS, *(value[:17] for value in IDS)]
SEVERITIES = {"error", "warn", "info"}
COUNTS: dict[str, Any] = {
    "inputs": Counter(),
    "loads": Counter(),
    "outcome": Counter(),
    "findings_by_rule": Counter(),
    "exceptions": [],
    "hangs": [],
    "seconds": {},
    "parse_seconds_by_kind": Counter(),
    "slowest": [],
}


def fuzz_settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        database=None,
        derandomize=not RANDOM,
        deadline=None,
        print_blob=True,
        phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],  # no "explain": it traces every line
        suppress_health_check=list(HealthCheck),
    )


def note(failures: list[str], text: str) -> None:
    """Keep the first few failures (hypothesis shrinks one failure through many more inputs)."""
    if len(failures) < 10:
        failures.append(text[:500])


class Hang(Exception):
    pass


@contextmanager
def deadline(seconds: float, what: str) -> Iterator[None]:
    """Raise ``Hang`` in the main thread after ``seconds``; pytest-timeout's own alarm is put back after."""

    def ring(signum: int, frame: FrameType | None) -> None:
        raise Hang(f"{what}: no result after {seconds:.0f} s")

    previous = signal.signal(signal.SIGALRM, ring)
    outer, _ = signal.setitimer(signal.ITIMER_REAL, seconds)
    started = time.monotonic()
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer:
            signal.setitimer(signal.ITIMER_REAL, max(0.01, outer - (time.monotonic() - started)))


def keep(case: Case, problem: str) -> Path:
    """Save a failing input where it can be replayed from; the path names it in the failure."""
    from include import config

    folder = config.STATE_DIR / "logs" / "fuzz-failures" / case.digest
    case.write(folder)
    (folder / "problem.txt").write_text(f"{case!r}\n{problem}\n", encoding="utf-8")
    return folder


def leaked(value: object) -> bool:
    """A resident ID in clear text: ID-shaped, or one of the IDs the inputs carry (or its first 17 digits)."""
    if value is None:
        return False
    folded = unicodedata.normalize("NFKC", str(value))
    return bool(ID_PATTERN.search(folded)) or any(value in folded for value in KNOWN)


def non_blank(row: list[object]) -> bool:
    """A row with any cell a department would see as written (own rule: NFKC text, stripped)."""
    return any(
        cell is not None and (not isinstance(cell, str) or unicodedata.normalize("NFKC", cell).strip()) for cell in row
    )


def sheet_cells(contract: Any, paths: tuple[Path, ...]) -> tuple[dict[str, Any], Any]:
    """Each section's cells as the reader gives them, or the ``Unreadable`` it raised."""
    from include.ingest import read
    from include.ingest.sheet import header_key

    by_key = {header_key(s.sheet): s.sheet for s in contract.sections}
    cells: dict[str, Any] = {}
    try:
        for path in paths:
            if path.suffix == ".csv":
                name = next(s.sheet for s in contract.sections if path.stem.endswith("_" + s.sheet))
                cells.setdefault(name, read.read(path, csv_sheet=name).sheets[name])
                continue
            book = read.read(path, wanted=lambda title: header_key(title) in by_key)
            for title, frame in book.sheets.items():
                if header_key(title) in by_key:
                    cells.setdefault(by_key[header_key(title)], frame)
    except read.Unreadable as error:
        return {}, error
    return cells, None


def check_parse(contract: Any, case: Case, folder: Path, key: bytes) -> tuple[bool, dict[str, Any]]:
    """The parse-level property for one input; returns whether it must be quarantined and the parsed sheets."""
    from include.ingest.load import Delivery, is_fatal, parse_delivery

    paths = case.write(folder)
    delivery = Delivery(contract.feed, MONTH, paths)
    COUNTS["inputs"][case.kind.split("/")[0]] += 1
    started = time.monotonic()
    try:
        with deadline(HANG_SECONDS, repr(case)):
            parsed, findings, _ = parse_delivery(contract, delivery, key)
            cells, unreadable = sheet_cells(contract, paths)
    except Hang as hang:
        note(COUNTS["hangs"], repr(case))
        pytest.fail(f"hang: {hang}; input kept in {keep(case, str(hang))}")
    except Exception as error:  # the property: never an unhandled exception
        note(COUNTS["exceptions"], f"{case!r}: {type(error).__name__}: {error}")
        folder_kept = keep(case, f"{type(error).__name__}: {error}")
        raise AssertionError(f"unhandled {type(error).__name__} on {case!r}; input kept in {folder_kept}") from error
    took = time.monotonic() - started
    COUNTS["parse_seconds_by_kind"][case.kind.split("/")[0]] += took
    COUNTS["slowest"] = sorted([*COUNTS["slowest"], (round(took, 2), repr(case)[:200])], reverse=True)[:5]
    fatal = any(is_fatal(f) for f in findings)
    COUNTS["findings_by_rule"].update(f.rule for f in findings)
    for f in findings:
        assert f.severity in SEVERITIES and f.rule and f.expected and f.found, f
        assert f.row is None or (f.row >= 1 and f.sheet), f
        assert not any(leaked(text) for text in (f.sheet, f.column, f.expected, f.found)), f"ID in a finding: {f}"
    if unreadable is not None:
        assert any(f.rule == unreadable.rule and is_fatal(f) for f in findings), (unreadable, findings)
        return True, parsed
    for section in contract.sections:
        frame, result = cells.get(section.sheet), parsed.get(section.role)
        if frame is None or result is None:
            assert fatal, f"{section.sheet}: no sheet and no file-level finding"
            continue
        accepted = [int(n) for n in result.frame["_row_number"]]
        errors = {f.row for f in findings if f.sheet == section.sheet and f.row and f.severity == "error"}
        named = {f.row for f in findings if f.sheet == section.sheet and f.row}
        assert len(set(accepted)) == len(accepted) and not errors & set(accepted), (accepted, errors)
        if result.header_row is None:
            assert fatal, f"{section.sheet}: no header and no file-level finding"
            continue
        rows = frame.to_numpy(dtype=object).tolist()
        data = {number for number in range(result.header_row + 1, len(rows) + 1) if non_blank(rows[number - 1])}
        assert set(accepted) <= data, f"{section.sheet}: accepted rows {set(accepted) - data} are not data rows"
        if fatal:
            continue
        assert data <= set(accepted) | named, f"{section.sheet}: rows {sorted(data - set(accepted) - named)} dropped"
        below = {number for number in case.intact.get(section.sheet, ()) if number > result.header_row}
        missing = below - set(accepted)
        assert not missing, f"{section.sheet}: untouched valid rows {sorted(missing)} not accepted"
    return fatal, parsed


@pytest.fixture(scope="module", autouse=True)
def report_counts(request: pytest.FixtureRequest) -> Iterator[None]:
    """Write and print the counts once the module's tests have run."""
    yield
    from include import config

    counts = {
        "examples_setting": EXAMPLES,
        "random": RANDOM,
        "inputs_total": sum(COUNTS["inputs"].values()),
        "inputs": dict(COUNTS["inputs"]),
        "loads": dict(COUNTS["loads"]),
        "outcome": dict(COUNTS["outcome"]),
        "findings_by_rule": dict(COUNTS["findings_by_rule"].most_common()),
        "exceptions": COUNTS["exceptions"],
        "hangs": COUNTS["hangs"],
        "seconds": COUNTS["seconds"],
        "parse_seconds_by_kind": {kind: round(total, 1) for kind, total in COUNTS["parse_seconds_by_kind"].items()},
        "slowest": COUNTS["slowest"],
    }
    path = config.STATE_DIR / "logs" / "fuzz-counts.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(counts, ensure_ascii=False, indent=2), encoding="utf-8")
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"\nfuzz counts ({path}):\n{json.dumps(counts, ensure_ascii=False, indent=2)}")


def found_before_examples(test: Any) -> Any:
    """The inputs that found bugs before, run first every time."""
    for index in range(6):
        test = example(case=fuzz_inputs.found_before(index))(test)
    return test


def test_parse_either_loads_or_finds(contract: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Parse level: every input gives rows and findings that account for every data row, or a file-level finding."""
    folder = tmp_path_factory.mktemp("fuzz-parse")
    started = time.monotonic()

    @fuzz_settings(EXAMPLES)
    @given(case=fuzz_inputs.cases())
    @found_before_examples
    def property_(case: Case) -> None:
        for old in folder.iterdir():
            old.unlink()
        fatal, _ = check_parse(contract, case, folder, KEY)
        COUNTS["outcome"]["parse:quarantined" if fatal else "parse:loaded"] += 1

    try:
        property_()
    finally:
        COUNTS["seconds"]["parse"] = round(time.monotonic() - started, 1)


def by_load(loader: Any, table: str) -> dict[int, int]:
    """A raw table's row count per load."""
    statement = sql.SQL("select _load_id, count(*) from {} group by 1").format(sql.Identifier("raw", table))
    return dict(loader.execute(statement).fetchall())


@pytest.mark.integration
def test_load_is_all_or_nothing(contract: Any, loader: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Load level: loaded means raw holds exactly the accepted rows; quarantined means raw is unchanged."""
    from include.ingest.load import Delivery, load_delivery
    from include.ingest.sheet import data_columns
    from include.warehouse.secrets import hmac_key

    key = hmac_key()
    tables = {section.role: section.table for section in contract.sections}
    started = time.monotonic()
    serial = iter(range(1, 10**9))

    @fuzz_settings(LOADS)
    @given(case=fuzz_inputs.cases())
    @found_before_examples
    def property_(case: Case) -> None:
        folder = tmp_path_factory.mktemp("fuzz-load")
        fatal, parsed = check_parse(contract, case, folder, key)
        paths = tuple(sorted(folder.iterdir()))
        before = {role: by_load(loader, table) for role, table in tables.items()}
        try:
            with deadline(HANG_SECONDS, repr(case)):
                result = load_delivery(
                    loader, Delivery(contract.feed, MONTH, paths), run_id=f"fuzz-{next(serial)}", contract=contract
                )
        except Hang as hang:
            note(COUNTS["hangs"], repr(case))
            pytest.fail(f"hang in load_delivery: {hang}; input kept in {keep(case, str(hang))}")
        except Exception as error:
            note(COUNTS["exceptions"], f"load {case!r}: {type(error).__name__}: {error}")
            kept = keep(case, f"load: {type(error).__name__}: {error}")
            raise AssertionError(f"unhandled {type(error).__name__} loading {case!r}; kept in {kept}") from error
        COUNTS["loads"][result.status] += 1
        assert result.status == ("quarantined" if fatal else "loaded"), (case, result.findings)
        assert result.load_id is not None
        recorded = loader.execute(
            "select sheet, column_name, expected, found, message from ops.findings where load_id = %s",
            [result.load_id],
        ).fetchall()
        assert len(recorded) == len(result.findings)
        assert not any(leaked(text) for row in recorded for text in row), f"ID in ops.findings of {case!r}"
        (file_name,) = loader.execute("select file_name from ops.loads where load_id = %s", [result.load_id]).fetchone()
        assert not leaked(file_name)
        after = {role: by_load(loader, table) for role, table in tables.items()}
        if result.status == "quarantined":
            assert after == before, f"a quarantined delivery changed raw: {before} -> {after}"
            assert recorded, "quarantined without a finding in ops.findings"
            return
        for section in contract.sections:
            columns = data_columns(section)
            stored = loader.execute(
                sql.SQL("select {} from {} where _load_id = %s order by _row_number").format(
                    sql.SQL(", ").join(map(sql.Identifier, columns)), sql.Identifier("raw", section.table)
                ),
                [result.load_id],
            ).fetchall()
            frame = parsed[section.role].frame
            expected = sorted(
                (tuple(row) for row in frame[columns].itertuples(index=False, name=None)), key=lambda r: int(r[-1])
            )
            copied = [(*row[:-1], str(row[-1])) for row in stored]
            assert copied == expected, f"{section.sheet}: raw differs from the accepted rows"
            # only this load's rows changed (a re-load of the same content replaces its own rows)
            this_load: dict[int, int] = {result.load_id: len(expected)}
            assert {**before[section.role], **this_load} == after[section.role]
            assert not any(leaked(value) for row in stored for value in row), f"ID in raw from {case!r}"

    try:
        property_()
    finally:
        COUNTS["seconds"]["load"] = round(time.monotonic() - started, 1)
