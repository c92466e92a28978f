"""A small SVG line chart with a log-scale option, so the demo plots with no extra package."""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

# Okabe-Ito: a colour-blind-safe palette
COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")


def line_chart(
    series: dict[str, tuple[Sequence[float], Sequence[float]]],
    title: str = "",
    xlabel: str = "",
    ylabel: str = "",
    logy: bool = True,
    width: int = 640,
    height: int = 400,
) -> str:
    """SVG text of a chart with one line per entry of ``series`` ({name: (xs, ys)}).

    With logy, non-positive values are left out (they have no place on a log axis).
    """
    left, right, top, bottom = 78, 20 + (150 if len(series) > 1 else 0), 40, 52
    pw, ph = width - left - right, height - top - bottom
    pts = {
        name: [(float(x), float(y)) for x, y in zip(xs, ys, strict=True)
               if math.isfinite(y) and (y > 0 or not logy)]
        for name, (xs, ys) in series.items()
    }
    xs_all = [x for p in pts.values() for x, _ in p] or [0.0, 1.0]
    ys_all = [y for p in pts.values() for _, y in p] or [1.0]
    x0, x1 = min(xs_all), max(xs_all)
    x1 = x1 if x1 > x0 else x0 + 1
    fy = (lambda y: math.log10(y)) if logy else (lambda y: y)
    y0, y1 = fy(min(ys_all)), fy(max(ys_all))
    if logy:
        y0, y1 = math.floor(y0), math.ceil(y1)
    if y1 <= y0:
        y1 = y0 + 1

    def sx(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * pw

    def sy(y: float) -> float:
        return top + ph - (fy(y) - y0) / (y1 - y0) * ph

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'font-family="Helvetica, Arial, sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{width / 2}" y="22" text-anchor="middle" font-size="15" '
        f'font-weight="bold">{escape(title)}</text>',
        f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#888"/>',
    ]
    if logy:
        yticks = [10.0**k for k in range(int(y0), int(y1) + 1)]
        step = max(1, len(yticks) // 8)
        yticks = yticks[::step]
        ylab = [f"1e{int(round(math.log10(v)))}" for v in yticks]
    else:
        yticks = [y0 + (y1 - y0) * i / 5 for i in range(6)]
        ylab = [f"{v:.3g}" for v in yticks]
    for v, lab in zip(yticks, ylab, strict=True):
        y = sy(v)
        out.append(f'<line x1="{left}" x2="{left + pw}" y1="{y:.1f}" y2="{y:.1f}" '
                   f'stroke="#e4e4e4"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{lab}</text>')
    if all(x == int(x) for x in xs_all):  # whole steps: ticks on whole numbers
        step_x = max(1, math.ceil((x1 - x0) / 10))
        xticks = [float(v) for v in range(int(x0), int(x1) + 1, step_x)]
    else:
        xticks = [x0 + (x1 - x0) * i / 5 for i in range(6)]
    for xv in xticks:
        out.append(f'<text x="{sx(xv):.1f}" y="{top + ph + 18}" text-anchor="middle">'
                   f'{xv:.3g}</text>')
    out.append(f'<text x="{left + pw / 2}" y="{height - 12}" text-anchor="middle">'
               f'{escape(xlabel)}</text>')
    out.append(f'<text transform="translate(18 {top + ph / 2}) rotate(-90)" '
               f'text-anchor="middle">{escape(ylabel)}</text>')
    for k, (name, p) in enumerate(pts.items()):
        colour = COLOURS[k % len(COLOURS)]
        if p:
            path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in p)
            out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" '
                       f'stroke-width="2"/>')
            out.extend(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="2.5" fill="{colour}"/>'
                       for x, y in p)
        if len(series) > 1:
            ly = top + 14 + 18 * k
            out.append(f'<line x1="{left + pw + 12}" x2="{left + pw + 32}" y1="{ly - 4}" '
                       f'y2="{ly - 4}" stroke="{colour}" stroke-width="3"/>')
            out.append(f'<text x="{left + pw + 38}" y="{ly}">{escape(name)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"

