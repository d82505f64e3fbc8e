"""Load one delivery (an xlsx workbook, or a CSV pair) into the raw schema.

A delivery loads completely or not at all, in one transaction, with ``COPY``.
Every row carries its lineage (load id, version, sheet, row number; the load
row holds the file name and content hash). Re-loading the same content replaces
its rows; different content for the same month is a new version, and the old
version stays in raw. A file that cannot be loaded is copied to the quarantine
folder, and its findings are recorded; what was loaded before stays current.

The files are read and every sheet's header is found first (a missing sheet or
column is known before any row is parsed); then the rows are parsed a block at
a time, each block copied into raw while the next is parsed, inside a savepoint
that is rolled back if the delivery turns out to be one that must be quarantined."""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from psycopg import Connection, Rollback, sql

from include import config
from include.ingest import read, sheet
from include.ingest.bulk import copy_into
from include.ingest.contract import Contract, Section, contracts
from include.ingest.ids import redact
from include.ingest.sheet import Finding, ParsedSheet
from include.warehouse.secrets import hmac_key

FILE_LEVEL_ERRORS = {
    "missing_header",
    "missing_column",
    "conflicting_columns",
    "missing_sheet",
    "month_mismatch",
    "no_rows",
    "truncated",
    "encoding",
    "empty",
    "not_xlsx",
    "zip_bomb",
    "corrupt",
}


@dataclass(frozen=True)
class Delivery:
    """The file(s) one department sent for one month of one feed."""

    feed: str
    month: dt.date
    paths: tuple[Path, ...]

    @property
    def name(self) -> str:
        return " + ".join(path.name for path in self.paths)

    @property
    def month_end(self) -> dt.date:
        """The last day of the feed's month: no one it lists can be born after it."""
        return (self.month.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)


@dataclass
class LoadResult:
    delivery: Delivery
    load_id: int
    version: int
    status: str
    sha256: str
    rows: dict[str, int] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)


def _csv_stem(contract: Contract, path: Path) -> str:
    """A CSV's delivery stem: its name without the ``_<sheet>`` suffix of a section."""
    stem = path.stem
    for section in contract.sections:
        stem = stem.removesuffix("_" + section.sheet)
    return stem


def discover(contract: Contract, month: dt.date, landing: Path | None = None) -> list[Delivery]:
    """This month's deliveries of a feed, oldest first (a later one restates an earlier one).

    A workbook is a delivery; CSV files sharing a stem (``<stem>_明细.csv`` and
    ``<stem>_汇总.csv``) are one delivery together.
    """
    folder = (landing or config.LANDING_DIR) / contract.feed
    if not folder.is_dir():
        return []
    matching = [p for p in folder.iterdir() if p.is_file() and contract.match(p.name) == (month.year, month.month)]
    groups: dict[tuple[str, str], list[Path]] = {}
    for path in matching:
        if path.suffix.lower() == ".csv":
            groups.setdefault((_csv_stem(contract, path), "csv"), []).append(path)
        else:
            groups.setdefault((path.stem, path.suffix.lower()), []).append(path)
    deliveries = [Delivery(contract.feed, month, tuple(sorted(paths))) for paths in groups.values()]
    return sorted(deliveries, key=lambda d: (max(p.stat().st_mtime for p in d.paths), d.name))


def _digest(paths: tuple[Path, ...]) -> str:
    """The delivery's content hash: the file's SHA-256, or a hash of the pair's."""
    if len(paths) == 1:
        return read.sha256(paths[0])
    combined = hashlib.sha256()
    for path in paths:
        combined.update(read.sha256(path).encode())
    return combined.hexdigest()


@dataclass
class _Sheets:
    """The sheets of a delivery, each file read once: section sheet -> cells, plus the CSV encodings."""

    cells: dict[str, pd.DataFrame] = field(default_factory=dict)
    names: list[str] = field(default_factory=list)  # every sheet (or CSV file) found
    encodings: dict[str, str] = field(default_factory=dict)  # sheet -> encoding, for CSV files


def _read_sheets(contract: Contract, delivery: Delivery) -> _Sheets:
    """Read the delivery's files; raises ``read.Unreadable`` (with the sheet, for a CSV) for a bad file."""
    wanted = {sheet.header_key(section.sheet): section.sheet for section in contract.sections}
    found = _Sheets()
    for path in delivery.paths:
        if path.suffix.lower() == ".csv":
            name = next((s.sheet for s in contract.sections if path.stem.endswith("_" + s.sheet)), None)
            found.names.append(path.name)
            if name is None:
                continue
            book = read.read(path, csv_sheet=name)
            found.cells.setdefault(name, book.sheets[name])
            if book.encoding:
                found.encodings[name] = book.encoding
            continue
        book = read.read(path, wanted=lambda title: sheet.header_key(title) in wanted)
        found.names.extend(book.names)
        for title, cells in book.sheets.items():
            found.cells.setdefault(wanted[sheet.header_key(title)], cells)
    return found


def _missing_sheet(section: Section, delivery: Delivery, found: _Sheets) -> Finding:
    """The section's sheet (or CSV file) is not in the delivery; says what is."""
    present = ", ".join(repr(redact(name)) for name in found.names) or "nothing"
    if all(path.suffix.lower() == ".csv" for path in delivery.paths):
        expected = f"a file named <name>_{section.sheet}.csv in the delivery"
        return Finding("missing_sheet", "error", section.sheet, None, None, expected, f"no such file; found {present}")
    expected = f"a sheet named {section.sheet}"
    return Finding("missing_sheet", "error", section.sheet, None, None, expected, f"no such sheet; found {present}")


@dataclass
class _SectionRun:
    """One section of a delivery: its sheet's plan, then what the parsed blocks add up to."""

    section: Section
    plan: sheet.SheetPlan | None  # None: the delivery has no such sheet
    before: list[Finding]  # a missing sheet, the encoding, the header
    rows: list[Finding] = field(default_factory=list)  # row by row
    months: set[str] = field(default_factory=set)
    accepted: int = 0
    rows_read: int = 0

    @property
    def usable(self) -> bool:
        return self.plan is not None and self.plan.positions is not None

    def add(self, block: ParsedSheet) -> None:
        self.rows.extend(block.findings)
        self.months |= block.months
        self.accepted += len(block.frame)
        self.rows_read += block.rows_read

    def findings(self, month: dt.date) -> list[Finding]:
        """Everything found in this section, ending with what only the whole sheet tells."""
        found = [*self.before, *self.rows]
        if self.plan is None:
            return found
        if self.plan.header_row is not None and not self.accepted:
            if not any(f.rule in FILE_LEVEL_ERRORS for f in [*self.plan.findings, *self.rows]):
                found.append(_no_rows(self.section, self.rows_read))
        expected = month.isoformat()
        wrong = sorted(m for m in self.months if m and m != expected)
        if wrong:
            found.append(
                Finding(
                    "month_mismatch",
                    "error",
                    self.section.sheet,
                    None,
                    None,
                    f"month {expected[:7]} (from the file name)",
                    "month " + ", ".join(m[:7] for m in wrong) + " inside the file",
                )
            )
        return found


def _plan_delivery(contract: Contract, delivery: Delivery) -> tuple[list[_SectionRun], list[Finding], str | None]:
    """Read the files and find each section's header: the sections, an unreadable file's finding, the encoding."""
    try:
        found = _read_sheets(contract, delivery)
    except read.Unreadable as error:
        return [], [Finding(error.rule, "error", error.sheet, error.row, None, error.expected, error.found)], None
    runs = []
    for section in contract.sections:
        cells = found.cells.get(section.sheet)
        if cells is None:
            runs.append(_SectionRun(section, None, [_missing_sheet(section, delivery, found)]))
            continue
        section_encoding = found.encodings.get(section.sheet, "utf-8")
        note = [_encoding_note(section, section_encoding)] if section_encoding != "utf-8" else []
        plan = sheet.plan_sheet(section, cells)
        runs.append(_SectionRun(section, plan, [*note, *plan.findings], months=set(plan.months)))
    return runs, [], next(iter(found.encodings.values()), None)


def parse_delivery(
    contract: Contract, delivery: Delivery, key: bytes
) -> tuple[dict[str, ParsedSheet], list[Finding], str | None]:
    """Parse every section; return the parsed sheets, all findings and the detected encoding."""
    runs, unreadable, encoding = _plan_delivery(contract, delivery)
    parsed: dict[str, ParsedSheet] = {}
    for run in runs:
        if run.plan is None:
            continue
        blocks = list(run.plan.blocks(key, month_column=contract.month_column, born_by=delivery.month_end))
        for block in blocks:
            run.add(block)
        parsed[run.section.role] = sheet.combine(run.plan, blocks)
    return parsed, [*unreadable, *(f for run in runs for f in run.findings(delivery.month))], encoding


def _encoding_note(section: Section, encoding: str) -> Finding:
    """A note that a CSV file was not plain UTF-8 (and what it was read as)."""
    shown = {"utf-8-sig": "UTF-8 with a byte-order mark", "gb18030": "GBK / GB18030"}.get(encoding, encoding)
    return Finding("encoding_detected", "info", section.sheet, None, None, "UTF-8 text", f"{shown}; decoded as such")


def _no_rows(section: Section, rows_read: int) -> Finding:
    """A sheet that has a header but nothing to load: empty, or every row rejected."""
    if rows_read:
        found = f"none accepted: all {rows_read} data rows rejected"
    else:
        found = "none (the sheet ends after its header)"
    return Finding("no_rows", "error", section.sheet, None, None, "at least one data row", found)


def _received_at(delivery: Delivery) -> dt.datetime:
    """When the delivery arrived: its newest file's modification time."""
    mtime = max(path.stat().st_mtime for path in delivery.paths)
    return dt.datetime.fromtimestamp(mtime, tz=dt.UTC)


def is_fatal(finding: Finding) -> bool:
    """A finding that quarantines the whole delivery (not just one row)."""
    return finding.severity == "error" and (finding.row is None or finding.rule in FILE_LEVEL_ERRORS)


def load_delivery(
    conn: Connection, delivery: Delivery, *, run_id: str | None = None, contract: Contract | None = None
) -> LoadResult:
    """Load (or quarantine) one delivery. Commits its own transaction.

    Each sheet is parsed a block of rows at a time, and every block is copied into raw
    while the next one is parsed. The copy runs inside a savepoint: when the whole
    delivery turns out not to be loadable (a month that contradicts the file name, no
    rows accepted), the savepoint is rolled back and only the load row and its findings
    remain. ``contract`` defaults to the contract of ``delivery.feed``.
    """
    contract = contract or contracts()[delivery.feed]
    digest = _digest(delivery.paths)
    runs, unreadable, encoding = _plan_delivery(contract, delivery)
    doomed = bool(unreadable) or not all(run.usable for run in runs)
    key = hmac_key()
    with conn.transaction():
        conn.execute(
            "select pg_advisory_xact_lock(hashtextextended(%s, 0))",
            [f"{config.SCHEMA_RAW}.{delivery.feed}.{delivery.month.isoformat()}"],
        )
        load_id, version = _load_row(conn, contract, delivery, digest, run_id=run_id)
        rows: dict[str, int] = {}
        with conn.transaction() as attempt:
            for run in runs:
                lineage = None if doomed else (load_id, delivery.month, version)
                _parse_and_copy(conn, run, key, contract.month_column, lineage, born_by=delivery.month_end)
                rows[run.section.role] = run.accepted
            findings = [*unreadable, *(f for run in runs for f in run.findings(delivery.month))]
            status = "quarantined" if doomed or any(is_fatal(f) for f in findings) else "loaded"
            if status == "quarantined":
                rows = {}
                raise Rollback(attempt)  # what was copied goes; the load row and its findings stay
        if status == "loaded":
            conn.execute(
                "update ops.loads set is_current = false where feed = %s and feed_month = %s and load_id <> %s",
                [delivery.feed, delivery.month, load_id],
            )
            _count_counties(conn, contract, load_id)
        rejected = len({(f.sheet, f.row) for f in findings if f.severity == "error" and f.row is not None})
        conn.execute(
            """update ops.loads set status = %s, is_current = %s, encoding = %s, detail_rows = %s,
                   control_rows = %s, rejected_rows = %s, run_id = %s, loaded_at = now(),
                   file_name = %s, received_at = %s
               where load_id = %s""",
            [
                status,
                status == "loaded",
                encoding,
                rows.get("detail", 0),
                rows.get("control_totals", 0),
                rejected,
                run_id,
                redact(delivery.name),
                _received_at(delivery),
                load_id,
            ],
        )
        _record_findings(conn, load_id, delivery, digest, findings)
    if status == "quarantined":
        _quarantine(delivery)
    return LoadResult(delivery, load_id, version, status, digest, rows, findings)


def _count_counties(conn: Connection, contract: Contract, load_id: int) -> None:
    """Detail rows per county of a load, for the completeness grid."""
    section = contract.section("detail")
    county = next((c for c in section.columns if c.type == "county"), None)
    if county is None:
        return
    conn.execute("delete from ops.load_counties where load_id = %s", [load_id])
    conn.execute(
        sql.SQL(
            "insert into ops.load_counties (load_id, county_code, detail_rows) "
            "select %s, {county}, count(*) from {table} where _load_id = %s group by {county}"
        ).format(county=sql.Identifier(f"{county.name}_code"), table=sql.Identifier(config.SCHEMA_RAW, section.table)),
        [load_id, load_id],
    )


def _load_row(
    conn: Connection, contract: Contract, delivery: Delivery, digest: str, *, run_id: str | None
) -> tuple[int, int]:
    """The load row of this content: the same one (its rows and findings cleared) or a new version."""
    existing = conn.execute(
        "select load_id, version from ops.loads where feed = %s and feed_month = %s and file_sha256 = %s",
        [delivery.feed, delivery.month, digest],
    ).fetchone()
    if existing:
        load_id, version = existing
        for section in contract.sections:
            conn.execute(
                sql.SQL("delete from {} where _load_id = %s").format(sql.Identifier(config.SCHEMA_RAW, section.table)),
                [load_id],
            )
        conn.execute("delete from ops.findings where load_id = %s", [load_id])
        return load_id, version
    size = sum(path.stat().st_size for path in delivery.paths)
    (version,) = conn.execute(
        "select coalesce(max(version), 0) + 1 from ops.loads where feed = %s and feed_month = %s",
        [delivery.feed, delivery.month],
    ).fetchone() or (1,)
    (load_id,) = conn.execute(
        """insert into ops.loads (feed, feed_month, version, file_name, file_sha256, file_bytes,
               status, received_at, run_id)
           values (%s, %s, %s, %s, %s, %s, 'quarantined', %s, %s) returning load_id""",
        [delivery.feed, delivery.month, version, redact(delivery.name), digest, size, _received_at(delivery), run_id],
    ).fetchone() or (0,)
    return load_id, version


def _parse_and_copy(
    conn: Connection,
    run: _SectionRun,
    key: bytes,
    month_column: str | None,
    lineage: tuple[int, dt.date, int] | None,
    *,
    born_by: dt.date,
) -> None:
    """Parse the section block by block; with a ``lineage``, COPY each block's rows as soon as it is parsed."""
    if run.plan is None:
        return
    blocks = run.plan.blocks(key, month_column=month_column, born_by=born_by)
    if lineage is None:
        for block in blocks:
            run.add(block)
        return
    with copy_into(conn, run.section, lineage) as write:
        for block in blocks:
            run.add(block)
            write(block.frame)


def _record_findings(conn: Connection, load_id: int, delivery: Delivery, digest: str, findings: list[Finding]) -> None:
    """COPY the findings into ops.findings; file, sheet and header names are untrusted, so IDs are redacted."""
    if not findings:
        return
    statement = """copy ops.findings (load_id, feed, feed_month, file_name, file_sha256, sheet, row_number,
                       column_name, rule, severity, expected, found, message) from stdin"""
    with conn.cursor().copy(statement) as copy:
        for f in findings:
            copy.write_row(
                (
                    load_id,
                    delivery.feed,
                    delivery.month,
                    redact(delivery.name),
                    digest,
                    f.sheet and redact(f.sheet),
                    f.row,
                    f.column and redact(f.column),
                    f.rule,
                    f.severity,
                    redact(f.expected),
                    redact(f.found),
                    redact(f.message()),
                )
            )


def _quarantine(delivery: Delivery) -> None:
    """Copy the delivery's files to the quarantine folder of its feed and month."""
    folder = config.QUARANTINE_DIR / delivery.feed / delivery.month.strftime("%Y-%m")
    folder.mkdir(parents=True, exist_ok=True)
    for path in delivery.paths:
        shutil.copy2(path, folder / path.name)
