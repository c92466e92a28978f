"""What the cells view and the ops view share in laying out an unrolled graph: the columns
of time (which steps are drawn, which fold), the clusters that frame them, the invisible
points and edges that hold the grid in place, the drawn edges between nodes, and the
heading above it all (title, legend, shared weights, notes)."""

from __future__ import annotations

import html
import math
import textwrap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..engine import Tensor
from . import dot, rich, style
from .graph import norm
from .names import weight_name

# the attributes of an invisible point: it holds a place in the layout, draws nothing
POINT = "style=invis, shape=point, width=0, height=0"


def font_defaults(node_attrs: str) -> list[str]:
    """The font statements that open a picture; ``node_attrs`` are the node defaults
    besides the font (``fontsize=11``)."""
    font = dot.quote(style.FONT)
    return [f"fontname={font}", f"node [fontname={font}, {node_attrs}]",
            f"edge [fontname={font}, fontsize=9, arrowsize=0.7]"]


def check_arrows(arrows: str, who: str) -> None:
    """Refuse an ``arrows`` option that is neither "forward" nor "gradient"."""
    if arrows not in ("forward", "gradient"):
        raise ValueError(f"{who}: arrows must be 'forward' or 'gradient', got {arrows!r}")


# ---------------------------------------------------------------------------------------
# Columns: time left to right


def columns(steps: list[int], has_init: bool, fold: bool | None, keep: int,
            fold_above: int, window: tuple[int, int] | None, has_rinit: bool,
            who: str) -> list[tuple[str, int, int]]:
    """Columns left to right as (kind, first step, last step): ("step", t, t),
    ("init", 0, 0), ("fold", a, b), and last ("rinit", T+1, T+1), the initial state of
    the backward direction of a bidirectional layer (it starts at the right end).
    ``who`` names the caller in errors."""
    if not steps:
        return [("init", 0, 0)] if has_init or has_rinit else []
    T = steps[-1]
    if window is not None:
        a, b = window
        if not (1 <= a <= b <= T):
            raise ValueError(f"{who}: window {window} is not within steps 1..{T}")
        visible = set(range(a, b + 1))
    elif fold or (fold is None and T > fold_above):
        if keep < 1:
            raise ValueError(f"{who}: keep must be at least 1, got {keep}")
        visible = set(range(1, keep + 1)) | set(range(T - keep + 1, T + 1))
    else:
        visible = set(steps)
    cols: list[tuple[str, int, int]] = []
    all_t = ([0] if has_init else []) + list(range(1, T + 1))
    run: list[int] = []
    for t in all_t:
        shown = t in visible or (t == 0 and 1 in visible)
        if shown:
            if run:
                cols.append(("fold", run[0], run[-1]))
                run = []
            cols.append(("init", 0, 0) if t == 0 else ("step", t, t))
        else:
            run.append(t)
    if run:
        cols.append(("fold", run[0], run[-1]))
    if has_rinit:
        cols.append(("rinit", T + 1, T + 1))
    return cols


def column_of_step(cols: list[tuple[str, int, int]]) -> dict[int, int]:
    """Step -> the index of the column that draws it (a fold column draws several)."""
    return {t: c for c, (_, a, b) in enumerate(cols) for t in range(a, b + 1)}


def cluster_attrs(kind: str, a: int, b: int) -> list[str]:
    """The attributes of the cluster framing a column of ``columns``: its label (the
    step, or the steps folded) and its look."""
    if kind in ("init", "rinit"):
        text = "<b>t = 0</b>" if kind == "init" else (
            f'<b>t = {a}</b><br/><font point-size="9">reverse start</font>')
        return [f"label=<{text}>", "labeljust=c", "labelloc=b", 'style="dashed,rounded"',
                'color="#AAAAAA"']
    if kind == "fold":
        text = f"t = {a} … {b}" if b > a else f"t = {a}"
        n = b - max(a, 1) + 1  # the steps: t = 0 (the initial states) is not one
        return [f'label=<<b>{text}</b><br/><font point-size="9">{n} step'
                f'{"s" if n > 1 else ""} folded</font>>', "labeljust=c",
                # at the foot of the column (rankdir=BT turns t into the bottom): the
                # edge from the fold column up to L then does not run through the label
                "labelloc=t", 'style="dashed,rounded"', 'color="#AAAAAA"']
    return [f"label=<<b>t = {a}</b>>", "labeljust=c", "labelloc=b",
            'style="rounded,filled"',
            f'fillcolor="{style.CLUSTER_FILL}"', f'color="{style.CLUSTER_PEN}"']


def open_cluster(name: str, kind: str, a: int, b: int) -> list[str]:
    """The statements that open the cluster ``name`` of a column; the caller adds its
    nodes and the closing brace."""
    return [f"subgraph {name} {{"] + ["\t" + x for x in cluster_attrs(kind, a, b)]


# ---------------------------------------------------------------------------------------
# Invisible scaffolding: points and edges that hold places and draw nothing


def point(nid: str, more: str = "") -> str:
    """An invisible point ``nid``; ``more`` adds attributes (``group=g1``)."""
    return f"{nid} [{POINT}{', ' + more if more else ''}]"


def invisible_edge(a: str, b: str) -> str:
    return f"{a} -> {b} [style=invis]"


def column_order(anchors: list[str]) -> list[str]:
    """Decides the columns' order, left to right in time: an invisible root with
    ordering=out whose edges to each column's anchor dot keeps in that order."""
    if len(anchors) < 2:
        return []
    return [point("order", "ordering=out")] + [invisible_edge("order", a) for a in anchors]


# ---------------------------------------------------------------------------------------
# Drawn edges: the graph's edges between the same two drawn nodes, merged


def fold_id(c: int, i: int) -> str:
    """The id of fold node i of column c: one dashed node standing for a row's nodes
    over the steps the column folds."""
    return f"fold{c}_{i}"


def is_fold(nid: str) -> bool:
    return nid.startswith("fold")


def draws_edge(a: str, b: str) -> bool:
    """Whether an edge from drawn node a to drawn node b is drawn. Not drawn: an edge
    inside one drawn node, or between two fold nodes of one column (a folded column
    shows its rows, not the edges among them)."""
    return a != b and not (is_fold(a) and is_fold(b) and a.split("_")[0] == b.split("_")[0])


@dataclass
class Drawn:
    """A drawn edge: one or more of the graph's edges between the same two drawn nodes.
    ``weights``: the weights named on it (cells view); ``down``: from an op on a row
    down into its cell, an edge that constrains no rank (ops view); ``number``: the
    number it shows, when the view decides it (cells view: its road's share)."""

    src: str
    dst: str
    cls: str
    flows: list[float | None] = field(default_factory=list)
    weights: list[int] = field(default_factory=list)
    down: bool = False
    number: str = ""  # the number it shows, when the view sets one (cells view: a share)

    @property
    def single(self) -> bool:
        """One edge of the graph: its flow is the edge's number."""
        return len(self.flows) == 1

    @property
    def flow(self) -> float | None:
        """The flow the pen width shows: the one edge's, else the largest of the merged
        edges' (None when none has one)."""
        if self.single:
            return self.flows[0]
        return max((x for x in self.flows if x), default=None)


def edge_line(d: Drawn, width: float, arrows: str, col_of: Mapping[str, int | None],
              rank_of: Mapping[str, Any], pieces: list[rich.Piece], size: float, *,
              at_start: bool = False, above: bool = False, clear: float = 8.0,
              below: float = 0.0, loose_down: bool = True,
              ports: tuple[str, str] = ("e", "w"), turn: bool = False) -> str:
    """The statement of a drawn edge, coloured by its class, ``width`` points wide.

    Decides which way it points and whether it lies flat: an edge from a column to one
    on its left (the backward direction of a bidirectional layer; or, with ``turn``, any
    edge) is written left to right and its arrow turned, so that it does not pull the
    columns out of order; an edge between two nodes of one rank (``rank_of``) lies
    flat, east port to west port (``ports``).

    ``pieces`` ((text, bold, colour), names with scripts allowed: ``rich.line``) label it
    in a font of ``size`` points, on a halo so that it reads over the cluster fill and
    any line it touches, and never on the line. A flat edge's label starts ``clear``
    points past the node the edge leaves (forward: the node whose gradient the number is
    a share of; ``clear`` < 0: it ends that far inside the node's side), below the line
    (``above``: above it; ``below`` points further off): a label in the middle of a flat
    edge would make dot bend it around a label node. Another edge's label sits beside
    the line, clear of its shaft by half its width, in the middle; with ``at_start``,
    beside its start (an edge whose label in the middle would fall on a row: see
    ``cells_view._row_ranks``). ``loose_down``: an edge marked ``Drawn.down`` does not
    rank its ends (cells view)."""
    a: dict[str, Any] = {"color": style.COLOR[d.cls], "penwidth": width}
    tail, head, back = d.src, d.dst, arrows == "gradient"
    ct, ch = col_of.get(tail), col_of.get(head)
    if turn or (ct is not None and ch is not None and ct > ch):
        tail, head, back = head, tail, not back
    flat = rank_of.get(tail) is not None and rank_of.get(tail) == rank_of.get(head)
    if pieces:  # the label's plain text is the edge's tooltip (and findable in the DOT)
        a["tooltip"] = html.unescape("".join(text for text, _, _ in pieces).strip())
        start = "taillabel" if tail == d.src else "headlabel"
        w, h = rich.extent(pieces, size)
        if flat:
            # the label's centre, from where the edge leaves the node: along the edge by
            # half the label and a gap, across it by half the label, half the pen and a
            # gap. rankdir=BT turns the picture over: a positive angle at the tail (the
            # edge runs right) is below the line, at the head (it runs left) above.
            # clear < 0: under the node it leaves, flush with its side
            along = w / 2 + clear if clear >= 0 else -(w / 2 - clear)
            across = h / 2 + width / 2 + 2 + below
            sign = (1 if start == "taillabel" else -1) * (-1 if above else 1)
        elif at_start:
            along, across = h / 2 + 9, w / 2 + width / 2 + 3
            # the same side of the line whichever end the edge is written from
            sign = 1 if start == "taillabel" else -1
        if flat or at_start:
            a[start] = dot.label(rich.line(pieces, size, bgcolor=style.HALO))
            a["labelangle"] = round(sign * math.degrees(math.atan2(across, along)), 1)
            a["labeldistance"] = round(math.hypot(across, along) / 10, 2)
        else:
            pad = round(width / 2 + 2.5, 1)
            a["label"] = dot.label(rich.line(pieces, size, pad=pad, bgcolor=style.HALO))
    if is_fold(d.src) or is_fold(d.dst):
        a["style"] = "dashed"
    if back:
        a["dir"] = "back"
    if flat:
        a["tailport"], a["headport"] = ports
    elif d.down and loose_down:  # (cells view) an edge that runs down ranks nothing
        a["constraint"] = "false"
    return dot.edge(tail, head, a)


# ---------------------------------------------------------------------------------------
# The heading: an HTML table of rows above the picture

# the legend's order: the edge classes a picture draws, each with its swatch
LEGEND_ORDER = (style.TEMPORAL, style.SPATIAL, style.INPUT, style.CELL, style.CARRY,
                style.OTHER)


def _row(body: str) -> str:
    return f'<tr><td align="left">{body}</td></tr>'


def title_row(title: str, size: int) -> str:
    return _row(f'<font point-size="{size}"><b>{dot.html(title, 120)}</b></font>')


def legend_rows(edges: Iterable[Drawn], texts: Mapping[str, str]) -> list[str]:
    """A row per edge class drawn, in ``LEGEND_ORDER``: its colour and ``texts[class]``."""
    present = {d.cls for d in edges}
    return [_row(f"{style.swatch(style.COLOR[cls])} {texts[cls]}")
            for cls in LEGEND_ORDER if cls in present]


def weights_rows(intro: str, ws: list[int], nodes: list[Tensor], heads: set[int],
                 fl: Any) -> list[str]:
    """The shared weights ``ws`` (node indices) by name, each with the norm of its
    gradient: one row after ``intro``, none when there are no weights."""
    if not ws:
        return []
    parts = []
    for w in ws:
        g = norm(fl.grad(nodes[w]))
        name = weight_name(nodes[w].label, w in heads)
        parts.append(f"{name} {dot.num(g)}" if g is not None else name)
    return [_row(f'<font color="{style.WEIGHTS}">{intro}:  ' + "   ".join(parts)
                 + "</font>")]


def note_row(text: str, width: int = 140, size: int = 11) -> str:
    """A note under the legend, wrapped at ``width`` characters (``text`` is HTML that
    has no tags of its own), in a font of ``size`` points."""
    lines = textwrap.wrap(text, width) or [""]
    body = '<br align="left"/>'.join(lines) + ('<br align="left"/>' if len(lines) > 1 else "")
    return _row(f'<font point-size="{size}" color="{style.NOTE}">{body}</font>')


def table_row(body: str) -> str:
    """A row of the heading holding HTML ``body`` (a ``rich.line`` table), flush left."""
    return _row(body)


def width_key_row(scale: style.PenScale, what: str) -> list[str]:
    """The legend's width key: a bar as thick as the pen of the smallest, a middle and
    the largest flow drawn, each with its number; none when nothing has a flow. A bar
    is a run of lower half blocks (▄, half an em high) in a font of twice the pen's
    width, so it is as thick as the edge (HTML table cells cannot be made that thin)."""
    flows = scale.key()
    if not flows:
        return []
    cells = []
    for f in flows:
        size = 2 * scale.width(f)
        bar = "▄" * max(3, round(36 / (0.6 * size)))
        cells.append(f'<td><font point-size="{size:g}" color="#555555">{bar}</font></td>'
                     f"<td>&#160;{dot.num(f)}&#160;&#160;&#160;</td>")
    return [f'<tr><td align="left"><table border="0" cellborder="0" cellspacing="0" '
            f'cellpadding="0"><tr><td>{what}&#160;&#160;</td>{"".join(cells)}</tr>'
            "</table></td></tr>"]


def heading(rows: list[str]) -> list[str]:
    """The statements that put ``rows`` in a table above the picture, flush left."""
    table = '<table border="0" cellborder="0" cellspacing="1">' + "".join(rows) + "</table>"
    return [f"label={dot.label(table).text}", "labelloc=t", "labeljust=l"]
