"""The BPTT explorer: one self-contained HTML page that walks the backward pass of an
unrolled network on its cells view, for the root L or any single step's loss L_t.

``viz.explore(loss).save("bptt.html")``. The page holds the cells view's SVG inline
(laid out once), the numbers of every root as embedded JSON (norms, additive shares, the
words and pen widths the cells view draws for that root, the walk: never whole arrays),
and the plain JavaScript and CSS beside this module. Nothing is fetched.

The walk follows the engine's backward loop (``reversed(toposort(root))``) at the level
the picture draws: a step is one moment at which gradient arrives at a drawn node
(h_t, c_t, y_t, L_t) along one of its roads: the op on that road whose backward hands
the gradient over has just run. A node with two roads (the same step's, the next
step's) is visited twice, and holds the sum of what has arrived so far, as the engine's
accumulator does.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from ..engine import Tensor, gradient_flow, toposort
from ..files import write_whole
from . import dot, style
from .cells_view import draw_contracted
from .graph import (
    as_int,
    check_root,
    contract,
    find_loss,
    head_params,
    is_bias,
    is_param,
    norm,
    view_source,
    walk,
)
from .names import state_name, weight_name
from .relabel import GRAPH, drawing, mark_svg, same_text
from .shares import additive_shares, printed_sum

__all__ = ["Explorer", "explore"]

SIZE_BOUND = 2_000_000  # bytes: a 2-layer LSTM with T = 20 stays below (tested)


def explore(loss: Tensor, *, title: str | None = None) -> Explorer:
    """The explorer page of the graph under ``loss`` (the total loss L = sum_t L_t).

    Every step's loss must be tagged ``role="loss", t=t`` (as ``per_step_loss`` does).
    The graph must still be there: call this before any backward, or after
    ``backward(retain_graph=True)``; each root's flow is computed here with
    ``gradient_flow`` and ``.grad`` is left untouched. Returns an ``Explorer``:
    ``.save(path)``, ``.html()``, and inline display in Jupyter.
    """
    check_root(loss, "explore")
    graph = walk(loss)
    steps = sorted({as_int(n.tags["t"]) for n in graph.nodes
                    if n.tags.get("role") == "loss" and as_int(n.tags.get("t")) is not None})
    name = loss.label or "L"
    roots = [(name, loss)] + [(f"L{dot.sub(t)}", find_loss(graph, t)) for t in steps]
    flows = []
    for root_name, root in roots:
        try:
            flows.append(gradient_flow(root))
        except RuntimeError as e:
            raise RuntimeError(
                f"explore: the backward pass of {root_name} needs the graph, but its saved "
                f"arrays were freed; call explore before backward, or use backward("
                f"retain_graph=True) ({e})") from None
    contracted = [contract(graph, fl) for fl in flows]
    pictures = [draw_contracted(cells, fl, f"the root {dot.html(name, 24)}" if k == 0 else
                                f"{roots[k][0]} only", arrows="gradient", fold=False,
                                title=title)
                for k, (cells, fl) in enumerate(zip(contracted, flows, strict=True))]
    drawings = [drawing(p) for p in pictures]
    svg = mark_svg(pictures[0].pipe("svg", encoding="utf-8"),
                   {e.title: f"e{j}" for j, e in enumerate(drawings[0].edges)})
    data = _record(graph, roots, flows, contracted, steps, drawings)
    data["title"] = title or data["title"]
    return Explorer(svg, data)


@dataclass
class Explorer:
    """The explorer page: ``svg`` (the cells view, marked up for the page) and ``data``
    (what the page shows, embedded as JSON)."""

    svg: str
    data: dict

    def html(self) -> str:
        """The whole page as one HTML document."""
        files = resources.files(__package__)
        css = files.joinpath("explore.css").read_text(encoding="utf-8")
        js = files.joinpath("explore.js").read_text(encoding="utf-8")
        body = json.dumps(self.data, separators=(",", ":"), allow_nan=False,
                          ensure_ascii=False)
        body = body.replace("</", "<\\/")  # never closes the script element early
        svg = self.svg[self.svg.index("<svg"):]
        return _PAGE.format(title=html.escape(self.data["title"]), css=css, js=js,
                            data=body, svg=svg)

    def save(self, path: str | Path) -> Path:
        """Write the page to ``path`` (one .html file); returns the path."""
        return write_whole(path, self.html())

    def _repr_html_(self) -> str:
        """Inline display in Jupyter: the page in a sandboxed frame of its own."""
        page = html.escape(self.html(), quote=True)
        return (f'<iframe srcdoc="{page}" style="width:100%;height:900px;border:0" '
                'sandbox="allow-scripts"></iframe>')


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
{css}
</style>
</head>
<body>
<div id="app">
<div id="panel"></div>
<div id="view" tabindex="-1">
{svg}
</div>
</div>
<script type="application/json" id="bptt-data">{data}</script>
<script>
{js}
</script>
</body>
</html>
"""


def _text(markup: str) -> str:
    """Plain text of a name made for HTML-like labels (h₃⁽¹⁾)."""
    return html.unescape(markup)


def _record(graph: Any, roots: list[tuple[str, Tensor]], flows: list[Any],
            contracted: list[Any], steps: list[int], drawings: list[Any]) -> dict:
    """The numbers the page shows, for every root, and what never changes (names, ops,
    tags, shapes, ||data||, which drawn edge shows which road)."""
    nodes = graph.nodes
    cells = contracted[0]
    layers = len({s.layer for s in cells.slots if s.layer is not None})
    heads = head_params(graph)
    keys = []
    for s in cells.slots:
        node = nodes[s.rep]
        name = (node.label or "L") if s.role == "root" else _text(
            state_name(s.role, s.t, s.layer, s.direction, layers))
        keys.append({"id": f"n{s.rep}", "name": name, "op": node.op or "leaf",
                     "tags": {k: node.tags.get(k) for k in ("t", "layer", "direction", "role")},
                     "shape": list(np.shape(node.data)), "data": norm(node.data)})
    drawn = _drawn_edges(cells, drawings[0])
    edges = []
    for e, g in zip(cells.edges, drawn, strict=True):
        names = [_text(weight_name(nodes[w].label, w in heads)) for w in sorted(e.weights)
                 if not is_bias(nodes[w])]
        edges.append({"src": e.src, "dst": e.dst, "through": names, "bare": e.bare, "g": g})
    params = [k for k, n in enumerate(nodes) if is_param(n)]
    weights = [{"id": f"n{w}", "name": _text(weight_name(nodes[w].label, w in heads)),
                "label": nodes[w].label, "bias": bool(is_bias(nodes[w])),
                "shape": list(np.shape(nodes[w].data))} for w in params]
    texts = _changing_runs(drawings)
    roads = _Roads(cells, _first_slots(graph, cells.slot_of))
    per_root = []
    for k, ((name, root), fl) in enumerate(zip(roots, flows, strict=True)):
        numbers = _root_numbers(roads, root, fl, contracted[k], params, steps)
        numbers["name"] = name
        numbers["text"] = [_runs_for(drawings[k], key, ix) for key, ix in texts]
        numbers["pens"] = [e.pen for e in drawings[k].edges]
        per_root.append(numbers)
    T = steps[-1] if steps else 0
    return {"title": f"BPTT explorer: {layers}-layer recurrent network unrolled over T = {T}",
            "steps": steps, "keys": keys, "edges": edges, "weights": weights,
            "roots": per_root, "texts": [[_label_id(key, drawings[0]), ix] for key, ix in texts],
            "drawn": [f"e{j}" for j in range(len(drawings[0].edges))],
            "halo": style.HALO.lower(), "colors": {"h": style.COLOR[style.SPATIAL]}}


def _label_id(key: str, d: Any) -> str:
    """The page's id of the group that draws label ``key`` (as ``relabel.mark_svg`` set
    it: a node's name, ``e`` + a drawn edge's index, graphviz's ``graph0``)."""
    if key == GRAPH:
        return "graph0"
    for j, e in enumerate(d.edges):
        if e.title == key:
            return f"e{j}"
    return key


def _drawn_edges(cells: Any, d: Any) -> list[str | None]:
    """Per contracted edge, the id of the drawn edge that shows it: the one between the
    same two nodes; of two (the GRU's carry beside its temporal road) the bare road is
    the one in the colour of a road without a weight."""
    bare_colors = {style.COLOR[style.CELL].lower(), style.COLOR[style.CARRY].lower()}
    out: list[str | None] = []
    for e in cells.edges:
        ends = {f"n{cells.slots[e.src].rep}", f"n{cells.slots[e.dst].rep}"}
        found = [j for j, de in enumerate(d.edges) if {de.tail, de.head} == ends]
        if len(found) > 1:
            found = [j for j in found
                     if (d.edges[j].color.lower() in bare_colors) == e.bare] or found
        out.append(f"e{found[0]}" if found else None)
    return out


def _changing_runs(drawings: list[Any]) -> list[tuple[str, list[int] | None]]:
    """The labels whose words differ between roots, each with the indices of the runs
    that do (None: the number of runs differs, so the page replaces them all)."""
    out = []
    first = drawings[0].runs
    for key, runs in first.items():
        others = [d.runs.get(key, []) for d in drawings[1:]]
        if all(same_text(runs, o) for o in others):
            continue
        if any(len(o) != len(runs) for o in others):
            out.append((key, None))
            continue
        out.append((key, [i for i in range(len(runs)) if any(o[i] != runs[i] for o in others)]))
    return out


def _runs_for(d: Any, key: str, ix: list[int] | None) -> list[str]:
    runs = d.runs.get(key, [])
    return list(runs) if ix is None else [runs[i] for i in ix]


@dataclass
class _Roads:
    """What the walk needs of the contraction, the same for every root: the drawn nodes
    and roads (``cells``), each drawn node's engine nodes (``members``), and per other
    node the drawn nodes it leads to (``reach``, see ``_first_slots``)."""

    cells: Any
    reach: list[dict[int, bool]]

    def __post_init__(self) -> None:
        self.members: dict[int, list[int]] = {}
        for k, s in enumerate(self.cells.slot_of):
            if s >= 0:
                self.members.setdefault(s, []).append(k)


def _root_numbers(roads: _Roads, root: Tensor, fl: Any, cells: Any, params: list[int],
                  steps: list[int]) -> dict:
    """One root's flow on the picture: per drawn node ||grad||, per road its norm and
    share, the walk, and per shared weight its gradient split by step."""
    base = roads.cells
    graph = base.graph
    nodes = graph.nodes
    by_key = {(e.src, e.dst, e.bare): e for e in cells.edges}
    flows = [getattr(by_key.get((e.src, e.dst, e.bare)), "flow", None) for e in base.edges]
    shares = _shares(base.edges, flows)
    grads = [norm(fl.grad(nodes[s.rep])) for s in base.slots]
    walk_steps, arrive = _walk(roads, root, fl, flows)
    edges = [[norm(g), s, a, dot.num(norm(g)), _signed(s)]
             for g, s, a in zip(flows, shares, arrive, strict=True)]
    return {"t": as_int(root.tags.get("t")) if root is not graph.root else None,
            "grads": grads, "gradText": [dot.num(g) for g in grads], "edges": edges,
            "walk": walk_steps, "ops": len(toposort(root)),
            "weights": [_weight_steps(graph, fl, w, steps) for w in params]}


def _shares(edges: list[Any], flows: list[Any]) -> list[float | None]:
    """Each road's additive share of the gradient of the node it leaves."""
    out: list[float | None] = [None] * len(edges)
    by_src: dict[int, list[int]] = {}
    for i, e in enumerate(edges):
        if flows[i] is not None:
            by_src.setdefault(e.src, []).append(i)
    for ids in by_src.values():
        for i, s in zip(ids, additive_shares([flows[i] for i in ids]), strict=True):
            out[i] = s
    return out


def _signed(x: float | None) -> str:
    """A number as the pictures print it, with a true minus sign."""
    return dot.num(x).replace("-", "\u2212", 1) if x is not None and x < 0 else dot.num(x)


def _first_slots(graph: Any, slot_of: list[int]) -> list[dict[int, bool]]:
    """Per node outside every drawn node: the drawn nodes first reached downstream of
    it (through other such nodes only), each with whether a weight is read on the way
    (a road with none is a bare one: the GRU's carry beside its road through W_hh)."""
    reach: list[dict[int, bool]] = [{} for _ in graph.nodes]
    for k in range(len(graph.nodes) - 1, -1, -1):  # children first
        if slot_of[k] >= 0:
            continue
        own = any(is_param(view_source(p)) for p in graph.nodes[k].parents)
        for j, _ in graph.children[k]:
            found = {slot_of[j]: False} if slot_of[j] >= 0 else reach[j]
            for u, weighted in found.items():
                reach[k][u] = reach[k].get(u, False) or weighted or own
    return reach


def _walk(roads: _Roads, root: Tensor, fl: Any, flows: list[Any]
          ) -> tuple[list[list], list[int | None]]:
    """The walk: the root, then one step per moment at which gradient arrives at a drawn
    node, in the engine's order. A road arrives when the last op on it that hands
    gradient to the node (its backward runs at position p of reversed(toposort(root)))
    has run; roads into one node at one p arrive together. Roads that carry nothing
    (exact zeros: a loss does not depend on later steps) are left out.

    Each step: [node, [roads arriving], p, op, holds, sum, done]: ``holds`` is the norm
    of what the node has received so far; ``sum`` its printed addition [total,
    [[road, part], ...]] (the parts are the arrived roads' additive shares, printed so
    that they add up, ``shares.printed_sum``); ``done``: nothing more arrives. Also
    returns per road the walk step at which it arrives (None: never)."""
    cells, reach = roads.cells, roads.reach
    graph, slot_of = cells.graph, cells.slot_of
    nodes = graph.nodes
    order = list(reversed(toposort(root)))
    pos = {id(n): p for p, n in enumerate(order)}
    events: dict[tuple[int, int], list[int]] = {}
    keys = {(e.src, e.dst, e.bare) for e in cells.edges}
    for i, e in enumerate(cells.edges):
        g = flows[i]
        if g is None or not np.any(np.asarray(g)):
            continue
        last = -1
        twin = (e.src, e.dst, not e.bare) in keys  # a carry beside a road with a weight
        for k in roads.members[e.src]:
            for j, arg in graph.children[k]:
                if slot_of[j] == e.src or id(nodes[j]) not in pos:
                    continue
                if slot_of[j] == e.dst:
                    road = e.bare or not twin
                elif slot_of[j] < 0 and e.dst in reach[j]:
                    road = reach[j][e.dst] != e.bare or not twin
                else:
                    road = False
                if road and fl.edge(nodes[j], arg) is not None:
                    last = max(last, pos[id(nodes[j])])
        if last < 0:  # (not expected) the node's own turn stands in for the road's
            last = pos.get(id(nodes[cells.slots[e.src].rep]), len(order)) - 1
        events.setdefault((last, e.src), []).append(i)
    total: dict[int, int] = {}
    for (_, s), ids in events.items():
        total[s] = total.get(s, 0) + len(ids)
    seed = norm(np.ones_like(np.asarray(root.data, dtype=np.float64)))
    out: list[list] = [[slot_of[graph.index[root]], [], 0, root.op or "leaf", seed,
                        [dot.num(seed), []], True]]
    arrive: list[int | None] = [None] * len(cells.edges)
    got: dict[int, list[int]] = {}
    for (p, s), ids in sorted(events.items(), key=lambda kv: (
            kv[0][0], -(cells.slots[kv[0][1]].t or 0), cells.slots[kv[0][1]].rep)):
        have = got.setdefault(s, [])
        have.extend(ids)
        for i in ids:
            arrive[i] = len(out)
        held = np.sum([np.asarray(flows[i], dtype=np.float64) for i in have], axis=0)
        out.append([s, ids, p, order[p].op or "leaf", norm(held), _sum(have, flows),
                    len(have) == total[s]])
    return out, arrive


def _sum(have: list[int], flows: list[Any]) -> list:
    """What a node holds as the picture prints it: one road's norm, or the addition of
    the roads' shares [total, [[road, part], ...]] (parts printed to add up)."""
    if len(have) == 1:
        return [dot.num(norm(flows[have[0]])), [[have[0], dot.num(norm(flows[have[0]]))]]]
    parts, total, exponent = printed_sum(additive_shares([flows[i] for i in have]))
    scale = f"×10{dot.sup(exponent)}" if exponent else ""  # on each number: a sentence
    return [total + scale, [[i, part + scale] for i, part in zip(have, parts, strict=True)]]


def _weight_steps(graph: Any, fl: Any, w: int, steps: list[int]) -> dict:
    """A shared weight's gradient and each step's additive share of it (the parts that
    reached it through uses tagged with that step; views such as W.T are looked
    through)."""
    node = graph.nodes[w]
    parts: dict[Any, np.ndarray] = {}
    stack = [node]
    while stack:
        target = stack.pop()
        for j, i in graph.children[graph.index[target]]:
            child = graph.nodes[j]
            g = fl.edge(child, i)
            if g is None:
                continue
            t = as_int(child.tags.get("t"))
            if t is None and child.op in ("transpose", "reshape"):
                stack.append(child)
                continue
            parts[t] = parts.get(t, 0) + np.asarray(g, dtype=np.float64)
    keys = sorted(parts, key=lambda t: (t is None, t if t is not None else 0))
    shares = dict(zip(keys, additive_shares([parts[t] for t in keys]), strict=True))
    return {"grad": norm(fl.grad(node)), "steps": [shares.get(t) for t in steps],
            "other": shares.get(None)}
