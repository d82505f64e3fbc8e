"""Charts drawn in Python as inline SVG: a series in, an SVG element out.

No JavaScript and nothing fetched, so a page that embeds them works offline and
air-gapped. A series is a sequence of ``(label, value)`` points in display order;
a value of ``None`` is missing (no bar; a gap in a line). Values are drawn from
zero, so they should not be negative. Every label is escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import SupportsFloat

from markupsafe import Markup, escape

Point = tuple[str, SupportsFloat | None]

WIDTH = 640
LABEL_WIDTH = 120  # room for a county name left of the bars
VALUE_WIDTH = 80  # room for the printed value right of the bars
BAR_PITCH = 26
TOP = 34  # room for the title


def _number(value: float, decimals: int, unit: str) -> str:
    return f"{value:,.{decimals}f}{unit}"


def _svg(title: str, height: int, body: list[str]) -> Markup:
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" aria-label="{escape(title)}" '
        f'width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}">'
        f'<title>{escape(title)}</title><text class="chart-title" x="0" y="18">{escape(title)}</text>'
        + "".join(body)
        + "</svg>"
    )


def bar_chart(
    points: Sequence[Point],
    *,
    title: str,
    unit: str = "",
    decimals: int = 0,
    reference: Point | None = None,
) -> Markup:
    """Horizontal bars, one per point; ``reference`` is drawn as a labelled line (e.g. the city's value)."""
    plot = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    values = [float(v) for _, v in points if v is not None]
    if reference and reference[1] is not None:
        values.append(float(reference[1]))
    top = max(values, default=0.0) or 1.0
    height = TOP + BAR_PITCH * len(points) + (22 if reference else 8)
    body = []
    for i, (label, value) in enumerate(points):
        y = TOP + i * BAR_PITCH
        body.append(f'<text class="label" x="{LABEL_WIDTH - 8}" y="{y + 15}" text-anchor="end">{escape(label)}</text>')
        if value is None:
            body.append(f'<text class="value" x="{LABEL_WIDTH}" y="{y + 15}">—</text>')
            continue
        width = plot * max(float(value), 0.0) / top
        shown = _number(float(value), decimals, unit)
        body.append(
            f'<rect class="bar" x="{LABEL_WIDTH}" y="{y + 2}" width="{width:.1f}" height="{BAR_PITCH - 6}">'
            f"<title>{escape(label)}: {escape(shown)}</title></rect>"
            f'<text class="value" x="{LABEL_WIDTH + width + 4:.1f}" y="{y + 15}">{escape(shown)}</text>'
        )
    if reference and reference[1] is not None:
        x = LABEL_WIDTH + plot * float(reference[1]) / top
        bottom = TOP + BAR_PITCH * len(points)
        shown = f"{reference[0]} {_number(float(reference[1]), decimals, unit)}"
        body.append(
            f'<line class="reference" x1="{x:.1f}" y1="{TOP - 4}" x2="{x:.1f}" y2="{bottom}"/>'
            f'<text class="reference-label" x="{x:.1f}" y="{bottom + 14}" text-anchor="middle">{escape(shown)}</text>'
        )
    return _svg(title, height, body)


def line_chart(points: Sequence[Point], *, title: str, unit: str = "", decimals: int = 0, height: int = 220) -> Markup:
    """A line over the points (e.g. months), left to right, with a dot and its value at each point."""
    left, right, bottom = 60, 20, 28
    plot_w, plot_h = WIDTH - left - right, height - TOP - bottom - 12
    values = [float(v) for _, v in points if v is not None]
    top = max(values, default=0.0) or 1.0
    step = plot_w / max(len(points) - 1, 1)

    def y_of(value: float) -> float:
        return TOP + 12 + plot_h * (1 - value / top)

    body = [
        f'<line class="axis" x1="{left}" y1="{y_of(0):.1f}" x2="{WIDTH - right}" y2="{y_of(0):.1f}"/>',
        f'<text class="tick" x="{left - 6}" y="{y_of(0) + 4:.1f}" text-anchor="end">0</text>',
        f'<text class="tick" x="{left - 6}" y="{y_of(top) + 4:.1f}" text-anchor="end">'
        f"{escape(_number(top, decimals, ''))}</text>",
    ]
    segments: list[list[str]] = [[]]
    for i, (label, value) in enumerate(points):
        x = left + i * step
        body.append(f'<text class="tick" x="{x:.1f}" y="{height - 8}" text-anchor="middle">{escape(label)}</text>')
        if value is None:
            segments.append([])
            continue
        y = y_of(float(value))
        shown = _number(float(value), decimals, unit)
        segments[-1].append(f"{x:.1f},{y:.1f}")
        body.append(
            f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="3.5"><title>{escape(label)}: {escape(shown)}</title>'
            f'</circle><text class="value" x="{x:.1f}" y="{y - 8:.1f}" text-anchor="middle">{escape(shown)}</text>'
        )
    body[3:3] = [f'<polyline class="line" points="{" ".join(s)}"/>' for s in segments if len(s) > 1]
    return _svg(title, height, body)
