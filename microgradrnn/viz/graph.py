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
from .shares import additive_shares

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


def check_root(root: Any, who: str) -> None:
    """Refuse a root that is not a node of the engine's graph (a float, None, an array)
    with a TypeError naming the caller ``who``, rather than failing deep inside."""
    if not isinstance(root, Tensor):
        raise TypeError(
            f"{who}: root must be a Tensor or Value (the loss to draw the graph under), "
            f"got {type(root).__name__}: {root!r:.60}"
        )


def as_int(tag: Any) -> int | None:
    """A step or layer tag as an int: Python and numpy integers (``np.arange`` gives the
    latter) both count; anything else (None, a string, a bool) is no step."""
    if isinstance(tag, (bool, np.bool_)) or not isinstance(tag, (int, np.integer)):
        return None
    return int(tag)


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
        if node.tags.get("role") == "loss" and as_int(node.tags.get("t")) == t:
            found = node
    if found is None:
        steps = sorted({as_int(n.tags["t"]) for n in graph.nodes
                        if n.tags.get("role") == "loss" and as_int(n.tags.get("t")) is not None})
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
    """A contracted edge src -> dst: one road from key node src to key node dst.

    ``flow`` is the gradient that came back along this road into src (an array of src's
    shape; None when none was recorded); ``share`` its additive share of src's gradient
    (``shares.additive_shares`` over all roads out of src). ``bare``: no weight lies on
    the road (a carry such as the GRU's z * h_{t-1}, or c_{t-1} -> c_t); a road with a
    weight and a bare one between the same two nodes are two edges."""

    src: int
    dst: int
    flow: Any = None
    weights: set[int] = field(default_factory=set)  # parameter node indices
    bare: bool = False
    share: float | None = None


@dataclass
class Cells:
    graph: Graph
    slots: list[Slot]
    slot_of: list[int]  # per node: slot index, or -1 for a non-key node
    edges: list[CEdge]
    params: list[int]  # parameter nodes in walk order
    shared_hops: bool  # a hop fed several key nodes and its gradient could not be split
    split: bool = False  # such hops' gradients were split per road (``road_flows``)


def _slot_key(node: Tensor, is_root: bool) -> tuple | None:
    tags = node.tags
    role = tags.get("role")
    # "input" (a layer's input: both directions below, joined) and "output" (the stacked
    # top layer) are pass-through: h^(l-1) and h^(l-1)' feed h^(l) directly
    if role is None or role in ("output", "input") or role in INNER_ROLES:
        return ("root", None, None, None) if is_root else None
    t, layer = as_int(tags.get("t")), as_int(tags.get("layer"))
    if role in ("x", "y", "loss"):  # one x_t, y_t, L_t per step, whichever direction
        return (str(role), t, None, None)
    return (str(role), t, layer, tags.get("direction"))


def contract(graph: Graph, flow: Any) -> Cells:
    """Contract the graph onto key nodes: an edge p -> c for every road from p to c
    through non-key nodes only, carrying the gradient that came back along it.

    A first hop out of p that leads to one key node gives it its flow. One that leads to
    several (the LSTM's gates feed c_t and h_t; a layer's input feeds both directions
    above) has its flow split per road: ``road_flows`` runs one backward pass per kind of
    key node reached, in which only that kind sends gradient on, so each road gets
    exactly its part and the parts sum to the hop's flow. When the graph's saved arrays
    were freed that cannot run: the whole flow goes to the key node ``_pick`` chooses
    and ``Cells.shared_hops`` says so. Each edge's ``share`` is its additive share of
    p's gradient."""
    slots, slot_of = _key_slots(graph)
    params = [k for k, node in enumerate(graph.nodes) if slot_of[k] < 0 and is_param(node)]
    inside = _weights_inside(graph, slot_of, set(params))
    reach = _reach(graph, slot_of, set(params))
    hops = _hops(graph, flow, slots, slot_of, reach)
    kinds = {_road_kind(slots[u]) for hop in hops if hop.splits for u in hop.targets}
    parts = road_flows(graph, flow, slots, slot_of, kinds) if kinds else {}
    edges = _contracted_edges(graph, slots, hops, inside, parts)
    order = sorted(edges.values(),
                   key=lambda e: (slots[e.src].rep, slots[e.dst].rep, e.bare))
    _set_shares(order)
    split = bool(kinds) and parts is not None
    return Cells(graph, slots, slot_of, order, params, bool(kinds) and not split, split)


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


def _reach(graph: Graph, slot_of: list[int], params: set[int]
           ) -> list[dict[int, set[int]] | None]:
    """Per non-key node (None for key nodes and weights): the slots first reached
    downstream of it and, per slot, the weights met on the way there. Per slot, because
    one node can feed several through different weights: a layer's input feeds h^(l)
    through W_xh^(l) and h^(l)' through W_xh^(l)', and each edge names its own."""
    reach: list[dict[int, set[int]] | None] = [None] * len(graph.nodes)
    for k in range(len(graph.nodes) - 1, -1, -1):  # children first
        if slot_of[k] >= 0 or k in params:
            continue
        own = _param_parents(graph, k, params)
        found: dict[int, set[int]] = {}
        for j, _ in graph.children[k]:
            if slot_of[j] >= 0:
                found.setdefault(slot_of[j], set()).update(own)
            else:
                for target, weights in reach[j].items():  # type: ignore[union-attr]
                    found.setdefault(target, set()).update(own | weights)
        reach[k] = found
    return reach


@dataclass
class _Hop:
    """The first hop of the roads out of key node k: its child j uses k as parent i.
    ``targets``: the key nodes (slots) it leads to, each with the weights on the way;
    ``splits``: it carries gradient and leads to more than one kind of key node."""

    src: int  # the slot of k
    j: int
    i: int
    targets: dict[int, set[int]]
    flow: Any
    splits: bool


def _hops(graph: Graph, flow: Any, slots: list[Slot], slot_of: list[int],
          reach: list[dict[int, set[int]] | None]) -> list[_Hop]:
    """Every first hop out of a key node that leads to another key node."""
    hops = []
    for k, sp in enumerate(slot_of):
        if sp < 0:
            continue
        for j, i in graph.children[k]:
            if slot_of[j] >= 0:
                targets = {slot_of[j]: set()}
            else:
                targets = dict(reach[j] or {})
            targets.pop(sp, None)  # inside one drawn node
            if not targets:
                continue
            g = flow.edge(graph.nodes[j], i)
            kinds = {_road_kind(slots[u]) for u in targets}
            hops.append(_Hop(sp, j, i, targets, g, g is not None and len(kinds) > 1))
    return hops


def _road_kind(s: Slot) -> tuple:
    """What a road's far end is, for splitting a hop: its row (role, layer, direction).
    The steps are not part of it: a hop reaches one step of a row (or, through the
    stacked output, every y_t, of which only its own step's gets gradient)."""
    return (s.role, s.layer, s.direction)


def road_flows(graph: Graph, flow: Any, slots: list[Slot], slot_of: list[int],
               kinds: Collection[tuple]) -> dict[tuple, Flow] | None:
    """Per kind of key node, the flow in which only key nodes of that kind send gradient
    back (each the gradient ``flow`` gives it), every other key node sends none.

    In it, what reaches key node p along a hop is exactly the part of that hop's flow
    that came from key nodes of the kind: the backward pass is linear, and the key
    nodes' gradients are held at their values in ``flow``, so the passes do not mix
    steps. Summed over all kinds a hop reaches, the parts give the hop's flow. One
    ``gradient_flow`` per kind, through hooks on the key nodes (removed afterwards).
    None when the graph can no longer be walked back (its saved arrays were freed)."""
    root = graph.root
    if not root.requires_grad:
        return None
    key_nodes = [k for k, s in enumerate(slot_of) if s >= 0 and graph.nodes[k].requires_grad]
    out: dict[tuple, Flow] = {}
    for kind in kinds:
        handles = []
        try:
            for k in key_nodes:
                node = graph.nodes[k]
                keep = _road_kind(slots[slot_of[k]]) == kind
                handles.append(node.register_hook(_held(flow.grad(node), keep)))
            seed = np.ones_like(np.asarray(root.data, dtype=np.float64))
            out[kind] = gradient_flow(root, seed if np.ndim(seed) else None)
        except RuntimeError:
            return None  # backward without retain_graph=True freed the saved arrays
        finally:
            for h in handles:
                h.remove()
    return out


def _held(g: Any, keep: bool) -> Any:
    """A hook that replaces a node's gradient by ``g`` (kept) or by zeros."""

    def hook(current: Any) -> Any:
        if keep and g is not None:
            return g
        if isinstance(current, float):
            return 0.0
        return np.zeros_like(current)

    return hook


def _contracted_edges(graph: Graph, slots: list[Slot], hops: list[_Hop],
                      inside: dict[int, set[int]], parts: dict[tuple, Flow] | None
                      ) -> dict[tuple[int, int, bool], CEdge]:
    """The contracted edges, keyed (src slot, dst slot, bare).

    A hop that ``splits`` gives each kind of key node it reaches that kind's part
    (``parts``), on the edge to the nearest of them (``_pick``). Any other hop goes to
    one key node, the one ``_pick`` chooses, with its whole flow; a layer's input
    reaching both directions above then also gets an edge to the others, with their
    weights but no flow, and so does a hop that carries no gradient (from a constant
    initial state, h_0 -> c_1 beside h_0 -> h_1)."""
    edges: dict[tuple[int, int, bool], CEdge] = {}
    for hop in hops:
        j_node = graph.nodes[hop.j]
        if hop.splits and parts:
            by_kind: dict[tuple, list[int]] = {}
            for u in hop.targets:
                by_kind.setdefault(_road_kind(slots[u]), []).append(u)
            for kind, us in by_kind.items():
                u = _pick(slots, hop.src, us)
                _add(edges, hop.src, u, hop.targets[u], inside, parts[kind].edge(j_node, hop.i))
            continue
        target = _pick(slots, hop.src, hop.targets)
        if hop.flow is None and slots[hop.src].role != "x":
            # nothing to split (a constant h_0): each kind's road is drawn, unnumbered;
            # an input x_t needs no gradient and its one edge into the cell says enough
            by_kind = {}
            for u in hop.targets:
                by_kind.setdefault(_road_kind(slots[u]), []).append(u)
            for us in by_kind.values():
                u = _pick(slots, hop.src, us)
                if u != target:
                    _add(edges, hop.src, u, hop.targets[u], inside, None)
        if j_node.tags.get("role") == "input":
            for u in hop.targets:
                if u != target and slots[u].t == slots[target].t:
                    _add(edges, hop.src, u, hop.targets[u], inside, None)
        _add(edges, hop.src, target, hop.targets[target], inside, hop.flow)
    return edges


def _add(edges: dict[tuple[int, int, bool], CEdge], src: int, dst: int, path: set[int],
         inside: dict[int, set[int]], g: Any) -> None:
    """Add a road's flow ``g`` (None: none) to the edge src -> dst that has weights on
    its way (``path``) or none (a bare road), making it on first use."""
    bare = not path
    e = edges.get((src, dst, bare))
    if e is None:
        e = edges[(src, dst, bare)] = CEdge(src, dst, bare=bare)
    e.weights |= path | inside.get(dst, set())
    if g is not None:
        g = np.asarray(g, dtype=np.float64)
        e.flow = g if e.flow is None else e.flow + g


def _set_shares(edges: list[CEdge]) -> None:
    """Each edge's additive share of its source node's gradient: the roads out of a
    node, forward, are the roads its gradient came back along."""
    out: dict[int, list[CEdge]] = {}
    for e in edges:
        if e.flow is not None:
            out.setdefault(e.src, []).append(e)
    for roads in out.values():
        for e, s in zip(roads, additive_shares([e.flow for e in roads]), strict=True):
            e.share = s


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
