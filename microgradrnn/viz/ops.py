"""The ops view: every node of the graph with its op, label and shape, and the gradient
that flowed along every edge. Tagged graphs get one cluster per step (and per layer
inside it); an untagged graph of Values draws like micrograd's picture."""

from __future__ import annotations

from typing import Any

from ..engine import Tensor
from . import dot, style
from .graph import Graph, get_flow, is_param, norm, walk
from .names import state_name, weight_name
from .picture import Picture, make


def draw_ops(
    root: Tensor,
    *,
    flow: Any = None,
    loss_at: int | None = None,
    arrows: str = "forward",
    title: str | None = None,
) -> Picture:
    """The ops view of the graph under ``root``.

    flow, loss_at, arrows, title: as for ``draw_cells``. Scalars (``Value``) show data
    and grad as micrograd's ``draw_dot`` does; tensors show their shape and the norms
    of data and grad. Weights used at several time steps are not drawn as nodes: they
    are named in the nodes that use them.
    """
    if arrows not in ("forward", "gradient"):
        raise ValueError(f"draw_ops: arrows must be 'forward' or 'gradient', got {arrows!r}")
    graph = walk(root)
    fl = get_flow(graph, flow, loss_at)
    return _build(graph, fl, arrows, title, loss_at)


def _steps_of_users(graph: Graph) -> dict[int, set]:
    out: dict[int, set] = {}
    for k, node in enumerate(graph.nodes):
        if is_param(node):
            out[k] = {graph.nodes[j].tags.get("t") for j, _ in graph.children[k]}
    return out


def _build(graph: Graph, fl: Any, arrows: str, title: str | None,
           loss_at: int | None) -> Picture:
    nodes = graph.nodes
    tagged = any("t" in n.tags for n in nodes)
    users = _steps_of_users(graph)
    hidden = {k for k, ts in users.items() if tagged and len(ts) > 1}
    layers = len({n.tags.get("layer") for n in nodes if n.tags.get("layer") is not None})
    scalar = all(isinstance(n.data, float) for n in nodes)
    lines = [f"rankdir={'BT' if tagged else 'LR'}", "newrank=true",
             f"fontname={dot.quote(style.FONT)}",
             f"node [fontname={dot.quote(style.FONT)}, fontsize=11]",
             f"edge [fontname={dot.quote(style.FONT)}, fontsize=9, arrowsize=0.7]"]
    if title or tagged:
        T = max((n.tags.get("t") or 0 for n in nodes), default=0)
        head = title or f"every op of the graph, T = {T}"
        note = ("gradients of L" + dot.sub(loss_at) + " only") if loss_at is not None else \
            "gradients of the root"
        lines += [f'label=<<font point-size="16"><b>{dot.html(head, 120)}</b></font><br/>'
                  f'<font point-size="10" color="{style.NOTE}">edge width ~ log ‖gradient '
                  f"along the edge‖, number = that norm; {note}; shared weights are named "
                  "in the ops that use them</font>>", "labelloc=t", "labeljust=l"]
    flows = [norm(fl.edge(n, i)) for n in nodes for i in range(len(n.parents))]
    largest = max((f for f in flows if f), default=0.0)

    stmts: dict[tuple, list[str]] = {}
    for k, node in enumerate(nodes):
        if k in hidden:
            continue
        key = (node.tags.get("t"), node.tags.get("layer"), node.tags.get("direction"))
        if not tagged or key[0] is None:
            key = (None, None, None)
        nid = f"n{k}"
        if scalar and not tagged:
            stmts.setdefault(key, []).extend(_micrograd(nid, node, fl))
        else:
            stmts.setdefault(key, []).append(
                dot.node(nid, _tensor_attrs(node, graph, hidden, fl, layers)))
    steps = sorted({k[0] for k in stmts if k[0] is not None})
    anchors = []
    for t in steps:
        lines.append(f"subgraph cluster_t{t} {{")
        lines += [f"\tlabel=<<b>t = {t}</b>>", "\tlabeljust=c", "\tlabelloc=b",
                  '\tstyle="rounded,filled"', f'\tfillcolor="{style.CLUSTER_FILL}"',
                  f'\tcolor="{style.CLUSTER_PEN}"']
        keys = sorted((k for k in stmts if k[0] == t), key=lambda k: (k[1] or 0, str(k[2])))
        for key in keys:
            body = stmts[key]
            if key[1] is None:
                lines += ["\t" + x for x in body]
                continue
            text = f"layer {key[1]}" + (" (backward)" if key[2] == "bwd" else "")
            lines.append(f"\tsubgraph cluster_t{t}_l{key[1]}_{key[2] or ''} {{")
            lines += [f"\t\tlabel={dot.quote(text)}", "\t\tlabeljust=r", "\t\tlabelloc=b",
                      '\t\tstyle="rounded,dashed"', f'\t\tcolor="{style.CLUSTER_PEN}"',
                      "\t\tfontsize=9"]
            lines += ["\t\t" + x for x in body]
            lines.append("\t}")
        lines.append("}")
        ids = [f"n{k}" for k, n in enumerate(nodes) if n.tags.get("t") == t and k not in hidden]
        xs = [i for i in ids if nodes[int(i[1:])].tags.get("role") in ("x", "h", "c")]
        anchors.append((xs or ids)[0])
    lines += stmts.get((None, None, None), [])
    if len(anchors) > 1:
        lines.append("order [style=invis, shape=point, width=0, height=0, ordering=out]")
        lines += [f"order -> {a} [style=invis]" for a in anchors]
    # rows: every state of one layer on one rank, so dL/dh flows back along a line
    rows: dict[tuple, list[str]] = {}
    for k, node in enumerate(nodes):
        role = node.tags.get("role")
        if role and role not in ("y", "loss", "input", "output") and tagged:
            rows.setdefault((role, node.tags.get("layer"), node.tags.get("direction")),
                            []).append(f"n{k}")
    for ids in rows.values():
        if len(ids) > 1:
            lines.append(dot.same_rank(ids))
    for j, node in enumerate(nodes):
        for i, p in enumerate(node.parents):
            k = graph.index[p]
            if k in hidden:
                continue
            f = norm(fl.edge(node, i))
            cls = _edge_class(p, node)
            color = style.COLOR[cls]
            a: dict[str, Any] = {"color": color, "penwidth": style.pen_width(f, largest)}
            if f is not None:
                a["label"] = dot.label(f'<font color="{color}">{dot.num(f)}</font>')
            if arrows == "gradient":
                a["dir"] = "back"
            tail = f"n{k}" if not (scalar and not tagged) else f"n{k}"
            head = f"n{j}_op" if (scalar and not tagged) else f"n{j}"
            lines.append(dot.edge(tail, head, a))
    return make("ops", lines)


def _edge_class(p: Tensor, c: Tensor) -> str:
    tp, tc = p.tags.get("t"), c.tags.get("t")
    if p.tags.get("role") == "x":
        return style.INPUT
    if tp is not None and tc is not None and tp != tc:
        return style.TEMPORAL
    if p.tags.get("layer") != c.tags.get("layer") or c.tags.get("role") in ("y", "loss"):
        return style.SPATIAL
    return style.OTHER


_OPS = {"add": "+", "mul": "*", "sub": "-", "div": "/", "neg": "-", "tanh": "tanh",
        "matmul": "@"}


def _micrograd(nid: str, node: Tensor, fl: Any) -> list[str]:
    """A Value as micrograd's draw_dot draws it: a record { label | data | grad } and a
    small node for the op that made it."""
    g = fl.grad(node)
    cells = "".join(f"<td>{c}</td>" for c in (
        f"<b>{dot.html(node.label, 30)}</b>" if node.label else "",
        f"data {dot.scalar(node.data)}", f"grad {dot.scalar(g if g is not None else 0.0)}"))
    table = (f'<table border="0" cellborder="1" cellspacing="0" cellpadding="4">'
             f"<tr>{cells}</tr></table>")
    out = [dot.node(nid, {"label": dot.label(table), "shape": "plaintext"})]
    if node.op:
        out.append(dot.node(nid + "_op", {"label": _OPS.get(node.op, node.op), "shape": "ellipse",
                                          "fontsize": 10, "margin": "0.03"}))
        out.append(f"{nid}_op -> {nid}")
    return out


def _tensor_attrs(node: Tensor, graph: Graph, hidden: set[int], fl: Any,
                  layers: int) -> dict:
    role = node.tags.get("role")
    title = dot.html(node.op or ("param" if is_param(node) else "leaf"), 30)
    if role and role != "output":
        title = state_name(role, node.tags.get("t"), node.tags.get("layer"),
                           node.tags.get("direction"), layers) + " = " + title
    ws = [weight_name(p.label) for p in node.parents if graph.index[p] in hidden]
    if ws:
        title += " · " + " ".join(ws)
    body = f"<b>{title}</b>"
    if node.label:
        body += f"<br/>{dot.html(node.label, 30)}"
    shape = tuple(getattr(node.data, "shape", ()))
    g = norm(fl.grad(node))
    info = f"{shape}  ‖data‖ {dot.num(norm(node.data))}"
    if g is not None:
        info += f"  ‖grad‖ {dot.num(g)}"
    body += f'<br/><font point-size="8" color="#444444">{info}</font>'
    key = role if role in style.FILL else ("state" if role else
                                             ("leaf" if not node.parents else "op"))
    fill, pen = style.FILL[key]
    return {"label": dot.label(body), "shape": "box", "style": "rounded,filled",
            "fillcolor": fill, "color": pen}
