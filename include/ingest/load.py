"""Load one delivery (an xlsx workbook, or a CSV pair) into the raw schema.

A delivery loads completely or not at all, in one transaction, with ``COPY``.
Every row carries its lineage (load id, version, sheet, row number; the load
row holds the file name and content hash). Re-loading the same content replaces
its rows; different content for the same month is a new version, and the old
version stays in raw. A file that cannot be loaded is copied to the quarantine
folder, and its findings are recorded; what was loaded before stays current.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from psycopg import Connection, sql

from include import config
from include.ingest import read, sheet
from include.ingest.contract import Contract, Section, contracts
from include.ingest.sheet import Finding, ParsedSheet
from include.warehouse.secrets import hmac_key

FILE_LEVEL_ERRORS = {"missing_header", "missing_column", "missing_sheet", "month_mismatch", "no_rows"}


@dataclass(frozen=True)
class Delivery:
    """The file(s) one department sent for one month of one feed."""

    feed: str
    month: dt.date
    paths: tuple[Path, ...]

    @property
    def name(self) -> str:
        return " + ".join(path.name for path in self.paths)


@dataclass
class LoadResult:
    delivery: Delivery
    load_id: int
    version: int
    status: str
    sha256: str
    rows: dict[str, int] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)


def discover(contract: Contract, month: dt.date, landing: Path | None = None) -> list[Delivery]:
    """This month's deliveries of a feed, oldest first (a later one restates an earlier one)."""
    folder = (landing or config.LANDING_DIR) / contract.feed
    if not folder.is_dir():
        return []
    matching = [p for p in folder.iterdir() if p.is_file() and contract.match(p.name) == (month.year, month.month)]
    groups: dict[str, list[Path]] = {}
    for path in matching:
        stem = path.stem
        if path.suffix.lower() == ".csv":
            for section in contract.sections:
                stem = stem.removesuffix("_" + section.sheet)
        groups.setdefault(stem, []).append(path)
    deliveries = [Delivery(contract.feed, month, tuple(sorted(paths))) for paths in groups.values()]
    return sorted(deliveries, key=lambda d: (max(p.stat().st_mtime for p in d.paths), d.name))


def _digest(paths: tuple[Path, ...]) -> str:
    if len(paths) == 1:
        return read.sha256(paths[0])
    combined = hashlib.sha256()
    for path in paths:
        combined.update(read.sha256(path).encode())
    return combined.hexdigest()


def _sheet_rows(
    contract: Contract, section: Section, delivery: Delivery
) -> tuple[list[list[object]] | None, str | None]:
    """The rows of ``section``'s sheet in the delivery, and the CSV encoding if any."""
    for path in delivery.paths:
        if path.suffix.lower() == ".csv":
            if path.stem.endswith("_" + section.sheet):
                book = read.read(path, csv_sheet=section.sheet)
                return book.sheets[section.sheet], book.encoding
            continue
        book = read.read(path)
        for name, rows in book.sheets.items():
            if sheet.header_key(name) == sheet.header_key(section.sheet):
                return rows, None
    return None, None


def parse_delivery(
    contract: Contract, delivery: Delivery, key: bytes
) -> tuple[dict[str, ParsedSheet], list[Finding], str | None]:
    """Parse every section; return the parsed sheets, all findings and the detected encoding."""
    parsed: dict[str, ParsedSheet] = {}
    findings: list[Finding] = []
    encoding = None
    expected_month = delivery.month.isoformat()
    for section in contract.sections:
        try:
            rows, found_encoding = _sheet_rows(contract, section, delivery)
        except read.Unreadable as error:
            findings.append(Finding(error.rule, "error", None, None, None, error.expected, error.found))
            return parsed, findings, encoding
        encoding = encoding or found_encoding
        if rows is None:
            findings.append(
                Finding(
                    "missing_sheet",
                    "error",
                    section.sheet,
                    None,
                    None,
                    f"a sheet named {section.sheet}",
                    "no such sheet",
                )
            )
            continue
        result = sheet.parse_sheet(section, rows, key)
        parsed[section.role] = result
        findings.extend(result.findings)
        if (
            result.header_row is not None
            and not result.records
            and not any(f.rule in FILE_LEVEL_ERRORS for f in result.findings)
        ):
            findings.append(
                Finding(
                    "no_rows",
                    "error",
                    section.sheet,
                    None,
                    None,
                    "at least one data row",
                    "none (empty or truncated sheet)",
                )
            )
        wrong = sorted(m for m in result.months if m and m != expected_month)
        if wrong:
            findings.append(
                Finding(
                    "month_mismatch",
                    "error",
                    section.sheet,
                    None,
                    None,
                    f"month {expected_month[:7]} (from the file name)",
                    "month " + ", ".join(m[:7] for m in wrong) + " inside the file",
                )
            )
    return parsed, findings, encoding


def _received_at(delivery: Delivery) -> dt.datetime:
    mtime = max(path.stat().st_mtime for path in delivery.paths)
    return dt.datetime.fromtimestamp(mtime, tz=dt.UTC)


def load_delivery(conn: Connection, delivery: Delivery, *, run_id: str | None = None) -> LoadResult:
    """Load (or quarantine) one delivery. Commits its own transaction."""
    contract = contracts()[delivery.feed]
    digest = _digest(delivery.paths)
    parsed, findings, encoding = parse_delivery(contract, delivery, hmac_key())
    fatal = [f for f in findings if f.severity == "error" and (f.row is None or f.rule in FILE_LEVEL_ERRORS)]
    status = "quarantined" if fatal or len(parsed) < len(contract.sections) else "loaded"
    size = sum(path.stat().st_size for path in delivery.paths)
    with conn.transaction():
        existing = conn.execute(
            "select load_id, version from ops.loads where feed = %s and feed_month = %s and file_sha256 = %s",
            [delivery.feed, delivery.month, digest],
        ).fetchone()
        if existing:
            load_id, version = existing
            for section in contract.sections:
                conn.execute(
                    sql.SQL("delete from {} where _load_id = %s").format(
                        sql.Identifier(config.SCHEMA_RAW, section.table)
                    ),
                    [load_id],
                )
            conn.execute("delete from ops.findings where load_id = %s", [load_id])
        else:
            (version,) = conn.execute(
                "select coalesce(max(version), 0) + 1 from ops.loads where feed = %s and feed_month = %s",
                [delivery.feed, delivery.month],
            ).fetchone() or (1,)
            (load_id,) = conn.execute(
                """insert into ops.loads (feed, feed_month, version, file_name, file_sha256, file_bytes,
                       status, received_at, run_id)
                   values (%s, %s, %s, %s, %s, %s, 'quarantined', %s, %s) returning load_id""",
                [delivery.feed, delivery.month, version, delivery.name, digest, size, _received_at(delivery), run_id],
            ).fetchone() or (0,)
        rows: dict[str, int] = {}
        if status == "loaded":
            for section in contract.sections:
                rows[section.role] = _copy(
                    conn, section, parsed[section.role], [str(load_id), delivery.month.isoformat(), str(version)]
                )
            conn.execute(
                "update ops.loads set is_current = false where feed = %s and feed_month = %s and load_id <> %s",
                [delivery.feed, delivery.month, load_id],
            )
        rejected = len({(f.sheet, f.row) for f in findings if f.severity == "error" and f.row is not None})
        conn.execute(
            """update ops.loads set status = %s, is_current = %s, encoding = %s, detail_rows = %s,
                   control_rows = %s, rejected_rows = %s, run_id = %s, loaded_at = now()
               where load_id = %s""",
            [
                status,
                status == "loaded",
                encoding,
                rows.get("detail", 0),
                rows.get("control_totals", 0),
                rejected,
                run_id,
                load_id,
            ],
        )
        _record_findings(conn, load_id, delivery, digest, findings)
    if status == "quarantined":
        _quarantine(delivery)
    return LoadResult(delivery, load_id, version, status, digest, rows, findings)


def _copy(conn: Connection, section: Section, parsed: ParsedSheet, prefix: list[str]) -> int:
    """COPY the parsed records, each behind the lineage ``prefix`` (load id, month, version)."""
    names = [c for c in section.raw_columns() if c not in ("_load_id", "_feed_month", "_version")]
    columns = sql.SQL(", ").join(map(sql.Identifier, ["_load_id", "_feed_month", "_version", *names]))
    statement = sql.SQL("copy {} ({}) from stdin").format(sql.Identifier(config.SCHEMA_RAW, section.table), columns)
    with conn.cursor().copy(statement) as copy:
        for record in parsed.records:
            copy.write_row([*prefix, *record])
    return len(parsed.records)


def _record_findings(conn: Connection, load_id: int, delivery: Delivery, digest: str, findings: list[Finding]) -> None:
    if not findings:
        return
    with conn.cursor() as cur:
        cur.executemany(
            """insert into ops.findings (load_id, feed, feed_month, file_name, file_sha256, sheet, row_number,
                   column_name, rule, severity, expected, found, message)
               values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)""",
            [
                (
                    load_id,
                    delivery.feed,
                    delivery.month,
                    delivery.name,
                    digest,
                    f.sheet,
                    f.row,
                    f.column,
                    f.rule,
                    f.severity,
                    f.expected,
                    f.found,
                    f.message(),
                )
                for f in findings
            ],
        )


def _quarantine(delivery: Delivery) -> None:
    folder = config.QUARANTINE_DIR / delivery.feed / delivery.month.strftime("%Y-%m")
    folder.mkdir(parents=True, exist_ok=True)
    for path in delivery.paths:
        shutil.copy2(path, folder / path.name)
