"""What a picture looks like once drawn: the geometry of its SVG (as graphviz-pure or dot
laid it out), for tests that check what a reader sees rather than the DOT that asked for
it. Nodes as boxes, edges as sampled curves, numbers as the boxes of their text."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

from microgradrnn.viz import rich, style

_GROUP = re.compile(r'<g id="(node|edge)\d+" class="\1">\s*<title>([^<]*)</title>(.*?)'
                    r'(?=<g id="(?:node|edge)\d+" class=|</g>\s*</svg>)', re.S)
_TEXT = re.compile(r'<text[^>]*?x="([-\d.]+)" y="([-\d.]+)"[^>]*?font-size="([\d.]+)"[^>]*>'
                   r'([^<]*)</text>')
_NUMBER = re.compile(r"^\s*[−-]?\d+(\.\d+)?(e[-+]\d+)?\s*$")


@dataclass
class Edge:
    tail: str
    head: str
    tailport: str
    points: list[tuple[float, float]]  # the curve, sampled
    numbers: list[tuple[str, tuple[float, float, float, float]]] = field(default_factory=list)
    halos: list[tuple[float, float, float, float]] = field(default_factory=list)  # labels
    pen: float = 1.0  # the line's width


@dataclass
class Drawing:
    nodes: dict[str, tuple[float, float, float, float]]  # id -> (x0, y0, x1, y1)
    edges: list[Edge]
    clusters: list[tuple[float, float, float, float]] = field(default_factory=list)


def _floats(text: str) -> list[tuple[float, float]]:
    return [(float(x), float(y)) for x, y in re.findall(r"([-\d.]+),([-\d.]+)", text)]


def _box(points: list[tuple[float, float]]) -> tuple[float, float, float, float]:
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return min(xs), min(ys), max(xs), max(ys)


def _sample(d: str) -> list[tuple[float, float]]:
    """Points along an SVG path of cubic Béziers (M p C p p p p p p ...)."""
    pts = _floats(d)
    out = [pts[0]]
    for k in range(1, len(pts) - 2, 3):
        p0, p1, p2, p3 = pts[k - 1], pts[k], pts[k + 1], pts[k + 2]
        for i in range(1, 21):
            t = i / 20
            a, b, c, e = (1 - t) ** 3, 3 * (1 - t) ** 2 * t, 3 * (1 - t) * t ** 2, t ** 3
            out.append((a * p0[0] + b * p1[0] + c * p2[0] + e * p3[0],
                        a * p0[1] + b * p1[1] + c * p2[1] + e * p3[1]))
    return out


def read(svg: str) -> Drawing:
    """The nodes' boxes, and each edge's curve and the numbers it is labelled with (each
    number's box estimated from Helvetica's widths, as the engine placed it)."""
    nodes: dict[str, tuple[float, float, float, float]] = {}
    edges: list[Edge] = []
    for kind, title, body in _GROUP.findall(svg):
        title = html.unescape(title)
        if kind == "node":
            shape = re.search(r'<(polygon|path|ellipse)[^>]*?(?:points|d)="([^"]*)"', body)
            ell = re.search(r'<ellipse[^>]*cx="([-\d.]+)" cy="([-\d.]+)" rx="([\d.]+)" '
                            r'ry="([\d.]+)"', body)
            if ell:
                cx, cy, rx, ry = map(float, ell.groups())
                nodes[title] = (cx - rx, cy - ry, cx + rx, cy + ry)
            elif shape:
                nodes[title] = _box(_floats(shape.group(2)))
            continue
        ends = [part.split(":") for part in title.split("->")]
        path = re.search(r'<path[^>]*d="([^"]*)"', body)
        if path is None:
            continue
        e = Edge(ends[0][0], ends[1][0], ends[0][1] if len(ends[0]) > 1 else "",
                 _sample(path.group(1)))
        pen = re.search(r'<path[^>]*stroke-width="([\d.]+)"', body)
        e.pen = float(pen.group(1)) if pen else 1.0
        e.halos = [_box(_floats(pts)) for pts in re.findall(
            rf'<polygon fill="{style.HALO.lower()}" stroke="none" points="([^"]*)"', body)]
        for x, y, size, text in _TEXT.findall(body):
            text = html.unescape(text)
            if _NUMBER.match(text):
                x0, y0, s = float(x), float(y), float(size)
                w = rich.width(text.strip(), s, bold=True)
                lead = rich.width(text[:len(text) - len(text.lstrip())], s)
                e.numbers.append((text.strip(), (x0 + lead, y0 - 0.72 * s,
                                                 x0 + lead + w, y0 + 0.2 * s)))
        edges.append(e)
    clusters = [_box(_floats(d)) for d in re.findall(
        r'<g id="clust\d+" class="cluster">\s*<title>[^<]*</title>\s*<(?:path|polygon)[^>]*?'
        r'(?:d|points)="([^"]*)"', svg)]
    return Drawing(nodes, edges, clusters)


def on_border(box: tuple[float, float, float, float],
              frame: tuple[float, float, float, float], margin: float = 0.5) -> bool:
    """Whether ``box`` straddles one of the four sides of rectangle ``frame``."""
    x0, y0, x1, y1 = box
    fx0, fy0, fx1, fy1 = frame
    across_x = y1 > fy0 and y0 < fy1  # level with the frame's sides
    across_y = x1 > fx0 and x0 < fx1
    return (across_x and any(x0 + margin < fx < x1 - margin for fx in (fx0, fx1))) or (
        across_y and any(y0 + margin < fy < y1 - margin for fy in (fy0, fy1)))


def inside(p: tuple[float, float], box: tuple[float, float, float, float],
           margin: float = 0.0) -> bool:
    return box[0] + margin < p[0] < box[2] - margin and box[1] + margin < p[1] < box[3] - margin


def overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float],
            margin: float = 0.0) -> bool:
    return (a[0] + margin < b[2] and b[0] + margin < a[2] and a[1] + margin < b[3]
            and b[1] + margin < a[3])


def flat_edges_not_straight(src: str, drawing: Drawing) -> list[tuple[str, str, float]]:
    """The edges between two nodes of one rank=same group of DOT ``src`` (a row) whose
    drawn curve is not one horizontal line: (tail, head, how far it strays). A road drawn
    beside another between the same two nodes (ports se/sw or ne/nw: the GRU's temporal
    road next to its carry) is left out: it bends by design."""
    rank = {}
    for k, group in enumerate(re.findall(r"\{rank=same; ([^}]*)\}", src)):
        for nid in group.split("; "):
            rank[nid] = k
    bad = []
    for e in drawing.edges:
        if e.tail in rank and rank[e.tail] == rank.get(e.head) and e.tailport not in (
                "se", "ne"):
            ys = [y for _, y in e.points]
            if max(ys) - min(ys) > 1.5:
                bad.append((e.tail, e.head, round(max(ys) - min(ys), 1)))
    return bad


def edges_through_nodes(drawing: Drawing, margin: float = 3.0) -> list[tuple[str, str, str]]:
    """The edges whose drawn curve runs through a node that is neither of its ends: a
    sampled point of the curve lies more than ``margin`` inside the node's box (a curve
    may graze a box's side where it leaves or reaches a neighbour). (tail, head, node)."""
    out = []
    for e in drawing.edges:
        for nid, box in drawing.nodes.items():
            if nid not in (e.tail, e.head) and any(inside(p, box, margin) for p in e.points):
                out.append((e.tail, e.head, nid))
    return out
