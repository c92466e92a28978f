"""Edge labels placed after the layout, where a reader can read them.

Graphviz places a head or tail label by an angle and a distance from the end of its
edge, fixed before it knows where the edge will run, and a middle label wherever its
rank had room. On a crowded picture (a bidirectional stack, a gated cell's ops) that
puts a few numbers on a node's border, on another edge's line, across a cluster's
border, or far from the edge they belong to. So a picture is drawn in two passes:

1. the engine lays the graph out (``-Tdot``: every node, edge, cluster and label with
   its position);
2. ``tidy`` draws straight an edge that dot cut through a node beside it, where a
   straight line clears every node (``reroute``), then checks each edge label where the
   engine put it and, if it sits badly, moves it to the nearest place beside its own
   edge where it touches no node, no line, no other label and no cluster border
   (``labels``); the engine then draws the positioned graph as it is (``neato -n2``: no
   second layout, so nodes and the other edges stay where they were).

Only those routes (``pos``) and label positions (``lp``, ``tail_lp``, ``head_lp``)
change, and the graph's bounding box grows to hold the labels. Coordinates are
Graphviz's points, y upwards.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np

from . import dotread
from .dotread import Attrs

Box = tuple[float, float, float, float]  # x0, y0, x1, y1

# which attribute holds the position of which label
_POSITION = {"label": "lp", "taillabel": "tail_lp", "headlabel": "head_lp"}
_SIZE = re.compile(r'width="([\d.]+)" height="([\d.]+)"')
GAP = 2.5  # points between a label and the line it labels
NEAR = 9.0  # a label farther than this from its own line (beyond the pen) is detached
# what each fault costs a place for a label: the cheapest place wins, 0 is a good one
COST = {"node": 10, "label": 10, "line": 6, "border": 5, "title": 4, "detached": 4}


# -- reading the positioned DOT ---------------------------------------------------------


@dataclass
class _Layout:
    """What the positioned DOT holds: node boxes, visible edges, clusters, graph box."""

    nodes: list[Box] = field(default_factory=list)
    round: list[bool] = field(default_factory=list)  # an ellipse or a circle
    names: list[str] = field(default_factory=list)  # each node's id
    edges: list[Attrs] = field(default_factory=list)
    curves: list[np.ndarray] = field(default_factory=list)  # each edge's line, sampled
    ends: list[tuple[str, ...]] = field(default_factory=list)  # each edge's (tail, head)
    ports: list[tuple[str, str]] = field(default_factory=list)  # as written: a:p -> b:q
    clusters: list[Box] = field(default_factory=list)
    titles: list[Box] = field(default_factory=list)  # graph and cluster labels
    graph: Attrs | None = None  # the root graph's attributes (its bb)


def _read(text: str) -> _Layout:
    lay = _Layout()
    graphs: dict[tuple[str, ...], dict[str, str]] = {}  # each (sub)graph's own attributes
    for st in dotread.statements(text):
        a = st.attrs
        if st.kind == "graph":
            graphs.setdefault(st.within, {}).update(a.values)
            if not st.within and "bb" in a:
                lay.graph = a
        elif "invis" in a.get("style", ""):
            continue
        elif st.kind == "edge" and "pos" in a:
            lay.edges.append(a)
            lay.curves.append(_curve(a.values["pos"]))
            lay.ends.append(st.ids)
            lay.ports.append(st.ports)
        elif st.kind == "node" and "pos" in a and "width" in a:
            x, y = map(float, a.values["pos"].split(",")[:2])
            w, h = float(a.values["width"]) * 36, float(a.values["height"]) * 36
            lay.nodes.append((x - w, y - h, x + w, y + h))
            lay.round.append(a.get("shape", "ellipse") in ("ellipse", "circle"))
            lay.names.append(st.ids[0])
    for within, g in graphs.items():
        if "invis" in g.get("style", ""):
            continue
        if within and within[-1].startswith("cluster") and "bb" in g:
            lay.clusters.append(tuple(map(float, g["bb"].split(","))))  # type: ignore[arg-type]
        if "lp" in g and "lwidth" in g and "label" in g:
            x, y = map(float, g["lp"].split(","))
            w, h = float(g["lwidth"]) * 36, float(g["lheight"]) * 36
            lay.titles.append((x - w, y - h, x + w, y + h))
    return lay


def _curve(pos: str) -> np.ndarray:
    """The points of an edge's drawn line (its B-spline, sampled, and its arrowheads)."""
    out: list[tuple[float, float]] = []
    for spline in pos.split(";"):
        ends, pts = {}, []
        for item in spline.split():
            if item[:2] in ("e,", "s,"):
                ends[item[0]] = tuple(map(float, item[2:].split(",")))
            else:
                pts.append(tuple(map(float, item.split(","))))
        if not pts:
            continue
        for k in range(0, len(pts) - 3, 3):
            p = np.array(pts[k:k + 4])
            t = np.linspace(0, 1, 16)[:, None]
            out += list((1 - t) ** 3 * p[0] + 3 * (1 - t) ** 2 * t * p[1]
                        + 3 * (1 - t) * t ** 2 * p[2] + t ** 3 * p[3])
        for key, at in (("s", pts[0]), ("e", pts[-1])):
            if key in ends:  # the arrowhead, from the spline's end to its tip
                out += [np.add(np.multiply(at, 1 - f), np.multiply(ends[key], f))
                        for f in np.linspace(0, 1, 6)]
    return np.array(out if out else [(0.0, 0.0)], dtype=float)


# -- placing ----------------------------------------------------------------------------


@dataclass
class _Label:
    edge: int  # index into the layout's edges
    attr: str  # lp, tail_lp or head_lp
    w: float
    h: float
    at: tuple[float, float]  # where the engine put its centre

    def box(self, at: tuple[float, float]) -> Box:
        return (at[0] - self.w / 2, at[1] - self.h / 2, at[0] + self.w / 2,
                at[1] + self.h / 2)


def _hits(box: Box, boxes: np.ndarray, margin: float = 1.0) -> np.ndarray:
    """Which of ``boxes`` (n, 4) ``box`` overlaps, closer than ``margin``."""
    x0, y0, x1, y1 = box
    return ((x0 - margin < boxes[:, 2]) & (boxes[:, 0] - margin < x1)
            & (y0 - margin < boxes[:, 3]) & (boxes[:, 1] - margin < y1))


def _on_nodes(box: Box, nodes: np.ndarray, round_: np.ndarray, margin: float = 1.0) -> int:
    """How many nodes ``box`` touches: ``nodes`` their bounding boxes (n, 4), each a box
    or an ellipse (``round_``: scaled to a unit circle, the box's nearest point to its
    centre lies inside it)."""
    cx, cy = (nodes[:, 0] + nodes[:, 2]) / 2, (nodes[:, 1] + nodes[:, 3]) / 2
    rx = (nodes[:, 2] - nodes[:, 0]) / 2 + margin
    ry = (nodes[:, 3] - nodes[:, 1]) / 2 + margin
    nx, ny = np.clip(cx, box[0], box[2]) - cx, np.clip(cy, box[1], box[3]) - cy
    in_ellipse = (nx / rx) ** 2 + (ny / ry) ** 2 < 1
    return int(np.count_nonzero(_hits(box, nodes, margin) & (~round_ | in_ellipse)))


def _straddles(box: Box, frame: Box) -> bool:
    """Whether ``box`` lies across one of the four sides of the rectangle ``frame``."""
    x0, y0, x1, y1 = box
    fx0, fy0, fx1, fy1 = frame
    level, under = y1 > fy0 and y0 < fy1, x1 > fx0 and x0 < fx1
    return (level and any(x0 - 1 < fx < x1 + 1 for fx in (fx0, fx1))) or (
        under and any(y0 - 1 < fy < y1 + 1 for fy in (fy0, fy1)))


class _Scene:
    """What a label may not touch, and how badly a place for it sits."""

    def __init__(self, lay: _Layout, curves: list[np.ndarray], pens: list[float]):
        self.lay, self.curves, self.pens = lay, curves, pens
        self.points = np.concatenate(curves)
        self.half_pen = np.concatenate([np.full(len(c), p / 2) for c, p in zip(
            curves, pens, strict=True)])
        self.placed = np.zeros((0, 4))  # the labels placed so far
        self.nodes = np.array(lay.nodes, dtype=float).reshape(-1, 4)
        self.round = np.array(lay.round, dtype=bool)
        self.titles = np.array(lay.titles, dtype=float).reshape(-1, 4)

    def place(self, box: Box) -> None:
        self.placed = np.vstack([self.placed, box])

    def badness(self, lab: _Label, box: Box) -> float:
        """What is wrong with ``box`` as the place of ``lab``, as the sum of ``COST``."""
        x0, y0, x1, y1 = box
        p, hp = self.points, self.half_pen + 0.5
        on_line = np.any((p[:, 0] > x0 - hp) & (p[:, 0] < x1 + hp)
                         & (p[:, 1] > y0 - hp) & (p[:, 1] < y1 + hp))
        own = self.curves[lab.edge]
        dx = np.maximum(np.maximum(x0 - own[:, 0], own[:, 0] - x1), 0)
        dy = np.maximum(np.maximum(y0 - own[:, 1], own[:, 1] - y1), 0)
        faults = {
            "node": _on_nodes(box, self.nodes, self.round),
            "label": int(np.count_nonzero(_hits(box, self.placed))),
            "line": bool(on_line),
            "border": sum(_straddles(box, f) for f in self.lay.clusters),
            "title": int(np.count_nonzero(_hits(box, self.titles))),
            "detached": float(np.hypot(dx, dy).min()) > NEAR + self.pens[lab.edge] / 2,
        }
        return sum(COST[k] * n for k, n in faults.items())

    def candidates(self, lab: _Label) -> list[tuple[float, float]]:
        """Places beside the label's own line, on either side, just clear of its pen,
        nearest first to where the engine put it."""
        c = self.curves[lab.edge]
        if len(c) < 2:
            return []
        # a point every 4 pt along the line
        length = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(c, axis=0).T))])
        pts = c[np.unique(np.searchsorted(length, np.arange(0.0, length[-1], 4.0)))]
        out = []
        for k in range(1, len(pts) - 1):
            tx, ty = pts[k + 1] - pts[k - 1]
            norm = math.hypot(tx, ty)
            if norm == 0:
                continue
            nx, ny = -ty / norm, tx / norm
            reach = (lab.w * abs(nx) + lab.h * abs(ny)) / 2 + self.pens[lab.edge] / 2 + GAP
            for side in (1, -1):
                for off in (reach, reach + NEAR - GAP):  # (then a little farther out)
                    out.append((pts[k][0] + side * nx * off, pts[k][1] + side * ny * off))
        out.sort(key=lambda q: math.hypot(q[0] - lab.at[0], q[1] - lab.at[1]))
        return out


def tidy(text: str) -> str:
    """The positioned DOT ``text`` as ``Picture`` draws it: edges cut through a node
    straightened (``reroute``), then edge labels placed beside their lines (``labels``),
    read once and written once."""
    lay = _read(text)
    routes = _straightened(lay)
    return _rewrite(text, lay, routes, _placed(lay, routes))


def reroute(text: str) -> str:
    """The positioned DOT ``text`` with every edge that runs through a node other than
    its ends drawn as a straight line from its tail to its head, where that line runs
    through none (see ``_straightened``)."""
    lay = _read(text)
    return _rewrite(text, lay, _straightened(lay), [])


def labels(text: str) -> str:
    """The positioned DOT ``text`` with every edge label that sits badly moved beside
    its own edge, clear of nodes, lines, labels and cluster borders."""
    lay = _read(text)
    return _rewrite(text, lay, {}, _placed(lay, {}))


def _straightened(lay: _Layout, margin: float = 3.0) -> dict[int, str]:
    """The new ``pos`` of each edge (by index) that runs through a node other than its
    ends (a point of its line more than ``margin`` inside the node's box) and that a
    straight line from side to side clears. (On a bidirectional stack dot's router now
    and then cuts a corner of the node beside a long edge; neato's router, which goes
    around nodes, takes minutes on such a graph.) Edges written with ports keep their
    routes."""
    boxes = np.array(lay.nodes, dtype=float).reshape(-1, 4)
    where = {name: k for k, name in enumerate(lay.names)}
    routes = {}
    for i, (a, ends, ports) in enumerate(zip(lay.edges, lay.ends, lay.ports, strict=True)):
        if any(ports) or "tailport" in a or "headport" in a or not set(ends) <= set(where):
            continue
        others = np.array([k for k in range(len(boxes)) if lay.names[k] not in ends], int)
        if not _through(lay.curves[i], boxes[others], margin):
            continue
        pos = _straight(a.values["pos"], boxes[where[ends[0]]], boxes[where[ends[1]]],
                        lay.round[where[ends[0]]], lay.round[where[ends[1]]])
        if pos is not None and not _through(_curve(pos), boxes[others], margin):
            routes[i] = pos
    return routes


def _through(curve: np.ndarray, boxes: np.ndarray, margin: float) -> bool:
    """Whether a point of ``curve`` lies more than ``margin`` inside one of ``boxes``."""
    p = curve[:, None, :]
    return bool(np.any((p[..., 0] > boxes[:, 0] + margin) & (p[..., 0] < boxes[:, 2] - margin)
                       & (p[..., 1] > boxes[:, 1] + margin)
                       & (p[..., 1] < boxes[:, 3] - margin)))


def _straight(pos: str, tail: np.ndarray, head: np.ndarray, tail_round: bool,
              head_round: bool) -> str | None:
    """The ``pos`` of a straight edge between the boxes ``tail`` and ``head``, from side
    to side on the line between their centres, with the arrowhead(s) of ``pos`` (as
    long as they were there); None when the boxes overlap."""
    a, b = (tail[:2] + tail[2:]) / 2, (head[:2] + head[2:]) / 2
    d = b - a
    length = float(np.hypot(*d))
    if length == 0:
        return None
    u = d / length
    start = a + u * _reach(tail, u, tail_round)
    stop = b - u * _reach(head, u, head_round)
    if float(np.dot(stop - start, u)) <= 0:
        return None
    old = {item[0]: np.array(item[2:].split(","), float) for item in pos.split()
           if item[:2] in ("e,", "s,")}
    pts = [item for item in pos.split() if item[:2] not in ("e,", "s,")]
    out = []
    if "s" in old:  # an arrowhead at the tail: the line starts that far out
        first = np.array(pts[0].split(","), float)
        out.append(f"s,{start[0]:.2f},{start[1]:.2f}")
        start = start + u * float(np.hypot(*(first - old["s"])))
    if "e" in old:
        last = np.array(pts[-1].split(","), float)
        out.append(f"e,{stop[0]:.2f},{stop[1]:.2f}")
        stop = stop - u * float(np.hypot(*(last - old["e"])))
    thirds = [start + (stop - start) * f for f in (0, 1 / 3, 2 / 3, 1)]
    return " ".join(out + [f"{x:.2f},{y:.2f}" for x, y in thirds])


def _reach(box: np.ndarray, u: np.ndarray, round_: bool) -> float:
    """How far from the centre of ``box`` its side is, in the direction ``u``."""
    rx, ry = (box[2] - box[0]) / 2, (box[3] - box[1]) / 2
    if round_:
        return float(1 / np.hypot(u[0] / rx, u[1] / ry))
    return float(min(rx / abs(u[0]) if u[0] else np.inf, ry / abs(u[1]) if u[1] else np.inf))


def _placed(lay: _Layout, routes: dict[int, str]) -> list[tuple[_Label, tuple[float, float]]]:
    """Each edge label that sits badly and where it goes: the engine's places are kept
    first come first kept, then each other label takes the cheapest place beside its
    line (``_Scene``), drawn along ``routes`` where an edge has a new one."""
    curves = [_curve(routes[k]) if k in routes else c for k, c in enumerate(lay.curves)]
    pens = [float(a.values.get("penwidth", 1)) for a in lay.edges]
    found: list[_Label] = []
    for k, a in enumerate(lay.edges):
        for name, where in _POSITION.items():
            size = _SIZE.search(a.values.get(name, ""))
            if size and where in a.values:
                x, y = map(float, a.values[where].split(","))
                found.append(_Label(k, where, float(size.group(1)), float(size.group(2)),
                                    (x, y)))
    if not found:
        return []
    scene = _Scene(lay, curves, pens)
    bad = []
    for lab in found:
        if scene.badness(lab, lab.box(lab.at)) == 0:
            scene.place(lab.box(lab.at))
        else:
            bad.append(lab)
    moved = []
    for lab in bad:
        best, least = lab.at, scene.badness(lab, lab.box(lab.at))
        for at in scene.candidates(lab):
            score = scene.badness(lab, lab.box(at))
            if score < least:
                best, least = at, score
                if score == 0:
                    break
        moved.append((lab, best))
        scene.place(lab.box(best))
    return moved


def _rewrite(text: str, lay: _Layout, routes: dict[int, str],
             moved: list[tuple[_Label, tuple[float, float]]]) -> str:
    """``text`` with the edges' new routes, the labels' new places, and the graph's box
    grown to hold those; ``text`` itself when nothing changes."""
    edits = [(*lay.edges[k].spans["pos"], pos) for k, pos in routes.items()]
    edits += [(*lay.edges[lab.edge].spans[lab.attr], f"{at[0]:.2f},{at[1]:.2f}")
              for lab, at in moved]
    graph = lay.graph
    if moved and graph is not None and "bb" in graph.spans:
        old = tuple(map(float, graph.values["bb"].split(",")))
        x0, y0, x1, y1 = old
        for lab, at in moved:
            b = lab.box(at)
            x0, y0, x1, y1 = min(x0, b[0] - 4), min(y0, b[1] - 4), max(x1, b[2] + 4), max(
                y1, b[3] + 4)
        if (x0, y0, x1, y1) != old:
            edits.append((*graph.spans["bb"], f"{x0:.2f},{y0:.2f},{x1:.2f},{y1:.2f}"))
    for start, end, new in sorted(edits, reverse=True):
        text = text[:start] + new + text[end:]
    return text
