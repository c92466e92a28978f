"""The ops view's layout of a tagged graph, in the steps a reader can follow one by one.

1. ``classify``: what each node is (an input x_t, an op of a cell, a state, the head, the
   sum of the losses, or hidden: a weight or the stacked output) and its step.
2. ``find_rows``: each layer's rows. A state row (h, and c for an LSTM) holds every
   step's state and the shortest chain of ops from the previous step's state to it, so
   the temporal road h_{t-1} -> ... -> h_t lies on one straight line.
3. ``name_gates``: the gates i, f, g, o (LSTM) or r, z, n (GRU), from the cells'
   ``role="gate"`` tags and which slice of the 4H / 3H pre-activation a node takes.
4. ``drawn_nodes``: which drawn node shows each node: its own, or in a folded column the
   dashed node of the row it joins.
5. ``drawn_edges`` and ``edge_class``: the edges between drawn nodes, each coloured by
   the road it lies on (temporal, same-step, cell state) where that is known.
6. ``rank_groups``, ``gate_ranks``, ``straight_up``, ``mark_down``, ``head_above_rows``,
   ``layers_stacked``, ``shared_ranks`` and ``directions_stacked``: which drawn nodes
   share a rank (a row; gates side by side under what they feed), which
   edges run down against the ranks (written upwards with the arrow turned, so dot sees
   no cycle), the head of each step above every row, each layer above the one below,
   a layer's backward direction above its forward one.

``ops_view`` writes the DOT from these.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import layout, style
from .graph import NON_STATE_ROLES, Graph, as_int, is_param, norm

_STATE_SKIP = NON_STATE_ROLES + ("gate",)
# the gates of a pre-activation G hidden sizes wide, in PyTorch's order
GATE_LETTERS = {4: "ifgo", 3: "rzn"}
GATE_MEANING = {"i": "input", "f": "forget", "g": "candidate cell", "o": "output",
                "r": "reset", "z": "update", "n": "new (candidate) state"}


# ---------------------------------------------------------------------------------------
# 1. What each node is


@dataclass
class Classified:
    """Per node (by index in ``graph.nodes``): its column's step and its kind.

    kind: "hidden" (a weight, or the stacked output and its per-step slices, which pass
    h_t straight to the head), "x", "init" (an initial state, t = 0), "cell" (an op of
    step t in a layer), "head" (y_t, L_t) or "sum" (the sum of the losses).
    step: t; T + 1 for the backward direction's initial state (it starts at the right);
    for an untagged op the latest step it depends on; None for hidden nodes.
    """

    graph: Graph
    step: list[int | None]
    kind: list[str]
    params: set[int]
    passing: set[int]
    T: int
    layers: int

    def tags(self, k: int) -> dict[str, Any]:
        return self.graph.nodes[k].tags

    def parent_ids(self, k: int) -> list[int]:
        return [self.graph.index[p] for p in self.graph.nodes[k].parents]

    def cell_key(self, k: int) -> tuple:
        """(t, layer, direction): the cell of one step of one layer."""
        tags = self.tags(k)
        return (tags.get("t"), tags.get("layer"), tags.get("direction"))

    def row_key(self, k: int) -> tuple:
        """(role, layer, direction): the row a state lies on."""
        tags = self.tags(k)
        return (str(tags.get("role")), tags.get("layer"), tags.get("direction"))

    def is_state(self, k: int) -> bool:
        """A state of a layer (h_t, c_t, an initial state), not an op inside a cell."""
        role = self.tags(k).get("role")
        return role is not None and role not in _STATE_SKIP and \
            self.kind[k] in ("cell", "init")


def classify(graph: Graph) -> Classified:
    """Step 1: the kind and step of every node (see ``Classified``)."""
    nodes = graph.nodes
    params = {k for k, n in enumerate(nodes) if is_param(n)}
    passing: set[int] = set()
    for k, n in enumerate(nodes):
        if n.tags.get("role") == "output" or (
                n.op == "getitem" and n.parents
                and all(graph.index[p] in passing for p in n.parents)):
            passing.add(k)
    # a leaf tagged role="input" with no step: a stacked initial state given to a layer,
    # of which each layer's h_0 (tagged t=0) is a slice; not drawn
    sources = {k for k, n in enumerate(nodes) if not n.parents
               and n.tags.get("role") == "input" and as_int(n.tags.get("t")) is None}
    T = max((as_int(n.tags.get("t")) or 0 for n in nodes), default=0)
    layers = len({as_int(n.tags.get("layer")) for n in nodes} - {None})
    step: list[int | None] = []
    for k, n in enumerate(nodes):  # parents first: an untagged op reads its parents' steps
        t = as_int(n.tags.get("t"))
        if t is not None:
            step.append(T + 1 if t == 0 and n.tags.get("direction") == "bwd" else t)
        elif k in params or k in passing or k in sources:
            step.append(None)
        else:
            ts = [step[graph.index[p]] for p in n.parents]
            step.append(max((s for s in ts if s is not None), default=None))
    kind = [_kind(nodes[k].tags, k in params or k in passing or k in sources)
            for k in range(len(nodes))]
    return Classified(graph, step, kind, params, passing, T, layers)


def _kind(tags: dict[str, Any], hidden: bool) -> str:
    if hidden:
        return "hidden"
    if tags.get("role") == "x":
        return "x"
    t = as_int(tags.get("t"))
    if t == 0:
        return "init"
    if t is not None and as_int(tags.get("layer")) is not None:
        return "cell"
    if tags.get("role") in ("y", "loss"):
        return "head"
    return "sum"


# ---------------------------------------------------------------------------------------
# 2. The rows


@dataclass
class Rows:
    """row_of: node -> the row key (role, layer, direction) it lies on; rows: row key ->
    its nodes (every step's state and chain); main: (layer, direction) -> its longest
    row, which the other ops of a folded step join."""

    row_of: dict[int, tuple]
    rows: dict[tuple, list[int]]
    main: dict[tuple, tuple]


def find_rows(c: Classified) -> Rows:
    """Step 2: each state row holds its states and, per step, the shortest chain of ops
    from the previous step's state to the state (RNN: W_hh h + b, +, tanh; LSTM's h:
    W_hh h + b, +, σ, σ[o], ×; LSTM's c: ×, +; GRU: h − n, ×, +, the z ⊙ h carry)."""
    cells: dict[tuple, list[int]] = {}
    for k, kind in enumerate(c.kind):
        if kind == "cell":
            cells.setdefault(c.cell_key(k), []).append(k)
    rows: dict[tuple, list[int]] = {}
    row_of: dict[int, tuple] = {}
    for k, kind in enumerate(c.kind):
        if kind == "init" and c.is_state(k):
            rows.setdefault(c.row_key(k), []).append(k)
            row_of[k] = c.row_key(k)
    for members in cells.values():
        free = {k for k in members if not c.is_state(k)}
        for s in (k for k in members if c.is_state(k)):
            chain = _chain(c, s, free)
            free -= set(chain)
            key = c.row_key(s)
            for k in sorted(chain + [s]):
                rows.setdefault(key, []).append(k)
                row_of[k] = key
    main: dict[tuple, tuple] = {}
    for key in sorted(rows, key=lambda r: -len(rows[r])):
        main.setdefault((key[1], key[2]), key)
    return Rows(row_of, rows, main)


def _chain(c: Classified, s: int, allowed: set[int]) -> list[int]:
    """The ops on the shortest path from the previous state of s's row to s, through
    ``allowed`` nodes (breadth first from s, parents in order: deterministic); [] when s
    reads its previous state directly or not at all."""
    key = c.row_key(s)
    after: dict[int, int | None] = {s: None}  # node -> the next node on its way to s
    queue = deque([s])
    while queue:
        k = queue.popleft()
        for j in c.parent_ids(k):
            if j in after:
                continue
            if c.is_state(j) and c.row_key(j) == key and c.step[j] != c.step[s]:
                path = []
                while after[k] is not None:
                    path.append(k)
                    k = after[k]  # type: ignore[assignment]
                return path
            if j in allowed:
                after[j] = k
                queue.append(j)
    return []


# ---------------------------------------------------------------------------------------
# 3. The gates


@dataclass
class Gates:
    """letters: node -> the gates of the pre-activation it holds ("ifgo" for the whole
    LSTM pre-activation, "g" for its candidate slice); name: node -> the gate it is (the
    last node of a one-gate span in its cell: σ[i], tanh for g); sets: the gate sets
    met ("ifgo", "rzn")."""

    letters: dict[int, str]
    name: dict[int, str]
    sets: list[str]


def name_gates(c: Classified) -> Gates:
    """Step 3: which gates each gate-tagged op of a cell holds. An op as wide as G
    hidden sizes (G = 4: i, f, g, o; G = 3: r, z, n) with no gate-tagged parent holds
    them all; a slice holds those its columns cover (found by its values: the slice's
    data is the parent's data at that offset); an elementwise op holds what its
    gate-tagged parents agree on."""
    nodes = c.graph.nodes
    hidden = _hidden_sizes(c)
    span: dict[int, tuple[int, int, str]] = {}  # node -> (first gate, end, letters)
    for k, node in enumerate(nodes):
        if c.kind[k] != "cell" or node.tags.get("role") != "gate":
            continue
        H = hidden.get(c.cell_key(k)[1:])
        width = np.shape(node.data)[-1] if np.ndim(node.data) else 0
        if not H or width % H:
            continue
        parents = [span[j] for j in c.parent_ids(k) if j in span]
        if node.op == "getitem" and len(parents) == 1:
            s = _slice_span(node, nodes[c.parent_ids(k)[0]], parents[0], H)
        elif parents:
            s = parents[0] if all(p == parents[0] for p in parents) else None
        else:
            letters = GATE_LETTERS.get(width // H)
            s = (0, width // H, letters) if letters else None
        if s is not None:
            span[k] = s
    letters = {k: s[2][s[0]:s[1]] for k, s in span.items()}
    last: dict[tuple, int] = {}  # (cell, gate) -> its last node
    for k, s in span.items():
        if s[1] - s[0] == 1:
            last[(c.cell_key(k), s[0], s[2])] = k
    name = {k: s[2][s[0]] for k, s in span.items() if last.get((c.cell_key(k), s[0], s[2])) == k}
    sets = sorted({s[2] for s in span.values()}, key=lambda x: -len(x))
    return Gates(letters, name, sets)


def _hidden_sizes(c: Classified) -> dict[tuple, int]:
    """(layer, direction) -> the width of its h states (the hidden size)."""
    out: dict[tuple, int] = {}
    for k, node in enumerate(c.graph.nodes):
        if c.is_state(k) and node.tags.get("role") == "h" and np.ndim(node.data):
            out.setdefault(c.cell_key(k)[1:], int(np.shape(node.data)[-1]))
    return out


def _slice_span(node: Any, parent: Any, of: tuple[int, int, str], H: int
                ) -> tuple[int, int, str] | None:
    """The gates a slice of the last axis of a gate span holds: the offset (a multiple
    of H) at which its values equal the parent's; None if there is not exactly one."""
    data, whole = np.asarray(node.data), np.asarray(parent.data)
    if data.shape[:-1] != whole.shape[:-1]:
        return None
    w = data.shape[-1]
    found = [off for off in range(0, whole.shape[-1] - w + 1, H)
             if np.array_equal(whole[..., off:off + w], data)]
    if len(found) != 1:
        return None
    first = of[0] + found[0] // H
    return (first, first + w // H, of[2])


# ---------------------------------------------------------------------------------------
# 4. Drawn nodes, with folding


@dataclass
class Drawing:
    """drawn: node -> its drawn node id ("n" + index, or a fold node's id); folds: fold
    node -> (what it stands for, its first step, its last step)."""

    drawn: dict[int, str]
    folds: dict[str, tuple[tuple, int, int]]


def drawn_nodes(c: Classified, rows: Rows, cols: list[tuple[str, int, int]],
                col_of_t: dict[int, int]) -> Drawing:
    """Step 4: which drawn node shows each node: its own ("n" + its index), or, in a
    folded column, the one dashed node there of what it joins (``fold_row``). Weights
    and pass-through nodes are not drawn."""
    drawn: dict[int, str] = {}
    folds: dict[str, tuple[tuple, int, int]] = {}
    fold_ids: dict[tuple, int] = {}
    root = c.graph.index[c.graph.root]
    for k, kind in enumerate(c.kind):
        if kind == "hidden":
            continue
        col = column(c, k, col_of_t)
        # the total L = Σ L_t stands outside every column; its step, the last, folds when
        # a window ends before T, but L itself is always drawn
        if col is not None and cols[col][0] == "fold" and not (k == root and kind == "sum"):
            what = fold_row(c, rows, k)
            nid = layout.fold_id(col, fold_ids.setdefault(what, len(fold_ids)))
            _, a, b = cols[col]
            if a == 0:
                # t = 0 folded with the steps before a window: only the rows with an
                # initial state start there, not x, the head or a backward row
                a = min(c.step[k], folds[nid][1]) if nid in folds else c.step[k]
            folds[nid] = (what, a, b)
            drawn[k] = nid
        else:
            drawn[k] = f"n{k}"
    return Drawing(drawn, folds)


def column(c: Classified, k: int, col_of_t: dict[int, int]) -> int | None:
    """The column of node k's step; None for a node with no step."""
    t = c.step[k]
    return None if t is None else col_of_t.get(t)


def fold_row(c: Classified, rows: Rows, k: int) -> tuple:
    """Which fold node a node of a folded step joins: ("row", row key) for the state
    rows (other ops of a cell join their layer's longest row), ("x",), ("head",) or
    ("sum",). An initial state folds too, when a window starts after step 1."""
    kind = c.kind[k]
    if kind in ("cell", "init"):
        key = rows.row_of.get(k)
        if key is None:
            tags = c.tags(k)
            key = rows.main.get((tags.get("layer"), tags.get("direction")))
        return ("row", key) if key is not None else ("cell",)
    return (kind,)


def fold_stack(ids: list[str], folds: dict[str, tuple[tuple, int, int]]
               ) -> list[tuple[str, str]]:
    """The invisible edges that stack a folded column's fold nodes: the inputs below
    every row, the head above every row, the sum above the head. The rows' own order
    comes from their rank groups."""
    kinds: dict[str, list[str]] = {}
    for nid in ids:
        kinds.setdefault(folds[nid][0][0], []).append(nid)
    levels = [kinds.get("x", []), kinds.get("row", []) + kinds.get("cell", []),
              kinds.get("head", []), kinds.get("sum", [])]
    levels = [level for level in levels if level]
    return [(a, b) for low, high in zip(levels, levels[1:], strict=False)
            for a in low for b in high]


# ---------------------------------------------------------------------------------------
# 5. Drawn edges and the road each lies on


def signed_flow(g: Any) -> float | None:
    """A flow as its edge shows it: a scalar keeps its sign, an array gives its norm."""
    if g is None:
        return None
    if np.size(g) == 1:
        return float(np.asarray(g, dtype=np.float64).reshape(()))
    return norm(g)


def drawn_edges(c: Classified, rows: Rows, d: Drawing, fl: Any
                ) -> dict[tuple[str, str], layout.Drawn]:
    """Step 5: the drawn edges. The graph's edges between the same two drawn nodes
    become one; those ``layout.draws_edge`` drops, and those from weights, are not
    drawn. A hidden pass-through parent (the stacked output) leads to the states of the
    child's step."""
    temporal = _reads_the_past(c)
    edges: dict[tuple[str, str], layout.Drawn] = {}
    for k, node in enumerate(c.graph.nodes):
        if k not in d.drawn:
            continue
        for i in range(len(node.parents)):
            for p, g in _sources(c, fl, k, i, node.tags.get("t")):
                a, b = d.drawn.get(p), d.drawn[k]
                if a is None or not layout.draws_edge(a, b):
                    continue
                e = edges.get((a, b))
                if e is None:
                    e = edges[(a, b)] = layout.Drawn(a, b, edge_class(c, rows, temporal, p, k))
                e.flows.append(signed_flow(g))
    return edges


def _sources(c: Classified, fl: Any, k: int, i: int, t: Any) -> list[tuple[int, Any]]:
    """The drawn parent(s) behind parent i of node k with the flow along each."""
    nodes, index = c.graph.nodes, c.graph.index
    p = index[nodes[k].parents[i]]
    if p in c.params:
        return []
    if p not in c.passing:
        return [(p, fl.edge(nodes[k], i))]
    out: list[tuple[int, Any]] = []
    todo, seen = [p], set()
    while todo:
        q = todo.pop()
        for j, par in enumerate(nodes[q].parents):
            r = index[par]
            if r in seen or r in c.params:
                continue
            seen.add(r)
            if r in c.passing:
                todo.append(r)
            elif t is None or nodes[r].tags.get("t") == t:
                out.append((r, fl.edge(nodes[q], j)))
    return sorted(out, key=lambda x: x[0])


def _reads_the_past(c: Classified) -> list[bool]:
    """Per node: an op of a cell that depends on its layer's previous state (through
    ops of its own cell). The others of a cell are fed by the layer's input alone: the
    same-step road."""
    out = [False] * len(c.kind)
    for k, kind in enumerate(c.kind):
        if kind != "cell":
            continue
        for j in c.parent_ids(k):
            if c.kind[j] in ("cell", "init") and c.cell_key(j)[1:] == c.cell_key(k)[1:] and (
                    (c.is_state(j) and c.step[j] != c.step[k]) or
                    (out[j] and c.cell_key(j) == c.cell_key(k))):
                out[k] = True
    return out


def edge_class(c: Classified, rows: Rows, temporal: list[bool], p: int, k: int) -> str:
    """The road the edge p -> k lies on: temporal (between steps of a layer, and along
    an h row), cell state (along a c row), spatial (from the layer below or the input,
    up to the head and the losses), input (from x_t), or other (inside a cell where the
    roads mix)."""
    tp, tc = c.tags(p), c.tags(k)
    if tp.get("role") == "x":
        return style.INPUT
    kp, kc = c.kind[p], c.kind[k]
    if kp in ("cell", "init") and kc == "cell":
        if tp.get("layer") != tc.get("layer") or tp.get("direction") != tc.get("direction"):
            return style.SPATIAL
        row = rows.row_of.get(p)
        along = row is not None and row == rows.row_of.get(k)
        if tp.get("t") != tc.get("t") or along:
            key = row if along else c.row_key(p)
            return style.TEMPORAL if key[0] == "h" else style.CELL
        if not temporal[p] and not c.is_state(p):
            return style.SPATIAL  # the same-step road: fed by the layer's input alone
        return style.OTHER
    if kc in ("head", "sum") and kp in ("cell", "init"):
        return style.SPATIAL
    if kc in ("head", "sum"):
        return style.SPATIAL if kp != kc or tp.get("role") != tc.get("role") else \
            style.OTHER
    return style.OTHER


# ---------------------------------------------------------------------------------------
# 6. Ranks, and the edges that run down


def rank_groups(c: Classified, rows: Rows, d: Drawing) -> dict[tuple, list[str]]:
    """Step 6a: the drawn nodes that share a rank: each state row ("row", role, layer,
    direction; a fold node joins the row it stands for), the inputs ("x",), and the sum
    of the losses ("sum",). Group -> drawn nodes."""
    groups: dict[tuple, list[str]] = {}
    for k, nid in d.drawn.items():
        g = None
        if k in rows.row_of:
            key = d.folds[nid][0][1] if layout.is_fold(nid) else rows.row_of[k]
            g = ("row", *key)
        elif c.kind[k] in ("x", "sum"):
            g = (c.kind[k],)
        if g is not None and nid not in groups.setdefault(g, []):
            groups[g].append(nid)
    return groups


def gate_ranks(c: Classified, rows: Rows, d: Drawing) -> dict[tuple, list[list[str]]]:
    """Step 6a, inside a cell: the ops off the rows that share a rank, so that the gates
    stand beside what they meet and no edge has to pass one on its way. Per cell, in
    this order:

    1. the ops that feed a row from below (they do not depend on that row's nodes in the
       cell: the GRU's z and n under its h row, the LSTM's f and i ⊙ g under its c row),
       left to right in the order of the last node of the row each feeds (then the
       first): each stands under what it feeds, and an edge from one to a node further
       along the row does not pass over another (the GRU's n feeds h_t, the last; z
       feeds z ⊙ (h − n) before it).
    2. the operands off the rows of a product (the LSTM's i and g, the GRU's r and
       W_hn h + b_hn), in the order dot finds.

    A set keeps its ops that depend on none of the others (they can stand side by side),
    and counts when two or more are left; an op joins the first set it is in. Group
    ("gates", t, layer, direction, j) -> its drawn nodes in classes, left to right (ops
    of one class in the order dot finds); the caller holds the order with invisible
    edges. (A backward direction's row reads right to left, but its gates keep the
    forward order: mirrored, graphviz-pure routed the GRU's n past z worse.)"""
    cells: dict[tuple, list[int]] = {}
    for k, kind in enumerate(c.kind):
        if kind == "cell" and not layout.is_fold(d.drawn.get(k, "fold")):
            cells.setdefault(c.cell_key(k), []).append(k)
    groups: dict[tuple, list[list[str]]] = {}
    for key, members in cells.items():
        inside = set(members)
        off = [k for k in members if k not in rows.row_of]
        # each row node of the cell: (its row's first place among the cell's rows, its
        # place along the row): the rows of one cell in node order, each left to right
        place: dict[int, tuple[int, int]] = {}
        for r, row in enumerate(dict.fromkeys(rows.row_of[k] for k in members
                                              if k in rows.row_of)):
            on = [k for k in members if rows.row_of.get(k) == row]
            place.update({k: (r, i) for i, k in enumerate(on)})
        sets: list[dict[tuple, list[int]]] = []
        for r in sorted({p[0] for p in place.values()}):
            on = [k for k in place if place[k][0] == r]
            after = _descendants(c, on, inside)
            feeders: dict[tuple, list[int]] = {}
            for k in off:
                into = sorted(place[j][1] for j, _ in c.graph.children[k] if j in on)
                if into and k not in after:
                    feeders.setdefault((into[-1], into[0]), []).append(k)
            sets.append(feeders)
        for k in off:
            ps = list(dict.fromkeys(c.parent_ids(k)))
            if c.graph.nodes[k].op == "mul" and len(ps) > 1 and all(j in off for j in ps):
                sets.append({(): ps})
        taken: set[int] = set()
        for found in sets:
            classes = [[k for k in found[o] if k not in taken] for o in sorted(found)]
            after = _descendants(c, [k for cls in classes for k in cls], inside)
            classes = [[k for k in cls if k not in after] for cls in classes]
            classes = [ks for ks in classes if ks]
            ks = [k for cls in classes for k in cls]
            if len(ks) > 1:
                taken.update(ks)
                groups[("gates", *key, len(groups))] = [[d.drawn[k] for k in cls]
                                                        for cls in classes]
    return groups


def straight_up(c: Classified, rows: Rows, d: Drawing) -> dict[str, str]:
    """Step 6a': the ops that stand between two rows of a cell, fed by one node of a row
    and feeding a node of another (the LSTM's f, from σ on its h row to f ⊙ c_{t-1} on
    its c row), each in a ``group`` with the node that feeds it: its edge then runs
    straight up, between the gates beside it, instead of threading past them on a curve
    that clips their corners. Drawn node -> its group's name (one op per feeding node)."""
    out: dict[str, str] = {}
    for k, kind in enumerate(c.kind):
        nid = d.drawn.get(k, "fold")
        if kind != "cell" or k in rows.row_of or layout.is_fold(nid):
            continue
        ps = list(dict.fromkeys(c.parent_ids(k)))
        if len(ps) != 1 or ps[0] not in rows.row_of or c.cell_key(ps[0]) != c.cell_key(k):
            continue
        into = {rows.row_of[j] for j, _ in c.graph.children[k]
                if j in rows.row_of and c.cell_key(j) == c.cell_key(k)}
        src = d.drawn[ps[0]]
        if into - {rows.row_of[ps[0]]} and src not in out:
            out[src] = out[nid] = f"up{src[1:]}"
    return out


def _descendants(c: Classified, start: list[int], within: set[int]) -> set[int]:
    """The nodes of ``within`` that depend on a node of ``start`` (not those nodes)."""
    out: set[int] = set()
    todo = list(start)
    while todo:
        for j, _ in c.graph.children[todo.pop()]:
            if j in within and j not in out:
                out.add(j)
                todo.append(j)
    return out


def mark_down(edges: dict[tuple[str, str], layout.Drawn], groups: dict[tuple, list[str]],
              order: list[str]) -> dict[tuple, int]:
    """Step 6b: mark the edges that run down (``Drawn.down``).

    With each rank group taken as one node, the rows make cycles (the GRU's row feeds
    its gates through W_hh h_{t-1}, which feed the row again; the LSTM's h row feeds the
    gates, which feed c_t, which feeds h_t). The fewest edges that break them run down:
    found by Eades, Lin and Smyth's greedy ordering (sinks last, sources first, else the
    node with most outgoing minus incoming edges). The GRU's gates then sit below its
    row, fed from above by W_hh h_{t-1}; the LSTM's c row sits above its h row, which
    tanh(c_t) reaches down to. ``order``: the drawn nodes in a fixed order (ties).
    Returns each rank group's place in that order (higher: drawn higher)."""
    group_of = {nid: g for g, ids in groups.items() for nid in ids}
    vertices = list(dict.fromkeys(group_of.get(n, n) for n in order))
    arcs = [(group_of.get(e.src, e.src), group_of.get(e.dst, e.dst)) for e in edges.values()]
    place = _greedy_order(vertices, [a for a in arcs if a[0] != a[1]])
    for e, (a, b) in zip(edges.values(), arcs, strict=True):
        e.down = a != b and place[a] > place[b]
    return {g: place[g] for g in groups if g in place}


def head_above_rows(c: Classified, d: Drawing, groups: dict[tuple, list[str]],
                    col_of: dict[str, Any]) -> list[tuple[str, str]]:
    """Step 6c: invisible edges that put each step's head (y_t, then L_t) above every
    row of its column, as in the cells view. Without them the head of an LSTM shares the
    ranks of its c row, and the row would have to bend around it. Only the top layer's
    rows get them: the layers below are under it anyway."""
    heads = [nid for k, nid in d.drawn.items() if c.kind[k] == "head" and not
             layout.is_fold(nid) and not any(c.kind[j] == "head" for j in c.parent_ids(k))]
    out = []
    for y in dict.fromkeys(heads):
        rows = [(g, [n for n in ids if col_of.get(n) == col_of.get(y)])
                for g, ids in groups.items() if g[0] == "row"]
        rows = [(g, here) for g, here in rows if here]
        # the top layer's rows only: an invisible edge from a lower row crosses the rows
        # above it, and graphviz-pure then shuffles their nodes out of order
        top = max((as_int(g[2]) for g, _ in rows if as_int(g[2]) is not None), default=None)
        out += [(here[-1], y) for g, here in rows if as_int(g[2]) == top]
    return out


def layers_stacked(c: Classified, d: Drawing, groups: dict[tuple, list[str]],
                   col_of: dict[str, Any], place: dict[tuple, int]) -> list[tuple[str, str]]:
    """Step 6d: invisible edges that put each layer's cell above the whole cell of the
    layer below, in every column: from the layer's top row there (the backward
    direction's, if any; the highest in ``place``: an LSTM's c row) to each op of the
    layer above that reads it, two ranks up (tanh(c_t) sits one rank above c_t).
    Without them dot may slip the upper layer's h row in between the lower layer's
    rows, and route it around their gates."""
    rows: dict[tuple, list[tuple[tuple, str]]] = {}  # (column, layer) -> (height, node)
    for g, ids in groups.items():
        if g[0] != "row" or as_int(g[2]) is None:
            continue
        last: dict[Any, str] = {}
        for nid in ids:
            last[col_of.get(nid)] = nid
        for col, nid in last.items():
            if col is not None and not layout.is_fold(nid):
                # a backward direction's rows stand above its forward ones
                # (``directions_stacked``), and within a direction ``place`` orders them
                rank = (g[3] == "bwd", place.get(g, 0))
                rows.setdefault((col, as_int(g[2])), []).append((rank, nid))
    out = []
    for k, nid in d.drawn.items():
        layer = as_int(c.tags(k).get("layer"))
        if c.kind[k] != "cell" or layer is None or layout.is_fold(nid):
            continue
        below = {as_int(c.tags(j).get("layer")) for j in c.parent_ids(k)
                 if c.kind[j] in ("cell", "init")}
        if layer - 1 in below:
            top = rows.get((col_of.get(nid), layer - 1))
            if top:
                out.append((max(top)[1], nid))
    return list(dict.fromkeys(out))


def inner_rows(groups: dict[tuple, list[str]], place: dict[tuple, int]
               ) -> tuple[set[str], set[str]]:
    """The nodes of the rows below their layer's top row, and of those above its bottom
    row (a backward row is above a forward one; ``place`` orders a direction's rows). An
    edge from one of the first out of its cell, or into one of the second from outside
    its cell, crosses a row of the layer: it must not put a label node on it."""
    top: dict[Any, tuple] = {}
    bottom: dict[Any, tuple] = {}
    for g in groups:
        if g[0] == "row":
            height = (g[3] == "bwd", place.get(g, 0))
            top[g[2]] = max(top.get(g[2], height), height)
            bottom[g[2]] = min(bottom.get(g[2], height), height)
    rows = [(g, (g[3] == "bwd", place.get(g, 0)), ids) for g, ids in groups.items()
            if g[0] == "row"]
    return ({nid for g, h, ids in rows if h != top[g[2]] for nid in ids},
            {nid for g, h, ids in rows if h != bottom[g[2]] for nid in ids})


def shared_ranks(groups: dict[tuple, list[str]]) -> dict[tuple, list[str]]:
    """Step 6e: the ranks as drawn: one per rank group."""
    return {g: list(ids) for g, ids in groups.items()}


def directions_stacked(c: Classified, d: Drawing, groups: dict[tuple, list[str]],
                       col_of: dict[str, Any], place: dict[tuple, int]
                       ) -> list[tuple[str, str]]:
    """Step 6f: invisible edges that put, in every column, a bidirectional layer's
    backward cell above its forward cell: from the forward direction's top row there to
    each op of the backward direction that reads the layer's input (W_xh' x_t + b).
    Each direction's rows then lie on ranks of their own, and nothing of the other
    direction stands between two of a row's nodes: both rows are straight lines."""
    tops: dict[tuple, tuple[int, str]] = {}  # (column, layer) -> the forward top row's node
    for g, ids in groups.items():
        if g[0] != "row" or g[3] != "fwd":
            continue
        for nid in ids:
            key = (col_of.get(nid), as_int(g[2]))
            if key[0] is not None and not layout.is_fold(nid):
                best = tops.get(key)
                if best is None or place.get(g, 0) > best[0]:
                    tops[key] = (place.get(g, 0), nid)
    out = []
    for k, nid in d.drawn.items():
        tags = c.tags(k)
        if c.kind[k] != "cell" or tags.get("direction") != "bwd" or layout.is_fold(nid):
            continue
        own = c.cell_key(k)[1:]
        if any(c.kind[j] not in ("cell", "init") or c.cell_key(j)[1:] != own
               for j in c.parent_ids(k) if j not in c.params):
            top = tops.get((col_of.get(nid), as_int(tags.get("layer"))))
            if top:
                out.append((top[1], nid))
    return list(dict.fromkeys(out))


def _greedy_order(vertices: list[str], arcs: list[tuple[str, str]]) -> dict[str, int]:
    """Eades, Lin and Smyth (1993): a vertex order in which few arcs point back."""
    succ: dict[str, list[str]] = {v: [] for v in vertices}
    pred: dict[str, list[str]] = {v: [] for v in vertices}
    for a, b in arcs:
        succ[a].append(b)
        pred[b].append(a)
    outs = {v: len(succ[v]) for v in vertices}
    ins = {v: len(pred[v]) for v in vertices}
    left: list[str] = []
    right: list[str] = []
    remaining = dict.fromkeys(vertices)

    def remove(v: str) -> None:
        del remaining[v]
        for w in succ[v]:
            ins[w] -= 1
        for w in pred[v]:
            outs[w] -= 1

    while remaining:
        progress = True
        while progress:
            progress = False
            for v in list(remaining):
                if v not in remaining:
                    continue
                if outs[v] == 0:
                    right.append(v)
                    remove(v)
                    progress = True
                elif ins[v] == 0:
                    left.append(v)
                    remove(v)
                    progress = True
        if remaining:
            v = max(remaining, key=lambda u: outs[u] - ins[u])
            left.append(v)
            remove(v)
    sequence = left + right[::-1]
    return {v: i for i, v in enumerate(sequence)}
