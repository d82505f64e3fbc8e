"""Hostile drops into the landing folder: every entry is loaded or gets a finding, nothing else is loaded, nothing
outside the landing and quarantine folders is read or written, and the caps trigger before memory or disk run out.

The test feed ``ingest_test`` in a ``tmp_path`` landing; each test uses months of its own (2022-08 on), so the
rows it counts are its own. "Nothing is loaded by accident" is checked on ``ops.loads`` and the raw row counts
(``snapshot``), and on what is current. The expected rule of each file is written here by hand.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import psycopg
import pytest
from psycopg.rows import dict_row

from include import config
from tests.corpus import make_corpus as corpus

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
DROP = dt.date(2022, 8, 1)  # the fifty-file drop
CLASH = dt.date(2022, 9, 1)  # two new versions at once
SAFE = dt.date(2022, 10, 1)  # symbolic links and hostile names
CAPS = dt.date(2022, 11, 1)  # size cap and disk space
FULL = dt.date(2022, 12, 1)  # a database disk that fills during the load
PIPELINE = dt.date(2023, 5, 1)  # the real contracts, through pipeline.ingest_feed


@pytest.fixture(autouse=True)
def quarantine(tmp_path, monkeypatch) -> Path:
    """A quarantine folder of the test's own (the code reads ``config.QUARANTINE_DIR`` when it copies)."""
    folder = tmp_path / "quarantine"
    monkeypatch.setattr(config, "QUARANTINE_DIR", folder)
    return folder


def workbook(path: Path, month: dt.date, change: float | None = None) -> Path:
    """A clean delivery of the test feed for ``month``; ``change``: another content (the first loan's balance)."""
    rows = corpus.detail_rows(month)
    if change is not None:
        rows[0][10] = change
    corpus.standard(path, corpus.detail_sheet(rows, month=month), corpus.totals_sheet(month=month))
    return path


def landing_findings(conn: psycopg.Connection, month: dt.date) -> dict[str, str]:
    """File name -> rule of the month's recorded landing findings (one each, here)."""
    rows = conn.execute(
        "select file_name, rule from ops.landing_findings where run_month = %s order by file_name", [month]
    ).fetchall()
    found: dict[str, str] = {}
    for name, rule in rows:
        assert name not in found, f"{name}: two findings ({found[name]}, {rule})"
        found[name] = rule
    return found


def loads_of(conn: psycopg.Connection, month: dt.date) -> list[tuple]:
    return conn.execute(
        """select version, status, is_current, detail_rows, file_name from ops.loads
           where feed = 'ingest_test' and feed_month = %s order by version""",
        [month],
    ).fetchall()


def test_fifty_files_at_once_each_loaded_or_with_a_finding(tmp_path, contract, loader, snapshot, monkeypatch):
    from include.ingest.ids import WITHHELD
    from include.ingest.load import ingest_month, record_landing, survey_landing

    landing = tmp_path / "landing"
    feed = landing / contract.feed
    outside = tmp_path / "outside"
    outside.mkdir()
    workbook(outside / "elsewhere.xlsx", DROP)
    expected: dict[str, str] = {}  # name inside the landing folder -> rule; "" for loaded

    good = workbook(feed / corpus.name("good", month=DROP), DROP)
    expected[f"{contract.feed}/{good.name}"] = ""
    for offset in range(1, 13):  # the next twelve months: later runs load them
        month = dt.date(2022 + (7 + offset) // 12, (7 + offset) % 12 + 1, 1)
        path = workbook(feed / corpus.name("later", month=month), month)
        os.utime(path, (path.stat().st_atime, dt.datetime(month.year + 1, 1, 15).timestamp()))
        expected[f"{contract.feed}/{path.name}"] = "later_month"
    far = workbook(feed / corpus.name("far", month=dt.date(2099, 1, 1)), dt.date(2099, 1, 1))
    expected[f"{contract.feed}/{far.name}"] = "future_month"
    for month in range(1, 13):  # earlier months no run has loaded
        path = workbook(feed / corpus.name("late", month=dt.date(2021, month, 1)), dt.date(2021, month, 1))
        expected[f"{contract.feed}/{path.name}"] = "earlier_month_not_loaded"
    junk = {
        "readme.txt": "unknown_file",
        "小额信贷_2022-13.xlsx": "unknown_file",  # no such month
        "社会救助_2022-08.xlsx": "misfiled",  # another feed's name
        f"小额信贷_2022-08_{corpus.IDS[0]}..xlsx": "unsafe_name",  # '..', and an ID in the name
        "小额信贷_2022-08_a\\b.xlsx": "unsafe_name",
        "小额信贷_2022-08_line\nbreak.xlsx": "unsafe_name",
        "小额信贷_2022-08_tab\t.xlsx": "unsafe_name",
        ".DS_Store": "unknown_file",
        "~$小额信贷_2022-08_good.xlsx": "unknown_file",  # Excel's lock file
    }
    escaped = {"\n": "\\x0a", "\t": "\\x09"}  # a control character in a name is stored escaped
    for name, rule in junk.items():
        (feed / name).write_bytes(good.read_bytes())
        expected[f"{contract.feed}/{name.translate(str.maketrans(escaped))}"] = rule
    undecodable = os.fsdecode(os.fsencode(str(feed)) + "/小额信贷_2022-08_".encode() + b"\xff\xfe.xlsx")
    Path(undecodable).write_bytes(b"x")
    expected[f"{contract.feed}/小额信贷_2022-08_\\xff\\xfe.xlsx"] = "unsafe_name"
    links = {
        "小额信贷_2022-08_passwd.xlsx": Path("/etc/passwd"),
        "小额信贷_2022-08_outside.xlsx": outside / "elsewhere.xlsx",
        "小额信贷_2022-08_inside.xlsx": good,
        "小额信贷_2022-08_dangling.xlsx": tmp_path / "nowhere",
        "小额信贷_2022-08_up.xlsx": Path("../../outside/elsewhere.xlsx"),
    }
    for name, target in links.items():
        (feed / name).symlink_to(target)
        expected[f"{contract.feed}/{name}"] = "symlink"
    os.link(outside / "elsewhere.xlsx", feed / "小额信贷_2022-08_hardlink.xlsx")
    expected[f"{contract.feed}/小额信贷_2022-08_hardlink.xlsx"] = "hard_link"
    big = feed / "小额信贷_2022-08_big.xlsx"
    big.write_bytes(b"PK\x03\x04" + bytes(40_000))
    expected[f"{contract.feed}/{big.name}"] = "too_large"
    os.mkfifo(feed / "小额信贷_2022-08_pipe.xlsx")  # opening it would block: it is never opened
    expected[f"{contract.feed}/小额信贷_2022-08_pipe.xlsx"] = "not_a_file"
    (feed / "小额信贷_2022-08_folder.xlsx").mkdir()
    expected[f"{contract.feed}/小额信贷_2022-08_folder.xlsx"] = "not_a_file"
    stem = corpus.name("pair", "", month=DROP)  # a CSV pair whose 汇总 is a link: neither file is read
    (feed / f"{stem}_明细.csv").write_text(corpus.csv_text(corpus.detail_sheet(month=DROP)), encoding="utf-8")
    (feed / f"{stem}_汇总.csv").symlink_to(outside / "elsewhere.xlsx")
    expected[f"{contract.feed}/{stem}_明细.csv"] = "pair_refused"
    expected[f"{contract.feed}/{stem}_汇总.csv"] = "symlink"
    # The landing folder itself: an unknown department, a feed's file outside its folder, a link.
    (landing / "unknown_department" / "sub").mkdir(parents=True)
    workbook(landing / "unknown_department" / corpus.name("x", month=DROP), DROP)
    expected["unknown_department"] = "unknown_department"
    shutil.copy(good, landing / "小额信贷_2022-08.xlsx")
    expected["小额信贷_2022-08.xlsx"] = "misplaced"
    (landing / "stray.csv").write_text("a,b\r\n")
    expected["stray.csv"] = "unknown_department"
    (landing / "shortcut").symlink_to(outside)
    expected["shortcut"] = "symlink"
    assert len(expected) >= 50

    monkeypatch.setattr(config, "MAX_FILE_BYTES", 30_000)  # the good workbook is a few KiB
    monkeypatch.setattr(config, "LAST_MONTH", "")  # an open schedule: a later month's run will come
    before = snapshot()
    strays = survey_landing([contract.feed], landing)
    record_landing(loader, DROP, "", strays, run_id="hostile")
    results, findings = ingest_month(loader, contract, DROP, landing=landing, run_id="hostile")
    after = snapshot()

    assert [(r.delivery.name, r.status, r.version) for r in results] == [(good.name, "loaded", 1)]
    recorded = landing_findings(loader, DROP)
    withheld = f"{contract.feed}/小额信贷_2022-08_{WITHHELD}..xlsx"
    names = {key.replace(corpus.IDS[0], WITHHELD): rule for key, rule in expected.items() if rule}
    assert recorded == names, "every entry of the drop but the loaded one has exactly its finding"
    assert withheld in recorded and not any(corpus.IDS[0] in name for name in recorded)
    assert len(findings) + len(strays) == len(recorded)
    # Nothing but the month's one delivery is loaded: one load row, its 3 + 3 rows, nothing else current.
    assert after.loads == before.loads + 1
    assert sum(after.tables.values()) == sum(before.tables.values()) + 6
    assert after.current - before.current == {(results[0].load_id, contract.feed, DROP.isoformat())}
    assert before.current <= after.current
    months = loader.execute("select distinct feed_month from ops.loads where run_id = 'hostile'").fetchall()
    assert months == [(DROP,)]
    # A rerun of the month records the same findings, replacing (not doubling) them.
    record_landing(loader, DROP, "", survey_landing([contract.feed], landing), run_id="hostile")
    ingest_month(loader, contract, DROP, landing=landing, run_id="hostile")
    assert landing_findings(loader, DROP) == names
    assert snapshot().loads == after.loads


def test_two_new_versions_at_once_are_both_quarantined_and_the_current_one_stays(
    tmp_path, contract, loader, snapshot, *, quarantine, warehouse
):
    from include.audit_report import gather
    from include.ingest.load import ingest_month

    feed = tmp_path / "landing" / contract.feed
    first = workbook(feed / corpus.name("v1", month=CLASH), CLASH)
    (loaded,), _ = ingest_month(loader, contract, CLASH, landing=feed.parent, run_id="clash-1")
    assert (loaded.status, loaded.version) == ("loaded", 1)

    one = workbook(feed / corpus.name("correction_a", month=CLASH), CLASH, change=3.1)
    other = workbook(feed / corpus.name("correction_b", month=CLASH), CLASH, change=3.2)
    before = snapshot()
    results, findings = ingest_month(loader, contract, CLASH, landing=feed.parent, run_id="clash-2")
    assert snapshot() == before, "neither correction is loaded, and version 1 stays current"
    assert [r.delivery.name for r in results] == [first.name]  # the loaded version, re-read: the same load row
    assert loads_of(loader, CLASH) == [(1, "loaded", True, 3, first.name)]
    clashes = {f.name: f.found for f in findings if f.rule == "conflicting_delivery"}
    assert set(clashes) == {f"{contract.feed}/{one.name}", f"{contract.feed}/{other.name}"}
    assert (
        other.name in clashes[f"{contract.feed}/{one.name}"]
        and "version 1 stays current" in clashes[f"{contract.feed}/{one.name}"]
    )
    assert one.name in clashes[f"{contract.feed}/{other.name}"]
    for path in (one, other):
        assert (quarantine / contract.feed / "2022-09" / path.name).read_bytes() == path.read_bytes()

    # The department withdraws one: the other is a single new version, a restatement, loaded as version 2.
    other.unlink()
    results, findings = ingest_month(loader, contract, CLASH, landing=feed.parent, run_id="clash-3")
    assert [(r.delivery.name, r.status, r.version) for r in results][-1] == (one.name, "loaded", 2)
    assert not [f for f in findings if f.rule == "conflicting_delivery"]
    assert [row[:3] for row in loads_of(loader, CLASH)] == [(1, "loaded", False), (2, "loaded", True)]

    with psycopg.connect(warehouse.url("auditor"), row_factory=dict_row) as conn:
        facts = gather(conn, CLASH)
    mine = [d for d in facts["deliveries"] if d["feed"] == contract.feed]
    assert [(d["version"], d["restated"], d["previous_version"], d["previous_detail_rows"]) for d in mine] == [
        (1, False, None, None),
        (2, True, 1, 3),
    ]
    assert {f["rule"] for f in facts["landing_findings"]} == set(), "the rerun replaced the conflict findings"
    # The page and the workbook show the restatement.
    import openpyxl

    from include import report_xlsx
    from include.audit_report import render

    page = render(facts | {"data_docs": {"index": [], "pages": []}})
    assert f'data-feed="{contract.feed}" data-version="2" data-status="loaded" data-restated="true"' in page
    assert f'data-feed="{contract.feed}" data-version="1" data-status="loaded" data-restated="false"' in page
    book = openpyxl.load_workbook(report_xlsx.write(facts, tmp_path / "report.xlsx"))
    rows = [[c.value for c in row] for row in book["报送 Deliveries"].iter_rows(min_row=2)]
    assert [(r[0], r[3], r[9], r[10], r[11]) for r in rows if r[0] == contract.feed] == [
        (contract.feed, 1, "否 no", None, None),
        (contract.feed, 2, "是 yes", 1, 3),
    ]


def test_a_conflict_with_nothing_loaded_before_loads_nothing(tmp_path, contract, loader, snapshot):
    from include.ingest.load import ingest_month

    feed = tmp_path / "landing" / contract.feed
    month = dt.date(2022, 9, 1).replace(year=2024)
    workbook(feed / corpus.name("a", month=month), month)
    workbook(feed / corpus.name("b", month=month), month, change=9.9)
    before = snapshot()
    results, findings = ingest_month(loader, contract, month, landing=feed.parent)
    assert results == [] and snapshot() == before
    assert [f.rule for f in findings] == ["conflicting_delivery"] * 2
    assert all("the month has no loaded version" in f.found for f in findings)


def atime_probe(tmp_path: Path) -> bool:
    """Whether reading a file shows in its access time here (relatime: a read after the mtime updates it)."""
    probe = tmp_path / "probe"
    probe.write_bytes(b"x")
    os.utime(probe, (0, probe.stat().st_mtime))
    probe.read_bytes()
    return probe.stat().st_atime > 0


def sentinel_state(folder: Path) -> dict[str, tuple]:
    """Every entry under ``folder``: its type, size and modification time (a write moves it), and a file's access
    time (a read moves it: see ``atime_probe``). Nothing is read here."""
    state = {}
    for path in sorted(folder.rglob("*")):
        info = path.lstat()
        read = info.st_atime_ns if path.is_file() else None
        state[str(path.relative_to(folder))] = (info.st_mode, info.st_size, info.st_mtime_ns, read)
    return state


def test_no_file_name_reads_or_writes_outside_landing_and_quarantine(tmp_path, contract, loader, snapshot, quarantine):
    from include.ingest.load import ingest_month, load_delivery

    sentinel = tmp_path / "sentinel"  # outside both folders: must be neither read nor written
    (sentinel / "deep").mkdir(parents=True)
    secret = workbook(sentinel / corpus.name("secret", month=SAFE), SAFE)
    (sentinel / "deep" / "notes.txt").write_text("private")
    for path in sentinel.rglob("*"):
        if path.is_file():
            os.utime(path, (0, path.stat().st_mtime))  # an access time of 0: any read moves it (relatime)
    landing = tmp_path / "nest" / "landing"
    feed = landing / contract.feed
    feed.mkdir(parents=True)
    month = f"{SAFE:%Y-%m}"
    (feed / f"小额信贷_{month}_x..xlsx").write_bytes(b"PK")  # '..' in a name
    (feed / f"小额信贷_{month}_..\\..\\sentinel.xlsx").write_bytes(b"PK")
    (feed / f"小额信贷_{month}_secret.xlsx").symlink_to(secret)
    (feed / f"小额信贷_{month}_rel.xlsx").symlink_to(Path("../../../sentinel") / secret.name)
    (feed / f"小额信贷_{month}_passwd.xlsx").symlink_to("/etc/passwd")
    (feed / f"小额信贷_{month}_$(touch x)'\"*?;.xlsx").write_bytes(b"not a workbook")  # hard to quote
    (feed / f"小额信贷_{month}_-rf.xlsx").write_bytes(b"not a workbook either")
    # A link planted in the quarantine where a quarantined file will be copied: it is replaced, not written through.
    planted = quarantine / contract.feed / month / f"小额信贷_{month}_$(touch x)'\"*?;.xlsx"
    planted.parent.mkdir(parents=True)
    planted.symlink_to(sentinel / "deep" / "notes.txt")
    before = sentinel_state(sentinel)
    loads_before = snapshot()

    results, findings = ingest_month(loader, contract, SAFE, landing=landing, run_id="safe")
    # A symlinked feed folder: nothing in it is read, whatever it holds.
    other = tmp_path / "other_landing"
    other.mkdir()
    (other / contract.feed).symlink_to(sentinel)
    linked, linked_findings = ingest_month(loader, contract, SAFE, landing=other, run_id="safe")
    # A delivery handed to load_delivery directly, whose file became a link after it was found.
    from include.ingest.load import Delivery

    swapped = feed / f"小额信贷_{month}_swapped.xlsx"
    swapped.symlink_to(secret)
    refused = load_delivery(loader, Delivery(contract.feed, SAFE, (swapped,)), contract=contract)

    assert atime_probe(tmp_path), "reads do not move access times on this filesystem: the test cannot see a read"
    assert sentinel_state(sentinel) == before, "something outside the landing folder was read or written"
    assert all(state[3] in (None, 0) for state in before.values())
    # The two regular files with safe names are two new versions at once: both quarantined, unloaded.
    assert results == []
    rules = sorted(f.rule for f in findings)
    assert rules == ["conflicting_delivery"] * 2 + ["symlink"] * 3 + ["unsafe_name"] * 2
    assert linked == [] and [(f.name, f.rule) for f in linked_findings] == [(contract.feed, "symlink")]
    assert refused.status == "refused" and refused.refusal and refused.refusal.rule == "symlink"
    assert snapshot().tables == loads_before.tables
    # The quarantine holds only regular files, every one inside it; the planted link is gone.
    for path in quarantine.rglob("*"):
        assert not path.is_symlink() and path.resolve().is_relative_to(quarantine.resolve()), path
    assert planted.read_bytes() == b"not a workbook"
    assert sorted(p.name for p in planted.parent.iterdir()) == sorted(
        [f"小额信贷_{month}_$(touch x)'\"*?;.xlsx", f"小额信贷_{month}_-rf.xlsx"]
    )
    assert not (tmp_path / "x").exists() and not Path("x").exists()


def test_a_file_over_the_size_cap_is_refused_unread(tmp_path, contract, loader, snapshot, *, quarantine, monkeypatch):
    from include.ingest.load import ingest_month

    feed = tmp_path / "landing" / contract.feed
    path = workbook(feed / corpus.name("big", month=CAPS), CAPS)
    os.utime(path, (0, path.stat().st_mtime))
    monkeypatch.setattr(config, "MAX_FILE_BYTES", path.stat().st_size - 1)
    before = snapshot()
    results, findings = ingest_month(loader, contract, CAPS, landing=feed.parent)
    assert results == [] and snapshot() == before
    assert [(f.rule, f.size) for f in findings] == [("too_large", path.stat().st_size)]
    assert atime_probe(tmp_path) and path.stat().st_atime == 0, "the file was read"
    assert not quarantine.exists(), "a file over the cap is not copied either"
    # The cap is a setting: the environment overrides it.
    shown = subprocess.run(
        [sys.executable, "-c", "from include import config; print(config.MAX_FILE_BYTES, config.DISK_FACTOR)"],
        cwd=ROOT,
        env={**os.environ, "SQW_MAX_FILE_BYTES": "12345", "SQW_DISK_FACTOR": "3.5"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert shown.stdout.split() == ["12345", "3.5"]


@pytest.fixture
def tmpfs():  # type: ignore[no-untyped-def]
    """Mount a small tmpfs (root only): a real filesystem that fills up. In a folder of its own under /tmp that
    anyone may enter (pytest's are private), so that the database server can use it."""
    import tempfile

    mounted = []

    def mount(name: str, size: str, owner: str | None = None) -> Path:
        point = Path(tempfile.mkdtemp(prefix=f"landing-{name}-"))
        point.chmod(0o755)
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(point)], check=False
        )
        if done.returncode:
            pytest.skip("cannot mount a tmpfs here (needs root): the disk-full cases are untested")
        mounted.append(point)
        if owner:
            shutil.chown(point, owner, owner)
        return point

    yield mount
    for point in reversed(mounted):
        subprocess.run(["umount", "-l", str(point)], check=False)
        point.rmdir()


def test_no_room_on_the_quarantine_disk_refuses_the_delivery(
    tmp_path, contract, loader, snapshot, *, monkeypatch, tmpfs
):
    from include.ingest.load import ingest_month

    small = tmpfs("small", "1m")
    monkeypatch.setattr(config, "QUARANTINE_DIR", small / "quarantine")
    monkeypatch.setattr(config, "DISK_RESERVE_BYTES", 0)
    feed = tmp_path / "landing" / contract.feed
    good = workbook(feed / corpus.name("good", month=CAPS), CAPS)
    filler = small / "filler"
    with open(filler, "wb", buffering=0) as handle:  # fill the disk until it refuses, then free a little
        try:
            while True:
                handle.write(bytes(64 * 1024))
        except OSError:
            pass
    free_after_fill = shutil.disk_usage(small).free
    os.truncate(filler, filler.stat().st_size - 4096 * 2)
    before = snapshot()
    results, _ = ingest_month(loader, contract, CAPS, landing=feed.parent, run_id="disk")
    assert [(r.status, r.refusal and r.refusal.rule) for r in results] == [("refused", "disk_full")]
    assert "for quarantine" in results[0].refusal.expected
    assert snapshot() == before and good.exists()
    recorded = landing_findings(loader, CAPS)
    assert recorded == {f"{contract.feed}/{good.name}": "disk_full"}
    assert free_after_fill < 64 * 1024

    # With the check off (another process filling the disk between the check and the copy), a quarantine copy
    # that runs out of space leaves no partial file: the finding says so, and the load row is recorded.
    monkeypatch.setattr(config, "DISK_FACTOR", 0)
    bad = feed / corpus.name("bad", month=CAPS)
    bad.write_bytes(b"PK\x03\x04" + os.urandom(200_000))
    good.unlink()
    results, _ = ingest_month(loader, contract, CAPS, landing=feed.parent, run_id="disk")
    assert [r.status for r in results] == ["quarantined"]
    assert "quarantine_failed" in [f.rule for f in results[0].findings]
    leftovers = list((small / "quarantine").rglob("*.xlsx*")) if (small / "quarantine").exists() else []
    assert [p for p in leftovers if p.is_file()] == [], "a partial copy was left behind"
    rules = [r for (r,) in loader.execute("select rule from ops.findings where load_id = %s", [results[0].load_id])]
    assert "quarantine_failed" in rules


def test_no_room_for_the_database_refuses_the_delivery(tmp_path, contract, loader, snapshot, monkeypatch):
    from include.ingest.load import ingest_month

    feed = tmp_path / "landing" / contract.feed
    good = workbook(feed / corpus.name("good", month=FULL), FULL)
    free = shutil.disk_usage(config.PGDATA).free
    monkeypatch.setattr(config, "DISK_RESERVE_BYTES", free + 1024**3)  # the threshold, past what is free
    before = snapshot()
    results, _ = ingest_month(loader, contract, FULL, landing=feed.parent, run_id="disk")
    assert results[0].status == "refused" and results[0].refusal
    assert results[0].refusal.rule == "disk_full" and "for the database" in results[0].refusal.expected
    assert snapshot() == before and good.exists()


def test_a_database_disk_that_fills_during_the_load_keeps_the_warehouse_consistent(
    tmp_path, contract, loader, snapshot, *, warehouse, tmpfs
):
    """Raw tables in a tablespace on a 2 MiB tmpfs: a 20,000-row delivery fills it in the middle of its COPY."""
    import dataclasses

    from include.ingest.ddl import ensure_contract_tables
    from include.ingest.load import ingest_month

    if not os.environ.get("SQW_WAREHOUSE_URL") and os.geteuid() == 0:
        owner = "sqwpg"
    else:
        pytest.skip("needs the embedded server run by root (the tablespace folder must be the server's)")
    space = tmpfs("tablespace", "2m", owner=owner)
    tiny = dataclasses.replace(
        contract,
        feed="ingest_tiny",
        sections=tuple(
            dataclasses.replace(s, table=s.table.replace("ingest_test", "ingest_tiny")) for s in contract.sections
        ),
    )
    admin = psycopg.connect(warehouse.url("admin"), autocommit=True)
    try:
        admin.execute(f"create tablespace landing_tiny owner {config.ROLE_LOADER} location '{space}'")
        ensure_contract_tables(loader, tiny)
        for section in tiny.sections:
            loader.execute(f"alter table raw.{section.table} set tablespace landing_tiny")
        feed = tmp_path / "landing" / tiny.feed
        first = workbook(feed / corpus.name("small", month=FULL), FULL)
        (one,), _ = ingest_month(loader, tiny, FULL, landing=feed.parent, run_id="tiny")
        assert one.status == "loaded"
        rows = []
        for serial in range(20_000):
            row = list(corpus.detail_rows(FULL)[serial % 3])
            row[5] = f"4114{serial:010d}"
            rows.append(row)
        big = feed / corpus.name("big", month=FULL)
        corpus.standard(big, corpus.detail_sheet(rows, month=FULL), corpus.totals_sheet(month=FULL))
        os.utime(big, (big.stat().st_atime, first.stat().st_mtime + 60))
        before = snapshot()
        results, _ = ingest_month(loader, tiny, FULL, landing=feed.parent, run_id="tiny")
        after = snapshot()
        assert [r.status for r in results] == ["loaded", "refused"]
        assert results[1].refusal and results[1].refusal.rule == "disk_full"
        assert "ran out of disk space" in results[1].refusal.found
        assert after == before, "the half-copied delivery left rows, a load row or a change of what is current"
        current = loader.execute(
            "select version from ops.loads where feed = 'ingest_tiny' and feed_month = %s and is_current", [FULL]
        ).fetchall()
        assert current == [(1,)]
        recorded = loader.execute(
            "select rule from ops.landing_findings where scope = 'ingest_tiny' and run_month = %s", [FULL]
        ).fetchall()
        assert recorded == [("disk_full",)]
    finally:
        for section in tiny.sections:
            loader.execute(f"drop table if exists raw.{section.table} cascade")
        loader.execute("delete from ops.loads where feed = 'ingest_tiny'")
        loader.execute("delete from ops.landing_findings where scope = 'ingest_tiny'")
        admin.execute("drop tablespace if exists landing_tiny")
        admin.close()


PEAK = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from include.ingest import read
    mode, path = sys.argv[1], Path(sys.argv[2])
    if mode == "read":
        try:
            print(len(read.read(path).sheets))
        except read.Unreadable as error:
            print(error.rule)
    else:  # inflate the sheet, as a reader without caps would
        import zipfile
        print(len(zipfile.ZipFile(path).read("xl/worksheets/sheet1.xml")))
    # VmHWM, not ru_maxrss: the latter keeps the forking parent's peak across exec (the test session's)
    print(next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM:")))
    """
)


def peak(mode: str, path: Path) -> tuple[str, int]:
    """What a fresh process reading ``path`` printed, and its peak resident memory (KiB)."""
    done = subprocess.run(
        [sys.executable, "-c", PEAK, mode, str(path)], cwd=ROOT, capture_output=True, text=True, check=True
    )
    said, rss = done.stdout.split()
    return said, int(rss)


def test_a_zip_bomb_is_refused_before_it_takes_memory(tmp_path):
    """A 160 MiB sheet of blanks deflated to a few hundred KiB: refused from its zip directory, so reading it costs
    what reading a small clean workbook costs; inflating it (the control) costs its 160 MiB."""
    bomb = tmp_path / corpus.name("bomb")
    parts = corpus.workbook_parts([("明细", corpus.sheet_xml(corpus.detail_sheet())), ("汇总", "")])
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            if name != "xl/worksheets/sheet1.xml":
                archive.writestr(name, data)
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member:
            for _ in range(160):
                member.write(b" " * 1024**2)
    assert bomb.stat().st_size < 2 * 1024**2
    clean = tmp_path / corpus.name("clean")
    corpus.standard(clean)
    baseline = peak("read", clean)
    refused = peak("read", bomb)
    inflated = peak("inflate", bomb)
    print(f"\n[peak memory] clean read {baseline[1]} KiB; bomb read {refused[1]} KiB; bomb inflated {inflated[1]} KiB")
    assert baseline[0] == "2" and refused[0] == "zip_bomb" and inflated[0] == str(160 * 1024**2)
    assert refused[1] < baseline[1] * 1.2, "the bomb took memory before it was refused"
    assert inflated[1] > baseline[1] * 1.5, "the control did not take the bomb's memory: the measure is blind"


def test_ingest_feed_with_the_real_contracts_records_what_it_does_not_load(warehouse, loader, snapshot):
    """pipeline.ingest_feed on the test state's landing folder (its own month; removed afterwards)."""
    from include import pipeline

    landing = config.LANDING_DIR
    feed = landing / "microcredit"
    created = not feed.exists()
    feed.mkdir(parents=True, exist_ok=True)
    made = [
        feed / f"小额信贷_{PIPELINE:%Y-%m}_passwd.xlsx",
        feed / "小额信贷_2099-01.xlsx",
        landing / "unknown_department_landing_test",
    ]
    made[0].symlink_to("/etc/passwd")
    made[1].write_bytes(b"PK")
    made[2].mkdir()
    before = snapshot()
    try:
        done = pipeline.ingest_feed("microcredit", PIPELINE, "pipeline-test", url=warehouse.url("loader"))
        after = snapshot()
        recorded = loader.execute(
            "select scope, file_name, rule from ops.landing_findings where run_month = %s order by 1, 2", [PIPELINE]
        ).fetchall()
    finally:
        made[0].unlink()
        made[1].unlink()
        made[2].rmdir()
        if created:
            feed.rmdir()
        loader.execute("delete from ops.landing_findings where run_month = %s", [PIPELINE])
    assert done["deliveries"] == [] and after == before
    assert ("", "unknown_department_landing_test", "unknown_department") in recorded
    assert ("microcredit", f"microcredit/{made[0].name}", "symlink") in recorded
    assert ("microcredit", "microcredit/小额信贷_2099-01.xlsx", "future_month") in recorded
    assert {(d["file"], d["rule"]) for d in done["not_loaded"]} >= {
        (f"microcredit/{made[0].name}", "symlink"),
        ("microcredit/小额信贷_2099-01.xlsx", "future_month"),
    }
