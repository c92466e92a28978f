"""The pictures as drawn, checked as a reader would look at them: rows are straight lines,
no number sits under the line it labels or on a node, names carry readable scripts, the
legend's worked example is a node of the picture, h_0 shows the gradient that reaches it.

These render with the installed engine (graphviz-pure here) and read the SVG's geometry
(``drawn.py``), not the DOT that asked for it."""

import math
import re

import numpy as np
import pytest
from drawn import edges_through_nodes, flat_edges_not_straight, inside, on_border, overlap, read
from unroll import tanh_chain, unroll

from microgradrnn import gradient_flow
from microgradrnn.app.render import draw
from microgradrnn.viz import draw_cells, draw_ops, engines, rich
from microgradrnn.viz.graph import contract, get_flow, walk

needs_engine = pytest.mark.skipif(
    not (engines.find_pure() or engines.find_dot()), reason="no graphviz engine")

PICTURES = [
    ("cells", {"layers": 2, "steps": 5}),
    ("cells", {"cell": "lstm", "steps": 5}),
    ("cells", {"cell": "gru", "steps": 5}),
    ("cells", {"cell": "lstm", "layers": 2, "steps": 3}),
    ("cells", {"cell": "gru", "layers": 2, "bidirectional": True, "steps": 4}),
    ("cells", {"cell": "lstm", "layers": 3, "bidirectional": True, "steps": 1}),
    ("cells", {"steps": 30}),
    ("cells", {"steps": 30, "loss_at": 30}),
    ("ops", {"layers": 2, "steps": 5}),
    ("ops", {"cell": "lstm"}),
    ("ops", {"cell": "gru"}),
    ("ops", {"cell": "lstm", "steps": 3}),
    ("ops", {"cell": "gru", "steps": 3}),
    ("ops", {"cell": "lstm", "fused": True}),
    ("ops", {"cell": "lstm", "layers": 2, "steps": 3}),
    ("ops", {"layers": 2, "bidirectional": True, "steps": 7}),
    ("ops", {"cell": "gru", "layers": 2, "bidirectional": True, "fused": True, "steps": 3}),
]
IDS = [f"{view}-{'-'.join(f'{k}{v}' for k, v in kw.items())}" for view, kw in PICTURES]


def _drawn(view, kw):
    pic = draw(view=view, **kw)
    return pic.source, read(pic.pipe("svg", encoding="utf-8"))


@needs_engine
@pytest.mark.parametrize("view, kw", PICTURES, ids=IDS)
def test_every_row_is_a_straight_line(view, kw):
    # dL/dh flows back along one straight line per row: every edge between two nodes of
    # a row (h_{t-1} -> h_t, c_{t-1} -> c_t, the ops on a row) is drawn horizontal. (The
    # GRU's road through W_hh bends around its carry, drawn straight, by design.)
    src, drawing = _drawn(view, kw)
    assert flat_edges_not_straight(src, drawing) == []
    assert sum(e.tailport not in ("se", "ne") for e in drawing.edges) > 0


@needs_engine
@pytest.mark.parametrize("view, kw", PICTURES, ids=IDS)
def test_no_number_sits_on_a_line_a_node_or_a_border(view, kw):
    # "1.4" must not read ".4": no point of any edge's curve (its own or another's) lies
    # inside a number, no number overlaps a node or another number, and none straddles a
    # cluster's border (``place.labels`` moves the ones the engine put badly)
    _, drawing = _drawn(view, kw)
    numbers = [(e, text, box) for e in drawing.edges for text, box in e.numbers]
    assert len(numbers) >= 10
    on_line = [(e.tail, e.head, text) for e, text, box in numbers
               if any(inside(p, box, 0.5) for other in drawing.edges for p in other.points)]
    on_node = [(e.tail, e.head, text) for e, text, box in numbers
               if any(overlap(box, b, 1.0) for b in drawing.nodes.values())]
    on_number = [(a[1], b[1]) for i, a in enumerate(numbers) for b in numbers[i + 1:]
                 if overlap(a[2], b[2], 0.5)]
    crossing = [(e.tail, e.head, text) for e, text, box in numbers
                if any(on_border(box, frame) for frame in drawing.clusters)]
    assert (on_line, on_node, on_number) == ([], [], [])
    # a GRU's ops view has one edge between two columns too short for its number on
    # either side of the gap: it may touch the border there
    assert len(crossing) <= (1 if view == "ops" and kw.get("cell") == "gru" else 0), crossing


@needs_engine
@pytest.mark.parametrize("view, kw", PICTURES, ids=IDS)
def test_every_number_stands_beside_its_own_line(view, kw):
    # a label the engine floated away from its edge (a GRU's arched temporal road) is
    # moved beside it: its halo within 9 pt and half the pen of its own curve (a flat
    # edge's number in the ops view may stand under the node it leaves, by design, where
    # beside the line it would straddle the border between two columns: 26 pt)
    _, drawing = _drawn(view, kw)
    far = []
    for e in drawing.edges:
        for x0, y0, x1, y1 in e.halos:
            gap = min(math.hypot(max(x0 - x, x - x1, 0), max(y0 - y, y - y1, 0))
                      for x, y in e.points)
            if gap > (26 if view == "ops" else 9 + e.pen / 2 + 0.5):
                far.append((e.tail, e.head, round(gap)))
    assert sum(len(e.halos) for e in drawing.edges) >= 10
    assert far == []


@needs_engine
@pytest.mark.parametrize("kw", [{"cell": cell, "fused": fused, "steps": 3}
                                for cell in ("lstm", "gru") for fused in (False, True)]
                         + [{"cell": "gru", "layers": 2, "bidirectional": True, "steps": 3}],
                         ids=["lstm", "lstm-fused", "gru", "gru-fused", "gru-bidi-2"])
def test_no_ops_view_edge_runs_through_another_node(kw):
    # the LSTM's g -> i ⊙ g once ran through f = σ[f] (its number on top of it): the gates
    # now stand beside what they meet, so an edge passes between nodes, never through one
    # (its curve may graze a box by 3 pt, as it leaves or reaches a neighbour). In a
    # bidirectional stack dot cut the corner of a node beside a long edge (the GRU's
    # n -> h_t): such an edge is drawn straight (``place.reroute``)
    _, drawing = _drawn("ops", kw)
    assert len(drawing.edges) >= 20
    assert edges_through_nodes(drawing) == []


@needs_engine
@pytest.mark.parametrize("kw", [{"layers": 2, "steps": 5}, {"cell": "gru", "steps": 5},
                                {"steps": 30}, {"steps": 30, "loss_at": 30}],
                         ids=["rnn2", "gru", "rnn30", "rnn30-L30"])
def test_no_number_straddles_a_clusters_border(kw):
    # a flat edge's label starts past its cluster's border (from the nodes' estimated
    # widths); an edge between two columns and rows takes its label at its start
    _, drawing = _drawn("cells", kw)
    assert len(drawing.clusters) >= 5
    crossing = [(e.tail, e.head, text) for e in drawing.edges for text, box in e.numbers
                if any(on_border(box, frame) for frame in drawing.clusters)]
    assert crossing == []


def test_names_are_drawn_with_readable_scripts():
    # h₁⁽²⁾ and Wₕₕ⁽¹⁾′ become a base letter with its scripts stacked beside it, in a font
    # two thirds its size: no unicode sub/superscript glyph (4 px at 100 %) is left in a
    # node's or an edge's label (the heading's prose keeps them)
    assert rich.segments("Wₕₕ⁽¹⁾′ h₀ + by") == [
        rich._Name("W", "hh", "(1)′"), " ", rich._Name("h", "0"), " + ", rich._Name("b", "y")]
    assert rich.segments("y₁ = Wₕy h₁") == [
        rich._Name("y", "1"), " = ", rich._Name("W", "hy"), " ", rich._Name("h", "1")]
    assert rich.segments("a &amp; b₂") == ["a &amp; ", rich._Name("b", "2")]
    glyphs = re.compile("[₀-ₜ⁰-⁾ₕₓᵢ]")
    for view in ("cells", "ops"):
        src = draw(cell="lstm", layers=2, steps=3, view=view).source
        labels = [re.sub(r'tooltip="[^"]*"', "", line) for line in src.splitlines()
                  if re.match(r"^\t+n\d+ ", line)]
        assert labels and not [ln for ln in labels if glyphs.search(ln)], view
        assert 'point-size="10"' in src or 'point-size="7.5"' in src  # the scripts' size


def test_the_legend_works_an_example_from_the_picture():
    src = draw(layers=2, steps=5).source
    m = re.search(r"e\.g\.  <b>([^<]*)</b>.*?‖grad‖ ([\d.]+) =</font> (.*?)   \(", src)
    name, total, terms = m.groups()
    parts = re.findall(r"(?:^|([+−]) )?<font color=\"#\w+\"><b>([\d.]+)</b></font>", terms)
    value = sum(float(p) * (-1 if sign == "−" else 1) for sign, p in parts)
    assert len(parts) == 2 and round(value, 2) == float(total)
    # the node it names shows that very addition
    assert re.search(rf'tooltip="{re.escape(name)}: \|grad\| {re.escape(total)} = ', src)
    assert ">same step<" in src and ">next step<" in src and "How to read the numbers" in src


def test_h0_of_the_render_model_shows_the_gradient_reaching_it_on_both_lstm_roads():
    from microgradrnn.app.render import seeded_loss

    loss, _ = seeded_loss(cell="lstm", steps=3)
    loss.backward(retain_graph=True, record_flow=True)
    graph = walk(loss)
    cells = contract(graph, get_flow(graph))
    h0 = next(k for k, s in enumerate(cells.slots) if (s.role, s.t) == ("h", 0))
    roads = {cells.slots[e.dst].role: e for e in cells.edges if e.src == h0}
    assert set(roads) == {"h", "c"}  # h_0 -> h_1 (through o) and h_0 -> c_1 (i, f, g)
    assert all(e.flow is not None for e in roads.values())
    g = np.asarray(graph.nodes[cells.slots[h0].rep].grad)
    assert sum(e.share for e in roads.values()) == pytest.approx(np.linalg.norm(g), abs=1e-12)
    src = draw_cells(loss).source
    assert "constants that need no gradient" not in src


def test_a_constant_h0_still_has_its_road_to_c1():
    # no gradient reaches a constant initial state, but its roads are drawn (unnumbered)
    from microgradrnn import nn

    rng = np.random.default_rng(0)
    net = nn.LSTM(2, 3, rng=0)
    out, _ = net(rng.normal(size=(3, 1, 2)))
    loss = (out * out).sum()
    loss.backward(retain_graph=True, record_flow=True)
    graph = walk(loss)
    cells = contract(graph, get_flow(graph))
    h0 = next(k for k, s in enumerate(cells.slots) if (s.role, s.t) == ("h", 0))
    assert {cells.slots[e.dst].role for e in cells.edges if e.src == h0} == {"h", "c"}


def test_the_ops_view_unrolls_numpy_int_step_tags():
    def picture(steps):
        return draw_ops(tanh_chain(steps)).source

    numpy_src = picture(np.arange(1, 4))
    assert len(re.findall(r"subgraph cluster_t\d+ \{", numpy_src)) == 3
    assert numpy_src == picture(range(1, 4))


def test_the_ops_view_says_whose_gradients_it_draws_and_keys_its_widths():
    from microgradrnn.viz.graph import find_loss

    L, _ = unroll("rnn", layers=1, steps=3)
    assert "gradients of the root L" in draw_ops(L).source
    assert "gradients of L₃ only" in draw_ops(L, loss_at=3).source
    src = draw_ops(L, flow=gradient_flow(find_loss(walk(L), 3))).source
    assert "the flow passed in (flow=)" in src and "gradients of the root" not in src
    assert "edge width ~ log" in src and "▄" in src
