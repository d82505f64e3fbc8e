"""A Superset dashboard as headless Chromium renders it: logged in, a PNG, and the fonts that drew a header cell.

Run by the Superset venv's interpreter (playwright is there, driving the system's Chromium; no browser is
ever downloaded): ``<venv>/bin/python include/bi/screenshot.py < job.json``, the job giving ``url``,
``dashboard``, ``user``, ``password``, ``chromium`` and its ``flags``, ``png`` and ``header`` (the text of a
table header cell to probe). It prints JSON: the header cells, the fonts Chromium used for the probed one (CDP
``CSS.getPlatformFontsForNode``), the requests refused for leaving the server, the PNG's size and colours.
Playwright and Pillow (both in Superset's venv) only: it imports nothing of the project.
"""

from __future__ import annotations

import json
import sys
import tempfile
from typing import Any

from PIL import Image
from playwright.sync_api import sync_playwright

HEADERS = "th, [role=columnheader]"


def shoot(job: dict[str, Any]) -> dict[str, Any]:
    outside: list[str] = []

    def only_this_server(route: Any) -> None:
        url = route.request.url
        if url.startswith((job["url"], "data:", "blob:")):
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    with tempfile.TemporaryDirectory() as profile, sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            profile,  # a fresh --user-data-dir
            executable_path=job["chromium"],
            headless=True,
            args=job["flags"],
            viewport={"width": 1600, "height": 1200},
            locale="zh-CN",
        )
        browser.route("**/*", only_this_server)
        page = browser.new_page()
        page.goto(f"{job['url']}/login/")
        page.fill("#username", job["user"])
        page.fill("#password", job["password"])
        page.click("[data-test=login-button]")
        page.wait_for_url(lambda url: "/login" not in url, timeout=60_000)
        page.goto(job["dashboard"], wait_until="networkidle", timeout=120_000)
        header = page.locator(HEADERS, has_text=job["header"]).first
        header.wait_for(timeout=120_000)
        page.wait_for_load_state("networkidle")
        headers = [text.strip() for text in page.locator(HEADERS).all_inner_texts()]

        cdp = browser.new_cdp_session(page)
        cdp.send("DOM.enable")
        cdp.send("CSS.enable")
        root = cdp.send("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
        nodes = cdp.send("DOM.querySelectorAll", {"nodeId": root, "selector": HEADERS})["nodeIds"]
        fonts: list[dict[str, Any]] = []
        for node in nodes:
            html = cdp.send("DOM.getOuterHTML", {"nodeId": node})["outerHTML"]
            if job["header"] in html:
                fonts = _fonts_below(cdp, node)
                break
        page.screenshot(path=job["png"], full_page=True)
        browser.close()
    with Image.open(job["png"]) as png:
        width, height = png.size
        colours = len(png.convert("RGB").resize((width // 4, height // 4)).getcolors(1 << 20) or [])
    return {
        "headers": headers,
        "fonts": fonts,
        "outside": outside,
        "png": {"width": width, "height": height, "colours": colours},
    }


def _fonts_below(cdp: Any, node: int) -> list[dict[str, Any]]:
    """The platform fonts of a node's text: the node's own, else those of its descendants (the text sits in a span)."""
    fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    if fonts:
        return list(fonts)
    described = cdp.send("DOM.describeNode", {"nodeId": node, "depth": -1})["node"]
    found: list[dict[str, Any]] = []
    stack = list(described.get("children", []))
    while stack:
        child = stack.pop()
        stack += child.get("children", [])
        if child.get("nodeType") != 1:  # elements only: the text nodes' fonts are their parent's
            continue
        pushed = cdp.send("DOM.pushNodesByBackendIdsToFrontend", {"backendNodeIds": [child["backendNodeId"]]})
        found += cdp.send("CSS.getPlatformFontsForNode", {"nodeId": pushed["nodeIds"][0]})["fonts"]
    return found


if __name__ == "__main__":
    print(json.dumps(shoot(json.load(sys.stdin)), ensure_ascii=False))
