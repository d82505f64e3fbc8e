"""Programs the project needs from Debian's packages: found on the machine, or installed with apt-get as root.

One place decides how a system program is found and installed: Redis for the Celery cluster, Chromium
for the report's PDF and the dashboard screenshot, poppler's tools for reading a PDF back, and a CJK font
so that Chinese renders as glyphs rather than boxes.
"""

from __future__ import annotations

import os
import shutil
import subprocess

# program (or font language) → the Debian packages that provide it
PACKAGES: dict[str, tuple[str, ...]] = {
    "redis-server": ("redis-server",),
    "chromium": ("chromium",),
    "pdftoppm": ("poppler-utils",),
    "pdftotext": ("poppler-utils",),
    "font:zh": ("fontconfig", "fonts-wqy-microhei"),
}
_updated = False
# Headless Chromium on a closed network: no GPU, no sandbox (root), and none of its own calls home.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


class Missing(RuntimeError):
    """A program the project needs is not installed, and installing it needs root."""


def _present(name: str) -> str | None:
    if name.startswith("font:"):
        return cjk_font()
    return shutil.which(name)


# The Chinese font the reports and the dashboard render with. Chromium embeds it in a PDF as a named font
# (Noto CJK's glyphs come out as unnamed Type 3 ones), and it is small.
CJK_FONT = "WenQuanYi Micro Hei"


def cjk_font() -> str | None:
    """The file of the installed ``CJK_FONT``, or None."""
    if not shutil.which("fc-list"):
        return None
    out = subprocess.run(["fc-list", f"{CJK_FONT}:lang=zh", "file"], capture_output=True, text=True, check=False).stdout
    files = sorted(line.split(":")[0].strip() for line in out.splitlines() if line.strip())
    return files[0] if files else None


def _apt_get(*args: str) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    return subprocess.run(["apt-get", *args], capture_output=True, env=env, check=False)


def apt_install(packages: tuple[str, ...]) -> None:
    """``apt-get install`` as root, updating the package lists once when a package is not found."""
    global _updated  # noqa: PLW0603
    if os.geteuid() != 0:
        raise Missing(f"installing {' '.join(packages)} needs root: apt-get install -y {' '.join(packages)}")
    install = ("install", "-y", "-qq", "--no-install-recommends", *packages)
    done = _apt_get(*install)
    if done.returncode != 0 and not _updated:
        _apt_get("update", "-qq")
        _updated = True
        done = _apt_get(*install)
    if done.returncode != 0:
        raise Missing(f"apt-get install {' '.join(packages)} failed: {done.stderr.decode(errors='replace')[-500:]}")


def ensure(*names: str) -> dict[str, str]:
    """Each program's path (a font's file), installing from Debian's packages what is missing (as root)."""
    missing = [name for name in names if not _present(name)]
    wanted = tuple(dict.fromkeys(package for name in missing for package in PACKAGES[name]))
    if wanted:
        print(f"» installing {' '.join(wanted)} (apt-get)", flush=True)
        apt_install(wanted)
        if any(name.startswith("font:") for name in missing) and shutil.which("fc-cache"):
            subprocess.run(["fc-cache", "-f"], capture_output=True, check=False)
    found = {name: _present(name) for name in names}
    absent = [name for name, path in found.items() if not path]
    if absent:
        raise Missing(f"not installed after apt-get: {', '.join(absent)}")
    return {name: str(path) for name, path in found.items()}


def available(*names: str) -> dict[str, str] | None:
    """Like ``ensure``, but None instead of an error when they cannot be had (not root, no package)."""
    try:
        return ensure(*names)
    except Missing as error:
        print(f"» {error}", flush=True)
        return None
