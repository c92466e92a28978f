"""Reading the engine's graph: a walk over every node, the gradient flow, and the
contraction of the unrolled graph onto its key nodes (x_t, h_t, c_t, y_t, L_t, L).

Only public attributes of the engine's nodes are read: ``parents``, ``op``, ``label``,
``tags``, ``requires_grad``, ``data``, and a ``Flow``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..engine import Flow, Tensor, gradient_flow

NON_STATE_ROLES = ("x", "input", "y", "loss", "output")
INNER_ROLES = ("gate",)  # ops inside a cell (the nn cells tag their gates): not key nodes


@dataclass
class Graph:
    """Every node that leads to ``root``, parents before children, in a fixed order.

    ``children[k]`` lists ``(j, i)``: node j uses node k as its parent number i.
    """

    root: Tensor
    nodes: list[Tensor]
    index: dict[Tensor, int]
    children: list[list[tuple[int, int]]]


def walk(root: Tensor) -> Graph:
    """All nodes under root (leaves that need no grad included), parents first.

    An iterative depth-first search in parent order: deterministic and O(nodes + edges),
    fine for graphs thousands of levels deep.
    """
    nodes: list[Tensor] = []
    index: dict[Tensor, int] = {}
    seen = {root}
    stack = [(root, iter(root.parents))]
    while stack:
        node, it = stack[-1]
        for p in it:
            if p not in seen:
                seen.add(p)
                stack.append((p, iter(p.parents)))
                break
        else:
            stack.pop()
            index[node] = len(nodes)
            nodes.append(node)
    children: list[list[tuple[int, int]]] = [[] for _ in nodes]
    for j, node in enumerate(nodes):
        for i, p in enumerate(node.parents):
            children[index[p]].append((j, i))
    return Graph(root, nodes, index, children)


def norm(g: Any) -> float | None:
    """The 2-norm of a gradient (array or float), None when there is none."""
    if g is None:
        return None
    return float(np.sqrt(np.sum(np.square(np.asarray(g, dtype=np.float64)))))


def is_param(node: Tensor) -> bool:
    """A leaf that requires grad and is not tagged with a role: a trainable weight."""
    return not node.parents and node.requires_grad and "role" not in node.tags


_VIEWS = ("transpose", "reshape")


def view_source(node: Tensor) -> Tensor:
    """The tensor a chain of transposes/reshapes was taken from (node itself if none)."""
    while node.op in _VIEWS and len(node.parents) == 1:
        node = node.parents[0]
    return node


def head_params(graph: Graph) -> set[int]:
    """The weights of the head: parameters used by an op that makes a node tagged
    role="y" (see ``names.weight_name``)."""
    out = set()
    for k, node in enumerate(graph.nodes):
        if is_param(node) and any(graph.nodes[j].tags.get("role") == "y"
                                  for j, _ in graph.children[k]):
            out.add(k)
    return out


def is_bias(node: Tensor) -> bool:
    """A bias: named so, or any parameter with at most one dimension (weights are matrices)."""
    return "bias" in node.label.lower() or np.ndim(node.data) <= 1


# ---------------------------------------------------------------------------------------
# Gradient flow


class NoFlow:
    """Stands in for a Flow when no backward pass has run: no numbers anywhere."""

    def grad(self, node: Tensor) -> None:
        return None

    def edge(self, child: Tensor, i: int) -> None:
        return None


def get_flow(graph: Graph, flow: Any = None, loss_at: int | None = None) -> Any:
    """The Flow to draw.

    flow: a ``Flow`` to use as is; None reads what ``backward(record_flow=True)`` stored
    (or just the ``.grad`` values after a plain backward; nothing before any backward).
    loss_at: draw the flow of one step's loss L_t alone (the node tagged role="loss",
    t=loss_at); this runs ``gradient_flow`` and needs a graph kept with
    ``retain_graph=True``.
    """
    if loss_at is not None:
        if flow is not None:
            raise ValueError("draw: pass either flow= or loss_at=, not both")
        node = find_loss(graph, loss_at)
        try:
            return gradient_flow(node, np.ones_like(np.asarray(node.data)))
        except RuntimeError as e:
            raise RuntimeError(
                f"draw: loss_at={loss_at} needs a second backward pass through the graph, "
                "but its saved arrays were freed; call backward(retain_graph=True, "
                f"record_flow=True) before drawing ({e})"
            ) from None
    if flow is not None:
        return flow
    root = graph.root
    if not root.requires_grad:
        return NoFlow()
    return Flow.recorded(root)


def find_loss(graph: Graph, t: int) -> Tensor:
    """The last node tagged role="loss" at step t (the per-step loss L_t)."""
    found = None
    for node in graph.nodes:
        if node.tags.get("role") == "loss" and node.tags.get("t") == t:
            found = node
    if found is None:
        steps = sorted({n.tags["t"] for n in graph.nodes
                        if n.tags.get("role") == "loss" and isinstance(n.tags.get("t"), int)})
        raise ValueError(
            f"draw: no node tagged role='loss', t={t} (loss steps in this graph: "
            f"{steps or 'none'}); tag each step's loss with tags(t=t, role='loss')"
        )
    return found


# ---------------------------------------------------------------------------------------
# Contraction onto key nodes (the cells view)


@dataclass
class Slot:
    """One drawn node of the cells view: all engine nodes with the same
    (role, t, layer, direction), drawn as the last of them (``rep``)."""

    role: str
    t: int | None
    layer: int | None
    direction: str | None
    rep: int  # index of the representative node in Graph.nodes


@dataclass
class CEdge:
    """A contracted edge src -> dst; ``flow`` is the summed gradient that went back
    along the first hops from src towards dst (None when none was recorded)."""

    src: int
    dst: int
    flow: Any = None
    weights: set[int] = field(default_factory=set)  # parameter node indices


@dataclass
class Cells:
    graph: Graph
    slots: list[Slot]
    slot_of: list[int]  # per node: slot index, or -1 for a non-key node
    edges: list[CEdge]
    params: list[int]  # parameter nodes in walk order
    shared_hops: bool  # some hop fed several key nodes (e.g. gates -> c_t and h_t)


def _slot_key(node: Tensor, is_root: bool) -> tuple | None:
    tags = node.tags
    role = tags.get("role")
    # "input" (a layer's input: both directions below, joined) and "output" (the stacked
    # top layer) are pass-through: h^(l-1) and h^(l-1)' feed h^(l) directly
    if role is None or role in ("output", "input") or role in INNER_ROLES:
        return ("root", None, None, None) if is_root else None
    t, layer = tags.get("t"), tags.get("layer")
    if role in ("x", "y", "loss"):  # one x_t, y_t, L_t per step, whichever direction
        return (str(role), t if isinstance(t, int) else None, None, None)
    return (str(role), t if isinstance(t, int) else None,
            layer if isinstance(layer, int) else None, tags.get("direction"))


def contract(graph: Graph, flow: Any) -> Cells:
    """Contract the graph onto key nodes: an edge p -> c for every path from p to c
    through non-key nodes only. The flow of each first hop out of p is given to one
    contracted edge: to the only key node the hop leads to, or, when it leads to
    several (LSTM gates feed c_t and h_t), to the one ``_pick`` chooses; so the flows
    leaving p still sum to dL/dp. A layer's input (role "input") feeding both directions
    above gets an edge to each, the flow on the picked one."""
    nodes, n = graph.nodes, len(graph.nodes)
    root_i = graph.index[graph.root]
    slots: list[Slot] = []
    slot_ids: dict[tuple, int] = {}
    slot_of = [-1] * n
    for k, node in enumerate(nodes):
        key = _slot_key(node, k == root_i)
        if key is None:
            continue
        s = slot_ids.get(key)
        if s is None:
            s = slot_ids[key] = len(slots)
            slots.append(Slot(key[0], key[1], key[2], key[3], k))
        else:
            slots[s].rep = k  # nodes come parents first: the last one wins
        slot_of[k] = s
    params = [k for k, node in enumerate(nodes) if slot_of[k] < 0 and is_param(node)]
    is_p = set(params)

    def param_parents(k: int) -> set[int]:
        # W.T or W.reshape(...) in a cell is W itself for naming: look through the view
        return {graph.index[view_source(p)] for p in nodes[k].parents} & is_p

    # weights used by any op of a slot (y_t = head(output[t]): the getitem enters the slot,
    # the head's linear inside it uses W_hy) are named on every edge into the slot
    inside: dict[int, set[int]] = {}
    for k in range(n):
        if slot_of[k] >= 0:
            inside.setdefault(slot_of[k], set()).update(param_parents(k))

    # downstream: for non-key nodes, the key slots first reached and the weights met
    # downstream: for non-key nodes, the key slots first reached and, per slot, the
    # weights met on the way (a layer's input feeds h^(l) through W_xh^(l) and h^(l)'
    # through W_xh^(l)': each edge names its own)
    dst: list[frozenset | None] = [None] * n
    wts: list[dict[int, set[int]] | None] = [None] * n
    for k in range(n - 1, -1, -1):
        if slot_of[k] >= 0 or k in is_p:
            continue
        own = param_parents(k)
        w: dict[int, set[int]] = {}
        for j, _ in graph.children[k]:
            if slot_of[j] >= 0:
                w.setdefault(slot_of[j], set()).update(own)
            else:
                for target, ws in wts[j].items():  # type: ignore[union-attr]
                    w.setdefault(target, set()).update(own | ws)
        dst[k], wts[k] = frozenset(w), w

    edges: dict[tuple[int, int], CEdge] = {}
    shared = False
    for k in range(n):
        sp = slot_of[k]
        if sp < 0:
            continue
        for j, i in graph.children[k]:
            sj = slot_of[j]
            if sj >= 0:
                target, w = sj, inside.get(sj, set())
            else:
                targets = dst[j]
                if not targets:
                    continue
                target = _pick(slots, sp, targets)
                # a hop feeding several nodes of one step (gates -> c_t and h_t); the
                # stacked output feeding every y_t is sliced per step, so it is not one
                same = [u for u in targets if slots[u].t == slots[target].t]
                if len(same) > 1:
                    shared = True
                    if nodes[j].tags.get("role") == "input":
                        # a layer's input feeds both directions above: draw both edges,
                        # the gradient (not separable per edge) on the picked one
                        for u in same:
                            if u != target and (sp, u) not in edges:
                                edges[(sp, u)] = CEdge(sp, u)
                            if u != target:
                                edges[(sp, u)].weights |= wts[j][u] | inside.get(u, set())
                w = wts[j][target] | inside.get(target, set())  # type: ignore[index]
            if target == sp:
                continue
            e = edges.get((sp, target))
            if e is None:
                e = edges[(sp, target)] = CEdge(sp, target)
            e.weights |= w
            g = flow.edge(nodes[j], i)
            if g is not None:
                g = np.asarray(g, dtype=np.float64)
                e.flow = g if e.flow is None else e.flow + g
    order = sorted(edges.values(), key=lambda e: (slots[e.src].rep, slots[e.dst].rep))
    return Cells(graph, slots, slot_of, order, params, shared)


def _pick(slots: list[Slot], sp: int, targets: frozenset) -> int:
    """The key node that gets the flow of a hop leading to several: the nearest step;
    then the same row (role, layer, direction: h_t-1 -> h_t, not c_t, so temporal edges
    stay flat); else the first made (x_t -> c_t, which the gates feed before h_t)."""
    if len(targets) == 1:
        return next(iter(targets))
    src = slots[sp]

    def rank(s: int) -> tuple:
        u = slots[s]
        dt = abs(u.t - src.t) if (src.t is not None and u.t is not None) else 10**9
        same_row = (u.role, u.layer, u.direction) == (src.role, src.layer, src.direction)
        return (dt, not same_row, u.rep)

    return min(targets, key=rank)
