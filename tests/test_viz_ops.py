"""The ops view: named gates, each layer's road on one straight row, edges coloured by
road, signed scalar flows, and every cell x layers x direction x fused x steps renders."""

import itertools
import re

import numpy as np
import pytest

from microgradrnn import Value
from microgradrnn.app.render import draw
from microgradrnn.viz import draw_ops, engines, ops_layout, style

needs_engine = pytest.mark.skipif(
    not (engines.find_pure() or engines.find_dot()), reason="no graphviz engine")


def _titles(src):
    """The title of every drawn node (its tooltip: the label draws it as a table)."""
    return re.findall(r'^\t+n\d+ \[label=<.*tooltip="([^"]*)"', src, re.M)


def _node(src, title):
    """The ids of the nodes whose title starts with ``title``."""
    return re.findall(rf'^\t+(n\d+) \[label=<.*tooltip="{re.escape(title)}', src, re.M)


def _ranks(src):
    return [r.split("; ") for r in re.findall(r"\{rank=same; ([^}]*)\}", src)]


def _flat_edges(src):
    """(tail, head, colour) of every edge laid flat along a rank (east port to west)."""
    return [(a, b, c) for a, b, c, rest in re.findall(
        r"^\t(\w+) -> (\w+) \[color=\"(#\w+)\"(.*)\]$", src, re.M)
        if 'tailport="e", headport="w"' in rest]


def _on_one_row(src, a, b, color):
    """Whether drawn nodes a and b lie on one rank joined by flat edges of ``color``."""
    rank = next((r for r in _ranks(src) if a in r), [])
    if b not in rank:
        return False
    links = {}
    for t, h, c in _flat_edges(src):
        if c == color:
            links.setdefault(t, set()).add(h)
            links.setdefault(h, set()).add(t)
    seen, todo = {a}, [a]
    while todo:
        for n in links.get(todo.pop(), ()):
            if n not in seen:
                seen.add(n)
                todo.append(n)
    return b in seen


GATES = {"lstm": ["i = σ[i]", "f = σ[f]", "g = tanh", "o = σ[o]"],
         "gru": ["r = σ[r]", "z = σ[z]", "n = tanh"]}


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_gates_are_named(cell):
    src = draw(cell=cell, steps=2, view="ops").source
    titles = _titles(src)
    for gate in GATES[cell]:
        assert titles.count(gate) == 2, gate  # one per step
    assert "slice" not in titles  # every slice says which gates it takes
    letters = "ifgo" if cell == "lstm" else "rzn"
    assert all(f"<b>{g}</b> {ops_layout.GATE_MEANING[g]}" in src for g in letters)


def test_fused_lstm_gates_op_names_its_gates():
    src = draw(cell="lstm", steps=2, view="ops", fused=True).source
    assert sum(t.startswith("lstm_gates [i f g o]") for t in _titles(src)) == 2


def test_gate_letters_follow_the_slice_taken():
    # the gates' letters come from which columns of the 4H pre-activation a slice holds,
    # not from the order the slices were made in
    from microgradrnn import Tensor, tags
    from microgradrnn.viz.graph import walk

    H = 2
    rng = np.random.default_rng(0)
    with tags(t=1, layer=1, direction="fwd", role="h"):
        h0 = Tensor(rng.normal(size=(1, H)), requires_grad=True)
    with tags(t=1, layer=1, direction="fwd"):
        with tags(role="gate"):
            z = Tensor(rng.normal(size=(1, 4 * H)), requires_grad=True) * h0.sum()
            o, i = z[:, 3 * H:], z[:, :H]  # made o first
        h = o * i
    h.tags = {**h.tags, "role": "h"}
    c = ops_layout.classify(walk(h.sum()))
    gates = ops_layout.name_gates(c)
    index = walk(h.sum()).index
    assert gates.name[index[o]] == "o" and gates.name[index[i]] == "i"
    assert gates.letters[index[z]] == "ifgo"


ROADS = [("rnn", {}), ("lstm", {}), ("gru", {}), ("lstm", {"fused": True}),
         ("gru", {"fused": True}), ("gru", {"layers": 2, "bidirectional": True}),
         ("lstm", {"layers": 2, "bidirectional": True})]


@pytest.mark.parametrize("cell, kw", ROADS, ids=[f"{c}-{'-'.join(k)}" for c, k in ROADS])
def test_each_layers_road_lies_on_one_straight_row(cell, kw):
    src = draw(cell=cell, steps=3, view="ops", **kw).source
    layers = kw.get("layers", 1)
    dirs = ["", "′"] if kw.get("bidirectional") else [""]
    temporal, cell_state = style.COLOR[style.TEMPORAL], style.COLOR[style.CELL]
    sup = {1: "", 2: "⁽²⁾"} if layers == 1 else {1: "⁽¹⁾", 2: "⁽²⁾"}
    checked = 0
    for layer, d, t in itertools.product(range(1, layers + 1), dirs, (1, 2)):
        for role, color in (("h", temporal), ("c", cell_state)):
            if role == "c" and cell != "lstm":
                continue
            a = _node(src, f"{role}{'₁₂₃'[t - 1]}{sup[layer]}{d} =")
            b = _node(src, f"{role}{'₁₂₃'[t]}{sup[layer]}{d} =")
            assert len(a) == len(b) == 1, (role, layer, d, t)
            assert _on_one_row(src, a[0], b[0], color), (role, layer, d, t)
            checked += 1
    assert checked == layers * len(dirs) * 2 * (2 if cell == "lstm" else 1)


def test_edges_inside_a_step_are_coloured_by_their_road():
    src = draw(cell="lstm", steps=2, view="ops").source
    flat = _flat_edges(src)
    (c1,) = _node(src, "c₁ =")
    (h1,) = _node(src, "h₁ =")
    (o1,) = _node(src, "o = σ[o]")[:1]
    # f * c_0 -> c_1 on the cell-state row; o -> h_1 on the temporal road
    assert any(h == c1 and c == style.COLOR[style.CELL] for _, h, c in flat)
    assert (o1, h1, style.COLOR[style.TEMPORAL]) in flat
    # W_ih x_1 + b feeds the row from the input alone: the same-step road
    (lin,) = _node(src, "Wₓₕ⁽¹⁾ x₁")
    assert re.search(rf"^\t{lin} -> n\d+ \[color=\"{style.COLOR[style.SPATIAL]}\"", src, re.M)
    # tanh(c_1), above the c row, feeds h_1 on the h row below: that edge is written
    # upwards, h_1 -> tanh with the arrow turned, so that dot sees no cycle
    (tanh,) = re.findall(rf"^\t{h1} -> (n\d+) \[color=\"{style.COLOR[style.OTHER]}\"[^]]*"
                         r'dir="back"', src, re.M)
    assert re.search(rf"^\t{c1} -> {tanh} \[", src, re.M)


def test_backward_rows_read_right_to_left():
    src = draw(cell="rnn", steps=3, view="ops", bidirectional=True).source
    (h2,) = _node(src, "h₂′ =")
    (h3,) = _node(src, "h₃′ =")
    # h'_2 = f(h'_3): its chain is written from step 2's column to step 3's, arrows turned
    edges = re.findall(r"^\t(\w+) -> (\w+) \[([^\n]*)\]$", src, re.M)
    back = [(a, b) for a, b, attrs in edges if 'dir="back"' in attrs
            and style.COLOR[style.TEMPORAL] in attrs]
    assert back and _on_one_row(src, h2, h3, style.COLOR[style.TEMPORAL])


def test_value_view_keeps_the_sign_and_says_what_has_no_grad():
    a, b = Value(-4.0, label="a"), Value(3.0, label="b")
    c = a * b + 1.0
    c.backward(record_flow=True)
    src = draw_ops(c).source
    assert b.grad == -4.0 and "<b>−4</b>" in src  # the edge b -> (a * b) carries −4
    assert "<b>3</b>" in src  # and a's edge 3
    assert "grad 0.0000" not in src and "no grad (constant)" in src


def test_draw_ops_refuses_a_non_tensor():
    with pytest.raises(TypeError, match="draw_ops: root must be a Tensor or Value"):
        draw_ops(3.0)
    with pytest.raises(TypeError, match="got NoneType"):
        draw_ops(None)


def test_layout_is_deterministic():
    one = draw(cell="gru", layers=2, bidirectional=True, steps=7, view="ops").source
    assert one == draw(cell="gru", layers=2, bidirectional=True, steps=7, view="ops").source


@needs_engine
@pytest.mark.parametrize("view", ["cells", "ops"])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("layers", [1, 2, 3])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("fused", [False, True], ids=["composed", "fused"])
def test_every_combination_renders(view, cell, layers, bidirectional, fused):
    # 144 pictures per view; graphviz-pure used to lose edges on 21 of the ops views
    for steps in (1, 3, 7, 40):
        pic = draw(cell=cell, layers=layers, bidirectional=bidirectional, fused=fused,
                   steps=steps, view=view, hidden=2)
        svg = pic.pipe("svg", engine="pure" if engines.find_pure() else None)
        assert svg.startswith(b"<?xml") and svg.rstrip().endswith(b"</svg>")
        assert f"t = {steps}</text>".encode() in svg, steps  # the last step is drawn
