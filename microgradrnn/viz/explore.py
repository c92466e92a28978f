"""The BPTT explorer: one self-contained HTML page that walks the backward pass of an
unrolled network on its cells view, for the root L or any single step's loss L_t.

``viz.explore(loss).save("bptt.html")``. The page holds the cells view's SVG inline
(drawn once, by ``draw_cells``), the numbers of every root as embedded JSON (norms,
additive shares, pen widths, the walk order: only what the page draws, never whole
arrays), and the plain JavaScript and CSS beside this module. Nothing is fetched.

The walk is at the level the picture draws: one step per key node (x_t, h_t, c_t, y_t,
L_t, L), in the order the engine's backward loop (``reversed(toposort(root))``) reaches
each key node's drawn tensor. An edge of the picture counts as arrived once the engine
has processed the op that sends its gradient into the key node.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from ..engine import Tensor, gradient_flow, toposort
from . import dot, style
from .cells_view import draw_cells
from .graph import contract, find_loss, head_params, is_bias, is_param, norm, walk
from .names import state_name, weight_name
from .shares import additive_shares

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
    graph = walk(loss)
    steps = sorted({n.tags["t"] for n in graph.nodes
                    if n.tags.get("role") == "loss" and isinstance(n.tags.get("t"), int)})
    roots = [("L", loss)] + [(f"L{dot.sub(t)}", find_loss(graph, t)) for t in steps]
    flows = []
    for name, root in roots:
        try:
            flows.append(gradient_flow(root))
        except RuntimeError as e:
            raise RuntimeError(
                f"explore: the backward pass of {name} needs the graph, but its saved arrays "
                f"were freed; call explore before backward, or use backward(retain_graph="
                f"True) ({e})") from None
    svg = draw_cells(loss, flow=flows[0], fold=False, arrows="gradient",
                     title=title).pipe("svg", encoding="utf-8")
    data = _record(graph, roots, flows, steps)
    if title:
        data["title"] = title
    return Explorer(_mark_svg(svg, data), data)


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
        body = json.dumps(self.data, separators=(",", ":"), allow_nan=False)
        body = body.replace("</", "<\\/")  # never closes the script element early
        svg = self.svg[self.svg.index("<svg"):]
        return _PAGE.format(title=html.escape(self.data["title"]), css=css, js=js,
                            data=body, svg=svg)

    def save(self, path: str | Path) -> Path:
        """Write the page to ``path`` (one .html file); returns the path."""
        path = Path(path)
        path.write_text(self.html(), encoding="utf-8")
        return path

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
<div id="view" tabindex="-1">
{svg}
</div>
<div id="panel"></div>
</div>
<script type="application/json" id="bptt-data">{data}</script>
<script>
{js}
</script>
</body>
</html>
"""


def _vec(g: Any) -> np.ndarray:
    return np.asarray(g, dtype=np.float64)


def _text(markup: str) -> str:
    """Plain text of a name made for HTML-like labels (h₃⁽¹⁾)."""
    return html.unescape(markup)


def _record(graph: Any, roots: list[tuple[str, Tensor]], flows: list[Any],
            steps: list[int]) -> dict:
    """The numbers the page draws, for every root, and what never changes (names,
    ops, tags, shapes, ||data||)."""
    nodes = graph.nodes
    cells = contract(graph, flows[0])
    layers = len({s.layer for s in cells.slots if s.layer is not None})
    heads = head_params(graph)
    slot_id = [f"n{s.rep}" for s in cells.slots]
    keys = []
    for k, s in enumerate(cells.slots):
        node = nodes[s.rep]
        name = (node.label or "L") if s.role == "root" else _text(
            state_name(s.role, s.t, s.layer, s.direction, layers))
        keys.append({"id": slot_id[k], "name": name, "op": node.op or "leaf",
                     "tags": {key: node.tags.get(key) for key in ("t", "layer", "direction",
                                                                  "role")},
                     "shape": list(np.shape(node.data)), "data": norm(node.data)})
    edges = []
    for e in cells.edges:
        names = [_text(weight_name(nodes[w].label, w in heads)) for w in sorted(e.weights)
                 if not is_bias(nodes[w])]
        edges.append({"src": slot_id[e.src], "dst": slot_id[e.dst], "through": names})
    params = [k for k, n in enumerate(nodes) if is_param(n)]
    weights = [{"id": f"n{w}", "name": _text(weight_name(nodes[w].label, w in heads)),
                "label": nodes[w].label, "bias": bool(is_bias(nodes[w])),
                "shape": list(np.shape(nodes[w].data))} for w in params]
    per_root = [_root_numbers(graph, name, root, fl, cells.slots, params, steps)
                for (name, root), fl in zip(roots, flows, strict=True)]
    title = f"BPTT explorer: {layers}-layer network unrolled over T = {steps[-1] if steps else 0}"
    return {"title": title, "steps": steps, "keys": keys, "edges": edges,
            "weights": weights, "roots": per_root, "penMin": style.MIN_PEN,
            "colors": {"h": style.COLOR[style.SPATIAL], "t": style.COLOR[style.TEMPORAL]}}


def _root_numbers(graph: Any, name: str, root: Tensor, fl: Any, slots: list, params: list[int],
                  steps: list[int]) -> dict:
    """One root's flow on the picture: per key node ||grad||, per edge its norm, share and
    pen width, the walk, and per shared weight its gradient split by step."""
    nodes = graph.nodes
    heads = head_params(graph)
    cells = contract(graph, fl)
    order = list(reversed(toposort(root)))
    pos = {id(n): p for p, n in enumerate(order)}
    grads = [norm(fl.grad(nodes[s.rep])) for s in slots]
    walk_slots = sorted((k for k, s in enumerate(slots)
                         if id(nodes[s.rep]) in pos and fl.grad(nodes[s.rep]) is not None),
                        key=lambda k: pos[id(nodes[slots[k].rep])])
    step_of_pos = [pos[id(nodes[slots[k].rep])] for k in walk_slots]
    by_src: dict[int, list[int]] = {}
    for i, e in enumerate(cells.edges):
        by_src.setdefault(e.src, []).append(i)
    shares: dict[int, float] = {}
    for ids in by_src.values():
        have = [i for i in ids if cells.edges[i].flow is not None]
        for i, s in zip(have, additive_shares([cells.edges[i].flow for i in have]),
                        strict=True):
            shares[i] = s
    norms = [norm(e.flow) for e in cells.edges]
    largest = max((x for x in norms if x), default=0.0)
    arrive = [_arrival(graph, cells, e, slots, pos, step_of_pos) for e in cells.edges]
    edges = [[norms[i], shares.get(i), style.pen_width(norms[i], largest) if norms[i]
              is not None else None, arrive[i], dot.num(norms[i])]
             for i in range(len(cells.edges))]
    return {"name": name, "t": root.tags.get("t") if root is not graph.root else None,
            "walk": walk_slots, "grads": grads, "gradText": [dot.num(g) for g in grads],
            "edges": edges, "weights": [_weight_steps(graph, fl, w, steps) for w in params],
            "header": [[_text(weight_name(nodes[w].label, w in heads)), dot.num(norm(
                fl.grad(nodes[w])))] for w in params if not is_bias(nodes[w])]}


def _arrival(graph: Any, cells: Any, e: Any, slots: list, pos: dict, step_of_pos: list[int]
             ) -> int | None:
    """The walk step (0-based) by which edge e's gradient has reached its source key node:
    the step of the first key node the engine reaches after the last op that sends
    gradient along it into the source's tensors. None when no gradient flows on it."""
    if e.flow is None:
        return None
    members = {id(n) for k, n in enumerate(graph.nodes) if cells.slot_of[k] == e.src}
    last = -1
    for k, n in enumerate(graph.nodes):
        if id(n) not in members:
            continue
        for j, _ in graph.children[k]:
            child = graph.nodes[j]
            if cells.slot_of[j] == e.src or id(child) not in pos:
                continue
            if cells.slot_of[j] == e.dst or cells.slot_of[j] < 0:
                last = max(last, pos[id(child)])
    for s, p in enumerate(step_of_pos):
        if p > last:
            return s
    return len(step_of_pos) - 1


def _weight_steps(graph: Any, fl: Any, w: int, steps: list[int]) -> dict:
    """A shared weight's gradient and each step's additive share of it (the parts that
    reached it through uses tagged with that step; views such as W.T are looked
    through)."""
    node = graph.nodes[w]
    parts: dict[Any, np.ndarray] = {}
    stack = [(node, None)]
    while stack:
        target, _ = stack.pop()
        for j, i in graph.children[graph.index[target]]:
            child = graph.nodes[j]
            g = fl.edge(child, i)
            if g is None:
                continue
            t = child.tags.get("t")
            if t is None and child.op in ("transpose", "reshape"):
                stack.append((child, None))
                continue
            parts[t] = parts.get(t, 0) + _vec(g)
    keys = sorted(parts, key=lambda t: (t is None, t if t is not None else 0))
    shares = additive_shares([parts[t] for t in keys])
    by_step = {str(t): s for t, s in zip(keys, shares, strict=True)}
    return {"grad": norm(fl.grad(node)),
            "steps": [by_step.get(str(t)) for t in steps],
            "other": by_step.get("None")}


_GROUP = re.compile(r'^([^"]*)" class="(node|edge)">\s*<title>([^<]*)</title>')


def _mark_svg(svg: str, data: dict) -> str:
    """Give the SVG's key nodes and edges ids the page looks up, and wrap each drawn
    number in a ``<tspan class="num">`` the page rewrites per root.

    Nodes: ``id="n12"`` (the DOT name, found by the ``<title>`` graphviz writes); edges:
    ``id="e-n3-n7"`` (source and destination key node, as in ``data["edges"]``). A group
    graphviz nests inside (the tooltip link) belongs to the node or edge before it."""
    root = data["roots"][0]
    keys = {k["id"]: i for i, k in enumerate(data["keys"])}
    edge_ix = {(e["src"], e["dst"]): i for i, e in enumerate(data["edges"])}
    chunks = svg.split('<g id="')
    out = [chunks[0]]
    number = ""  # the number the current node or edge shows, to wrap
    for chunk in chunks[1:]:
        m = _GROUP.match(chunk)
        if m:
            number, new_id = "", None
            title = html.unescape(m.group(3))
            if m.group(2) == "node" and title in keys:
                new_id = title
                number = root["gradText"][keys[title]]
                number = f"‖grad‖ {number}" if number else ""
            elif m.group(2) == "edge":
                ends = [part.split(":")[0] for part in title.split("->")]
                i = edge_ix.get((ends[0], ends[-1]), edge_ix.get((ends[-1], ends[0])))
                if i is not None and len(ends) == 2:
                    e = data["edges"][i]
                    new_id = f'e-{e["src"]}-{e["dst"]}'
                    number = root["edges"][i][4]
            if new_id is not None:
                chunk = new_id + chunk[len(m.group(1)):]
        if number:
            found = re.search(rf'(?<=[>;\s]){re.escape(number)}</text>', chunk)
            if found:
                lead = "‖grad‖ " if number.startswith("‖grad‖ ") else ""
                text = number[len(lead):]
                chunk = (chunk[:found.start()] + f'{lead}<tspan class="num">{text}</tspan>'
                         + chunk[found.start() + len(number):])
                number = ""
        out.append(chunk)
    return '<g id="'.join(out)
