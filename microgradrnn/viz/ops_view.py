"""The ops view: every op of the graph with the gradient that flowed along every edge.

A tagged graph (an unrolled network) gets one cluster per step. Inside it each layer's
temporal road, the chain of ops from h_{t-1} to h_t (W_hh h_{t-1} + b, +, tanh for an
RNN; the o gate's road for an LSTM, whose cell state c_{t-1} -> c_t has a row of its
own; the z ⊙ h_{t-1} carry for a GRU), sits on one rank shared by all steps, so dL/dh
flows back along one straight line per layer. Gates are named (i, f, g, o; r, z, n).
Inputs feed the cells from below, the head and per-step losses sit above the top layer,
the total L on top. The layout is decided in ``ops_layout``, step by step; this module
writes the DOT. An untagged graph of Values draws like micrograd's ``draw_dot``.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..engine import Tensor
from . import dot, layout, ops_layout, rich, style
from .graph import Graph, get_flow, head_params, is_bias, is_param, norm, walk
from .names import state_name, weight_name
from .ops_layout import Classified, Drawing, Gates, Rows
from .picture import Picture, make

_SYMBOL = {"add": "+", "mul": "×", "sub": "−", "div": "/", "neg": "−", "sigmoid": "σ",
           "matmul": "@", "getitem": "slice", "concatenate": "concat", "pow": "**"}
# where a flat edge's label goes: below its right end
# how far below a row's line its edges' labels go, past the row's nodes (half a node)
_ROW_HALF = 19.0
_LEGEND = {
    **style.LEGEND,
    style.TEMPORAL: "temporal road: hₜ₋₁ → … → hₜ along each layer's row (through Wₕₕ); "
    "∂L/∂h flows back along it to the previous step",
    style.SPATIAL: "same-step road: xₜ / layer l−1 → layer l → yₜ → Lₜ "
    "(through Wₓₕ, Wₕy)",
    style.CELL: "cell state: cₜ₋₁ → … → cₜ along its row, the additive carousel of the LSTM",
    style.OTHER: "inside a cell, where the roads mix (gradients sum where a node "
    "feeds several)",
}


def draw_ops(
    root: Tensor,
    *,
    flow: Any = None,
    loss_at: int | None = None,
    arrows: str = "forward",
    fold: bool | None = None,
    keep: int = 2,
    fold_above: int = 6,
    window: tuple[int, int] | None = None,
    title: str | None = None,
) -> Picture:
    """The ops view of the graph under ``root``.

    flow, loss_at, arrows, title: as for ``draw_cells``. fold, keep, fold_above, window:
    as for ``draw_cells``, but the ops view costs about 700 px per step, so by default it
    folds sequences longer than 6 steps, keeping the first and last 2. Scalars (``Value``)
    show data and grad as micrograd's ``draw_dot`` does; tensors show their shape and the
    norm of their gradient. Weights are not drawn as nodes: they are named in the ops
    that use them (``Wₕₕ⁽¹⁾ h₀⁽¹⁾ + bₕₕ⁽¹⁾``).
    """
    if not isinstance(root, Tensor):
        raise TypeError(f"draw_ops: root must be a Tensor or Value (the output of a "
                        f"computation), got {type(root).__name__}")
    layout.check_arrows(arrows, "draw_ops")
    graph = walk(root)
    fl = get_flow(graph, flow, loss_at)
    if not any("t" in n.tags for n in graph.nodes):
        return _plain(graph, fl, arrows, title)
    whose = (f"L{dot.sub(loss_at)} only" if loss_at is not None else
             "the flow passed in (flow=)" if flow is not None else
             f"the root {dot.html(root.label or 'L', 24)}")
    return _tagged(graph, fl, arrows, title, whose, fold, keep, fold_above, window)


# ---------------------------------------------------------------------------------------
# Untagged graphs: micrograd's picture


def _plain(graph: Graph, fl: Any, arrows: str, title: str | None) -> Picture:
    nodes = graph.nodes
    scalar = all(isinstance(n.data, float) for n in nodes)
    lines = ["rankdir=LR", "ranksep=0.9", *layout.font_defaults("fontsize=11")]
    if title:
        lines += [f'label=<<font point-size="16"><b>{dot.html(title, 120)}</b></font>>',
                  "labelloc=t", "labeljust=l"]
    flows = [ops_layout.signed_flow(fl.edge(n, i)) for n in nodes for i in range(len(n.parents))]
    scale = style.PenScale(abs(f) for f in flows if f)
    for k, node in enumerate(nodes):
        if scalar:
            lines += _micrograd(f"n{k}", node, fl)
        else:
            lines.append(dot.node(f"n{k}", _box(_title_plain(node), node, fl, "op" if
                                                node.parents else "leaf")))
    for j, node in enumerate(nodes):
        for i, p in enumerate(node.parents):
            f = ops_layout.signed_flow(fl.edge(node, i))
            width = scale.width(abs(f) if f else f)
            a: dict[str, Any] = {"color": style.COLOR[style.OTHER], "penwidth": width}
            if f is not None:
                # above the line, just past the node it leaves (the line runs left to
                # right), on a halo: never under the shaft or the arrowhead
                text = _signed(f)
                w, h = rich.extent(text, 11)
                along, across = w / 2 + 6, h / 2 + width / 2 + 2
                a["taillabel"] = dot.label(rich.line([(text, True, style.TEXT[style.OTHER])],
                                                     11, bgcolor=style.HALO))
                a["labelangle"] = round(math.degrees(math.atan2(across, along)), 1)
                a["labeldistance"] = round(math.hypot(across, along) / 10, 2)
                a["tooltip"] = text
            if arrows == "gradient":
                a["dir"] = "back"
            lines.append(dot.edge(f"n{graph.index[p]}", f"n{j}_op" if scalar else f"n{j}", a))
    return make("ops", lines)


def _title_plain(node: Tensor) -> str:
    return dot.html(node.op or ("param" if is_param(node) else "leaf"), 30)


def _grad_text(node: Tensor, g: Any) -> str:
    """A scalar's gradient as micrograd shows it, or why there is none: a constant needs
    none (it was not computed, which is not zero)."""
    if g is not None:
        return f"grad {dot.scalar(float(g))}"
    return "no grad (constant)" if not node.requires_grad else "grad not computed"


def _micrograd(nid: str, node: Tensor, fl: Any) -> list[str]:
    """A Value as micrograd's draw_dot draws it: a record { label | data | grad } and a
    small node for the op that made it."""
    cells = "".join(f"<td>{c}</td>" for c in (
        f"<b>{dot.html(node.label, 30)}</b>" if node.label else "",
        f"data {dot.scalar(node.data)}", _grad_text(node, fl.grad(node))))
    table = (f'<table border="0" cellborder="1" cellspacing="0" cellpadding="4">'
             f"<tr>{cells}</tr></table>")
    out = [dot.node(nid, {"label": dot.label(table), "shape": "plaintext"})]
    if node.op:
        ops = {"add": "+", "mul": "*", "sub": "-", "div": "/", "neg": "-", "matmul": "@"}
        out.append(dot.node(nid + "_op", {"label": ops.get(node.op, node.op),
                                          "shape": "ellipse", "fontsize": 10,
                                          "margin": "0.03"}))
        out.append(f"{nid}_op -> {nid}")
    return out


def _box(title: str, node: Tensor, fl: Any, fill_key: str) -> dict:
    """An op's box: what it computes (names with readable scripts: ``rich.line``), its
    label if it has one, and its shape, ‖data‖ and ‖grad‖ (a scalar's data and grad)."""
    rows = [rich.line(title, 11, bold=True)]
    if node.label and not is_param(node) and not title.startswith(dot.html(node.label, 20)):
        rows.append(f'<font point-size="10">{dot.html(node.label, 30)}</font>')
    if np.ndim(node.data) == 0:  # a scalar (a Value): its data and grad, as micrograd shows
        info = f"data {dot.scalar(float(node.data))}  {_grad_text(node, fl.grad(node))}"
    else:
        info = f"{tuple(np.shape(node.data))}  ‖data‖ {dot.num(norm(node.data))}"
        g = norm(fl.grad(node))
        if g is not None:
            info += f"  ‖grad‖ {dot.num(g)}"
    rows.append(f'<font point-size="9" color="#333333">{info}</font>')
    fill, pen = style.FILL[fill_key]
    return {"label": dot.label(rich.label(rows)), "shape": "box", "style": "rounded,filled",
            "fillcolor": fill, "color": pen, "margin": "0.06,0.03",
            "tooltip": html.unescape(title)}


# ---------------------------------------------------------------------------------------
# Tagged graphs: one cluster per step, one straight row per layer's road


@dataclass
class _Layout:
    """What the layout steps decided (see ``ops_layout``), and what the DOT needs."""

    c: Classified
    rows: Rows
    gates: Gates
    cols: list[tuple[str, int, int]]
    d: Drawing
    edges: dict[tuple[str, str], layout.Drawn]
    groups: dict[tuple, list[str]]
    by_col: dict[int | None, list[str]]
    fl: Any
    heads: set[int]
    arrows: str
    scale: style.PenScale
    cell_of: dict[str, tuple]  # drawn node -> (layer, direction) of the cell it is in
    lower: set[str]  # nodes of rows below their layer's top row (``inner_rows``)
    upper: set[str]  # nodes of rows above their layer's bottom row
    node_of: dict[str, int]  # drawn node -> the first graph node it shows


def _tagged(graph: Graph, fl: Any, arrows: str, title: str | None, whose: str,
            fold: bool | None, keep: int, fold_above: int,
            window: tuple[int, int] | None) -> Picture:
    """The ops view of a tagged graph: the layout steps of ``ops_layout`` in order, then
    the DOT: one cluster per column (time), one rank per state row, the inputs on one
    rank below and the sum of the losses on one rank above."""
    c = ops_layout.classify(graph)
    rows = ops_layout.find_rows(c)
    gates = ops_layout.name_gates(c)
    cols = _columns(c, fold, keep, fold_above, window)
    col_of_t = layout.column_of_step(cols)
    d = ops_layout.drawn_nodes(c, rows, cols, col_of_t)
    edges = ops_layout.drawn_edges(c, rows, d, fl)
    groups = ops_layout.rank_groups(c, rows, d)
    beside = ops_layout.gate_ranks(c, rows, d)
    straight = ops_layout.straight_up(c, rows, d)
    groups.update({g: [nid for cls in classes for nid in cls] for g, classes in beside.items()})
    place = ops_layout.mark_down(edges, groups, list(dict.fromkeys(d.drawn.values())))
    by_col = _by_column(c, d, col_of_t)
    scale = style.PenScale(abs(f) for e in edges.values() for f in e.flows if f)
    cell_of = {nid: tuple(map(str, c.cell_key(k)[1:])) for k, nid in d.drawn.items()
               if c.kind[k] == "cell" and c.tags(k).get("direction") is not None}
    lay = _Layout(c, rows, gates, cols, d, edges, groups, by_col, fl, head_params(graph),
                  arrows, scale, cell_of, *ops_layout.inner_rows(groups, place),
                  {nid: k for k, nid in reversed(d.drawn.items())})

    node_line = _node_lines(lay, straight)
    columns = [_column(lay, k, col, node_line) for k, col in enumerate(cols)]
    for col in columns:  # a column's invisible anchor lies on the inputs' rank
        if col.point:
            groups.setdefault(("x",), []).append(col.anchor)
    lines = ["rankdir=BT", "newrank=true", "remincross=false", "nodesep=0.25", "ranksep=0.45",
             *layout.font_defaults("fontsize=11")]
    lines += _header(lay, title, whose)
    lines += [line for col in columns for line in col.lines]
    lines += [node_line[nid] for nid in by_col.get(None, [])]
    lines += layout.column_order([col.anchor for col in columns])
    ranks = ops_layout.shared_ranks(groups)
    lines += [dot.same_rank(ids) for ids in ranks.values() if len(ids) > 1]
    # the gates stand in the order ``ops_layout.gate_ranks`` chose
    lines += [layout.invisible_edge(a, b) for classes in beside.values()
              for left, right in zip(classes, classes[1:], strict=False)
              for a in left for b in right]
    lines += _edge_lines(lay, ranks)
    col_of = {nid: k for k, ids in by_col.items() for nid in ids}
    lines += [layout.invisible_edge(a, b) for a, b in ops_layout.directions_stacked(
        c, d, groups, col_of, place)]
    lines += [f"{a} -> {b} [style=invis, minlen=2]" for a, b in ops_layout.layers_stacked(
        c, d, groups, col_of, place)]
    lines += [layout.invisible_edge(a, b) for a, b in ops_layout.head_above_rows(
        c, d, groups, col_of)]
    return make("ops", lines)


def _columns(c: Classified, fold: bool | None, keep: int, fold_above: int,
             window: tuple[int, int] | None) -> list[tuple[str, int, int]]:
    """The columns (``layout.columns``): which steps are drawn in full and which fold,
    with a column for the initial states (t = 0) and one at the right for the backward
    direction's (t = T + 1)."""
    n = range(len(c.kind))
    steps = sorted({t for k, t in enumerate(c.step) if t is not None
                    and 1 <= t <= c.T and c.kind[k] != "hidden"})
    has_init = any(c.step[k] == 0 for k in n if c.kind[k] == "init")
    has_rinit = any(c.step[k] == c.T + 1 for k in n)
    return layout.columns(steps, has_init, fold, keep, fold_above, window, has_rinit,
                          who="draw_ops")


def _by_column(c: Classified, d: Drawing, col_of_t: dict[int, int]
               ) -> dict[int | None, list[str]]:
    """Which column holds each drawn node (its step's), in node order; the sum of the
    losses stands outside every column (None)."""
    by_col: dict[int | None, list[str]] = {}
    emitted: set[str] = set()
    for k, nid in d.drawn.items():
        if nid in emitted:
            continue
        emitted.add(nid)
        col = None if c.kind[k] == "sum" else ops_layout.column(c, k, col_of_t)
        by_col.setdefault(col, []).append(nid)
    return by_col


@dataclass
class _Column:
    """One column of the ops view: its statements, and its anchor on the inputs' rank
    (``point``: an invisible point made to hold the place)."""

    lines: list[str]
    anchor: str
    point: bool


def _column(lay: _Layout, k: int, col: tuple[str, int, int], node_line: dict[str, str]
            ) -> _Column:
    """Column k: its nodes in one cluster, and its anchor, where the column order hangs:
    its first input, else an invisible point the caller puts on the inputs' rank. A
    fold column's fold nodes are chained by invisible edges (x -> rows -> head) so that
    they stack in order."""
    kind, a, b = col
    ids = lay.by_col.get(k, [])
    lines = layout.open_cluster(f"cluster_t{k}", kind, a, b)
    cells: dict[tuple, list[str]] = {}
    for nid in ids:
        cells.setdefault(lay.cell_of.get(nid, ()), []).append(nid)
    for key, members in cells.items():
        if key and kind != "fold" and len(cells) > 2:
            lines.append(f"\tsubgraph cluster_t{k}_{'_'.join(map(str, key))} {{")
            lines.append("\t\tstyle=invis")
            lines += ["\t\t" + node_line[nid] for nid in members]
            lines.append("\t}")
        else:
            lines += ["\t" + node_line[nid] for nid in members]
    xs = [nid for nid in ids if nid in lay.groups.get(("x",), [])]
    point = not xs
    anchor = f"anchor{k}" if point else xs[0]
    if point:  # inside the cluster, so that it holds the column's place
        lines.append("\t" + layout.point(anchor))
    lines.append("}")
    if kind == "fold":
        lines += [layout.invisible_edge(a, b) for a, b in ops_layout.fold_stack(ids, lay.d.folds)]
    return _Column(lines, anchor, point)


# -- edges ------------------------------------------------------------------------------


def _edge_lines(lay: _Layout, ranks: dict[tuple, list[str]]) -> list[str]:
    """The drawn edges' statements: widths on the picture's scale of flows (``scale``)."""
    col_of = {nid: k for k, ids in lay.by_col.items() for nid in ids}
    rank_of = {nid: g for g, ids in ranks.items() for nid in ids}
    backward = {nid for g, ids in lay.groups.items() if g[0] == "row" and g[3] == "bwd"
                for nid in ids}
    return [_edge_line(lay, e, col_of, rank_of, backward) for e in lay.edges.values()]


def _edge_line(lay: _Layout, e: layout.Drawn, col_of: dict[str, Any],
               rank_of: dict[str, tuple], backward: set[str]) -> str:
    """An edge's statement, coloured by its road, as wide as its flow, labelled with its
    flow when it is one edge of the graph (a scalar's keeps its sign).

    An edge between two nodes of one rank lies flat, east port to west port. The
    backward direction's rows read right to left (its time runs that way): their flat
    edges, and one from a column to one on its left, are written left to right with the
    arrow turned, so they do not pull the columns or a row out of order. An edge that
    runs down (``Drawn.down``) is written upwards with the arrow turned, so dot sees no
    cycle and routes it between the ranks like any other. A flat edge's label sits past
    the node it leaves, below the row's nodes; another's beside the middle of the edge,
    or, for an edge that crosses a row of a layer (``_Layout.lower``, ``upper``), beside
    its start: dot gives a label in the middle a node of its own, which on a row's rank
    would bend the row's edges around it (``layout.edge_line``)."""
    f = e.flow
    tail, head = e.src, e.dst
    flat = rank_of.get(tail) is not None and rank_of.get(tail) == rank_of.get(head)
    ct, ch = col_of.get(tail), col_of.get(head)
    turn = flat and (ct is not None and ch is not None and ct > ch or (
        ct == ch and tail in backward)) or not flat and e.down
    color = style.TEXT[e.cls]
    # an edge into the sum of the losses shows no number: each L_t shows its grad (1), and a
    # label on those long curved edges ends up on the line
    into_sum = lay.c.kind[lay.node_of[e.dst]] == "sum" if e.dst in lay.node_of else False
    pieces: list = [(_signed(f), False, color)] if (
        e.single and f is not None and not into_sum) else []
    other_cell = lay.cell_of.get(e.src) != lay.cell_of.get(e.dst)
    crosses = not flat and other_cell and (e.src in lay.lower or e.dst in lay.upper)
    return layout.edge_line(e, lay.scale.width(abs(f) if f else f), lay.arrows, {}, rank_of,
                            pieces, 9, at_start=crosses, clear=-3.0, below=_ROW_HALF,
                            loose_down=False, turn=turn)


def _signed(x: float) -> str:
    """A flow as its edge shows it: two digits, a true minus sign."""
    text = dot.num(x)
    return text.replace("-", "−", 1) if x < 0 else text


# -- nodes ------------------------------------------------------------------------------


def _node_lines(lay: _Layout, groups: dict[str, str]) -> dict[str, str]:
    """Each drawn node's statement: a node's own box (in its ``group``, if it has one:
    ``ops_layout.straight_up``), or a fold node's dashed one."""
    first: dict[str, int] = {}  # drawn node -> the first node it shows
    for k, nid in lay.d.drawn.items():
        first.setdefault(nid, k)
    lines = {nid: _node_line(lay, k, nid) for nid, k in first.items()}
    for nid, g in groups.items():
        lines[nid] = lines[nid][:-1] + f", group={g}]"
    return lines


def _name(lay: _Layout, k: int) -> str | None:
    """x₁, h₂⁽¹⁾, y₃, L₃ for the last node of its role in its step (and layer); i, f, g,
    o (r, z, n) for a gate."""
    c = lay.c
    if k in lay.gates.name:
        return lay.gates.name[k]
    n = c.graph.nodes[k]
    role = n.tags.get("role")
    if role is None or role in ("gate", "output", "input") or not n.parents and \
            role in ("y", "loss"):
        return None
    key = (role, n.tags.get("t"), n.tags.get("layer"), n.tags.get("direction"))
    for j, _ in c.graph.children[k]:
        t = c.graph.nodes[j].tags
        if (t.get("role"), t.get("t"), t.get("layer"), t.get("direction")) == key:
            return None
    return state_name(role, n.tags.get("t"), n.tags.get("layer"), n.tags.get("direction"),
                      c.layers)


def _weight(lay: _Layout, p: Tensor) -> str:
    return weight_name(p.label, lay.c.graph.index[p] in lay.heads)


def _op_text(lay: _Layout, k: int) -> str:
    """What node k computes: ``Wₓₕ⁽¹⁾ x₁ + bₓₕ⁽¹⁾`` for a linear, ``σ[i]`` for the i gate's
    slice of the gates' sigmoid, ``σ [i f g o]`` for an op over several gates."""
    c = lay.c
    n = c.graph.nodes[k]
    index = c.graph.index
    if not n.parents:
        return "const" if not n.requires_grad else "leaf"
    if n.op == "linear":
        ins = [p for p in n.parents if index[p] not in c.params]
        ws = [p for p in n.parents if index[p] in c.params]
        w = [_weight(lay, p) for p in ws if not is_bias(p)]
        b = [_weight(lay, p) for p in ws if is_bias(p)]
        if c.kind[k] == "head" and ins and index[ins[0]] in c.passing:
            src = state_name("h", n.tags.get("t"), c.layers, None, c.layers)
        else:
            src = " ".join(_operand(lay, p) for p in ins)
        return " + ".join([" ".join(w + [src])] + b)
    letters = lay.gates.letters.get(k)
    if n.op == "getitem" and letters:
        src = n.parents[0].op
        text = (_SYMBOL.get(src, src) if src in ("sigmoid", "tanh") else "slice ") + \
            f"[{' '.join(letters)}]"
    else:
        text = dot.html(_SYMBOL.get(n.op, n.op), 20)
        if letters and len(letters) > 1:
            text += f" [{' '.join(letters)}]"
    ws = [_weight(lay, p) for p in n.parents if index[p] in c.params]
    return text + (" · " + " ".join(ws) if ws else "")


def _operand(lay: _Layout, p: Tensor) -> str:
    k = lay.c.graph.index[p]
    if k in lay.c.passing:
        return "h"
    return _name(lay, k) or "·"


def _node_line(lay: _Layout, k: int, nid: str) -> str:
    if layout.is_fold(nid):
        return dot.node(nid, _fold_attrs(lay, *lay.d.folds[nid]))
    c = lay.c
    n = c.graph.nodes[k]
    kind = c.kind[k]
    name = _name(lay, k)
    op = _op_text(lay, k)
    if kind == "x" or (kind == "init" and name):
        title = name or op
    else:
        title = f"{name} = {op}" if name else op
    root = k == c.graph.index[c.graph.root]
    if root and n.label:
        title = dot.html(n.label, 20) + " = " + ("Σₜ Lₜ" if kind == "sum" else op)
    role = n.tags.get("role")
    if kind in ("init", "x"):
        key = kind
    elif kind == "sum":
        key = "root" if root else "loss"
    elif name and k in lay.gates.name:
        key = "op"
    elif name and role in style.FILL:
        key = role
    elif name:
        key = "state"
    else:
        key = "op" if n.parents else "leaf"
    a = _box(title, n, lay.fl, key)
    if kind in ("x", "init"):
        a["shape"], a["style"] = "ellipse", "filled"
    if (k in lay.rows.row_of and name) or k in lay.gates.name:
        a["penwidth"] = 1.6
    return dot.node(nid, a)


def _fold_attrs(lay: _Layout, what: tuple, a: int, b: int) -> dict:
    def span(name: Callable[[int], str]) -> str:  # "x₃ … x₅", or "x₃" for one step
        return name(a) if a == b else f"{name(a)} … {name(b)}"

    if what[0] == "row":
        role, layer, d = what[1]
        # a = 0: the row's initial state h₀ is folded too; it has no ops
        steps = b - max(a, 1) + 1
        text = (span(lambda t: state_name(role, t, layer, d, lay.c.layers)) + "<br/>"
                f'<font point-size="9">every op of {steps} '
                f'step{"s" if steps != 1 else ""}</font>')
    elif what[0] == "x":
        text = span(lambda t: f"x{dot.sub(t)}")
    elif what[0] == "head":
        text = span(lambda t: f"y{dot.sub(t)}, L{dot.sub(t)}")
    else:
        text = "Σ L" if what[0] == "sum" else "…"
    return {"label": dot.label(text), "shape": "box", "style": "dashed,rounded",
            "color": "#999999", "fontcolor": "#555555"}


def _header(lay: _Layout, title: str | None, whose: str) -> list[str]:
    c = lay.c
    rows = [layout.title_row(title or f"every op of the graph, T = {c.T}", 16)]
    rows += layout.legend_rows(lay.edges.values(), _LEGEND)
    for letters in lay.gates.sets:  # "ifgo", "rzn": what the gates' letters mean
        meaning = ", ".join(f"<b>{g}</b> {ops_layout.GATE_MEANING[g]}" for g in letters)
        rows.append(layout.note_row(f"gates: {meaning}; σ[{letters[0]}]: gate "
                                    f"{letters[0]}'s slice of one sigmoid over several gates"))
    rows.append(layout.note_row(
        "<b>How to read the numbers.</b> A box shows what its op computes, the shape of its "
        "output and the norms of its data and of its gradient ∂L/∂(output). An edge shows the "
        "gradient that came back along it (its norm; a scalar's value, sign kept); the "
        "gradients along the edges out of a box add up, as vectors, to its gradient.",
        120, 12))
    rows += layout.width_key_row(lay.scale, "edge width ~ log ‖gradient along the edge‖:")
    rows += layout.weights_rows(
        "shared weights (named in the ops that use them), ‖grad‖ summed over all uses",
        sorted(c.params), c.graph.nodes, lay.heads, lay.fl)
    arrows = ("arrows point the way gradients flow" if lay.arrows == "gradient" else
              "arrows point forward; gradients flow against them")
    rows.append(layout.note_row(
        f"{arrows}; each layer's row: hₜ₋₁ → ops → hₜ on one line; gradients of {whose}"))
    return layout.heading(rows)
