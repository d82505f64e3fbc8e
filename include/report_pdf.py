"""The auditor's report as a PDF, ``<REPORTS_DIR>/<YYYY-MM>/report.pdf``: the HTML page printed by headless Chromium.

The page's print style says the rest: A4 landscape, the report's title atop every page, the page number and
the count at the foot (CSS ``@page`` margin boxes), the collapsed parts open. Chromium and a CJK font come from
Debian's packages (``deploy.packages``); when they cannot be had (not root, not installed) or Chromium fails, the
PDF is skipped with one line saying why, and the month's report is the HTML and the workbook.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
from pathlib import Path

from include.deploy import packages

TIMEOUT = 180  # seconds Chromium may take to print
FLAGS = (
    *packages.CHROMIUM_FLAGS,
    "--proxy-server=127.0.0.1:9",  # the page needs nothing from outside: nothing may be fetched
    "--no-pdf-header-footer",
)


def print_pdf(html: Path, pdf: Path) -> Path | None:
    """Print ``html`` to ``pdf``; None (and a line saying why) when it cannot be done. An older PDF is removed first,
    so a PDF next to the page is always the page's."""
    pdf.unlink(missing_ok=True)
    try:
        chromium = packages.ensure("chromium", "font:zh")["chromium"]
    except packages.Missing as error:
        skipped(pdf, str(error))
        return None
    with tempfile.TemporaryDirectory(prefix="sqw-chromium-") as profile:
        command = [chromium, *FLAGS, f"--user-data-dir={profile}", f"--print-to-pdf={pdf}", html.as_uri()]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        try:
            _, stderr = process.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # Chromium and the helpers it started
            process.communicate()
            skipped(pdf, f"Chromium did not finish in {TIMEOUT} s")
            return None
    if process.returncode != 0 or not pdf.exists() or pdf.stat().st_size == 0:
        skipped(pdf, f"Chromium exited {process.returncode}: {stderr.decode(errors='replace')[-300:].strip()}")
        return None
    return pdf


def skipped(pdf: Path, why: str) -> None:
    print(f"» {pdf.name} skipped (the HTML and the workbook are written): {' '.join(why.split())}", flush=True)
    pdf.unlink(missing_ok=True)
