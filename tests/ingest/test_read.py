"""Reading files: encodings, CSV shapes pandas' fast path cannot take, and zip checks before inflating."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from include.ingest import read
from include.ingest.bulk import copy_chunks

CORPUS = Path(__file__).resolve().parent.parent / "corpus" / "ingest_test"


@pytest.mark.parametrize(
    ("data", "encoding", "county"),
    [
        ("县区,户数\n睢县,1\n".encode(), "utf-8", "睢县"),
        (b"\xef\xbb\xbf" + "县区,户数\n睢县,1\n".encode(), "utf-8-sig", "睢县"),
        ("县区,户数\n睢县,1\n".encode("gbk"), "gb18030", "睢县"),
        ("县区,户数\n𠀀,1\n".encode("gb18030"), "gb18030", "𠀀"),
    ],
)
def test_csv_encodings_are_detected_from_the_bytes(tmp_path, data, encoding, county):
    path = tmp_path / "x_明细.csv"
    path.write_bytes(data)
    book = read.read(path, csv_sheet="明细")
    assert book.encoding == encoding
    assert book.sheets["明细"].to_numpy().tolist() == [["县区", "户数"], [county, "1"]]


def csv_rows(tmp_path: Path, text: str) -> list[list[str]]:
    path = tmp_path / "x_明细.csv"
    path.write_text(text, encoding="utf-8")
    return read.read(path, csv_sheet="明细").sheets["明细"].to_numpy().tolist()


def test_a_csv_row_wider_than_the_first_lines_is_read_whole(tmp_path):
    text = "title\n" + "a,b\n" * 300 + "c,d,e,f\n"
    rows = csv_rows(tmp_path, text)
    assert len(rows) == 302 and rows[-1] == ["c", "d", "e", "f"] and rows[0] == ["title", "", "", ""]


def test_a_record_spanning_lines_wider_than_any_line_is_read_by_the_csv_module(tmp_path):
    rows = csv_rows(tmp_path, 'h1,h2,h3,h4,h5\na,"x\ny",b,"c\nd",e\n')
    assert rows[1] == ["a", "x\ny", "b", "c\nd", "e"]


def test_blank_lines_keep_their_row_numbers(tmp_path):
    rows = csv_rows(tmp_path, "t\r\n\r\nh1,h2\r\n1,2\r\n")
    assert rows == [["t", ""], ["", ""], ["h1", "h2"], ["1", "2"]]


def test_a_complete_last_row_without_a_line_break_is_not_truncation(tmp_path):
    rows = csv_rows(tmp_path, "h1,h2\n1,2\n3,4")
    assert rows[-1] == ["3", "4"]


def test_a_zip_bomb_is_refused_before_anything_is_inflated(monkeypatch):
    def no_inflating(*args: object, **kwargs: object) -> None:
        raise AssertionError("the archive was opened for reading")

    monkeypatch.setattr(zipfile.ZipFile, "open", no_inflating)
    monkeypatch.setattr(zipfile.ZipFile, "read", no_inflating)
    import python_calamine

    monkeypatch.setattr(python_calamine.CalamineWorkbook, "from_path", no_inflating)
    for case in ("zip_bomb", "zip_bomb_declared"):
        with pytest.raises(read.Unreadable) as refused:
            read.read(CORPUS / f"小额信贷_2022-01_{case}.xlsx")
        assert refused.value.rule == "zip_bomb" and "(refused unopened)" in refused.value.found


def test_only_the_sheets_asked_for_are_read():
    book = read.read(CORPUS / "小额信贷_2022-01_missing_sheet.xlsx", wanted=lambda name: name == "明细")
    assert list(book.sheets) == ["明细"] and book.names == ("明细", "Sheet2")


def test_copy_text_escapes_what_postgres_would_misread():
    import pandas as pd

    frame = pd.DataFrame({"a": ["x\ty", "b\\n", None, ""], "b": ["1\n2", "\r", "\\N", "z"]}, dtype=object)
    text = b"".join(copy_chunks(frame, "7", rows=3)).decode()
    assert text == "7\tx\\ty\t1\\n2\n7\tb\\\\n\t\\r\n7\t\\N\t\\\\N\n7\t\tz\n"
