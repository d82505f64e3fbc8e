"""Load one delivery (an xlsx workbook, or a CSV pair) into the raw schema.

A delivery loads completely or not at all, in one transaction, with ``COPY``.
Every row carries its lineage (load id, version, sheet, row number; the load
row holds the file name and content hash). Re-loading the same content replaces
its rows; different content for the same month is a new version, and the old
version stays in raw. A file that cannot be loaded is copied to the quarantine
folder, and its findings are recorded; what was loaded before stays current.

Nothing outside the landing and quarantine folders is ever read or written: the
landing folder is surveyed with ``lstat`` (a symbolic link is never followed, read
or copied; a hard-linked file, a name with ``..``, a path separator or a control
character, a file over ``config.MAX_FILE_BYTES`` is refused unread), and a file is
opened with ``O_NOFOLLOW``. What a run does not load gets a finding in
``ops.landing_findings``: a folder or file no contract names, a month later than
the run's, an earlier month's delivery no run loaded, two new versions of a month
at once (both quarantined: the department says which is right), and a delivery
the disks have no room for (``config.DISK_FACTOR``).

The files are read and every sheet's header is found first (a missing sheet or
column is known before any row is parsed); then the rows are parsed a block at
a time, each block copied into raw while the next is parsed, inside a savepoint
that is rolled back if the delivery turns out to be one that must be quarantined."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import shutil
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import pandas as pd
from psycopg import Connection, Rollback, errors, sql

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
    "too_many_cells",
}
MiB = 1024**2
UNSAFE_NAME = re.compile(r"\.\.|[/\\\x00-\x1f\x7f]")  # '..', a path separator (either way), a control character


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
        return _month_after(self.month) - dt.timedelta(days=1)


@dataclass
class LoadResult:
    delivery: Delivery
    load_id: int | None  # None: refused before it was read (``refusal`` says why)
    version: int | None
    status: str  # loaded | quarantined | refused
    sha256: str
    rows: dict[str, int] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    refusal: LandingFinding | None = None


@dataclass(frozen=True)
class LandingFinding:
    """An entry of the landing folder that is not loaded, and why (recorded in ``ops.landing_findings``)."""

    name: str  # its path inside the landing folder, as ``shown``
    rule: str
    severity: str
    expected: str
    found: str
    feed: str | None = None
    month: dt.date | None = None
    sha256: str | None = None
    size: int | None = None


@dataclass
class Survey:
    """A feed's folder seen for a run's month: that month's deliveries, other months' (by month), the findings."""

    deliveries: list[Delivery] = field(default_factory=list)
    earlier: dict[dt.date, list[Delivery]] = field(default_factory=dict)
    findings: list[LandingFinding] = field(default_factory=list)


def shown(name: str) -> str:
    """A file name fit to store and print: undecodable bytes and control characters escaped (``\\xff``, ``\\x0a``)."""
    text = os.fsencode(name).decode("utf-8", "backslashreplace")
    return re.sub(r"[\x00-\x1f\x7f]", lambda found: f"\\x{ord(found[0]):02x}", text)


def refusal(path: Path) -> tuple[str, str, str] | None:
    """Why ``path`` must not be read, as (rule, expected, found); None for a regular file, named safely, with one
    name and under the size cap. Decided from ``lstat`` alone: a symbolic link is never followed."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        return "vanished", "a file that stays until it is loaded", "it was removed while the folder was read"
    return next(_problems(path, info), None)


def _problems(path: Path, info: os.stat_result) -> Iterator[tuple[str, str, str]]:
    """What is wrong with ``path`` (its ``lstat`` is ``info``), the worst first."""
    if stat.S_ISLNK(info.st_mode):
        target = shown(os.readlink(path))
        yield "symlink", "a regular file", f"a symbolic link to {target} (never followed, read or copied)"
    elif stat.S_ISDIR(info.st_mode):
        yield "not_a_file", "a file (a folder inside a feed's folder is not read)", "a folder"
    elif not stat.S_ISREG(info.st_mode):
        yield "not_a_file", "a regular file", "a pipe, socket or device"
    if UNSAFE_NAME.search(path.name) or shown(path.name) != path.name:
        expected = "a file name without '..', path separators, control characters or undecodable bytes"
        yield "unsafe_name", expected, f"{shown(path.name)!r} (refused unread)"
    if info.st_nlink > 1 and stat.S_ISREG(info.st_mode):
        found = f"a file with {info.st_nlink} names (hard links; another may be outside the landing folder)"
        yield "hard_link", "a file with one name", found
    if info.st_size > config.MAX_FILE_BYTES and stat.S_ISREG(info.st_mode):
        expected = f"a file of at most {config.MAX_FILE_BYTES / MiB:g} MiB (SQW_MAX_FILE_BYTES)"
        yield "too_large", expected, f"{info.st_size / MiB:.1f} MiB (refused unread)"


def _open(path: Path) -> BinaryIO:
    """``path`` opened for reading, never through a symbolic link."""
    return os.fdopen(os.open(path, os.O_RDONLY | os.O_NOFOLLOW), "rb")


def _month(named: tuple[int, int] | None) -> dt.date | None:
    """The month a file name names (None: none, or no such month, 2022-13)."""
    try:
        return dt.date(named[0], named[1], 1) if named else None
    except ValueError:
        return None


def _month_after(month: dt.date) -> dt.date:
    return (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def _csv_stem(contract: Contract, path: Path) -> str:
    """A CSV's delivery stem: its name without the ``_<sheet>`` suffix of a section."""
    stem = path.stem
    for section in contract.sections:
        stem = stem.removesuffix("_" + section.sheet)
    return stem


def discover(contract: Contract, month: dt.date, landing: Path | None = None) -> list[Delivery]:
    """This month's deliveries of a feed, oldest first (a later one restates an earlier one).

    A workbook is a delivery; CSV files sharing a stem (``<stem>_明细.csv`` and
    ``<stem>_汇总.csv``) are one delivery together. Only safe regular files (see ``survey``).
    """
    return survey(contract, month, landing).deliveries


def survey(contract: Contract, month: dt.date, landing: Path | None = None) -> Survey:
    """A feed's folder for the run of ``month``: its deliveries of that month and of earlier months, and a finding
    for every other entry (refused by ``refusal``, named by no contract, of a later month). Nothing is read."""
    found = Survey()
    folder = (landing or config.LANDING_DIR) / contract.feed
    try:
        info = folder.lstat()
    except FileNotFoundError:
        return found
    if not stat.S_ISDIR(info.st_mode):
        link = stat.S_ISLNK(info.st_mode)
        what = f"a symbolic link to {shown(os.readlink(folder))}" if link else "a file"
        expected = "the feed's folder, a real folder inside the landing folder"
        rule = "symlink" if link else "not_a_folder"
        found.findings.append(LandingFinding(contract.feed, rule, "error", expected, f"{what}: nothing in it is read"))
        return found
    groups: dict[tuple[dt.date, str, str], list[Path]] = {}
    refused: dict[tuple[dt.date, str, str], str] = {}
    for path in sorted(folder.iterdir()):
        name = f"{contract.feed}/{shown(path.name)}"
        file_month = _month(contract.match(path.name))
        key = (file_month, *_group(contract, path)) if file_month else None
        problem = refusal(path)
        if problem:
            size = path.lstat().st_size if problem[0] == "too_large" else None
            found.findings.append(
                LandingFinding(name, *problem[:1], "error", *problem[1:], contract.feed, file_month, size=size)
            )
            if key:
                refused[key] = shown(path.name)
        elif key is None:
            found.findings.append(_unknown_file(contract, path, name))
        else:
            groups.setdefault(key, []).append(path)
    for key, paths in sorted(groups.items()):
        file_month = key[0]
        if key in refused:
            expected = "both files of a CSV pair loadable"
            for path in paths:
                why = f"its partner {refused[key]} is refused (see its finding): not read"
                found.findings.append(
                    LandingFinding(
                        f"{contract.feed}/{shown(path.name)}",
                        "pair_refused",
                        "error",
                        expected,
                        why,
                        contract.feed,
                        file_month,
                    )
                )
        elif file_month > month:
            found.findings.extend(_later(contract, path, month, file_month) for path in paths)
        else:
            delivery = Delivery(contract.feed, file_month, tuple(sorted(paths)))
            (found.deliveries if file_month == month else found.earlier.setdefault(file_month, [])).append(delivery)
    found.deliveries.sort(key=lambda d: (max(p.lstat().st_mtime for p in d.paths), d.name))
    return found


def _group(contract: Contract, path: Path) -> tuple[str, str]:
    """The files of one delivery share this: a workbook's stem and suffix; a CSV pair's stem."""
    if path.suffix.lower() == ".csv":
        return _csv_stem(contract, path), "csv"
    return path.stem, path.suffix.lower()


def _unknown_file(contract: Contract, path: Path, name: str) -> LandingFinding:
    """A file in a feed's folder that its contract does not name: another feed's, or no feed's."""
    expected = f"a file named as the contract says ({contract.file_pattern.pattern})"
    named = contract.match(path.name)
    if named:
        return LandingFinding(
            name, "unknown_file", "warn", expected, f"a name for month {named[1]} of {named[0]}: no such month"
        )
    owner = next((c.feed for c in contracts().values() if _month(c.match(path.name))), None)
    if owner:
        return LandingFinding(name, "misfiled", "warn", expected, f"a file of the feed {owner}: not read", owner)
    return LandingFinding(name, "unknown_file", "warn", expected, "a file no contract names: not read")


def _later(contract: Contract, path: Path, month: dt.date, file_month: dt.date) -> LandingFinding:
    """A file of a month after the run's: never loaded by this run; a warning when no scheduled run will load it,
    or when it arrived before its month had ended (a month is delivered after it closes)."""
    received = dt.datetime.fromtimestamp(path.lstat().st_mtime, tz=dt.UTC)
    last = dt.date.fromisoformat(f"{config.LAST_MONTH}-01") if config.LAST_MONTH else None
    when = f"the run of {file_month:%Y-%m} loads it"
    if last and file_month > last:
        when = f"no scheduled run loads it (the schedule ends {last:%Y-%m}); a manual run of {file_month:%Y-%m} would"
    early = received.date() < _month_after(file_month)
    rule, severity = ("future_month", "warn") if early or (last and file_month > last) else ("later_month", "info")
    found = f"a file for {file_month:%Y-%m}, received {received:%Y-%m-%d}"
    found += " before that month ended" if early else ""
    return LandingFinding(
        f"{contract.feed}/{shown(path.name)}",
        rule,
        severity,
        f"a delivery for {month:%Y-%m}, this run's month",
        f"{found}: not loaded by this run; {when}",
        contract.feed,
        file_month,
    )


def survey_landing(feeds: Iterable[str], landing: Path | None = None) -> list[LandingFinding]:
    """The landing folder's own entries that are no feed's folder: a folder or a file no contract names (an unknown
    department), a feed's file outside its folder, a symbolic link. Nothing is read; a feed's folder is left to
    ``survey`` (a symbolic link in its place included)."""
    root = landing or config.LANDING_DIR
    if not root.is_dir():
        return []
    known = sorted(feeds)
    found = []
    for path in sorted(root.iterdir()):
        if path.name in known:
            continue
        name, problem = shown(path.name), refusal(path)
        folder = stat.S_ISDIR(path.lstat().st_mode)
        owner = None if folder else next((c.feed for c in contracts().values() if c.match(path.name)), None)
        if problem and not folder:
            found.append(LandingFinding(name, problem[0], "error", *problem[1:], owner))
        elif folder:
            expected = f"a folder named after a feed with a contract ({', '.join(known)})"
            found.append(
                LandingFinding(name, "unknown_department", "warn", expected, "a folder no contract names: not read")
            )
        elif owner:
            found.append(
                LandingFinding(
                    name,
                    "misplaced",
                    "warn",
                    "a file inside the folder of its feed",
                    f"a file of {owner} outside {owner}/: not read",
                    owner,
                )
            )
        else:
            found.append(
                LandingFinding(
                    name,
                    "unknown_department",
                    "warn",
                    "a file inside the folder of its feed",
                    "a file no contract names: not read",
                )
            )
    return found


def ingest_month(
    conn: Connection, contract: Contract, month: dt.date, *, landing: Path | None = None, run_id: str | None = None
) -> tuple[list[LoadResult], list[LandingFinding]]:
    """Survey the feed's folder for ``month``, record what will not be loaded (replacing the findings of an earlier
    run of the month), then load each delivery, oldest first. Two or more new versions of the month at once
    (contents no run has loaded) are all quarantined unloaded, each naming the others."""
    found = survey(contract, month, landing)
    findings = [*found.findings, *_unloaded_earlier(conn, contract, month, found.earlier)]
    loadable, clashing = _split_conflicts(conn, contract, month, found.deliveries)
    findings += clashing
    record_landing(conn, month, contract.feed, findings, run_id=run_id)
    results = [load_delivery(conn, delivery, run_id=run_id, contract=contract) for delivery in loadable]
    return results, findings


def _known(conn: Connection, feed: str, month: dt.date) -> dict[str, tuple[int, str, bool]]:
    """The contents of ``feed`` for ``month`` loads have seen: SHA-256 to (version, status, is current)."""
    rows = conn.execute(
        "select file_sha256, version, status, is_current from ops.loads where feed = %s and feed_month = %s",
        [feed, month],
    ).fetchall()
    return {sha: (version, status, current) for sha, version, status, current in rows}


def _unloaded_earlier(
    conn: Connection, contract: Contract, month: dt.date, earlier: dict[dt.date, list[Delivery]]
) -> list[LandingFinding]:
    """An earlier month's delivery no run has read (it arrived after that month's run): this run never loads it."""
    findings = []
    for file_month, deliveries in sorted(earlier.items()):
        known = _known(conn, contract.feed, file_month)
        for delivery in deliveries:
            digest = _digest(delivery.paths)
            if digest in known:
                continue
            findings.append(
                LandingFinding(
                    f"{contract.feed}/{shown(delivery.name)}",
                    "earlier_month_not_loaded",
                    "warn",
                    f"a delivery for {month:%Y-%m}, this run's month (an earlier month's is loaded by its own run)",
                    f"a delivery for {file_month:%Y-%m} that no run has loaded: rerun {file_month:%Y-%m} to load it",
                    contract.feed,
                    file_month,
                    digest,
                    sum(p.lstat().st_size for p in delivery.paths),
                )
            )
    return findings


def _split_conflicts(
    conn: Connection, contract: Contract, month: dt.date, deliveries: list[Delivery]
) -> tuple[list[Delivery], list[LandingFinding]]:
    """The month's deliveries to load, and a finding for each new one that another new one contradicts.

    New means content no load has seen. One new version is a restatement; two or more at once are a conflict
    that is not guessed: each is quarantined unloaded, naming the others, and the current version stays."""
    known = _known(conn, contract.feed, month)
    digests = {delivery: _digest(delivery.paths) for delivery in deliveries}
    new = [delivery for delivery in deliveries if digests[delivery] not in known]
    if len({digests[delivery] for delivery in new}) < 2:
        return deliveries, []
    current = next((f"version {v} stays current" for v, _, is_current in known.values() if is_current), None)
    findings = []
    for delivery in new:
        others = [f"{shown(o.name)} (SHA-256 {digests[o][:12]})" for o in new if digests[o] != digests[delivery]]
        failed = _quarantine(delivery)
        found = (
            f"{len(others) + 1} new versions of {month:%Y-%m} at once: this one (SHA-256 {digests[delivery][:12]}) "
            f"and {', '.join(others)}; none is loaded, each is in quarantine"
            + (f" (except: {failed.found})" if failed else "")
            + f"; {current or 'the month has no loaded version'}"
        )
        findings.append(
            LandingFinding(
                f"{contract.feed}/{shown(delivery.name)}",
                "conflicting_delivery",
                "error",
                "one new version of a month per drop (the department says which one is right)",
                found,
                contract.feed,
                month,
                digests[delivery],
                sum(p.lstat().st_size for p in delivery.paths),
            )
        )
    return [delivery for delivery in deliveries if delivery not in new], findings


def record_landing(
    conn: Connection,
    month: dt.date,
    scope: str,
    findings: list[LandingFinding],
    *,
    run_id: str | None = None,
    replace: bool = True,
) -> None:
    """Record landing findings of the run of ``month`` for ``scope`` (a feed's folder, '' the landing folder);
    ``replace``: instead of that scope's earlier ones (a rerun of the month). Names are redacted."""
    statement = """copy ops.landing_findings (run_month, scope, feed, feed_month, file_name, file_sha256,
                       file_bytes, rule, severity, expected, found, message, run_id) from stdin"""
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtextextended(%s, 0))", [f"landing.{scope}.{month}"])
        if replace:
            conn.execute("delete from ops.landing_findings where run_month = %s and scope = %s", [month, scope])
        with conn.cursor().copy(statement) as copy:
            for f in findings:
                message = f"{f.name}: expected {f.expected}, found {f.found}"
                names = redact(f.name), redact(f.expected), redact(f.found), redact(message)
                copy.write_row(
                    (month, scope, f.feed, f.month, names[0], f.sha256, f.size, f.rule, f.severity, *names[1:], run_id)
                )


def _digest(paths: tuple[Path, ...]) -> str:
    """The delivery's content hash: the file's SHA-256, or a hash of the pair's (files opened without following
    a link)."""
    shas = []
    for path in paths:
        digest = hashlib.sha256()
        with _open(path) as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        shas.append(digest.hexdigest())
    if len(shas) == 1:
        return shas[0]
    return hashlib.sha256("".join(shas).encode()).hexdigest()


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
    rejected: int = 0  # rows an error finding rejected
    cap: int | None = None  # row findings kept per rule and column (a load's); the rest are counted
    counts: dict[tuple[str, str | None], int] = field(default_factory=dict)

    @property
    def usable(self) -> bool:
        return self.plan is not None and self.plan.positions is not None

    def add(self, block: ParsedSheet) -> None:
        self.rejected += len({f.row for f in block.findings if f.severity == "error" and f.row is not None})
        for found in block.findings:
            key = (found.rule, found.column)
            self.counts[key] = self.counts.get(key, 0) + 1
            if self.cap is None or self.counts[key] <= self.cap:
                self.rows.append(found)
        self.months |= block.months
        self.accepted += len(block.frame)
        self.rows_read += block.rows_read

    def findings(self, month: dt.date) -> list[Finding]:
        """Everything found in this section, ending with what only the whole sheet tells."""
        found = [*self.before, *self.rows, *self._more()]
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

    def _more(self) -> list[Finding]:
        """One finding for the rows of a rule and column past the cap (a flood would fill ops.findings)."""
        return [
            Finding(
                "more_findings",
                "info",
                self.section.sheet,
                None,
                column,
                f"at most {self.cap} rows listed for one rule and column (SQW_MAX_ROW_FINDINGS)",
                f"{count - self.cap} more rows with the finding {rule}",
            )
            for (rule, column), count in self.counts.items()
            if self.cap is not None and count > self.cap
        ]


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
    """Load (or quarantine, or refuse) one delivery. Commits its own transaction.

    A delivery is refused unread, with a finding in ``ops.landing_findings``, when one of its files is no longer
    safe to read (``refusal``, checked again here) or the disks lack room (``_disk_room``); when the database runs
    out of space during the load anyway, the transaction is rolled back and it is refused the same way.

    Each sheet is parsed a block of rows at a time, and every block is copied into raw
    while the next one is parsed. The copy runs inside a savepoint: when the whole
    delivery turns out not to be loadable (a month that contradicts the file name, no
    rows accepted), the savepoint is rolled back and only the load row and its findings
    remain. ``contract`` defaults to the contract of ``delivery.feed``.
    """
    contract = contract or contracts()[delivery.feed]
    refused = _refused(delivery)
    if refused:
        return _refuse(conn, delivery, refused, run_id)
    digest = _digest(delivery.paths)
    try:
        return _load(conn, contract, delivery, digest, run_id)
    except errors.DiskFull as error:
        found = f"the database ran out of disk space during the load ({str(error).splitlines()[0]}); nothing was kept"
        refusal = _landing_finding(delivery, "disk_full", "room in the database for the delivery's rows", found)
        return _refuse(conn, delivery, refusal, run_id)


def _load(conn: Connection, contract: Contract, delivery: Delivery, digest: str, run_id: str | None) -> LoadResult:
    runs, unreadable, encoding = _plan_delivery(contract, delivery)
    for run in runs:
        run.cap = config.MAX_ROW_FINDINGS
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
        rejected = sum(run.rejected for run in runs)
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
        if status == "quarantined" and (failed := _quarantine(delivery)):
            findings.append(failed)
        _record_findings(conn, load_id, delivery, digest, findings)
    if status == "loaded":
        _analyze(conn, {run.section.table for run in runs})
    return LoadResult(delivery, load_id, version, status, digest, rows, findings)


def _analyze(conn: Connection, tables: set[str]) -> None:
    """Refresh the planner's statistics of the raw tables a load added a month to, and of ``ops.loads``.

    Autovacuum analyses a table only after enough of it changed, so right after a load the newest month is
    missing from the statistics: every query on it (staging views, the gate's month views) is planned for
    about one row. In December 2021 one rule planned that way took 22 s instead of 0.8 s (a nested loop over
    270k rows, run 1,551 times)."""
    with conn.transaction():
        for table in sorted(tables):
            conn.execute(sql.SQL("analyze {}").format(sql.Identifier(config.SCHEMA_RAW, table)))
        conn.execute("analyze ops.loads")


def _landing_finding(delivery: Delivery, rule: str, expected: str, found: str) -> LandingFinding:
    size = sum(path.lstat().st_size for path in delivery.paths if path.is_symlink() or path.exists())
    name = f"{delivery.feed}/{shown(delivery.name)}"
    return LandingFinding(name, rule, "error", expected, found, delivery.feed, delivery.month, size=size)


def _refused(delivery: Delivery) -> LandingFinding | None:
    """Why a delivery must not be read now: a file ``refusal`` refuses (checked again just before it is read), or
    no room for it on the database's or the quarantine's disk."""
    for path in delivery.paths:
        problem = refusal(path)
        if problem:
            return _landing_finding(delivery, problem[0], problem[1], f"{shown(path.name)}: {problem[2]}")
    return _disk_room(delivery)


def _disk_room(delivery: Delivery) -> LandingFinding | None:
    """A ``disk_full`` finding when the database's data folder (an embedded server's, the only one that can be
    seen from here) or the quarantine's has less free space than the delivery's size times ``config.DISK_FACTOR``
    plus ``config.DISK_RESERVE_BYTES``."""
    size = sum(path.lstat().st_size for path in delivery.paths)
    needs = int(size * config.DISK_FACTOR) + config.DISK_RESERVE_BYTES
    quarantine = next((p for p in (config.QUARANTINE_DIR, *config.QUARANTINE_DIR.parents) if p.is_dir()), None)
    for place, folder in (
        ("the database", config.PGDATA if config.PGDATA.is_dir() else None),
        ("quarantine", quarantine),
    ):
        if folder is None:
            continue
        free = shutil.disk_usage(folder).free
        if free < needs:
            expected = (
                f"{needs / MiB:.1f} MiB free for {place} ({folder}): the delivery's {size / MiB:.1f} MiB × "
                f"{config.DISK_FACTOR:g} + {config.DISK_RESERVE_BYTES / MiB:g} MiB kept free "
                "(SQW_DISK_FACTOR, SQW_DISK_RESERVE_BYTES)"
            )
            found = f"{free / MiB:.1f} MiB free: not loaded, it stays in the landing folder for a later run"
            return _landing_finding(delivery, "disk_full", expected, found)
    return None


def _refuse(conn: Connection, delivery: Delivery, refused: LandingFinding, run_id: str | None) -> LoadResult:
    """Record why a delivery was not read; it stays where it is, and so does what is current."""
    record_landing(conn, delivery.month, delivery.feed, [refused], run_id=run_id, replace=False)
    return LoadResult(delivery, None, None, "refused", "", refusal=refused)


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


def _quarantine(delivery: Delivery) -> Finding | None:
    """Copy the delivery's files to the quarantine folder of its feed and month; a ``quarantine_failed`` finding
    when that cannot be done (a full disk: nothing partial is left). A file is opened without following a link,
    and the copy replaces whatever has its name there (a link planted in its place included), never writing
    through it; a quarantine folder that leads outside the quarantine is refused."""
    root = config.QUARANTINE_DIR
    folder = root / delivery.feed / delivery.month.strftime("%Y-%m")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if not folder.resolve().is_relative_to(root.resolve()):
            raise OSError(f"{folder} leads outside the quarantine folder")
        for path in delivery.paths:
            _copy(path, folder / path.name)
    except OSError as error:
        expected = f"a copy of the files in {folder}"
        return Finding(
            "quarantine_failed", "error", None, None, None, expected, f"{error}: they stay in the landing folder"
        )
    return None


def _copy(source: Path, target: Path) -> None:
    """Copy ``source`` (not through a link) to ``target`` by way of a partial file renamed when complete."""
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    try:
        with _open(source) as reading, open(partial, "xb") as writing:
            shutil.copyfileobj(reading, writing, 1 << 20)
            info = os.fstat(reading.fileno())
        os.utime(partial, ns=(info.st_atime_ns, info.st_mtime_ns))
        os.replace(partial, target)
    except OSError:
        partial.unlink(missing_ok=True)
        raise
