"""COPY parsed frames into raw: PostgreSQL's text format, built a chunk of rows at a time.

A chunk is a couple of megabytes of COPY text; a writer thread sends it while the
next one is built (and, from ``load``, while the next block of rows is parsed), so
the server's work overlaps ours.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import pandas as pd
from psycopg import Connection, sql
from psycopg.copy import QueuedLibpqWriter

from include import config, faults
from include.ingest.contract import Section
from include.ingest.sheet import data_columns

COPY_CHUNK_ROWS = 10_000  # about 2 MB of text: small enough to overlap building with sending
NULL = "\\N"
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
Lineage = tuple[int, dt.date, int]  # load id, feed month, version


@contextmanager
def copy_into(conn: Connection, section: Section, lineage: Lineage) -> Iterator[Callable[[pd.DataFrame], int]]:
    """An open COPY into the section's raw table; the function it gives copies one parsed frame.

    Rows are sent by a writer thread while the caller goes on parsing, so the server's
    work overlaps ours; each row carries the lineage (load id, month, version).
    """
    columns = data_columns(section)
    names = ["_load_id", "_feed_month", "_version", *columns]
    statement = sql.SQL("copy {} ({}) from stdin").format(
        sql.Identifier(config.SCHEMA_RAW, section.table), sql.SQL(", ").join(map(sql.Identifier, names))
    )
    prefix = "\t".join(_copy_text(value) for value in (lineage[0], lineage[1].isoformat(), lineage[2]))
    cursor = conn.cursor()
    with cursor.copy(statement, writer=QueuedLibpqWriter(cursor)) as copy:

        def write(frame: pd.DataFrame) -> int:
            if list(frame.columns) != columns:
                raise ValueError(f"{section.table}: frame columns {list(frame.columns)} are not {columns}")
            for chunk in copy_chunks(frame, prefix):
                copy.write(chunk)
                faults.point("load:copying")  # a test kills PostgreSQL here, mid-COPY
            return len(frame)

        yield write


def copy_frame(conn: Connection, section: Section, frame: pd.DataFrame, lineage: Lineage) -> int:
    """COPY one parsed frame into the section's raw table, each row behind its lineage (load id, month, version)."""
    with copy_into(conn, section, lineage) as write:
        return write(frame)


def _copy_text(value: object) -> str:
    """One value as a COPY text field."""
    return str(value).translate(_COPY_ESCAPES)


def _copy_column(values: np.ndarray) -> list[str]:
    """A column as COPY text fields: ``\\N`` for NULL, backslash, tab and line breaks escaped."""
    cells: list[str] = values.tolist()
    if pd.api.types.infer_dtype(values, skipna=False) != "string":  # a C pass: "string" means no None
        cells = [NULL if value is None else value for value in cells]
    joined = "".join(cells)
    if any(mark in joined for mark in ("\\", "\t", "\n", "\r")):
        cells = [NULL if value is None else value.translate(_COPY_ESCAPES) for value in values.tolist()]
    return cells


def copy_chunks(frame: pd.DataFrame, prefix: str, rows: int = COPY_CHUNK_ROWS) -> Iterator[bytes]:
    """The frame as PostgreSQL COPY text, in chunks of ``rows`` lines, each line starting with ``prefix``."""
    for start in range(0, len(frame), rows):
        part = frame.iloc[start : start + rows]
        columns = [[prefix] * len(part), *(_copy_column(part[name].to_numpy(dtype=object)) for name in part.columns)]
        yield ("\n".join(map("\t".join, zip(*columns, strict=True))) + "\n").encode("utf-8")
