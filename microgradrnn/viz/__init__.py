"""Pictures of the engine's graph: the ops view and the cells view of an unrolled network.

``from microgradrnn import viz``; ``viz.draw_cells(loss).render("cells.png")``. Imports
only the engine and the ``graphviz`` package; never the recurrent layers.
"""

from __future__ import annotations

from .cells_view import draw_cells
from .engines import EngineError
from .explore import Explorer, explore
from .ops_view import draw_ops
from .picture import Picture
from .shares import additive_shares, flow_shares

__all__ = [
    "EngineError", "Explorer", "Picture", "additive_shares", "draw_cells", "draw_ops",
    "explore", "flow_shares", "render", "to_svg",
]


def render(picture: Picture, path: str, format: str | None = None,
           engine: str | None = None):
    """Write ``picture`` to ``path`` (svg, png, pdf or dot; from the extension by
    default). Same as ``picture.render(path, format)``."""
    return picture.render(path, format, engine=engine)


def to_svg(picture: Picture) -> str:
    """The picture as SVG text."""
    return picture.pipe("svg", encoding="utf-8")  # type: ignore[return-value]
