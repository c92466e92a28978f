"""``Picture``: a ``graphviz.Digraph`` that renders with whichever engine is installed."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import graphviz

from ..files import check_target, write_whole
from . import engines, place

_FORMATS = ("svg", "png", "pdf", "dot", "json", "plain")


class Picture(graphviz.Digraph):
    """The DOT of one view. ``.source`` needs no engine; ``render`` and Jupyter display
    use system Graphviz ``dot`` when on PATH, else the pip-installed graphviz-pure, in
    two passes: lay out, then draw with the edge labels the layout put badly moved
    beside their own lines, an edge cut through a node straightened (``place.tidy``)."""

    def pipe(  # type: ignore[override]
        self, format: str | None = None, *args: Any, encoding: str | None = None,
        engine: str | None = None, dpi: float | None = None, **kw: Any
    ) -> bytes | str:
        """The drawing as bytes (or str when ``encoding`` is given), e.g. ``format="svg"``.
        dpi: the resolution of a raster format (png): 96 by default, 300 for print."""
        fmt = format or self.format or "svg"
        data = self.source.encode("utf-8") if fmt == "dot" else _draw(
            _with_dpi(self.source, dpi, fmt), fmt, engine)
        return data.decode(encoding) if encoding else data

    def render(  # type: ignore[override]
        self, path: str | os.PathLike, format: str | None = None, *,
        engine: str | None = None, dpi: float | None = None, **kw: Any
    ) -> Path:
        """Write the picture to ``path``; the format comes from ``format``, else the
        file's extension (svg, png, pdf, dot), else ``self.format`` as in graphviz
        (``pic.format = "png"; pic.render("rnn")`` writes rnn.png). engine: None (dot if
        present, else graphviz-pure), "dot" or "pure". dpi: the resolution of a png
        (96 by default; 300 for print). Returns the path written."""
        path = Path(path)
        # before the layout, not after it; "out/" became the file out.svg beside the folder
        check_target(path, "render: ", ", give a file name such as cells.svg")
        fmt = (format or path.suffix.lstrip(".") or self.format or "svg").lower()
        if fmt == "gv":
            fmt = "dot"
        if fmt not in _FORMATS:
            raise ValueError(
                f"render: unknown format {fmt!r}; use one of {', '.join(_FORMATS)}")
        if not path.suffix:
            path = path.with_suffix("." + fmt)
        data = self.pipe(fmt, engine=engine, dpi=dpi)
        write_whole(path, data)  # type: ignore[arg-type]
        return path

    def save_svg(self) -> str:
        """The SVG text (for notebooks and web pages)."""
        return self.pipe("svg", encoding="utf-8")  # type: ignore[return-value]


_RASTER = ("png", "jpg", "jpeg", "gif")


def _draw(source: str, fmt: str, engine: str | None) -> bytes:
    """Lay the graph out, straighten the edges cut through a node and move the edge
    labels that sit badly (``place.tidy``), and draw it where the layout put it."""
    laid_out = engines.run(source, "dot", engine).decode("utf-8")
    return engines.run(place.tidy(laid_out), fmt, engine, positioned=True)


def _with_dpi(source: str, dpi: float | None, fmt: str) -> str:
    """The DOT source with the graph attribute dpi set (raster formats only; svg and
    pdf are vector and keep their size)."""
    if dpi is None:
        return source
    if isinstance(dpi, bool) or not isinstance(dpi, (int, float)) or not 0 < dpi <= 2400:
        raise ValueError(f"render: dpi must be a number in (0, 2400], got {dpi!r}")
    if fmt not in _RASTER:
        return source
    start = source.index("{") + 1
    return source[:start] + f"\n\tdpi={dpi:g}" + source[start:]


def make(name: str, lines: list[str]) -> Picture:
    """A Picture whose body is ``lines`` (statements already in DOT syntax)."""
    pic = Picture(name=name, format="svg")
    pic.body.extend("\t" + ln + "\n" for ln in lines)
    return pic
