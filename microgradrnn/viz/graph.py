"""Reading the engine's graph: a walk over every node, the gradient flow, and the
contraction of the unrolled graph onto its key nodes (x_t, h_t, c_t, y_t, L_t, L).

Only public attributes of the engine's nodes are read: ``parents``, ``op``, ``label``,
``tags``, ``requires_grad``, ``data``, and a ``Flow``.
"""

from __future__ import annotations

from collections.abc import Collection
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
    slots, slot_of = _key_slots(graph)
    params = [k for k, node in enumerate(graph.nodes) if slot_of[k] < 0 and is_param(node)]
    inside = _weights_inside(graph, slot_of, set(params))
    reach = _reach(graph, slot_of, set(params), inside)
    edges, shared = _contracted_edges(graph, flow, slots, slot_of, inside, reach)
    order = sorted(edges.values(), key=lambda e: (slots[e.src].rep, slots[e.dst].rep))
    return Cells(graph, slots, slot_of, order, params, shared)


def _key_slots(graph: Graph) -> tuple[list[Slot], list[int]]:
    """Which engine nodes are drawn, and as which node: the key nodes grouped by
    (role, t, layer, direction) (see ``_slot_key``), each group one ``Slot``. Also, per
    node, its slot's index (-1 for a non-key node)."""
    root_i = graph.index[graph.root]
    slots: list[Slot] = []
    slot_ids: dict[tuple, int] = {}
    slot_of = [-1] * len(graph.nodes)
    for k, node in enumerate(graph.nodes):
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
    return slots, slot_of


def _param_parents(graph: Graph, k: int, params: set[int]) -> set[int]:
    """The weights node k reads. W.T or W.reshape(...) in a cell is W itself for naming,
    so this looks through views."""
    return {graph.index[view_source(p)] for p in graph.nodes[k].parents} & params


def _weights_inside(graph: Graph, slot_of: list[int], params: set[int]) -> dict[int, set[int]]:
    """Per slot, the weights read by any of its nodes. They are named on every edge into
    the slot: y_t = head(output[t]) enters the slot at the getitem, and the head's linear
    inside the slot reads W_hy."""
    inside: dict[int, set[int]] = {}
    for k, s in enumerate(slot_of):
        if s >= 0:
            inside.setdefault(s, set()).update(_param_parents(graph, k, params))
    return inside


def _reach(graph: Graph, slot_of: list[int], params: set[int],
           inside: dict[int, set[int]]) -> list[dict[int, set[int]] | None]:
    """Per non-key node (None for key nodes and weights): the slots first reached
    downstream of it and, per slot, the weights an edge into that slot names: those met
    on the way and those inside the slot. Per slot, because one node can feed several
    through different weights: a layer's input feeds h^(l) through W_xh^(l) and h^(l)'
    through W_xh^(l)', and each edge names its own."""
    reach: list[dict[int, set[int]] | None] = [None] * len(graph.nodes)
    for k in range(len(graph.nodes) - 1, -1, -1):  # children first
        if slot_of[k] >= 0 or k in params:
            continue
        own = _param_parents(graph, k, params)
        found: dict[int, set[int]] = {}
        for j, _ in graph.children[k]:
            if slot_of[j] >= 0:
                found.setdefault(slot_of[j], set()).update(own | inside.get(slot_of[j], set()))
            else:
                for target, weights in reach[j].items():  # type: ignore[union-attr]
                    found.setdefault(target, set()).update(own | weights)
        reach[k] = found
    return reach


def _contracted_edges(graph: Graph, flow: Any, slots: list[Slot], slot_of: list[int],
                      inside: dict[int, set[int]], reach: list[dict[int, set[int]] | None]
                      ) -> tuple[dict[tuple[int, int], CEdge], bool]:
    """The contracted edges, keyed (src slot, dst slot), and whether some hop fed several
    key nodes of one step (the header then explains the edges drawn without a number).

    Every hop out of a key node goes to one slot: the key node it enters, or the one
    ``_pick`` chooses among those it reaches; the edge to that slot gets the hop's flow.
    A layer's input reaching both directions above also gets an edge to the others, with
    their weights but no flow: the gradient cannot be split per edge."""
    edges: dict[tuple[int, int], CEdge] = {}
    shared = False
    for k, sp in enumerate(slot_of):
        if sp < 0:
            continue
        for j, i in graph.children[k]:
            targets = reach[j]
            if slot_of[j] >= 0:
                target, weights = slot_of[j], inside.get(slot_of[j], set())
            elif targets:
                target = _pick(slots, sp, targets)
                weights = targets[target]
                # other key nodes of the target's step (gates -> c_t and h_t); the stacked
                # output feeding every y_t is sliced per step, so it does not count
                siblings = [u for u in targets if u != target and slots[u].t == slots[target].t]
                if siblings:
                    shared = True
                    if graph.nodes[j].tags.get("role") == "input":
                        for u in siblings:
                            _edge(edges, sp, u).weights |= targets[u]
            else:
                continue
            if target == sp:
                continue
            e = _edge(edges, sp, target)
            e.weights |= weights
            g = flow.edge(graph.nodes[j], i)
            if g is not None:
                g = np.asarray(g, dtype=np.float64)
                e.flow = g if e.flow is None else e.flow + g
    return edges, shared


def _edge(edges: dict[tuple[int, int], CEdge], src: int, dst: int) -> CEdge:
    """The contracted edge src -> dst, made on first use."""
    e = edges.get((src, dst))
    if e is None:
        e = edges[(src, dst)] = CEdge(src, dst)
    return e


def _pick(slots: list[Slot], sp: int, targets: Collection[int]) -> int:
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
