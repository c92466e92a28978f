"""The ops view: every op of the graph with the gradient that flowed along every edge.

A tagged graph (an unrolled network) gets one cluster per step. Inside it each layer's
chain from h_{t-1} to h_t (the ops on the shortest path between them: W_hh h_{t-1} + b,
add, tanh for an RNN; the cell state's f * c, add for an LSTM) sits on one rank shared by
all steps, so dL/dh flows back along one straight line per layer. Inputs feed the chains
from below, the head and per-step losses sit above the top layer, the total L on top.
An untagged graph of Values draws like micrograd's ``draw_dot``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..engine import Tensor
from . import dot, layout, style
from .graph import NON_STATE_ROLES, Graph, get_flow, head_params, is_bias, is_param, norm, walk
from .names import state_name, weight_name
from .picture import Picture, make

_SYMBOL = {"add": "+", "mul": "×", "sub": "−", "div": "/", "neg": "−", "sigmoid": "σ",
           "matmul": "@", "getitem": "slice", "concatenate": "concat", "pow": "**"}
_STATE_SKIP = NON_STATE_ROLES + ("gate",)
# where a flat edge's label goes: below its right end
_FLAT_LABEL = {"labelangle": -25, "labeldistance": 2.2, "labelfontsize": 9}


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
    layout.check_arrows(arrows, "draw_ops")
    graph = walk(root)
    fl = get_flow(graph, flow, loss_at)
    if not any("t" in n.tags for n in graph.nodes):
        return _plain(graph, fl, arrows, title)
    return _Tagged(graph, fl, arrows, title, loss_at).build(fold, keep, fold_above, window)


# ---------------------------------------------------------------------------------------
# Untagged graphs: micrograd's picture


def _plain(graph: Graph, fl: Any, arrows: str, title: str | None) -> Picture:
    nodes = graph.nodes
    scalar = all(isinstance(n.data, float) for n in nodes)
    lines = ["rankdir=LR", *layout.font_defaults("fontsize=11")]
    if title:
        lines += [f'label=<<font point-size="16"><b>{dot.html(title, 120)}</b></font>>',
                  "labelloc=t", "labeljust=l"]
    flows = [norm(fl.edge(n, i)) for n in nodes for i in range(len(n.parents))]
    largest = max((f for f in flows if f), default=0.0)
    for k, node in enumerate(nodes):
        if scalar:
            lines += _micrograd(f"n{k}", node, fl)
        else:
            lines.append(dot.node(f"n{k}", _box(_title_plain(node), node, fl, "op" if
                                                node.parents else "leaf")))
    for j, node in enumerate(nodes):
        for i, p in enumerate(node.parents):
            f = norm(fl.edge(node, i))
            color = style.COLOR[style.OTHER]
            a: dict[str, Any] = {"color": color, "penwidth": style.pen_width(f, largest)}
            if f is not None:
                a["label"] = dot.label(f'<font color="{color}">{dot.num(f)}</font>')
            if arrows == "gradient":
                a["dir"] = "back"
            lines.append(dot.edge(f"n{graph.index[p]}", f"n{j}_op" if scalar else f"n{j}", a))
    return make("ops", lines)


def _title_plain(node: Tensor) -> str:
    return dot.html(node.op or ("param" if is_param(node) else "leaf"), 30)


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
        ops = {"add": "+", "mul": "*", "sub": "-", "div": "/", "neg": "-", "matmul": "@"}
        out.append(dot.node(nid + "_op", {"label": ops.get(node.op, node.op),
                                          "shape": "ellipse", "fontsize": 10,
                                          "margin": "0.03"}))
        out.append(f"{nid}_op -> {nid}")
    return out


def _box(title: str, node: Tensor, fl: Any, fill_key: str) -> dict:
    body = f"<b>{title}</b>"
    if node.label and not is_param(node) and not title.startswith(dot.html(node.label, 20)):
        body += f"<br/>{dot.html(node.label, 30)}"
    if np.ndim(node.data) == 0:  # a scalar (a Value): its data and grad, as micrograd shows
        g = fl.grad(node)
        info = (f"data {dot.scalar(float(node.data))}  "
                f"grad {dot.scalar(0.0 if g is None else float(g))}")
    else:
        info = f"{tuple(np.shape(node.data))}  ‖data‖ {dot.num(norm(node.data))}"
        g = norm(fl.grad(node))
        if g is not None:
            info += f"  ‖grad‖ {dot.num(g)}"
    body += f'<br/><font point-size="8" color="#444444">{info}</font>'
    fill, pen = style.FILL[fill_key]
    return {"label": dot.label(body), "shape": "box", "style": "rounded,filled",
            "fillcolor": fill, "color": pen, "margin": "0.06,0.03"}


# ---------------------------------------------------------------------------------------
# Tagged graphs: one cluster per step, one straight row per layer


@dataclass
class _Column:
    """One column of the ops view: its statements, and its anchor on the inputs' rank
    (``point``: an invisible point made to hold the place)."""

    lines: list[str]
    anchor: str
    point: bool


class _Tagged:
    """The layout of a tagged graph; ``build`` returns the Picture."""

    def __init__(self, graph: Graph, fl: Any, arrows: str, title: str | None,
                 loss_at: int | None) -> None:
        self.graph, self.fl, self.arrows, self.title, self.loss_at = (
            graph, fl, arrows, title, loss_at)
        nodes = self.nodes = graph.nodes
        self.heads = head_params(graph)
        self.layers = len({n.tags.get("layer") for n in nodes
                           if isinstance(n.tags.get("layer"), int)})
        self.T = max((n.tags["t"] for n in nodes if isinstance(n.tags.get("t"), int)),
                     default=0)
        # hidden: weights (named in their ops) and the stacked output with its per-step
        # slices (pass-through: h_t feeds the head of step t directly)
        self.params = {k for k, n in enumerate(nodes) if is_param(n)}
        self.passing: set[int] = set()
        for k, n in enumerate(nodes):
            if n.tags.get("role") == "output" or (
                    n.op == "getitem" and n.parents
                    and all(graph.index[p] in self.passing for p in n.parents)):
                self.passing.add(k)
        self.step: list[int | None] = []
        for k in range(len(nodes)):  # parents first: an untagged op can read theirs
            self.step.append(self._step(k))
        self.kind = [self._kind(k) for k in range(len(nodes))]
        self.rows = self._rows()

    # -- classification ------------------------------------------------------------

    def _step(self, k: int) -> int | None:
        n = self.nodes[k]
        t = n.tags.get("t")
        if isinstance(t, int):
            if t == 0 and n.tags.get("direction") == "bwd":
                return self.T + 1  # the backward direction starts at the right
            return t
        if k in self.params or k in self.passing:
            return None
        # untagged ops (the sum of the losses): the latest step they depend on
        ts = [self.step[self.graph.index[p]] for p in n.parents]
        return max((t for t in ts if t is not None), default=None)

    def _kind(self, k: int) -> str:
        if k in self.params or k in self.passing:
            return "hidden"
        tags = self.nodes[k].tags
        role = tags.get("role")
        if role == "x":
            return "x"
        if tags.get("t") == 0:
            return "init"
        if isinstance(tags.get("t"), int) and isinstance(tags.get("layer"), int):
            return "cell"
        if role in ("y", "loss"):
            return "head"
        return "sum"

    def _cell_key(self, k: int) -> tuple:
        tags = self.nodes[k].tags
        return (tags.get("t"), tags.get("layer"), tags.get("direction"))

    def _row_key(self, k: int) -> tuple:
        tags = self.nodes[k].tags
        return (str(tags.get("role")), tags.get("layer"), tags.get("direction"))

    def _is_state(self, k: int) -> bool:
        role = self.nodes[k].tags.get("role")
        return role is not None and role not in _STATE_SKIP and self.kind[k] in ("cell",
                                                                                  "init")

    def _rows(self) -> dict[tuple, list[int]]:
        """Row key (role, layer, direction) -> nodes on one rank: every step's state and
        the chain of ops from the previous step's state to it."""
        nodes = self.nodes
        cells: dict[tuple, list[int]] = {}
        for k in range(len(nodes)):
            if self.kind[k] == "cell":
                cells.setdefault(self._cell_key(k), []).append(k)
        rows: dict[tuple, list[int]] = {}
        self.on_row: dict[int, tuple] = {}
        self.entries: set[int] = set()  # ops on a row whose own road goes down the cell
        for k in range(len(nodes)):
            if self.kind[k] == "init" and self._is_state(k):
                rows.setdefault(self._row_key(k), []).append(k)
        for members in cells.values():
            inside = set(members)
            states = [k for k in members if self._is_state(k)]
            anc = {s: self._ancestors(s, inside) for s in states}
            for s in states:
                forbidden: set[int] = set()
                for s2 in states:
                    if s2 != s and s2 in anc[s]:
                        forbidden |= anc[s2] | {s2}
                chain = self._chain(s, inside - forbidden)
                if chain == [s]:
                    # no path that can lie flat (LSTM: h_t-1 enters the gates below c_t):
                    # the ops that take the previous state join its row, so the temporal
                    # edge stays flat and the road goes down into the cell from there
                    key = self._row_key(s)
                    entry = [k for k in members if k != s and any(
                        self._is_state(j) and self._row_key(j) == key and j not in inside
                        for j in self._parent_ids(k))]
                    self.entries.update(entry)
                    chain += entry
                for k in chain:
                    if k not in self.on_row:
                        rows.setdefault(self._row_key(s), []).append(k)
                        self.on_row[k] = self._row_key(s)
        for key, ks in rows.items():
            for k in ks:
                self.on_row.setdefault(k, key)
        self.main_row: dict[tuple, tuple] = {}  # (layer, direction) -> its longest row
        for key in sorted(rows, key=lambda r: -len(rows[r])):
            self.main_row.setdefault((key[1], key[2]), key)
        return rows

    def _parent_ids(self, k: int) -> list[int]:
        return [self.graph.index[p] for p in self.nodes[k].parents]

    def _ancestors(self, k: int, inside: set[int]) -> set[int]:
        out: set[int] = set()
        todo = [k]
        while todo:
            for p in self.nodes[todo.pop()].parents:
                j = self.graph.index[p]
                if j in inside and j not in out:
                    out.add(j)
                    todo.append(j)
        return out

    def _chain(self, s: int, allowed: set[int]) -> list[int]:
        """The shortest path of ops from the previous state of s's row to s, through
        ``allowed`` nodes; [s] alone when there is none."""
        key = self._row_key(s)
        prev: dict[int, int | None] = {s: None}
        queue = deque([s])
        while queue:
            k = queue.popleft()
            for p in self.nodes[k].parents:
                j = self.graph.index[p]
                if j in prev:
                    continue
                if j not in allowed and self._is_state(j) and self._row_key(j) == key:
                    path = [k]
                    while prev[path[-1]] is not None:
                        path.append(prev[path[-1]])  # type: ignore[arg-type]
                    return path
                if j in allowed:
                    prev[j] = k
                    queue.append(j)
        return [s]

    # -- drawing --------------------------------------------------------------------

    def build(self, fold: bool | None, keep: int, fold_above: int,
              window: tuple[int, int] | None) -> Picture:
        """The DOT of the ops view: one cluster per column (time), one rank per state row,
        the inputs on one rank below and the sum of the losses on one rank above."""
        cols = self._columns(fold, keep, fold_above, window)
        col_of_t = layout.column_of_step(cols)
        drawn, folds = self._drawn_nodes(cols, col_of_t)
        edges = self._edges(drawn)
        groups = self._rank_groups(drawn)
        group_of = {nid: g for g, ids in groups.items() for nid in ids}
        by_col = self._by_column(drawn, col_of_t)
        node_line = self._node_lines(drawn, folds)
        columns = [self._column(c, col, by_col.get(c, []), group_of, node_line, folds)
                   for c, col in enumerate(cols)]
        for col in columns:  # a column's invisible anchor lies on the inputs' rank
            if col.point:
                groups.setdefault("x", []).append(col.anchor)

        lines = ["rankdir=BT", "newrank=true", "nodesep=0.25", "ranksep=0.3",
                 *layout.font_defaults("fontsize=11")]
        lines += self._header(edges)
        lines += [line for col in columns for line in col.lines]
        lines += [node_line[nid] for nid in by_col.get(None, [])]
        lines += layout.column_order([col.anchor for col in columns])
        lines += [dot.same_rank(ids) for ids in groups.values() if len(ids) > 1]
        lines += self._edge_lines(edges, group_of, by_col)
        return make("ops", lines)

    def _col(self, k: int, col_of_t: dict[int, int]) -> int | None:
        """The column of node k's step; None for a node with no step."""
        t = self.step[k]
        return None if t is None else col_of_t.get(t)

    def _columns(self, fold: bool | None, keep: int, fold_above: int,
                 window: tuple[int, int] | None) -> list[tuple[str, int, int]]:
        """Decides the columns (``layout.columns``): which of the drawn nodes' steps are
        drawn in full and which fold, with a column for the initial states (t = 0) and
        one at the right for the backward direction's (t = T + 1)."""
        n = range(len(self.nodes))
        steps = sorted({t for k, t in enumerate(self.step) if t is not None
                        and 1 <= t <= self.T and self.kind[k] != "hidden"})
        has_init = any(self.step[k] == 0 for k in n if self.kind[k] == "init")
        has_rinit = any(self.step[k] == self.T + 1 for k in n)
        return layout.columns(steps, has_init, fold, keep, fold_above, window, has_rinit,
                              who="draw_ops")

    def _drawn_nodes(self, cols: list[tuple[str, int, int]], col_of_t: dict[int, int]
                     ) -> tuple[dict[int, str], dict[str, tuple[tuple, int, int]]]:
        """Decides which drawn node shows each node: its own ("n" + its index), or, in a
        folded column, the one dashed node there of what it joins (``_fold_row``).
        Weights and pass-through nodes are not drawn. Returns the drawn node per node,
        and per fold node what it stands for and the first and last step it folds."""
        drawn: dict[int, str] = {}
        folds: dict[str, tuple[tuple, int, int]] = {}
        fold_ids: dict[tuple, int] = {}
        root = self.graph.index[self.graph.root]
        for k in range(len(self.nodes)):
            if self.kind[k] == "hidden":
                continue
            c = self._col(k, col_of_t)
            # the total L = Σ L_t stands outside every column (``_by_column``); its step,
            # the last, folds when a window ends before T, but L itself is always drawn
            if c is not None and cols[c][0] == "fold" and not (
                    k == root and self.kind[k] == "sum"):
                what = self._fold_row(k)
                nid = layout.fold_id(c, fold_ids.setdefault(what, len(fold_ids)))
                _, a, b = cols[c]
                if a == 0:
                    # t = 0 folded with the steps before a window: only the rows with an
                    # initial state start there, not x, the head or a backward row
                    a = min(self.step[k], folds[nid][1]) if nid in folds else self.step[k]
                folds[nid] = (what, a, b)
                drawn[k] = nid
            else:
                drawn[k] = f"n{k}"
        return drawn, folds

    def _rank_groups(self, drawn: dict[int, str]) -> dict[str, list[str]]:
        """Decides the ranks: each state row (its states and the chains of ops between
        them; a fold node joins the row it stands for), the inputs, and the sum of the
        losses each lie on one rank across all columns. Returns group -> drawn nodes."""
        groups: dict[str, list[str]] = {}
        for k, nid in drawn.items():
            g = None
            if k in self.on_row:
                g = "row " + repr(self.on_row[k] if not layout.is_fold(nid) else
                                  self._fold_row(k)[1])
            elif self.kind[k] in ("x", "sum"):
                g = self.kind[k]
            if g is not None and nid not in groups.setdefault(g, []):
                groups[g].append(nid)
        return groups

    def _by_column(self, drawn: dict[int, str], col_of_t: dict[int, int]
                   ) -> dict[int | None, list[str]]:
        """Decides which column holds each drawn node (its step's), in node order; the
        sum of the losses stands outside every column (None)."""
        by_col: dict[int | None, list[str]] = {}
        emitted: set[str] = set()
        for k, nid in drawn.items():
            if nid in emitted:
                continue
            emitted.add(nid)
            c = None if self.kind[k] == "sum" else self._col(k, col_of_t)
            by_col.setdefault(c, []).append(nid)
        return by_col

    def _node_lines(self, drawn: dict[int, str], folds: dict[str, tuple[tuple, int, int]]
                    ) -> dict[str, str]:
        """Each drawn node's statement: a node's own box, or a fold node's dashed one."""
        first: dict[str, int] = {}  # drawn node -> the first node it shows
        for k, nid in drawn.items():
            first.setdefault(nid, k)
        return {nid: self._node_line(k, nid, folds) for nid, k in first.items()}

    def _column(self, c: int, col: tuple[str, int, int], ids: list[str],
                group_of: dict[str, str], node_line: dict[str, str],
                folds: dict[str, tuple[tuple, int, int]]) -> _Column:
        """Decides how column c stands: its nodes in one cluster, and its anchor, where
        the column order hangs: its first input, else an invisible point the caller puts
        on the inputs' rank. A fold column's fold nodes are chained by invisible edges
        (x -> rows -> head) so that they stack in order."""
        kind, a, b = col
        lines = layout.open_cluster(f"cluster_t{c}", kind, a, b)
        lines += ["\t" + node_line[nid] for nid in ids]
        lines.append("}")
        xs = [nid for nid in ids if group_of.get(nid) == "x"]
        point = not xs
        anchor = f"anchor{c}" if point else xs[0]
        if point:
            lines.append("\t" + layout.point(anchor))
        if kind == "fold":
            chain = sorted(ids, key=lambda nid: self._fold_order(folds[nid][0]))
            lines += layout.invisible_chain(chain)
        return _Column(lines, anchor, point)

    def _edge_lines(self, edges: dict[tuple[str, str], layout.Drawn],
                    group_of: dict[str, str], by_col: dict[int | None, list[str]]
                    ) -> list[str]:
        """The drawn edges' statements: widths against the largest flow drawn; an edge's
        columns decide which way it points, its rank groups whether it lies flat."""
        largest = layout.largest_flow(edges.values())
        col_of = {nid: c for c, ids in by_col.items() for nid in ids}
        return [self._edge_line(e, largest, group_of, col_of) for e in edges.values()]

    def _fold_row(self, k: int) -> tuple:
        """Which fold node a node of a folded step joins: ("row", row key) for the
        state rows (other ops of a cell join their layer's longest row), ("x",),
        ("head",) or ("sum",). An initial state folds too, when a window starts after
        step 1 (t = 0 folds with the steps before it): it joins its row, as in the
        cells view."""
        kind = self.kind[k]
        if kind in ("cell", "init"):
            key = self.on_row.get(k)
            if key is None:
                tags = self.nodes[k].tags
                key = self.main_row.get((tags.get("layer"), tags.get("direction")))
            if key is not None:
                return ("row", key)
            return ("cell",)
        return (kind,)

    @staticmethod
    def _fold_order(what: tuple) -> tuple:
        if what[0] == "row":
            role, layer, d = what[1]
            return (1, layer or 0, str(d), role == "h")
        return ({"x": 0, "cell": 1, "head": 2, "sum": 3}[what[0]], 0, "", False)

    def _sources(self, k: int, i: int, t: int | None) -> list[tuple[int, Any]]:
        """The drawn parent(s) behind parent i of node k with the flow along each: a
        hidden pass-through parent (the stacked output) leads to the states of step t."""
        p = self.graph.index[self.nodes[k].parents[i]]
        if p in self.params:
            return []
        if p not in self.passing:
            return [(p, self.fl.edge(self.nodes[k], i))]
        out: list[tuple[int, Any]] = []
        todo = [p]
        seen = set()
        while todo:
            q = todo.pop()
            for j, par in enumerate(self.nodes[q].parents):
                r = self.graph.index[par]
                if r in seen or r in self.params:
                    continue
                seen.add(r)
                if r in self.passing:
                    todo.append(r)
                elif t is None or self.nodes[r].tags.get("t") == t:
                    out.append((r, self.fl.edge(self.nodes[q], j)))
        return sorted(out, key=lambda x: x[0])

    def _edges(self, drawn: dict[int, str]) -> dict[tuple[str, str], layout.Drawn]:
        """The drawn edges: the graph's edges between the same two drawn nodes become
        one; those ``layout.draws_edge`` drops, and those from weights, are not drawn."""
        edges: dict[tuple[str, str], layout.Drawn] = {}
        for k, node in enumerate(self.nodes):
            if k not in drawn:
                continue
            for i in range(len(node.parents)):
                for p, g in self._sources(k, i, node.tags.get("t")):
                    a, b = drawn.get(p), drawn[k]
                    if a is None or not layout.draws_edge(a, b):
                        continue
                    e = edges.get((a, b))
                    if e is None:
                        e = edges[(a, b)] = layout.Drawn(a, b, self._edge_class(p, k),
                                                         down=p in self.entries)
                    e.flows.append(norm(g))
        return edges

    def _edge_class(self, p: int, c: int) -> str:
        tp, tc = self.nodes[p].tags, self.nodes[c].tags
        if tp.get("role") == "x":
            return style.INPUT
        if self.kind[p] in ("cell", "init") and self.kind[c] == "cell":
            if tp.get("t") != tc.get("t") and tp.get("layer") == tc.get("layer"):
                role = tp.get("role")
                return style.CELL if role not in (None, "h") and self._is_state(p) \
                    else style.TEMPORAL
            if tp.get("layer") != tc.get("layer"):
                return style.SPATIAL
            return style.OTHER
        if self.kind[c] in ("head", "sum") and self.kind[p] in ("cell", "init"):
            return style.SPATIAL
        if self.kind[c] in ("head", "sum"):
            return style.SPATIAL if self.kind[p] != self.kind[c] or \
                tp.get("role") != tc.get("role") else style.OTHER
        return style.OTHER

    def _edge_line(self, e: layout.Drawn, largest: float, group_of: dict[str, str],
                   col_of: dict[str, int | None]) -> str:
        """An edge's statement, labelled with its flow when it is one edge of the graph;
        it lies flat along a rank group (``group_of``)."""
        text = dot.num(e.flow) if e.single and e.flow is not None else ""
        return layout.edge_line(e, largest, self.arrows, col_of, group_of, text, _FLAT_LABEL)

    # -- nodes ----------------------------------------------------------------------

    def _name(self, k: int) -> str | None:
        """x₁, h₂⁽¹⁾, y₃, L₃ for the last node of its role in its step (and layer)."""
        n = self.nodes[k]
        role = n.tags.get("role")
        if role is None or role in ("gate", "output", "input") or not n.parents and \
                role in ("y", "loss"):
            return None
        key = (role, n.tags.get("t"), n.tags.get("layer"), n.tags.get("direction"))
        for j, _ in self.graph.children[k]:
            c = self.nodes[j].tags
            if (c.get("role"), c.get("t"), c.get("layer"), c.get("direction")) == key:
                return None
        return state_name(role, n.tags.get("t"), n.tags.get("layer"), n.tags.get("direction"),
                          self.layers)

    def _operand(self, p: Tensor) -> str:
        k = self.graph.index[p]
        if k in self.passing:
            return "h"
        return self._name(k) or "·"

    def _op_text(self, k: int) -> str:
        n = self.nodes[k]
        if not n.parents:
            return "const" if not n.requires_grad else "leaf"
        if n.op == "linear":
            parts = []
            ins = [p for p in n.parents if self.graph.index[p] not in self.params]
            ws = [p for p in n.parents if self.graph.index[p] in self.params]
            w = [weight_name(p.label, self.graph.index[p] in self.heads) for p in ws
                 if not is_bias(p)]
            b = [weight_name(p.label, self.graph.index[p] in self.heads) for p in ws
                 if is_bias(p)]
            if self.kind[k] == "head" and ins and self.graph.index[ins[0]] in self.passing:
                src = state_name("h", n.tags.get("t"), self.layers, None, self.layers)
            else:
                src = " ".join(self._operand(p) for p in ins)
            parts.append(" ".join(w + [src]))
            return " + ".join(parts + b)
        text = dot.html(_SYMBOL.get(n.op, n.op), 20)
        ws = [weight_name(p.label, self.graph.index[p] in self.heads) for p in n.parents
              if self.graph.index[p] in self.params]
        return text + (" · " + " ".join(ws) if ws else "")

    def _node_line(self, k: int, nid: str, folds: dict[str, tuple]) -> str:
        if layout.is_fold(nid):
            return dot.node(nid, self._fold_attrs(*folds[nid]))
        n = self.nodes[k]
        name = self._name(k)
        op = self._op_text(k)
        if self.kind[k] == "x" or (self.kind[k] == "init" and name):
            title = name or op
        else:
            title = f"{name} = {op}" if name else op
        if k == self.graph.index[self.graph.root] and n.label:
            title = dot.html(n.label, 20) + " = " + ("Σₜ Lₜ" if self.kind[k] == "sum" else op)
        role = n.tags.get("role")
        if self.kind[k] == "init":
            key = "init"
        elif self.kind[k] == "x":
            key = "x"
        elif self.kind[k] == "sum":
            key = "root" if k == self.graph.index[self.graph.root] else "loss"
        elif name and role in style.FILL:
            key = role
        elif name:
            key = "state"
        else:
            key = "op" if n.parents else "leaf"
        a = _box(title, n, self.fl, key)
        if self.kind[k] in ("x", "init"):
            a["shape"], a["style"] = "ellipse", "filled"
        if k in self.on_row and name:
            a["penwidth"] = 1.6
        return dot.node(nid, a)

    def _fold_attrs(self, what: tuple, a: int, b: int) -> dict:
        def span(name: Callable[[int], str]) -> str:  # "x₃ … x₅", or "x₃" for one step
            return name(a) if a == b else f"{name(a)} … {name(b)}"

        if what[0] == "row":
            role, layer, d = what[1]
            # a = 0: the row's initial state h₀ is folded too; it has no ops
            steps = b - max(a, 1) + 1
            text = (span(lambda t: state_name(role, t, layer, d, self.layers)) + "<br/>"
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

    def _header(self, edges: dict[tuple[str, str], layout.Drawn]) -> list[str]:
        rows = [layout.title_row(self.title or f"every op of the graph, T = {self.T}", 16)]
        legend = {**style.LEGEND, style.OTHER: "inside a cell: the ops of one step "
                  "(their gradients sum where a node feeds several)"}
        rows += layout.legend_rows(edges.values(), legend)
        rows += layout.weights_rows(
            "shared weights (named in the ops that use them), ‖grad‖ summed over all uses",
            sorted(self.params), self.nodes, self.heads, self.fl)
        note = ("gradients of L" + dot.sub(self.loss_at) + " only") if self.loss_at \
            is not None else "gradients of the root"
        arrows = ("arrows point the way gradients flow" if self.arrows == "gradient" else
                  "arrows point forward; gradients flow against them")
        rows.append(layout.note_row(
            f"{arrows}; edge width ~ log ‖gradient along the edge‖, number = that "
            f"norm; {note}; each layer's row: hₜ₋₁ → ops → hₜ on one line"))
        return layout.heading(rows)
