"""Cells of the auditor's spreadsheets: a text a spreadsheet would read as a formula stays a text.

A county name, a file name or a finding that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or a carriage
return) is a formula to Excel, LibreOffice and WPS when it is typed, pasted or opened from a CSV file: it could
fetch a URL or run a command. ``put`` writes every cell of the workbooks; a CSV writer quotes the same texts by
``formula_like`` (with a leading apostrophe). Numbers, dates and texts that are not formula-like are untouched.
No spreadsheet library is imported here.
"""

from __future__ import annotations

import re
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NOT_IN_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")  # control characters a workbook cannot hold


def formula_like(value: object) -> bool:
    """Whether ``value`` is a text a spreadsheet would take for a formula."""
    return isinstance(value, str) and value.startswith(FORMULA_START)


def put(cell: Any, value: object) -> Any:
    """Set an openpyxl cell to ``value``; a formula-like text is kept a literal string (type ``s``, quote prefix).
    Control characters a workbook cannot hold are dropped from a text."""
    cell.value = _NOT_IN_XML.sub("", value) if isinstance(value, str) else value
    if formula_like(cell.value):
        cell.data_type = "s"
        cell.quotePrefix = True
    return cell
