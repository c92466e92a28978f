"""The cells view: one node per x_t, h_t^l (c_t^l...), y_t, L_t and L; shared weights
named on the edges; time left to right, depth bottom to top."""

from __future__ import annotations

import html
from dataclasses import dataclass, replace
from typing import Any

from ..engine import Tensor
from . import dot, layout, rich, style
from .graph import (
    NON_STATE_ROLES,
    CEdge,
    Cells,
    Slot,
    check_root,
    contract,
    get_flow,
    head_params,
    is_bias,
    norm,
    walk,
)
from .names import state_name, weight_name
from .picture import Picture, make
from .shares import printed_sum

# statements that open every cells view: time runs left to right, depth bottom to top
_GRAPH_ATTRS = (
    "rankdir=BT", "newrank=true", "compound=true", "nodesep=1.0", "ranksep=0.5", "mclimit=0.1",
    *layout.font_defaults("fontsize=15, penwidth=1.2"),
    "edge [fontsize=11]",
)


_GREY = "#333333"  # the numbers in a node

# the order of the terms where roads meet: the same-step road first, then the next step's
_TERM_ORDER = {cls: k for k, cls in enumerate(
    (style.SPATIAL, style.INPUT, style.TEMPORAL, style.CARRY, style.CELL, style.OTHER))}


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


def _in_layer(row: tuple) -> bool:
    """A row of a recurrent layer: its input or one of its states (see ``_row_order``)."""
    return row[0] == 1


def _is_bwd(row: tuple) -> bool:
    """A row of the backward direction of a bidirectional layer (see ``_row_order``)."""
    return _in_layer(row) and row[2] == 2


def _edge_class(a: Slot, b: Slot, bare: bool = False) -> str:
    """The road an edge a -> b lies on. A road from one step to the next in one layer
    is temporal, or, for a state other than h (the LSTM's c), the cell state; a road
    h_{t-1} -> h_t with no weight on it (the GRU's z * h_{t-1}) is the carry."""
    if a.role == "x":
        return style.INPUT
    states = a.role not in NON_STATE_ROLES + ("root",) and b.role not in NON_STATE_ROLES + (
        "root",)
    if a.t is not None and b.t is not None and a.t != b.t:
        if states and a.layer == b.layer and a.direction == b.direction \
                and abs(a.t - b.t) == 1:
            if a.role == b.role and a.role != "h":
                return style.CELL
            return style.CARRY if bare and a.role == b.role else style.TEMPORAL
        return style.OTHER
    return style.SPATIAL


KEEP, FOLD_ABOVE = 3, 12  # by default T > 12 steps fold, keeping the first and last 3


def draw_cells(
    root: Tensor,
    *,
    flow: Any = None,
    loss_at: int | None = None,
    arrows: str = "forward",
    fold: bool | None = None,
    keep: int = KEEP,
    fold_above: int = FOLD_ABOVE,
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
    check_root(root, "draw_cells")
    layout.check_arrows(arrows, "draw_cells")
    graph = walk(root)
    fl = get_flow(graph, flow, loss_at)
    cells = contract(graph, fl)
    whose = (f"L{dot.sub(loss_at)} only" if loss_at is not None else
             "the flow passed in (flow=)" if flow is not None else
             f"the root {dot.html(root.label or 'L', 24)}")
    return _build(cells, fl, arrows, fold, keep, fold_above, window, title, whose)


def draw_contracted(cells: Cells, fl: Any, whose: str, *, arrows: str = "forward",
                    fold: bool | None = None, title: str | None = None) -> Picture:
    """The cells view of a contraction already made (``graph.contract(graph, fl)``),
    as ``draw_cells`` draws it; the heading says the gradients are those of ``whose``
    (HTML-escaped text: "the root L", "L₃ only"). The explorer draws each root's picture
    from the contraction it reads that root's numbers from."""
    layout.check_arrows(arrows, "draw_cells")
    return _build(cells, fl, arrows, fold, KEEP, FOLD_ABOVE, None, title, whose)


def _build(cells: Cells, fl: Any, arrows: str, fold: bool | None, keep: int,
           fold_above: int, window: tuple[int, int] | None, title: str | None,
           whose: str) -> Picture:
    """The DOT of the cells view: one cluster per column (time), one rank per row
    (depth), and invisible points and edges that hold that grid in place."""
    nodes = cells.graph.nodes
    layers = len({s.layer for s in cells.slots if s.layer is not None})
    heads = head_params(cells.graph)
    grid = _grid(cells.slots, fold, keep, fold_above, window)
    drawn, folded = _drawn_nodes(grid)
    classes = [_edge_class(grid.slots[e.src], grid.slots[e.dst], e.bare) for e in cells.edges]
    numbers, sums, parts_of = _road_numbers(
        cells.edges, [_road_word(c, grid.slots[e.dst]) for c, e in zip(classes, cells.edges,
                                                                        strict=True)])
    edges = _merged_edges(cells, classes, numbers, drawn)
    node_lines, placed, outside, widths = _place_nodes(grid, drawn, folded, nodes, fl,
                                                       layers, sums)
    labels = {k: _edge_pieces(d, nodes, heads) for k, d in edges.items()}
    row_of = {nid: r for col in placed for r, nid in col}
    ranks, at_end = _row_ranks(grid.rows, edges, labels, row_of)
    columns = [_column(grid, c, placed[c], node_lines, ranks) for c in range(len(grid.cols))]
    scale = style.PenScale(f for d in edges.values() for f in d.flows)

    lines = list(_GRAPH_ATTRS)
    example = _example(grid, parts_of, layers)
    lines += _header(cells, fl, edges, heads, title, grid.steps, layers, arrows, whose,
                     scale, example)
    lines += [line for col in columns for line in col.lines]
    lines += [node_lines[nid] for nid in outside]
    lines += _same_rank(grid.rows, placed, [p for col in columns for p in col.points])
    lines += layout.column_order([col.anchor for col in columns])
    lines += [chain for col in columns for chain in col.chains]
    clear = _clearances(grid, placed, widths)
    lines += _edge_lines(edges, labels, at_end, arrows, placed, scale, clear)
    return make("cells", lines)


def _row_ranks(rows: list[tuple], edges: dict[tuple[str, str, str], layout.Drawn],
               labels: dict[tuple[str, str, str], list], row_of: dict[str, tuple]
               ) -> tuple[dict[tuple, int], set[tuple[str, str, str]]]:
    """Decides each row's rank (bottom up), and which edges take their label at an end.

    Dot puts the label of an edge from rank a to rank b on a node of its own at rank
    (a + b) / 2 (ranks counted as dot counts them, doubled when edges have labels). On a
    row with flat edges (a state row) such a node sits between two steps' nodes, and
    dot bends the flat edges around it: the row is no longer a straight line. In a
    bidirectional or stacked LSTM picture edges skip rows (x_t -> h_t^(1)' passes the
    row h^(1)), so the rows are spaced out: each row takes the lowest rank above the
    last one at which fewest labelled edges have their middle on a state row (an
    odd span has its middle between two ranks). The edges left with their middle on a
    state row (a triangle such as h^(1) -> c^(2) -> h^(2) beside h^(1) -> h^(2) has one)
    take their label at their start instead: ``layout.edge_line``'s ``at_start``."""
    flat_rows = {row_of[d.src] for d in edges.values()
                 if d.src in row_of and row_of[d.src] == row_of.get(d.dst)}
    spans = [(row_of[d.src], row_of[d.dst], k) for k, d in edges.items()
             if labels[k] and d.src in row_of and d.dst in row_of
             and row_of[d.src] != row_of[d.dst]]

    def on_a_row(a: int, b: int, protected: set[int]) -> bool:
        return (a + b) % 2 == 0 and (a + b) // 2 in protected

    rank: dict[tuple, int] = {}
    for k, row in enumerate(rows):
        lo = rank[rows[k - 1]] + 1 if k else 0

        def cost(r: int) -> int:
            here = {**rank, row: r}
            protected = {here[x] for x in flat_rows if x in here}
            return sum(on_a_row(here[a], here[b], protected) for a, b, _ in spans
                       if row in (a, b) and a in here and b in here)

        rank[row] = min(range(lo, lo + 4), key=lambda r: (cost(r), r))
    protected = {rank[x] for x in flat_rows}
    at_end = {k for a, b, k in spans if on_a_row(rank[a], rank[b], protected)}
    return rank, at_end


def _road_numbers(edges: list[CEdge], kinds: list[tuple[str, str]]
                  ) -> tuple[dict[int, str], dict[int, list[rich.Piece]],
                             dict[int, tuple[str, list[tuple[str, str, str]]]]]:
    """The numbers the roads show. Per contracted edge (by index): its share of its
    source node's gradient. Per slot where several roads meet: the addition its node
    shows, "‖grad‖ 0.29 = 0.17 + 0.12", each part in its road's colour, printed so that
    the parts add up to the sum (``shares.printed_sum``); the edges show those parts.
    A part too small for the sum's two digits shows as 0.00 in the sum and as itself
    (5.2e-04) on its edge. ``kinds``: per contracted edge, its class and what the legend
    calls it (``_road_word``). Also, per such slot, its printed sum and parts with their
    roads (the legend's example)."""
    classes = [cls for cls, _ in kinds]
    roads: dict[int, list[int]] = {}
    for n, e in enumerate(edges):
        if e.share is not None:
            roads.setdefault(e.src, []).append(n)
    numbers: dict[int, str] = {}
    sums: dict[int, list[rich.Piece]] = {}
    parts_of: dict[int, tuple[str, list[tuple[str, str, str]]]] = {}
    for src, ns in roads.items():
        if len(ns) == 1:
            numbers[ns[0]] = _signed(edges[ns[0]].share)
            continue
        ns.sort(key=lambda n: (_TERM_ORDER.get(classes[n], 9), n))
        parts, total, exponent = printed_sum([edges[n].share for n in ns])  # type: ignore
        # a sum below 0.001 is printed in units of 10^exponent, each number with its
        # "e-5" as the edges print small numbers (plain text: the same runs at any scale)
        scale = f"e{exponent}" if exponent else ""
        # ‖grad‖ in a cell of its own: graphviz-pure takes ‖ to be wider than it is, and
        # the room it leaves then falls between ‖grad‖ and the sum, not inside the sum
        terms: list[rich.Piece] = [("‖grad‖", False, _GREY),
                                   (f" {total}{scale} =", False, _GREY)]
        for k, (n, part) in enumerate(zip(ns, parts, strict=True)):
            share = edges[n].share
            small = exponent != 0 or (not part.strip("−0.") and share != 0)
            numbers[n] = _signed(share) if small else part
            part = part + scale
            sign, digits = ("−", part[1:]) if part.startswith("−") else ("+", part)
            if k:
                terms.append((f" {sign} ", False, _GREY))
                terms.append((digits, False, style.TEXT[classes[n]]))
            else:  # a first part keeps its minus sign
                terms.append((" " + part, False, style.TEXT[classes[n]]))
        sums[src] = terms
        parts_of[src] = (f"{total}{scale}",
                         [(part + scale, *kinds[n])
                          for n, part in zip(ns, parts, strict=True)])
    return numbers, sums, parts_of


@dataclass
class _Grid:
    """Where the slots go: columns left to right (``layout.columns``), rows bottom to top
    (``_row_order``)."""

    slots: list[Slot]  # the backward direction's initial states moved to t = T + 1
    starts: set[int]  # the slots that are initial states (t = 0 before the move)
    steps: list[int]  # the steps 1..T the graph has
    cols: list[tuple[str, int, int]]
    col_of_t: dict[int, int]
    rows: list[tuple]  # every row's ``_row_order``, bottom first
    row_ix: dict[tuple, int]

    def column(self, s: Slot) -> int | None:
        """The column a slot is drawn in; None for one outside time (the total L)."""
        return self.col_of_t.get(s.t) if s.t is not None else None


def _grid(slots: list[Slot], fold: bool | None, keep: int, fold_above: int,
          window: tuple[int, int] | None) -> _Grid:
    """Decides the columns (which steps are drawn, which fold) and the rows. The backward
    direction of a bidirectional layer runs from the right end, so its initial states
    move from t = 0 to t = T + 1, a column of their own right of the last step."""
    steps = sorted({s.t for s in slots if s.t is not None and s.t >= 1})
    starts = {k for k, s in enumerate(slots) if s.t == 0}
    if steps:
        slots = [replace(s, t=steps[-1] + 1) if k in starts and s.direction == "bwd" else s
                 for k, s in enumerate(slots)]
    has_init = any(s.t == 0 for s in slots)
    has_rinit = any(k in starts and s.t != 0 for k, s in enumerate(slots))
    cols = layout.columns(steps, has_init, fold, keep, fold_above, window, has_rinit,
                          who="draw_cells")
    col_of_t = layout.column_of_step(cols)
    rows = sorted({_row_order(s) for s in slots})
    return _Grid(slots, starts, steps, cols, col_of_t, rows,
                 {r: k for k, r in enumerate(rows)})


def _drawn_nodes(grid: _Grid) -> tuple[list[str], dict[str, list[int]]]:
    """Decides which drawn node shows each slot: its own ("n" + its node's index), or,
    in a folded column, the one dashed node of its row there. Returns the drawn node per
    slot and the slots each fold node stands for."""
    drawn: list[str] = []
    folded: dict[str, list[int]] = {}
    for k, s in enumerate(grid.slots):
        c = grid.column(s)
        if c is not None and grid.cols[c][0] == "fold":
            nid = layout.fold_id(c, grid.row_ix[_row_order(s)])
            folded.setdefault(nid, []).append(k)
        else:
            nid = f"n{s.rep}"
        drawn.append(nid)
    return drawn, folded


def _signed(x: float | None) -> str:
    """A share as an edge shows it: two digits, a true minus sign."""
    return dot.num(x).replace("-", "−", 1) if x is not None and x < 0 else dot.num(x)


def _merged_edges(cells: Cells, classes: list[str], numbers: dict[int, str],
                  drawn: list[str]) -> dict[tuple[str, str, str], layout.Drawn]:
    """Decides the drawn edges: the contracted edges of one class between the same two
    drawn nodes become one (folding gives many such; a carry and a temporal road between
    two nodes stay two); those ``layout.draws_edge`` drops are not drawn. Weights are
    named on the edge, biases are not (as in the header). ``numbers`` per contracted
    edge: what a drawn edge of one contracted edge shows (``Drawn.text``)."""
    nodes = cells.graph.nodes
    edges: dict[tuple[str, str, str], layout.Drawn] = {}
    texts: dict[tuple[str, str, str], list[str]] = {}
    to_root = {drawn[k] for k, s in enumerate(cells.slots) if s.role == "root"}
    for n, e in enumerate(cells.edges):
        a, b = drawn[e.src], drawn[e.dst]
        if not layout.draws_edge(a, b):
            continue
        key = (a, b, classes[n])
        d = edges.get(key)
        if d is None:
            d = edges[key] = layout.Drawn(a, b, classes[n])
        d.flows.append(norm(e.flow))
        texts.setdefault(key, []).append(numbers.get(n, ""))
        for w in sorted(e.weights):
            if w not in d.weights and not is_bias(nodes[w]):
                d.weights.append(w)
    for key, d in edges.items():
        # an edge into the root L shows no number: each L_t shows its ‖grad‖ (1)
        d.number = texts[key][0] if d.single and key[1] not in to_root else ""
    return edges


def _place_nodes(grid: _Grid, drawn: list[str], folded: dict[str, list[int]],
                 nodes: list[Tensor], fl: Any, layers: int, sums: dict[int, list]
                 ) -> tuple[dict[str, str], list[list[tuple[tuple, str]]], list[str],
                            dict[str, float]]:
    """Decides each drawn node's look and place (``sums``: the addition a node where
    roads meet shows). Returns its DOT statement, the (row, node) pairs in each column,
    the nodes outside every column (the total L), and about how wide each is drawn."""
    node_lines: dict[str, str] = {}
    widths: dict[str, float] = {}
    placed: list[list[tuple[tuple, str]]] = [[] for _ in grid.cols]
    outside: list[str] = []
    for k, s in enumerate(grid.slots):
        nid = drawn[k]
        if nid in node_lines:
            continue
        if nid in folded:
            attrs, widths[nid] = _fold_attrs([grid.slots[m] for m in folded[nid]], layers)
        else:
            attrs, widths[nid] = _node_attrs(s, nodes[s.rep], fl, layers, k in grid.starts,
                                             sums.get(k))
        node_lines[nid] = dot.node(nid, attrs)
        c = grid.column(s)
        if c is None:
            outside.append(nid)
        else:
            placed[c].append((_row_order(s), nid))
    return node_lines, placed, outside, widths


@dataclass
class _Column:
    """One column: its cluster's statements, and what holds it in place. ``anchor`` is
    its node on the bottom row (the column order hangs on it); ``points`` are invisible
    points with the row each shares a rank with; ``chains`` are invisible edges that
    stack the column's nodes bottom to top."""

    lines: list[str]
    anchor: str
    points: list[tuple[tuple, str]]
    chains: list[str]


def _column(grid: _Grid, c: int, placed: list[tuple[tuple, str]],
            node_lines: dict[str, str], ranks: dict[tuple, int]) -> _Column:
    """Decides how column c stands: its nodes bottom to top in one cluster, chained by
    invisible edges so that dot stacks them, from an anchor on the bottom row. The
    column order ties to the anchors, so every column needs one there: an invisible
    point when the column has no node on that row. In a bidirectional layer each
    direction's row is a rank of its own and its nodes a group of their own (dot keeps
    a group in one vertical line): the forward chain x -> h^(1) -> h^(2) -> y runs
    straight, the backward direction's nodes beside it, and every row is one flat line
    with nothing between one step's node and the next. The invisible edges are as long
    as the rows' ``ranks`` are apart."""
    kind, a, b = grid.cols[c]
    placed = sorted(placed)
    lines = layout.open_cluster(f"cluster_{c}", kind, a, b)
    # the backward direction's nodes first: dot then puts them right of the forward line
    emit = sorted(placed, key=lambda p: not _is_bwd(p[0]))
    lines += ["\t" + node_lines[nid] + f" [group={_group(c, _is_bwd(r))}]"
              for r, nid in emit]
    stack = list(placed)
    points: list[tuple[tuple, str]] = []
    if placed and placed[0][0] == grid.rows[0]:
        anchor = stack[0][1]
    else:
        anchor = f"anchor{c}"
        lines.append("\t" + layout.point(anchor))
        points.append((grid.rows[0], anchor))
        stack.insert(0, (grid.rows[0], anchor))
    chains = [layout.invisible_edge(a, b) if ranks[q] - ranks[p] <= 1 else
              f"{a} -> {b} [style=invis, minlen={ranks[q] - ranks[p]}]"
              for (p, a), (q, b) in zip(stack, stack[1:], strict=False)]
    lines.append("}")
    return _Column(lines, anchor, points, chains)


def _group(c: int, bwd: bool) -> str:
    """The group (dot keeps a group's nodes in one straight line) of column c's forward
    line, or of its backward line."""
    return f"g{c}b" if bwd else f"g{c}"


def _same_rank(rows: list[tuple], placed: list[list[tuple[tuple, str]]],
               points: list[tuple[tuple, str]]) -> list[str]:
    """Decides the rows: every row's nodes, across all columns, and the invisible points
    holding places in it share one rank, so each row is one straight line."""
    by_row: dict[tuple, list[str]] = {}
    for r, nid in [p for col in placed for p in col] + points:
        by_row.setdefault(r, []).append(nid)
    return [dot.same_rank(by_row[r]) for r in rows if len(by_row.get(r, [])) > 1]


def _edge_lines(edges: dict[tuple[str, str, str], layout.Drawn],
                labels: dict[tuple[str, str, str], list], at_end: set, arrows: str,
                placed: list[list[tuple[tuple, str]]], scale: style.PenScale,
                clear: dict[str, float]) -> list[str]:
    """The drawn edges' statements: widths on the picture's scale of flows; an edge's
    column and row ends decide which way it points and whether it lies flat; the edges
    in ``at_end`` take their label at their start (``_row_ranks``); a flat edge's label
    starts ``clear`` points past the node it leaves (``_clearances``)."""
    col_of = {nid: c for c, col in enumerate(placed) for _, nid in col}
    row_of = {nid: r for col in placed for r, nid in col}
    # a temporal road beside a carry between the same two nodes (the GRU) leaves from the
    # corners, so that it stays straight and the carry bends below it
    beside = {(a, b) for a, b, cls in edges if cls == style.CARRY}
    out = []
    for k, d in edges.items():
        arc = (k[0], k[1]) in beside and k[2] == style.TEMPORAL
        # a backward row's arc bends down, into the empty rank below it (``_row_ranks``),
        # clear of the edges that leave the row upwards (rankdir=BT: "n" is at the bottom)
        down = arc and _is_bwd(row_of.get(d.src, (0, 0, 0)))
        ports = ("ne", "nw") if down else ("se", "sw") if arc else ("e", "w")
        out.append(layout.edge_line(
            d, scale.width(d.flow), arrows, col_of, row_of, labels[k], 11,
            at_start=k in at_end,
            above=arc and not down, ports=ports,
            # an arc leaves its node steeply: its label goes further along it
            clear=clear.get(d.src, 8.0) + (24 if arc else 0)))
    return out


def _clearances(grid: _Grid, placed: list[list[tuple[tuple, str]]],
                widths: dict[str, float]) -> dict[str, float]:
    """Per drawn node, how far past its side a flat edge's label must start to clear the
    border of the node's cluster: a column's nodes of one direction stand in one line
    (``_column``'s groups; dot centres them only roughly), as wide as the widest of them
    (or the cluster's label), and a cluster's border is 8 points beyond them. Estimated
    from the labels' widths (``rich.extent``), as if the node stood flush left, and 8
    points more for good measure."""
    out: dict[str, float] = {}
    for c, col in enumerate(placed):
        kind, a, b = grid.cols[c]
        label = {"fold": rich.width(f"t = {a} … {b}", 14, True),
                 "rinit": rich.width("reverse start", 9)}.get(kind, 0.0)
        for bwd in (False, True):
            ids = [nid for r, nid in col if _is_bwd(r) == bwd]
            widest = max([label, *(widths[n] for n in ids)])
            for n in ids:
                out[n] = widest - widths[n] + 16
    return out


def _header(cells: Cells, fl: Any, edges: dict, heads: set[int], title: str | None,
            steps: list[int], layers: int, arrows: str, whose: str,
            scale: style.PenScale, example: str) -> list[str]:
    """The heading: title, legend (a row per road drawn, how the numbers read with an
    ``example`` from the picture, the width key), the shared weights, and notes."""
    nodes = cells.graph.nodes
    if title is None:
        T = steps[-1] if steps else 0
        title = (f"{layers}-layer recurrent network unrolled over T = {T}" if T
                 else "computation graph")
    rows = [layout.title_row(title, 18)]
    legend = dict(style.LEGEND)
    if any(d.cls == style.INPUT and not any(d.flows) for d in edges.values()):
        legend[style.INPUT] += " (no gradient needed)"
    rows += layout.legend_rows(edges.values(), legend)
    if any(d.number for d in edges.values()):
        rows.append(layout.note_row(
            "<b>How to read the numbers.</b> A node shows ‖∂L/∂node‖, the size of its "
            "gradient. An edge shows its road's share of the gradient of the node it leaves "
            "(gᵢ·g/‖g‖ for the part gᵢ that came back along it; negative when it pulls "
            "against the rest), so where roads meet the shares add up to the node's number"
            + (":" if example else "."), 120, 12))
    if example:
        rows.append(layout.table_row(example))
    rows += layout.width_key_row(scale, "edge width ~ log ‖gradient that came back along "
                                 "it‖:")
    ws = [w for w in cells.params if not is_bias(nodes[w])]
    rows += layout.weights_rows("shared weights, ‖grad‖ summed over all uses", ws, nodes,
                                heads, fl)
    notes = []
    if arrows == "gradient":
        notes.append("arrows point the way gradients flow (backward)")
    else:
        notes.append("arrows point forward (computation); gradients flow against them")
    notes.append(f"gradients of {whose}")
    more = []
    if not steps:
        more.append("no node has a step tag (t=1, 2, …), so the graph is drawn as one box per "
                    "role; tag each step's ops with tags(t=t, layer=l) to unroll it in time")
    if cells.shared_hops:
        more.append("where one path feeds several nodes of a step (gates → c and h; a layer's "
                    "input → both directions above), its gradient is drawn on one edge: to "
                    "the same row (hₜ₋₁ → hₜ), else to the lowest (xₜ → cₜ); unnumbered edges "
                    "share a numbered one's gradient (backward ran without "
                    "retain_graph=True, so it cannot be split per road)")
    if _has_constant_start(cells) and any(f for d in edges.values() for f in d.flows):
        more.append("the initial states (t = 0) are constants that need no gradient, so "
                    "their edges carry no number")
    if any(s.direction == "bwd" for s in cells.slots):
        more.append("′ marks the backward direction")
    rows += [layout.note_row(text) for text in ["; ".join(notes)] + more]
    return layout.heading(rows)


def _road_word(cls: str, dst: Slot) -> tuple[str, str]:
    """A road's class and what the legend's example calls it: "same step", "next step"
    (into h_{t+1}), "next step's c" (an LSTM's h_t -> c_{t+1}), "cell state", "carry"."""
    word = {style.SPATIAL: "same step", style.INPUT: "input", style.CARRY: "carry",
            style.CELL: "cell state", style.OTHER: "other"}.get(cls)
    if word is None:  # temporal
        word = "next step" if dst.role == "h" else f"next step's {dst.role}"
    return cls, word


def _example(grid: _Grid, parts_of: dict[int, tuple[str, list[tuple[str, str, str]]]],
             layers: int) -> str:
    """The legend's worked example: a node of the picture where roads meet, its addition
    and which road each part came along, "h₂⁽¹⁾  0.27 = −0.03 + 0.30  (same step + next
    step)" (HTML text); "" when no roads meet. The first drawn one, bottom row
    first, whose parts all print and come along a same-step and a next-step road."""
    def fits(k: int) -> tuple:
        value, parts = parts_of[k]
        kinds = {cls for _, cls, _ in parts}
        shown = all(p.strip("−0.") for p, _, _ in parts)
        s = grid.slots[k]
        column = grid.column(s)
        drawn = column is not None and grid.cols[column][0] == "step"
        return (not drawn, "×" in value, not shown,
                not ({style.SPATIAL, style.TEMPORAL} <= kinds), _row_order(s), s.t or 0)

    if not parts_of:
        return ""
    k = min(parts_of, key=fits)
    s = grid.slots[k]
    value, parts = parts_of[k]
    name = state_name(s.role, s.t, s.layer, s.direction, layers)

    def font(text: str, color: str, bold: bool = False) -> str:
        return f'<font color="{color}">{f"<b>{text}</b>" if bold else text}</font>'

    terms = ""
    for i, (part, cls, _) in enumerate(parts):
        sign, digits = ("−", part[1:]) if part.startswith("−") else ("+", part)
        terms += (f" {sign} " if i else "−" if sign == "−" else "") + font(
            digits, style.TEXT[cls], True)
    roads = " + ".join(font(word, style.TEXT[cls]) for _, cls, word in parts)
    return (f'<font point-size="13" color="{style.NOTE}">e.g.  <b>{name}</b>   '
            f'{font(f"‖grad‖ {value} =", _GREY)} {terms}   ({roads})</font>')


def _has_constant_start(cells: Cells) -> bool:
    """Some initial state (t = 0) needs no gradient: its edges have no number."""
    return any(s.t == 0 and not cells.graph.nodes[s.rep].requires_grad for s in cells.slots)


def _fill_key(s: Slot, init: bool) -> str:
    if init:
        return "init"
    if s.role in style.FILL:
        return s.role
    return "state"


def _node_attrs(s: Slot, node: Tensor, fl: Any, layers: int, init: bool,
                addition: list[rich.Piece] | None = None) -> tuple[dict, float]:
    """A key node's look: its name (scripts readable: ``rich.line``) and, below, the norm
    of its gradient, or, where roads meet, the addition of their shares. Also about how
    wide it is drawn (``_node_width``)."""
    fill, pen = style.FILL[_fill_key(s, init)]
    if s.role == "root":
        name = dot.html(node.label or "L", 24)
        title = rich.line(name, 15, bold=True)
    else:
        name = state_name(s.role, s.t, s.layer, s.direction, layers)
        title = rich.line(name, 15, bold=not (init or s.role == "x"))
    g = norm(fl.grad(node))
    rows = [title]
    wide = rich.extent([(name, True, None)], 15)[0]
    numbers = ""  # what the node says, as plain text (its tooltip)
    if addition is not None:
        rows.append(rich.line(addition, 11))
        wide = max(wide, rich.extent(addition, 11)[0])
        numbers = "".join(text for text, _, _ in addition)
    elif g is not None and s.role != "root":
        numbers = f"‖grad‖ {dot.num(g)}"
        rows.append(f'<font point-size="11" color="{_GREY}">{numbers}</font>')
        wide = max(wide, rich.width(numbers, 11))
    shape = "ellipse" if s.role == "x" or init else "box"
    a = {"label": dot.label(rich.label(rows)), "shape": shape,
         "style": "rounded,filled" if shape == "box" else "filled", "fillcolor": fill,
         "color": pen,
         # (|grad| in the tooltip: the explorer finds the numbers drawn by their ‖grad‖)
         "tooltip": html.unescape(f"{name}: {numbers}").replace("‖", "|")
         + f" ({node.op or 'leaf'} {s.role} t={s.t} layer={s.layer} {node.label})"}
    if s.role == "root":
        a["penwidth"] = 2.0
    return a, _node_width(wide, shape)


def _node_width(label: float, shape: str) -> float:
    """About how wide dot draws a node whose label is ``label`` points wide: a box adds
    its margins (0.11 in a side), an ellipse is √2 times that; at least 0.75 in."""
    box = label + 16
    return max(54.0, box * 1.42 if shape == "ellipse" else box)


def _fold_attrs(members: list[Slot], layers: int) -> tuple[dict, float]:
    """A fold node's look ("h₄ … h₂₇", or "…" for a state row) and about its width."""
    first = min(members, key=lambda s: s.t)
    last = max(members, key=lambda s: s.t)
    if first.role in ("x", "y", "input", "loss") or first.t == last.t:
        a = state_name(first.role, first.t, first.layer, first.direction, layers)
        b = state_name(last.role, last.t, last.layer, last.direction, layers)
        text = a if a == b else f"{a} … {b}"
        body = rich.line(text, 15, color="#555555")
    else:
        text = body = "…"
    return ({"label": dot.label(body), "shape": "box", "style": "dashed,rounded",
             "color": "#999999", "fontcolor": "#555555", "tooltip": html.unescape(text)},
            _node_width(rich.extent(text, 15)[0], "box"))


def _edge_pieces(d: layout.Drawn, nodes: list, heads: set[int]) -> list[rich.Piece]:
    """What an edge says: the weights it goes through and, for one edge of the graph, its
    road's share (bold); nothing on an edge into the root L (each L_t shows its ‖grad‖,
    1, and a label on those long curved edges ends up on the line)."""
    color = style.TEXT[d.cls]
    names = " ".join(weight_name(nodes[w].label, w in heads) for w in d.weights)
    pieces: list[rich.Piece] = [(names, False, color)] if names else []
    if d.number:
        pieces.append((("  " if names else "") + d.number, True, color))
    return pieces
