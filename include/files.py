"""Files the project writes from its own data (the GX context, the feeds' dbt sources): each written only when
its text changes, so a rebuild that changes nothing touches no file (and ``make`` sees nothing new)."""

from __future__ import annotations

from pathlib import Path


def write_if_changed(path: Path, text: str) -> bool:
    """Write ``text`` to ``path`` (its folder made) unless it already holds it; whether it wrote."""
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return True
