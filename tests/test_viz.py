"""The renderer: DOT structure, flow numbers, determinism, escaping, rendering."""

import re
import subprocess
import sys
import time

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from unroll import unroll

from microgradrnn import Tensor, Value, tags
from microgradrnn.viz import dot, draw_cells, draw_ops, engines, style
from microgradrnn.viz.graph import contract, get_flow, norm, walk
from microgradrnn.viz.names import HEAD_WEIGHT
from microgradrnn.viz.shares import printed_sum

needs_engine = pytest.mark.skipif(
    not (engines.find_pure() or engines.find_dot()), reason="no graphviz engine")


def test_import_does_not_load_graphviz():
    code = "import sys, microgradrnn; print('graphviz' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "False"


def test_cells_structure_rnn():
    L, _ = unroll("rnn", layers=2, steps=4)
    src = draw_cells(L).source
    assert len(re.findall(r"subgraph cluster_\d+ \{", src)) == 5  # t=0..4
    for t in range(1, 5):
        assert f"<b>t = {t}</b>" in src
    for cls in (style.TEMPORAL, style.SPATIAL, style.INPUT):
        assert style.COLOR[cls] in src
    assert style.COLOR[style.CELL] not in src
    assert "h₃⁽²⁾" in src and "x₄" in src and "L₂" in src
    assert "Wₕₕ⁽¹⁾" in src and HEAD_WEIGHT in src and "rankdir=BT" in src
    assert "ordering=out" in src and "{rank=same;" in src
    # one rank=same group per row: x, h^(1), h^(2), y, L (t = 0 states share their rows)
    ranks = re.findall(r"\{rank=same; ([^}]*)\}", src)
    assert len(ranks) == 5 and all(len(r.split(";")) >= 4 for r in ranks)


def test_cells_lstm_has_cell_state_class():
    L, _ = unroll("lstm", layers=1, steps=3)
    src = draw_cells(L).source
    assert style.COLOR[style.CELL] in src and "c₂" in src and "cell state" in src
    # the input road enters c_t (the gates feed c first): x_t -> c_t -> h_t is one column;
    # c and h rows are flat (temporal and cell-state edges east to west)
    flat_cell = r'color="' + style.COLOR[style.CELL] + r'"[^]]*tailport="e", headport="w"'
    assert len(re.findall(flat_cell, src)) == 3
    assert "constraint" not in src


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru", "custom"])
def test_contracted_flows_sum_to_node_grads(cell):
    L, _ = unroll(cell, layers=2, steps=3)
    g = walk(L)
    fl = get_flow(g)
    cells = contract(g, fl)
    for k, s in enumerate(cells.slots):
        if s.role not in ("h", "c") or s.t == 0:
            continue
        outs = [e.flow for e in cells.edges if e.src == k and e.flow is not None]
        node = g.nodes[s.rep]
        np.testing.assert_allclose(sum(outs), node.grad, rtol=1e-10, atol=1e-12)


def test_edge_labels_are_the_roads_shares_and_the_node_shows_their_sum():
    # rewritten: the edge h_2 -> h_3 used to show the norm of its flow; it now shows its
    # road's additive share of dL/dh_2, and h_2 shows the addition of its two roads
    L, _ = unroll("rnn", layers=1, steps=3)
    g = walk(L)
    h2 = next(n for n in g.nodes if n.tags.get("role") == "h" and n.tags.get("t") == 2)
    lin = next(n for n in g.nodes if n.op == "linear" and n.parents[0] is h2
               and n.parents[1].label == "weight_hh_l0")
    total = np.asarray(h2.grad).ravel()
    size = np.linalg.norm(total)
    temporal = float(np.asarray(lin.flow[0]).ravel() @ total) / size
    same_step = size - temporal  # the only other road: h_2 -> y_2
    parts, printed, _ = printed_sum([same_step, temporal])
    src = draw_cells(L).source
    # a part too small for the sum's two digits shows as 0.0 there, as itself on its edge
    shown = parts[1] if parts[1].strip("−0.") else dot.num(temporal).replace("-", "−")
    # the edge's label (and tooltip) and the node's addition
    assert f'tooltip="Wₕₕ⁽¹⁾  {shown}"' in src and f"><b>  {shown}</b></font>" in src
    assert f"|grad| {printed} = " in src and abs(float(printed) - size) <= 0.005


def test_loss_at_and_freed_graph_error():
    L, _ = unroll("rnn", layers=1, steps=5)
    src = draw_cells(L, loss_at=5).source
    assert "gradients of L₅ only" in src
    L2, _ = unroll("rnn", layers=1, steps=3, retain=False)
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        draw_cells(L2, loss_at=3)
    with pytest.raises(ValueError, match="no node tagged"):
        draw_cells(L, loss_at=9)


def test_determinism():
    a = draw_cells(unroll("lstm", layers=2, steps=4, seed=3)[0]).source
    b = draw_cells(unroll("lstm", layers=2, steps=4, seed=3)[0]).source
    assert a == b
    assert draw_ops(unroll("gru", steps=2, seed=1)[0]).source == \
        draw_ops(unroll("gru", steps=2, seed=1)[0]).source


def test_folding_and_window():
    L, _ = unroll("rnn", layers=2, steps=20, hidden=2, batch=1)
    src = draw_cells(L).source
    assert "t = 4 … 17" in src and "14 steps folded" in src
    assert len(re.findall(r"^\t+fold\d+_\d+ \[", src, re.M)) == 5  # x, h1, h2, y, L rows
    assert "<b>t = 10</b>" not in src
    src = draw_cells(L, window=(8, 10)).source
    assert "<b>t = 9</b>" in src and "<b>t = 2</b>" not in src and "folded" in src
    assert "folded" not in draw_cells(L, fold=False).source


def test_bidirectional_and_custom():
    L, _ = unroll("gru", layers=2, steps=3, bidirectional=True)
    src = draw_cells(L).source
    assert "′" in src and "backward direction" in src
    assert "in₂" not in src  # layer inputs are pass-through, not boxes
    # the backward direction starts at the right: its initial state is h_4' at t = T+1
    last = src[src.rindex("subgraph cluster_"):]
    assert "t = 4</b>" in last and "reverse start" in last and "h₄⁽¹⁾′" in last
    assert src.count("reverse start") == 1
    # its edge into h_3' is temporal and flat (drawn h_3' -> h_4' with dir=back)
    temporal = style.COLOR[style.TEMPORAL]
    # (a GRU's temporal road leaves from the corners: the carry beside it is straight)
    assert re.search(r'-> n\d+ \[color="' + temporal + r'".*dir="back", tailport="[sn]?e", '
                     r'headport="[sn]?w"', src)
    assert "other dependencies" not in src
    L, _ = unroll("custom", layers=1, steps=3)
    assert "h₃" in draw_cells(L).source


def test_value_graph_no_clusters():
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    c = a * b + 1.0
    c.label = "c"
    c.backward(record_flow=True)
    src = draw_ops(c).source
    assert "cluster" not in src and "rankdir=LR" in src
    assert "data 2.0000" in src and "grad -3.0000" in src


def test_no_tags_no_backward():
    x = Tensor(np.ones(3), requires_grad=True, label="x")
    y = (x * 2.0).sum()
    assert "cluster" not in draw_ops(y).source
    assert "cluster" not in draw_cells(y).source


@needs_engine
def test_render_svg_png_dot(tmp_path):
    L, _ = unroll("lstm", layers=1, steps=3)
    pic = draw_cells(L)
    assert pic.render(tmp_path / "a.svg").read_text().lstrip().startswith("<?xml")
    assert pic.render(tmp_path / "a.png").read_bytes()[:4] == b"\x89PNG"
    assert pic.render(tmp_path / "a.dot").read_text() == pic.source
    pic.format = "png"  # graphviz's habit: no extension, the picture's own format
    assert pic.render(tmp_path / "b") == tmp_path / "b.png"
    assert (tmp_path / "b.png").read_bytes()[:4] == b"\x89PNG"
    assert draw_ops(L).pipe("svg")[:5] == b"<?xml"
    if not engines.find_dot():
        with pytest.raises(engines.EngineError, match="no pdf"):
            pic.render(tmp_path / "a.pdf")
    with pytest.raises(ValueError, match="unknown format"):
        pic.render(tmp_path / "a.xyz")


@needs_engine
def test_long_lstm_renders_fast():
    start = time.perf_counter()
    L, _ = unroll("lstm", layers=1, steps=500, hidden=2, batch=1, inputs=1)
    build = time.perf_counter()
    svg = draw_cells(L).pipe("svg")
    assert b"497 steps folded" not in svg  # keep=3: t = 4 ... 497
    assert b"494 steps folded" in svg
    assert time.perf_counter() - build < 10, f"built in {build - start:.1f}s"


NAMES = st.text(st.characters(codec="utf-8"), max_size=12) | st.sampled_from(
    ['"', "\\", "{|}", "<b>x</b>", "a\nb", "]]>", "&amp;", "\\N", "W:hh", "é中😀", "\\\""])


@needs_engine
@settings(max_examples=40, deadline=None)
@given(NAMES, NAMES)
@example("0\n", "")  # a newline before the step's subscript: the name's <br/> was split
def test_escaping_fuzz(name, op_label):
    with tags(t=1, layer=1, direction="fwd", role=name or "h"):
        w = Tensor(np.ones((2, 2)), requires_grad=True, label=name)
        h = (w * 2.0).tanh()
    h.tags = {**h.tags, "role": name or "h"}
    with tags(t=1, role="loss"):
        loss = h.sum()
    loss.label = op_label
    loss.backward(record_flow=True)
    for pic in (draw_cells(loss, title=name), draw_ops(loss, title=op_label)):
        svg = pic.pipe("svg")  # laid out, labels placed (``place``), drawn
        assert svg.startswith(b"<?xml")
        assert b"<b>x</b>" not in svg.split(b"<svg", 1)[1].replace(b"&lt;b&gt;", b"")


def test_quote_and_html_escapers():
    assert dot.quote('a"b\\c\nd') == '"a\\"b\\\\c\\nd"'
    assert dot.html("<b>&\"</b>") == "&lt;b&gt;&amp;&quot;&lt;/b&gt;"
    assert dot.num(1.234e-4) == "1.2e-04" and dot.num(0.8333) == "0.83" and dot.num(0) == "0"


def _real(cell="rnn", **kw):
    """A model from the library's own layers (nn) with a per-step nn.Linear head."""
    from microgradrnn.app.seqmodel import PerStepModel

    kw = {"inputs": 2, "hidden": 2, **kw}
    steps = kw.pop("steps", 3)
    model = PerStepModel(cell, **kw)
    rng = np.random.default_rng(0)
    loss, _ = model.losses(rng.normal(size=(steps, 1, 2)), rng.normal(size=(steps, 1, 1)))
    loss.backward(retain_graph=True, record_flow=True)
    return loss


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_head_weight_named_by_role_y(cell):
    # nn.Linear's parameter is labelled plain "weight", and its input is a slice of the
    # stacked output made inside the y scope: still W_hy, in the header and on h -> y
    src = draw_cells(_real(cell, layers=2)).source
    assert HEAD_WEIGHT in src and not re.search(r"\bweight\b(?!s)", src)
    # on each h_t -> y_t edge, with its flow
    assert len(re.findall('tooltip="' + re.escape(HEAD_WEIGHT) + r"  \d", src)) == 3
    assert "gate₁" not in src  # the cells' internal role="gate" ops are contracted away
    assert HEAD_WEIGHT in draw_ops(_real(cell, steps=2)).source


def _ranks(src):
    return [r.split("; ") for r in re.findall(r"\{rank=same; ([^}]*)\}", src)]


def test_ops_structure_rnn_rows_flat():
    src = draw_ops(_real("rnn", layers=2, steps=3)).source
    assert len(re.findall(r"subgraph cluster_t\d+ \{", src)) == 4  # t = 0..3
    # each layer's chain W_hh h_t-1 + b -> add -> tanh = h_t, for every step (and h_0),
    # is one rank=same group: 1 + 3 * 3 nodes per layer
    rows = [r for r in _ranks(src) if len(r) == 10]
    assert len(rows) == 2
    # temporal edges flat, east to west, coloured; parameters are not nodes. The road lies
    # on the row: 6 edges between steps (2 layers x 3 steps) and, inside each step, the 2
    # edges of the chain W_hh h + b -> + -> tanh (the ops view colours them by their road)
    temporal = re.findall(r'-> n\d+ \[color="' + style.COLOR[style.TEMPORAL] + r'"[^]]*\]', src)
    assert len(temporal) == 6 + 2 * 2 * 3
    assert all('tailport="e", headport="w"' in e for e in temporal)
    assert "Wₕₕ⁽¹⁾ h₂⁽¹⁾ + bₕₕ⁽¹⁾" in src and "h₃⁽²⁾ = tanh" in src
    assert not re.search(r"\bweight\b(?!s)", src) and "temporal" in src and "inside a cell" in src


def test_ops_lstm_and_fold():
    src = draw_ops(_real("lstm", steps=3)).source
    assert style.COLOR[style.CELL] in src and "c₂ = +" in src
    assert "folded" not in src
    src = draw_ops(_real("rnn", layers=2, steps=8)).source  # folds above 6 steps
    assert "t = 3 … 6" in src and "<b>t = 7</b>" in src and "<b>t = 4</b>" not in src
    folds = set(re.findall(r"\b(fold\d+_\d+) \[", src))
    assert len(folds) == 5  # x, h^(1), h^(2), y/L, sum
    flat = [r for r in _ranks(src) if any(f in r for f in folds)]
    assert len(flat) >= 3  # x row and both layers' rows include their fold node
    assert "folded" not in draw_ops(_real("rnn", steps=8), fold=False).source


def _clusters(src):
    """Each column's cluster, left to right: (its label, the ids of the nodes in it)."""
    out = []
    for body in re.findall(r"subgraph cluster_t\d+ \{\n(.*?)\n\t\}", src, re.S):
        label = re.search(r"^\t\tlabel=<(.*)>$", body, re.M).group(1)
        # the drawn nodes (not the invisible point that anchors a column without an input)
        out.append((label, re.findall(r"^\t\t(\w+) \[(?!style=invis)", body, re.M)))
    return out


def _edges(src):
    """(tail, head, attributes) of every drawn (visible) edge."""
    return [(a, b, attrs) for a, b, attrs in re.findall(r"^\t(\w+) -> (\w+) \[(.*)\]$",
                                                        src, re.M) if attrs != "style=invis"]


@pytest.mark.parametrize("window", [(1, 2), (3, 4), (2, 2), (3, 6)])
@pytest.mark.parametrize("cell, kw", [("rnn", {}), ("lstm", {}), ("lstm", {"layers": 2}),
                                      ("gru", {"bidirectional": True})],
                         ids=["rnn", "lstm", "lstm-2layers", "gru-bidirectional"])
def test_ops_window(cell, kw, window):
    # window=(a, b) draws steps a..b in full and folds the others (with t = 0 when a > 1)
    T, (a, b) = 6, window
    src = draw_ops(_real(cell, steps=T, **kw), window=(a, b)).source
    cols = _clusters(src)
    full = [(lab, ids) for lab, ids in cols if lab.startswith("<b>t = ") and "<br/>" not in
            lab and lab != "<b>t = 0</b>"]
    # the window's steps, each a column of its own nodes with its input x_t and loss L_t
    assert [lab for lab, _ in full] == [f"<b>t = {t}</b>" for t in range(a, b + 1)]
    assert all(ids and not any(i.startswith("fold") for i in ids) for _, ids in full)
    for t in range(1, T + 1):
        inside = a <= t <= b
        assert (f'tooltip="x{dot.sub(t)}"' in src) == inside
        assert (f'tooltip="L{dot.sub(t)} = mean"' in src) == inside
    folded = [(lab, ids) for lab, ids in cols if "folded" in lab]
    assert all(ids and all(i.startswith("fold") for i in ids) for _, ids in folded)
    ranks = _ranks(src)
    edges = _edges(src)
    if a == 1:
        label, ids = cols[0]  # the initial states, in full
        assert label == "<b>t = 0</b>" and ids and all(i.startswith("n") for i in ids)
        assert re.search(rf'^\t\t{ids[0]} \[label=<.*tooltip="h₀', src, re.M)
    else:
        # t = 0 .. a-1 fold into the first column: a fold node per state row (a forward
        # row from its initial state h₀, a backward row from step 1: its initial state
        # is at T + 1), one for the inputs x₁ … and one for the head
        label, ids = cols[0]
        assert label.startswith(f"<b>t = 0 … {a - 1}</b>") and (label, ids) in folded
        # t = 0 holds the initial states, not a step: a - 1 steps are folded with them
        assert f">{a - 1} step{'s' if a > 2 else ''} folded<" in label
        text = {i: re.search(rf"^\t\t{i} \[label=<(.*?)>, ", src, re.M).group(1)
                for i in ids}
        rows = [i for i in ids if "every op of" in text[i]]
        assert all(f"every op of {a - 1} step" in text[i] for i in rows)  # h₀ has no ops
        per_layer = (2 if cell == "lstm" else 1) * (2 if kw.get("bidirectional") else 1)
        assert len(rows) == kw.get("layers", 1) * per_layer
        assert sorted(text[i][:2] for i in rows) == sorted(
            (["c₀"] if cell == "lstm" else []) * kw.get("layers", 1) +
            ["h₀"] * kw.get("layers", 1) + (["h₁"] if kw.get("bidirectional") else []))
        sub = dot.sub(a - 1)
        xs, head = (f"x₁ … x{sub}", f"y₁, L₁ … y{sub}, L{sub}") if a > 2 else ("x₁", "y₁, L₁")
        assert xs in text.values() and head in text.values()  # one step: no "x₁ … x₁"
        if a == 2:
            assert all("every op of 1 step<" in text[i] for i in rows)
        # each row lies on its row's rank and meets the window along a temporal (or
        # cell-state) edge
        state = (style.COLOR[style.TEMPORAL], style.COLOR[style.CELL])
        for f in rows:
            assert any(f in r and any(i.startswith("n") for i in r) for r in ranks)
            assert any(f in (s, d) and (s + d).count("fold") == 1 and any(
                c in attrs for c in state) for s, d, attrs in edges)
    after = [lab for lab, _ in folded if not lab.startswith("<b>t = 0 ")]
    if b < T:
        span = f"t = {b + 1} … {T}" if b + 1 < T else f"t = {T}"
        assert len(after) == 1 and after[0].startswith(f"<b>{span}</b>")
    else:
        assert after == []
    assert ("reverse start" in cols[-1][0]) == bool(kw.get("bidirectional"))
    assert src.count("L = Σₜ Lₜ") == 1  # the root, drawn in full


def test_weights_are_named_through_views_and_biases_are_not():
    # a cell written as x @ W.T (a transpose of the parameter) still names W on its edges
    rng = np.random.default_rng(0)
    W = Tensor(rng.normal(size=(2, 3)), requires_grad=True, label="W_cell")
    b = Tensor(np.zeros(2), requires_grad=True, label="b_cell")
    x = Tensor(rng.normal(size=(2, 1, 1)))
    h = Tensor(np.zeros((1, 2)))
    total = None
    for t in (1, 2):
        with tags(t=t, layer=1, direction="fwd"):
            with tags(role="x"):
                x_t = x[t - 1]
            from microgradrnn import concatenate

            h = (concatenate([x_t, h], axis=1) @ W.T + b).tanh()
        h.tags = {**h.tags, "role": "h"}
        with tags(t=t, role="loss"):
            L_t = (h * h).sum()
        total = L_t if total is None else total + L_t
    total.backward(record_flow=True)
    src = draw_cells(total).source
    assert src.count("W_cell") >= 3  # header plus edges into h_1 and h_2
    assert "b_cell" not in src


def test_ops_nodes_show_data_and_grad_norms():
    L, _ = unroll("rnn", layers=1, steps=2)
    src = draw_ops(L).source
    h1 = next(n for n in walk(L).nodes if n.tags.get("role") == "h" and n.tags.get("t") == 1)
    assert f"‖data‖ {dot.num(norm(h1.data))}  ‖grad‖ {dot.num(norm(h1.grad))}" in src
