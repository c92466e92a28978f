"""The cells view teaches BPTT: the roads into a node add up to its number, a gated cell
is drawn as it computes (LSTM: h_{t-1} -> c_t and -> h_t; GRU: the carry), the palette
reads under colour blindness, and the view's entry refuses what is not a graph."""

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from unroll import tanh_chain, unroll

from microgradrnn import Tensor, nn
from microgradrnn import functional as F
from microgradrnn.viz import draw_cells, engines, style
from microgradrnn.viz.graph import check_root, contract, find_loss, get_flow, walk
from microgradrnn.viz.shares import printed_sum

needs_engine = pytest.mark.skipif(
    not (engines.find_pure() or engines.find_dot()), reason="no graphviz engine")


def _nn_loss(layer, seed, bidirectional=False, fused=False):
    """L = Σ_t L_t of a 2-layer nn layer with a linear head, backward with the flow."""
    rng = np.random.default_rng(seed)
    kw = {"fused": True} if fused else {}
    net = layer(3, 4, num_layers=2, bidirectional=bidirectional, rng=seed, **kw)
    head = nn.Linear(8 if bidirectional else 4, 1, rng=seed + 10)
    out, _ = net(rng.normal(size=(5, 2, 3)))
    loss, _ = F.per_step_loss(out, head, rng.normal(size=(5, 2, 1)), F.mse_loss)
    loss.backward(retain_graph=True, record_flow=True)
    return loss


def _cells(loss):
    graph = walk(loss)
    return contract(graph, get_flow(graph))


def _check_shares_sum_to_node_norms(cells):
    nodes = cells.graph.nodes
    checked = 0
    for k, s in enumerate(cells.slots):
        shares = [e.share for e in cells.edges if e.src == k and e.share is not None]
        if not shares or s.role == "root":
            continue
        g = np.asarray(nodes[s.rep].grad, dtype=np.float64)
        assert sum(shares) == pytest.approx(np.linalg.norm(g), abs=1e-9, rel=1e-9)
        checked += len(shares) > 1
    return checked


@pytest.mark.parametrize("layer", [nn.RNN, nn.LSTM, nn.GRU])
@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_the_shares_drawn_into_a_node_sum_to_its_norm(layer, seed, bidirectional):
    cells = _cells(_nn_loss(layer, seed, bidirectional))
    assert not cells.shared_hops and cells.split == (layer is nn.LSTM or bidirectional)
    # where roads meet: every h_t of the lower layer, every h_t of the top layer but
    # the last (its only road is to y_T)
    assert _check_shares_sum_to_node_norms(cells) >= 8


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru", "custom"])
def test_shares_sum_for_hand_built_and_custom_cells(cell):
    L, _ = unroll(cell, layers=2, steps=4, seed=3)
    assert _check_shares_sum_to_node_norms(_cells(L)) >= 6


def test_every_gradient_arriving_at_a_node_is_on_one_drawn_road():
    # the roads out of h_t carry, summed, exactly dL/dh_t (split hops included)
    cells = _cells(_nn_loss(nn.LSTM, 2, bidirectional=True))
    nodes = cells.graph.nodes
    for k, s in enumerate(cells.slots):
        if s.role in ("h", "c") and s.t:
            total = sum(e.flow for e in cells.edges if e.src == k and e.flow is not None)
            np.testing.assert_allclose(total, nodes[s.rep].grad, rtol=1e-10, atol=1e-13)


def _edge(cells, src, dst, bare=None):
    found = [e for e in cells.edges
             if (cells.slots[e.src].role, cells.slots[e.src].t) == src
             and (cells.slots[e.dst].role, cells.slots[e.dst].t) == dst
             and (bare is None or e.bare == bare)]
    assert len(found) == 1, (src, dst, found)
    return found[0]


def _lstm(fused):
    rng = np.random.default_rng(0)
    net = nn.LSTM(2, 3, rng=0, fused=fused)
    head = nn.Linear(3, 1, rng=1)
    out, _ = net(rng.normal(size=(4, 1, 2)))
    loss, _ = F.per_step_loss(out, head, rng.normal(size=(4, 1, 1)), F.mse_loss)
    loss.backward(retain_graph=True, record_flow=True)
    return net, loss


def test_lstm_h_prev_reaches_c_through_i_f_g_and_h_through_o():
    net, loss = _lstm(fused=False)
    cells = _cells(loss)
    fused_cells = _cells(_lstm(fused=True)[1])  # three ops a step, the same roads
    nodes = cells.graph.nodes
    H, W_hh = 3, net.weight_hh_l0.data
    for t in (2, 3, 4):
        # the per-path computation: dL/dz_t of W_hh h_{t-1} (the engine's recorded
        # gradient), split by gate columns: i, f, g (:3H) only reach c_t, o (3H:) only
        # h_t; and d(h W^T)/dh = dz @ W
        h_prev = next(nodes[s.rep] for s in cells.slots if (s.role, s.t) == ("h", t - 1))
        lin = next(n for n in nodes if n.op == "linear" and n.parents[0] is h_prev)
        dz = np.asarray(lin.grad)
        via_c, via_o = dz[:, :3 * H] @ W_hh[:3 * H], dz[:, 3 * H:] @ W_hh[3 * H:]
        for c in (cells, fused_cells):
            np.testing.assert_allclose(_edge(c, ("h", t - 1), ("c", t)).flow, via_c,
                                       rtol=1e-9, atol=1e-13)
            np.testing.assert_allclose(_edge(c, ("h", t - 1), ("h", t)).flow, via_o,
                                       rtol=1e-9, atol=1e-13)
    # drawn: h_{t-1} -> h_t (flat) and h_{t-1} -> c_t, both temporal, each with a number
    src = draw_cells(loss).source
    temporal = re.findall(r'^\tn\d+ -> n\d+ \[color="' + style.COLOR[style.TEMPORAL]
                          + r'"[^\n]*<b>', src, re.M)
    assert len(temporal) == 2 * 3  # steps 2..4 (h_0 needs no gradient: no number)


def test_gru_carry_is_its_own_road_with_its_own_flow():
    rng = np.random.default_rng(0)
    net = nn.GRU(2, 3, rng=0)
    head = nn.Linear(3, 1, rng=1)
    out, _ = net(rng.normal(size=(4, 1, 2)))
    loss, _ = F.per_step_loss(out, head, rng.normal(size=(4, 1, 1)), F.mse_loss)
    loss.backward(retain_graph=True, record_flow=True)
    cells = _cells(loss)
    nodes = cells.graph.nodes
    for t in (2, 3, 4):
        h_prev = next(nodes[s.rep] for s in cells.slots if (s.role, s.t) == ("h", t - 1))
        # h_t = n + z * (h_{t-1} - n): the carry enters at the sub, the rest at W_hh
        sub = next(n for n in nodes if n.op == "sub" and n.parents[0] is h_prev)
        lin = next(n for n in nodes if n.op == "linear" and n.parents[0] is h_prev)
        carry = _edge(cells, ("h", t - 1), ("h", t), bare=True)
        through_w = _edge(cells, ("h", t - 1), ("h", t), bare=False)
        np.testing.assert_allclose(carry.flow, sub.flow[0], rtol=1e-12)
        np.testing.assert_allclose(through_w.flow, lin.flow[0], rtol=1e-12)
        assert carry.weights == set()
    src = draw_cells(loss).source
    assert "carry: hₜ₋₁ → hₜ" in src
    assert src.count(f'color="{style.COLOR[style.CARRY]}"') >= 3


def test_a_bidirectional_layers_output_gets_one_number_from_each_direction_above():
    cells = _cells(_nn_loss(nn.GRU, 0, bidirectional=True))
    for d in ("fwd", "bwd"):
        ups = [e for e in cells.edges
               if (cells.slots[e.src].role, cells.slots[e.src].t, cells.slots[e.src].layer,
                   cells.slots[e.src].direction) == ("h", 3, 1, d)
               and cells.slots[e.dst].layer == 2 and cells.slots[e.dst].t == 3]
        assert sorted(cells.slots[e.dst].direction for e in ups) == ["bwd", "fwd"]
        assert all(e.flow is not None and e.share is not None for e in ups)
        assert ups[0].flow is not ups[1].flow and not np.allclose(ups[0].flow, ups[1].flow)


def test_bidirectional_rows_are_flat_one_rank_per_direction():
    src = draw_cells(_nn_loss(nn.GRU, 0, bidirectional=True)).source
    ranks = re.findall(r"\{rank=same; ([^}]*)\}", src)
    # x, h^(1), h^(1)', h^(2), h^(2)', y, L: each its own flat row across the columns
    assert len(ranks) == 7
    assert "tailport" in src and not re.search(r"\bp\d+_\d+\b", src)  # no placeholders


def test_without_a_retained_graph_the_hops_are_not_split_and_the_header_says_so():
    rng = np.random.default_rng(0)
    net = nn.LSTM(2, 3, rng=0)
    out, _ = net(rng.normal(size=(3, 1, 2)))
    loss, _ = F.per_step_loss(out, nn.Linear(3, 1, rng=1), rng.normal(size=(3, 1, 1)),
                              F.mse_loss)
    loss.backward(record_flow=True)  # the saved arrays are freed
    cells = _cells(loss)
    assert cells.shared_hops and not cells.split
    assert "cannot be split per road" in draw_cells(loss).source


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(-50, 50, allow_nan=False), min_size=1, max_size=5))
def test_printed_parts_add_up_to_the_printed_sum(shares):
    parts, total, exponent = printed_sum(shares)
    value = lambda text: float(text.replace("−", "-"))
    decimals = len(total.split(".")[1]) if "." in total else 0
    assert round(sum(value(p) for p in parts), decimals) == value(total)
    true = sum(shares) / 10.0 ** exponent
    assert abs(value(total) - true) <= 0.5 * 10.0 ** -decimals + 1e-9 * abs(true)


def test_printed_sum_examples():
    assert printed_sum([0.1749, 0.1151]) == (["0.17", "0.12"], "0.29", 0)
    assert printed_sum([0.35, -0.06]) == (["0.35", "−0.06"], "0.29", 0)
    assert printed_sum([1.2e-5, 3.4e-6]) == (["1.2", "0.3"], "1.5", -5)


def test_numpy_int_step_tags_unroll_the_same_as_python_ints():
    def picture(steps):
        return draw_cells(tanh_chain(steps)).source

    numpy_src = picture(np.arange(1, 4))
    assert len(re.findall(r"subgraph cluster_\d+ \{", numpy_src)) == 3
    assert re.sub(r"n\d+", "n", numpy_src) == re.sub(r"n\d+", "n", picture(range(1, 4)))


def test_a_graph_without_step_tags_says_why_it_is_one_box():
    x = Tensor(np.ones(3), requires_grad=True, label="x")
    y = (x * 2.0).sum()
    y.backward(record_flow=True)
    assert "no node has a step tag" in draw_cells(y).source


@pytest.mark.parametrize("bad", [None, 3.0, np.ones(2), "L"])
def test_draw_cells_refuses_what_is_not_a_node(bad):
    with pytest.raises(TypeError, match="draw_cells: root must be a Tensor or Value"):
        draw_cells(bad)
    with pytest.raises(TypeError, match="draw_ops: root must be a Tensor"):
        check_root(bad, "draw_ops")


def test_the_caption_names_whose_gradients_are_drawn():
    from microgradrnn import gradient_flow

    L, _ = unroll("rnn", layers=1, steps=4)
    assert "gradients of the root L" in draw_cells(L).source
    assert "gradients of L₄ only" in draw_cells(L, loss_at=4).source
    last = find_loss(walk(L), 4)
    src = draw_cells(L, flow=gradient_flow(last)).source
    assert "the flow passed in (flow=)" in src and "gradients of the root" not in src


def test_pen_widths_span_the_pictures_own_range_and_the_legend_keys_them():
    scale = style.PenScale([0.025, 0.3, 2.7, None])
    assert scale.width(0.025) == style.MIN_PEN and scale.width(2.7) == style.MAX_PEN
    assert style.MIN_PEN < scale.width(0.3) < style.MAX_PEN
    assert scale.key() == pytest.approx([0.025, np.sqrt(0.025 * 2.7), 2.7])
    src = draw_cells(unroll("rnn", layers=2, steps=3)[0]).source
    assert "edge width ~ log" in src and "▄" in src
    widths = [float(w) for w in re.findall(r"penwidth=([\d.]+)", src)]
    assert min(widths) == pytest.approx(style.MIN_PEN) and max(widths) == style.MAX_PEN


@needs_engine
def test_dpi_scales_the_png(tmp_path):
    pic = draw_cells(unroll("rnn", layers=1, steps=2)[0])

    def size(path):
        data = path.read_bytes()
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")

    w1, h1 = size(pic.render(tmp_path / "a.png"))
    w2, h2 = size(pic.render(tmp_path / "b.png", dpi=192))
    assert w2 == pytest.approx(2 * w1, rel=0.05) and h2 == pytest.approx(2 * h1, rel=0.05)
    assert pic.pipe("png", dpi=192)[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="dpi"):
        pic.render(tmp_path / "c.png", dpi=0)


