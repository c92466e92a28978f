"""The cells view: one node per x_t, h_t^l (c_t^l...), y_t, L_t and L; shared weights
named on the edges; time left to right, depth bottom to top."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from ..engine import Tensor
from . import dot, style
from .graph import (
    NON_STATE_ROLES,
    Cells,
    Slot,
    contract,
    get_flow,
    head_params,
    is_bias,
    norm,
    walk,
)
from .names import state_name, weight_name
from .picture import Picture, make


@dataclass
class _Drawn:
    """A drawn edge: one or more contracted edges between the same two drawn nodes."""

    src: str
    dst: str
    cls: str
    flows: list[float | None] = field(default_factory=list)
    weights: list[int] = field(default_factory=list)


def _row_order(s: Slot) -> tuple:
    layer = s.layer or 0
    d = 1 if s.direction == "bwd" else 0
    if s.role == "x":
        return (0, 0, 0, 0, "")
    if s.role == "input":
        return (1, layer, 0, 0, "")
    if s.role == "y":
        return (3, 0, 0, 0, "")
    if s.role == "loss":
        return (4, 0, 0, 0, "")
    if s.role == "root":
        return (5, 0, 0, 0, "")
    if s.layer is None:
        return (2, 0, 0, 0, s.role)
    return (1, layer, 1 + d, 1 if s.role == "h" else 0, s.role)


def _is_bwd(row: tuple) -> bool:
    """A row of the backward direction of a bidirectional layer (see ``_row_order``)."""
    return row[0] == 1 and row[2] == 2


def _columns(steps: list[int], has_init: bool, fold: bool | None, keep: int,
             fold_above: int, window: tuple[int, int] | None,
             has_rinit: bool = False, who: str = "draw_cells") -> list[tuple[str, int, int]]:
    """Columns left to right as (kind, first step, last step): ("step", t, t),
    ("init", 0, 0), ("fold", a, b), and last ("rinit", T+1, T+1), the initial state of
    the backward direction of a bidirectional layer (it starts at the right end)."""
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


def _edge_class(a: Slot, b: Slot) -> str:
    if a.role == "x":
        return style.INPUT
    states = a.role not in NON_STATE_ROLES + ("root",) and b.role not in NON_STATE_ROLES + (
        "root",)
    if a.t is not None and b.t is not None and a.t != b.t:
        if states and a.layer == b.layer and a.direction == b.direction \
                and abs(a.t - b.t) == 1:
            return style.CELL if (a.role == b.role and a.role != "h") else style.TEMPORAL
        return style.OTHER
    return style.SPATIAL


def draw_cells(
    root: Tensor,
    *,
    flow: Any = None,
    loss_at: int | None = None,
    arrows: str = "forward",
    fold: bool | None = None,
    keep: int = 3,
    fold_above: int = 12,
    window: tuple[int, int] | None = None,
    title: str | None = None,
) -> Picture:
    """The cells view of the graph under ``root`` (usually the total loss L).

    root: the node to draw from. flow: a ``Flow`` to draw; by default what
    ``backward(record_flow=True)`` recorded. loss_at: draw the gradient of the loss of
    step t alone (needs ``backward(retain_graph=True)``). arrows: "forward" (the
    computation) or "gradient" (arrows point the way gradient flows). fold: True/False
    forces folding on/off; by default sequences longer than ``fold_above`` steps keep
    the first and last ``keep`` steps and fold the middle into one dashed node per row.
    window: (a, b) draws steps a..b in full and folds the rest. title: the heading.
    Returns a ``Picture`` (a graphviz.Digraph): ``.source``, ``.render(path)``.
    """
    if arrows not in ("forward", "gradient"):
        raise ValueError(f"draw_cells: arrows must be 'forward' or 'gradient', got {arrows!r}")
    graph = walk(root)
    fl = get_flow(graph, flow, loss_at)
    cells = contract(graph, fl)
    return _build(cells, fl, arrows, fold, keep, fold_above, window, title, loss_at)


def _build(cells: Cells, fl: Any, arrows: str, fold: bool | None, keep: int,
           fold_above: int, window: tuple[int, int] | None, title: str | None,
           loss_at: int | None) -> Picture:
    graph, slots = cells.graph, cells.slots
    nodes = graph.nodes
    layers = len({s.layer for s in slots if s.layer is not None})
    steps = sorted({s.t for s in slots if s.t is not None and s.t >= 1})
    # the backward direction starts at the right: draw its t = 0 state at t = T + 1
    inits = {k for k, s in enumerate(slots) if s.t == 0}
    if steps:
        slots = [replace(s, t=steps[-1] + 1) if k in inits and s.direction == "bwd" else s
                 for k, s in enumerate(slots)]
    has_init = any(s.t == 0 for s in slots)
    has_rinit = len(inits) > sum(s.t == 0 for s in slots)
    cols = _columns(steps, has_init, fold, keep, fold_above, window, has_rinit)
    col_of_t: dict[int, int] = {}
    for c, (_, a, b) in enumerate(cols):
        for t in range(a, b + 1):
            col_of_t[t] = c

    rows = sorted({_row_order(s) for s in slots})
    row_ix = {r: k for k, r in enumerate(rows)}
    bottom = 0

    # drawn node of every slot: its own node, or the fold node of its row
    drawn: list[str] = []
    members: dict[str, list[int]] = {}  # fold node -> slots
    for k, s in enumerate(slots):
        c = col_of_t.get(s.t) if s.t is not None else None
        if c is not None and cols[c][0] == "fold":
            nid = f"fold{c}_{row_ix[_row_order(s)]}"
            members.setdefault(nid, []).append(k)
        else:
            nid = f"n{s.rep}"
        drawn.append(nid)

    # edges, merged per drawn pair
    edges: dict[tuple[str, str], _Drawn] = {}
    for e in cells.edges:
        a, b = drawn[e.src], drawn[e.dst]
        if a == b or (a.startswith("fold") and b.startswith("fold")
                      and a.split("_")[0] == b.split("_")[0]):
            continue
        d = edges.get((a, b))
        if d is None:
            d = edges[(a, b)] = _Drawn(a, b, _edge_class(slots[e.src], slots[e.dst]))
        d.flows.append(norm(e.flow))
        for w in sorted(e.weights):
            if w not in d.weights and not is_bias(nodes[w]):
                d.weights.append(w)
    flows = [f for d in edges.values() for f in d.flows if f]
    largest = max(flows) if flows else 0.0

    heads = head_params(graph)
    lines = [
        "rankdir=BT", "newrank=true", "compound=true", "nodesep=0.5", "ranksep=0.45",
        f"fontname={dot.quote(style.FONT)}",
        f"node [fontname={dot.quote(style.FONT)}, fontsize=13, penwidth=1.2]",
        f"edge [fontname={dot.quote(style.FONT)}, fontsize=9, arrowsize=0.7]",
    ]
    lines += _header(cells, fl, edges, heads, title, steps, layers, arrows, loss_at)

    # nodes, in clusters by column
    col_nodes: dict[int, list[tuple[tuple, str]]] = {c: [] for c in range(len(cols))}
    outside: list[str] = []
    emitted: set[str] = set()
    node_lines: dict[str, str] = {}
    for k, s in enumerate(slots):
        nid = drawn[k]
        if nid in emitted:
            continue
        emitted.add(nid)
        if nid.startswith("fold"):
            node_lines[nid] = dot.node(nid, _fold_attrs([slots[m] for m in members[nid]],
                                                          layers))
        else:
            node_lines[nid] = dot.node(nid, _node_attrs(s, nodes[s.rep], fl, layers,
                                                        k in inits))
        c = col_of_t.get(s.t) if s.t is not None else None
        if c is None:
            outside.append(nid)
        else:
            col_nodes[c].append((_row_order(s), nid))

    order_edges = []
    chains = []
    for c, (kind, a, b) in enumerate(cols):
        members_c = sorted(col_nodes[c])
        sub = [f"subgraph cluster_{c} {{"]
        sub += ["\t" + x for x in _cluster_attrs(kind, a, b)]
        for r, nid in members_c:
            g = f"g{c}b" if _is_bwd(r) else f"g{c}"
            sub.append("\t" + node_lines[nid] + f" [group={g}]")
        anchor = members_c[0][1] if members_c else None
        if not members_c or row_ix[members_c[0][0]] != bottom:
            anchor = f"anchor{c}"
            sub.append(f"\t{anchor} [style=invis, shape=point, width=0, height=0]")
            col_nodes.setdefault(-1, []).append((rows[bottom], anchor))
        ids = [nid for _, nid in members_c]
        if anchor not in ids:
            ids = [anchor] + ids
        if any(_is_bwd(r) for r, _ in members_c) and any(
                not _is_bwd(r) and r[0] == 1 for r, _ in members_c):
            # two vertical lines: the forward chain x -> h^(1) -> h^(2) -> y -> L on the
            # left runs straight past the backward direction's nodes on the right. An
            # invisible point holds each row's place in the other line.
            lines_ = {False: [] if anchor == ids[0] and members_c else [anchor], True: []}
            state_rows = [r for r, _ in members_c if r[0] == 1]
            for r, nid in members_c:
                bwd = _is_bwd(r)
                lines_[bwd].append(nid)
                if r[0] == 1 and (bwd or min(state_rows) <= r):
                    ph = f"p{c}_{row_ix[r]}"
                    sub.append(f"\t{ph} [style=invis, shape=point, width=0, height=0, "
                               f"group=g{c}{'' if bwd else 'b'}]")
                    col_nodes.setdefault(-1, []).append((r, ph))
                    lines_[not bwd].append(ph)
                    left, right = (ph, nid) if bwd else (nid, ph)
                    chains.append(f"{left} -> {right} [style=invis]")
            for ids_ in lines_.values():
                chains += [f"{p} -> {q} [style=invis]"
                           for p, q in zip(ids_, ids_[1:], strict=False)]
        else:
            chains += [f"{p} -> {q} [style=invis]" for p, q in zip(ids, ids[1:], strict=False)]
        sub.append("}")
        lines += sub
        order_edges.append(anchor)
    for nid in outside:
        lines.append(node_lines[nid])

    # same rank per row
    by_row: dict[tuple, list[str]] = {}
    for c in list(col_nodes):
        for r, nid in col_nodes[c]:
            by_row.setdefault(r, []).append(nid)
    for r in rows:
        ids = by_row.get(r, [])
        if len(ids) > 1:
            lines.append(dot.same_rank(ids))

    # column order: an invisible root with ordering=out
    if len(order_edges) > 1:
        lines.append("order [style=invis, shape=point, width=0, height=0, ordering=out]")
        lines += [f"order -> {a} [style=invis]" for a in order_edges]
    lines += chains

    col_of_node = {nid: c for c in col_nodes for _, nid in col_nodes[c]}
    row_of_node = {nid: r for c in col_nodes for r, nid in col_nodes[c]}
    for d in edges.values():
        lines.append(_edge_line(d, nodes, heads, largest, arrows, col_of_node, row_of_node))
    return make("cells", lines)


def _header(cells: Cells, fl: Any, edges: dict, heads: set[int], title: str | None,
            steps: list[int], layers: int, arrows: str, loss_at: int | None) -> list[str]:
    nodes = cells.graph.nodes
    if title is None:
        T = steps[-1] if steps else 0
        title = (f"{layers}-layer recurrent network unrolled over T = {T}" if T
                 else "computation graph")
    rows = [f'<tr><td align="left"><font point-size="18"><b>{dot.html(title, 120)}'
            "</b></font></td></tr>"]
    present = {d.cls for d in edges.values()}
    no_grad_input = any(d.cls == style.INPUT and not any(d.flows) for d in edges.values())
    for cls in (style.TEMPORAL, style.SPATIAL, style.INPUT, style.CELL, style.OTHER):
        if cls in present:
            text = style.LEGEND[cls]
            if cls == style.INPUT and no_grad_input:
                text += " (no gradient needed)"
            rows.append(f'<tr><td align="left">{style.swatch(style.COLOR[cls])} '
                        f"{text}</td></tr>")
    ws = [w for w in cells.params if not is_bias(nodes[w])]
    if ws:
        parts = []
        for w in ws:
            g = norm(fl.grad(nodes[w]))
            parts.append(f"{weight_name(nodes[w].label, w in heads)} {dot.num(g)}"
                         if g is not None else weight_name(nodes[w].label, w in heads))
        rows.append(f'<tr><td align="left"><font color="{style.WEIGHTS}">'
                    "shared weights, ‖grad‖ summed over all uses:  "
                    + "   ".join(parts) + "</font></td></tr>")
    notes = []
    if arrows == "gradient":
        notes.append("arrows point the way gradients flow (backward)")
    else:
        notes.append("arrows point forward (computation); gradients flow against them")
    if any(f for d in edges.values() for f in d.flows):
        notes.append("edge width ~ log ‖gradient flowing back along the edge‖, "
                     "number = that norm")
    notes.append(f"gradients of L{dot.sub(loss_at)} only" if loss_at is not None
                 else "gradients of the root L")
    more = []
    if cells.shared_hops:
        more.append("where one path feeds several nodes of a step (gates → c and h; a layer's "
                    "input → both directions above), its gradient is drawn on one edge: to "
                    "the same row (hₜ₋₁ → hₜ), else to the lowest (xₜ → cₜ); unnumbered edges "
                    "share a numbered one's gradient")
    if any(s.direction == "bwd" for s in cells.slots):
        more.append("′ marks the backward direction")
    for text in ["; ".join(notes)] + more:
        rows.append(f'<tr><td align="left"><font point-size="10" color="{style.NOTE}">'
                    f"{text}</font></td></tr>")
    table = '<table border="0" cellborder="0" cellspacing="1">' + "".join(rows) + "</table>"
    return [f"label={dot.label(table).text}", "labelloc=t", "labeljust=l"]


def _cluster_attrs(kind: str, a: int, b: int) -> list[str]:
    if kind in ("init", "rinit"):
        text = "<b>t = 0</b>" if kind == "init" else (
            f'<b>t = {a}</b><br/><font point-size="9">reverse start</font>')
        return [f"label=<{text}>", "labeljust=c", "labelloc=b", 'style="dashed,rounded"',
                'color="#AAAAAA"']
    if kind == "fold":
        n = b - a + 1
        text = f"t = {a} … {b}" if n > 1 else f"t = {a}"
        return [f'label=<<b>{text}</b><br/><font point-size="9">{n} step'
                f'{"s" if n > 1 else ""} folded</font>>', "labeljust=c",
                # at the foot of the column (rankdir=BT turns t into the bottom): the
                # edge from the fold column up to L then does not run through the label
                "labelloc=t", 'style="dashed,rounded"', 'color="#AAAAAA"']
    return [f"label=<<b>t = {a}</b>>", "labeljust=c", "labelloc=b",
            'style="rounded,filled"',
            f'fillcolor="{style.CLUSTER_FILL}"', f'color="{style.CLUSTER_PEN}"']


def _fill_key(s: Slot, init: bool) -> str:
    if init:
        return "init"
    if s.role in style.FILL:
        return s.role
    return "state"


def _node_attrs(s: Slot, node: Tensor, fl: Any, layers: int, init: bool) -> dict:
    fill, pen = style.FILL[_fill_key(s, init)]
    if s.role == "root":
        name = dot.html(node.label or "L", 24)
        body = f"<b>{name}</b>"
    else:
        body = state_name(s.role, s.t, s.layer, s.direction, layers)
        body = body if init or s.role == "x" else f"<b>{body}</b>"
    g = norm(fl.grad(node))
    if g is not None and s.role not in ("root", "loss"):
        body += f'<br/><font point-size="9" color="#444444">‖grad‖ {dot.num(g)}</font>'
    shape = "ellipse" if s.role == "x" or init else "box"
    a = {"label": dot.label(body), "shape": shape, "style": "rounded,filled" if
         shape == "box" else "filled", "fillcolor": fill, "color": pen,
         "tooltip": f"{node.op or 'leaf'} {s.role} t={s.t} layer={s.layer} {node.label}"}
    if s.role == "root":
        a["penwidth"] = 2.0
        a["fontsize"] = 15
    return a


def _fold_attrs(members: list[Slot], layers: int) -> dict:
    first = min(members, key=lambda s: s.t)
    last = max(members, key=lambda s: s.t)
    if first.role in ("x", "y", "input", "loss") or first.t == last.t:
        a = state_name(first.role, first.t, first.layer, first.direction, layers)
        b = state_name(last.role, last.t, last.layer, last.direction, layers)
        body = a if a == b else f"{a} … {b}"
    else:
        body = "…"
    return {"label": dot.label(body), "shape": "box", "style": "dashed,rounded",
            "color": "#999999", "fontcolor": "#555555"}


def _edge_line(d: _Drawn, nodes: list, heads: set[int], largest: float, arrows: str,
               col_of: dict[str, int], row_of: dict[str, tuple]) -> str:
    color = style.COLOR[d.cls]
    single = len(d.flows) == 1
    f = d.flows[0] if single else max((x for x in d.flows if x), default=None)
    names = " ".join(weight_name(nodes[w].label, w in heads) for w in d.weights)
    text = names
    if single and f is not None:
        text += ("  " if text else "") + dot.num(f)
    folded = d.src.startswith("fold") or d.dst.startswith("fold")
    a: dict[str, Any] = {"color": color, "penwidth": style.pen_width(f, largest)}
    tail, head = d.src, d.dst
    back = arrows == "gradient"
    ct, ch = col_of.get(tail), col_of.get(head)
    if ct is not None and ch is not None and ct > ch:  # a right-to-left edge (bwd layer)
        tail, head, back = head, tail, not back
    flat = row_of.get(tail) is not None and row_of.get(tail) == row_of.get(head)
    if text:
        # a flat edge's label goes below its right end (headlabel): a plain label on a
        # flat edge makes dot bend it into an S around a label node
        a["headlabel" if flat else "label"] = dot.label(f'<font color="{color}">{text}</font>')
        if flat:
            a.update(labelangle=-18, labeldistance=4.5, labelfontsize=9)
    if folded:
        a["style"] = "dashed"
    if back:
        a["dir"] = "back"
    if flat:
        a["tailport"], a["headport"] = "e", "w"
    return dot.edge(tail, head, a)
