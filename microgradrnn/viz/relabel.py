"""The explorer's picture per root: the words and pen widths of the cells view drawn for
each root, matched to the one SVG that graphviz laid out (for the first root).

The cells view is drawn once per root as DOT (cheap: no layout). Its labels are read
back as text runs, one run per stretch of text in one font, which is how graphviz writes
them into the SVG (one ``<text>`` each). A run that differs between roots is stored per
root; the page swaps it in and lays the line out again. So each root's picture shows
exactly what ``draw_cells`` prints for it, and the explorer picks up any change to the
cells view's words without a line here.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

from . import dotread
from .picture import Picture

__all__ = ["Drawing", "drawing", "mark_svg", "svg_runs"]

GRAPH = "graph"  # the key of the graph's own label (the heading)


@dataclass
class Edge:
    """A drawn (visible) edge of the DOT: its ends, ``title`` as graphviz writes it in
    the SVG (``n1:e->n2:w``), colour and pen width."""

    tail: str
    head: str
    title: str
    color: str
    pen: float


@dataclass
class Drawing:
    """One root's picture: per label (``GRAPH``, a node's name, an edge's title) its text
    runs in order, and the visible edges."""

    runs: dict[str, list[str]] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)


def drawing(picture: Picture) -> Drawing:
    """Read the labels and visible edges back from a picture's DOT statements."""
    out = Drawing()
    for st in dotread.statements(picture.source):
        a = st.attrs
        if st.kind == "graph" and not st.within and "label" in a:
            out.runs[GRAPH] = _runs(a.values["label"])
        elif st.kind == "node" and "label" in a:
            out.runs[st.ids[0]] = _runs(a.values["label"])
        elif st.kind == "edge" and a.get("style") != "invis":
            tail, head = st.ids
            title = (tail + (":" + a.values["tailport"] if "tailport" in a else "") + "->"
                     + head + (":" + a.values["headport"] if "headport" in a else ""))
            out.edges.append(Edge(tail, head, title, a.get("color", ""),
                                  float(a.get("penwidth", "1.0"))))
            for key in ("label", "headlabel", "taillabel"):
                if key in a:
                    out.runs[title] = _runs(a.values[key])
    return out


_TAG = re.compile(r"<[^>]*>")  # inside an HTML-like label, '<' and '>' are only tags


def _runs(label: str) -> list[str]:
    """The text runs of an HTML-like label ``<...>`` (or of plain text): the text
    between its tags, entities resolved."""
    if not label.startswith("<"):
        return [label] if label else []
    return [html.unescape(t) for t in _TAG.split(label[1:-1]) if t]


_GROUP = re.compile(
    r'^([^"]*)" class="(node|edge|graph|cluster)"[^>]*>\s*<title>([^<]*)</title>')
_TEXT = re.compile(r"<text\b[^>]*>(.*?)</text>", re.S)


def svg_runs(svg: str) -> dict[str, list[str]]:
    """Per drawn label (``GRAPH``, a node's name, an edge's title) the texts graphviz
    wrote for it, in order. Of two edges with one title (a visible edge beside an
    invisible one) the drawn one counts."""
    out: dict[str, list[str]] = {}
    for key, chunk in _groups(svg):
        if key is None:
            continue
        texts = [html.unescape(t) for t in _TEXT.findall(chunk)]
        if key not in out or (texts and not out[key]):
            out[key] = texts
    return out


def _groups(svg: str):
    """(label key or None, the SVG between this group's start and the next's)."""
    chunks = svg.split('<g id="')
    key = None
    for chunk in chunks[1:]:
        m = _GROUP.match(chunk)
        if m:
            kind, title = m.group(2), html.unescape(m.group(3))
            key = GRAPH if kind == "graph" else None if kind == "cluster" else title
        yield key, chunk


def mark_svg(svg: str, edge_ids: dict[str, str]) -> str:
    """The SVG with the ids the page looks up: a node's group is its DOT name (``n12``),
    a drawn edge's group ``edge_ids[its title]``; the rest keep graphviz's ids."""
    chunks = svg.split('<g id="')
    out = [chunks[0]]
    for i, chunk in enumerate(chunks[1:], 1):
        m = _GROUP.match(chunk)
        if m and m.group(2) in ("node", "edge"):
            title = html.unescape(m.group(3))
            new = title if m.group(2) == "node" else edge_ids.get(title)
            if new is not None and (m.group(2) == "node" or _drawn(chunks, i)):
                chunk = new + chunk[len(m.group(1)):]
        out.append(chunk)
    return '<g id="'.join(out)


def _drawn(chunks: list[str], i: int) -> bool:
    """Whether the group that starts at chunks[i] draws a line: its own chunk, or the
    chunks of groups inside it (a tooltip's ``<g id="a_edge7">``), hold a path."""
    j = i
    while True:
        if "<path" in chunks[j]:
            return True
        j += 1
        if j == len(chunks) or _GROUP.match(chunks[j]):
            return False


def same_text(a: list[str], b: list[str]) -> bool:
    """Two run lists read the same (graphviz writes runs of spaces as no-break spaces)."""
    def norm(runs: list[str]) -> list[str]:
        return [r.replace("\xa0", " ") for r in runs]
    return norm(a) == norm(b)
