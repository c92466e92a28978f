"""Fused cells (``fused=True``: one op per step, three for the LSTM): the same numbers as
the composed cells (outputs, final states and every gradient), PyTorch parity, gradcheck,
the same tags and roles, and pictures that still show h_t, c_t and the cell-state edge."""

import re

import numpy as np
import pytest
from test_nn_recurrent import _gradcheck_module

from microgradrnn import Tensor, concatenate, nn, tags
from microgradrnn.engine import toposort
from microgradrnn.viz import draw_cells, draw_ops, style

KINDS = [("RNN", {}), ("RNN", {"nonlinearity": "relu"}), ("LSTM", {}),
         ("LSTM", {"bias": False}), ("RNN", {"bias": False}), ("GRU", {}),
         ("GRU", {"bias": False})]


def _run(kind, kw, fused, dtype, x, with_state):
    layer = getattr(nn, kind)(3, 4, num_layers=2, bidirectional=True, rng=0, fused=fused,
                              **kw).astype(dtype)
    xt = Tensor(x, requires_grad=True)
    n_state = 2 if kind == "LSTM" else 1
    rng = np.random.default_rng(5)
    s0 = [Tensor(rng.standard_normal((4, x.shape[1], 4)).astype(dtype), requires_grad=True)
          for _ in range(n_state)] if with_state else []
    state = None if not s0 else (tuple(s0) if kind == "LSTM" else s0[0])
    out, final = layer(xt, state)
    final = final if isinstance(final, tuple) else (final,)
    loss = (out * out).sum() + sum((f * f * f).sum() for f in final)
    loss.backward()
    grads = {name: p.grad for name, p in layer.named_parameters()}
    grads["x"] = xt.grad
    for i, s in enumerate(s0):
        grads[f"state{i}"] = s.grad
    return [out.data] + [f.data for f in final], grads, loss


@pytest.mark.parametrize("with_state", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kind,kw", KINDS, ids=lambda v: str(v))
def test_fused_equals_composed(kind, kw, dtype, with_state):
    # float64 to 1e-12; float32 to its own precision (the two paths round differently)
    tol = dict(rtol=1e-12, atol=1e-12) if dtype == np.float64 else dict(rtol=2e-5, atol=2e-5)
    x = np.random.default_rng(4).standard_normal((5, 2, 3)).astype(dtype)
    outs_c, grads_c, _ = _run(kind, kw, False, dtype, x, with_state)
    outs_f, grads_f, _ = _run(kind, kw, True, dtype, x, with_state)
    for a, b in zip(outs_f, outs_c, strict=True):
        assert a.dtype == dtype
        np.testing.assert_allclose(a, b, **tol)
    assert grads_f.keys() == grads_c.keys()
    for k in grads_c:
        assert grads_f[k].dtype == dtype, k
        np.testing.assert_allclose(grads_f[k], grads_c[k], err_msg=k, **tol)


def test_fused_layers_match_torch(monkeypatch):
    """The parity tests of test_nn_parity.py, with every layer and cell fused. (Imported
    here, not at the top: a test function imported into a module is collected and run
    again there, and test_nn_parity skips itself without torch, which would skip every
    test of this file.)"""
    pytest.importorskip("torch")
    import test_nn_parity as parity

    for cls in (nn.RNN, nn.LSTM, nn.GRU, nn.RNNCell, nn.LSTMCell, nn.GRUCell):
        init = cls.__init__
        monkeypatch.setattr(cls, "__init__", lambda self, *a, _init=init, **k:
                            _init(self, *a, **{**k, "fused": True}))
    made = []
    original = parity._ours
    monkeypatch.setattr(parity, "_ours", lambda kind, **kw: made.append(kind) or
                        original(kind, **kw))
    for kind in ("rnn_tanh", "rnn_relu", "lstm", "gru"):
        for args in [(1, False, False, False), (2, True, False, False),
                     (3, False, True, True), (1, True, True, True)]:
            parity.test_layer_matches_torch(kind, *args)
        parity.test_cell_matches_torch(kind)
    assert "gru" in made and nn.GRU(2, 2).cells[0].fused and nn.GRUCell(2, 2).fused


@pytest.mark.parametrize("make", [
    lambda: nn.RNNCell(3, 2, rng=0, fused=True),
    lambda: nn.RNNCell(3, 2, nonlinearity="relu", rng=0, fused=True),
    lambda: nn.GRUCell(3, 2, rng=0, fused=True),
    lambda: nn.GRUCell(3, 2, bias=False, rng=0, fused=True),
])
def test_gradcheck_fused_single_state_cell(make):
    cell = make()
    rng = np.random.default_rng(1)
    x = Tensor(rng.standard_normal((2, 3)), requires_grad=True)
    h = Tensor(rng.standard_normal((2, 2)), requires_grad=True)

    def run(x, h):
        h1, s = cell(x, h)
        h2, _ = cell(x * 0.5, s)
        return concatenate([h1, h2], axis=1)

    assert _gradcheck_module(cell, run, x, h)


def _key_nodes(kind, fused):
    layer = getattr(nn, kind)(2, 3, num_layers=2, bidirectional=True, rng=0, fused=fused)
    x = Tensor(np.ones((3, 2, 2)), requires_grad=True)
    out, final = layer(x)
    with tags(role="loss"):
        loss = out.sum()
    keys = sorted((n.tags.get("role"), n.tags.get("t"), n.tags.get("layer"),
                   n.tags.get("direction"), n.shape) for n in toposort(loss)
                  if n.tags.get("role") not in (None, "gate"))
    return keys, toposort(loss)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_fused_tags_and_roles_are_those_of_the_composed_path(kind):
    composed, _ = _key_nodes(kind, False)
    fused, nodes = _key_nodes(kind, True)
    assert fused == composed
    op = {"RNN": "rnn_tanh_cell", "LSTM": "lstm_gates", "GRU": "gru_cell"}[kind]
    cells = [n for n in nodes if n.op == op]
    assert len(cells) == 3 * 2 * 2  # one per step, layer and direction
    assert all({"t", "layer", "direction"} <= set(n.tags) for n in cells)
    if kind != "LSTM":  # the op's output is h_t itself
        assert all(n.tags["role"] == "h" for n in cells)
    else:  # the gates are inside the cell; c_t from them and c_{t-1}, h_t
        assert all(n.tags["role"] == "gate" for n in cells)  # from them and c_t
        for n in nodes:
            role = n.tags.get("role")
            if role in ("h", "c") and n.tags.get("t", 0) > 0:
                assert n.op == "lstm_" + role and n.parents[0].op == "lstm_gates"
                assert n.parents[1].tags["role"] == "c"

    # a cell called on its own: its h_t carries the caller's tags, as the composed one's
    # does (a layer restamps the roles, so here is where a gate scope around it shows)
    def h_tags(fused):
        cell = getattr(nn, kind + "Cell")(2, 3, rng=0, fused=fused)
        with tags(t=1, role="mine"):
            h, _ = cell(Tensor(np.ones((2, 2)), requires_grad=True), cell.init_state(2))
        return h.tags

    assert h_tags(True) == h_tags(False) == {"t": 1, "role": "mine"}


def _fused_lstm_loss(steps=3):
    lstm = nn.LSTM(2, 3, rng=0, fused=True)
    x = np.random.default_rng(0).standard_normal((steps, 2, 2))
    out, _ = lstm(x)
    total = None
    for t in range(1, steps + 1):
        with tags(t=t, role="loss"):
            lt = (out[t - 1] * out[t - 1]).sum()
        total = lt if total is None else total + lt
    total.backward(record_flow=True)
    return total, lstm


def test_cells_view_of_a_fused_lstm_has_the_cell_state_edges():
    L, lstm = _fused_lstm_loss()
    src = draw_cells(L).source
    assert style.COLOR[style.CELL] in src and "c₂" in src and "cell state" in src
    flat_cell = r'color="' + style.COLOR[style.CELL] + r'"[^]]*tailport="e", headport="w"'
    assert len(re.findall(flat_cell, src)) == 3


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_cells_view_of_a_fused_layer_is_the_composed_one(kind):
    """Same slots, same edges with the same classes and gradients; only some weights'
    names differ: one op reads both W_ih and W_hh, so the edges it feeds name both
    (LSTM: x_t -> c_t and h_{t-1} -> h_t; GRU: x_t -> h_t and h_{t-1} -> h_t)."""
    from microgradrnn.viz.cells_view import _edge_class
    from microgradrnn.viz.graph import contract, get_flow, norm, walk

    def edges(fused):
        layer = getattr(nn, kind)(2, 3, rng=0, fused=fused)
        out, _ = layer(np.random.default_rng(0).standard_normal((4, 2, 2)))
        with tags(role="loss"):
            L = (out * out).sum()
        L.backward(record_flow=True)
        g = walk(L)
        cells = contract(g, get_flow(g))
        key = lambda s: (s.role, s.t, s.layer, s.direction)
        # the composed GRU's h_{t-1} -> h_t is two roads (the carry z*h_{t-1} and the one
        # through W_hh), the fused op's one: compare what the roads carry together
        out = {}
        for e in cells.edges:
            a, b = cells.slots[e.src], cells.slots[e.dst]
            cls, total = out.get((key(a), key(b)), (_edge_class(a, b), None))
            if e.flow is not None:
                total = e.flow if total is None else total + e.flow
            out[(key(a), key(b))] = (cls, total)
        return {k: (cls, norm(total)) for k, (cls, total) in out.items()}

    composed, fused = edges(False), edges(True)
    assert composed.keys() == fused.keys()
    for k, (cls, n) in composed.items():
        assert fused[k][0] == cls, k
        if n is not None:
            assert fused[k][1] == pytest.approx(n, rel=1e-10), k


def test_flows_out_of_c_sum_to_its_gradient():
    from microgradrnn.viz.graph import contract, get_flow, walk

    L, _ = _fused_lstm_loss()
    g = walk(L)
    cells = contract(g, get_flow(g))
    for k, s in enumerate(cells.slots):
        if s.role == "c" and s.t >= 1:
            outs = [e.flow for e in cells.edges if e.src == k and e.flow is not None]
            assert len(outs) == (2 if s.t < 3 else 1)  # c_t -> h_t, c_t -> c_t+1
            np.testing.assert_allclose(sum(outs), g.nodes[s.rep].grad, rtol=1e-12)


@pytest.mark.parametrize("kind,op", [("RNN", "rnn_tanh_cell"), ("GRU", "gru_cell")])
def test_ops_view_names_the_fused_op(kind, op):
    layer = getattr(nn, kind)(2, 3, num_layers=2, rng=0, fused=True)
    out, _ = layer(np.ones((3, 1, 2)))
    with tags(role="loss"):
        loss = out.sum()
    loss.backward(record_flow=True)
    src = draw_ops(loss).source
    assert op in src


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_fused_layer_writes_each_h_t_into_its_output(kind, bidirectional):
    """A fused layer's steps write h_t into rows of the output array (no stacking copy,
    no second copy of every h_t held); the composed layer stacks copies. Values agree."""
    x = np.random.default_rng(2).standard_normal((5, 2, 3))
    outputs = {}
    for fused in (False, True):
        layer = getattr(nn, kind)(3, 4, bidirectional=bidirectional, rng=0, fused=fused)
        out, _ = layer(Tensor(x))
        stacks = [out] if not bidirectional else list(out.parents)
        for s in stacks:
            assert s.op == "stack" and len(s.parents) == 5
            for t, h in enumerate(s.parents):
                assert h.tags["role"] == "h"
                np.testing.assert_array_equal(s.data[t], h.data)
                shared = np.shares_memory(s.data, h.data)
                # a direction's first step makes the array (it gives shape and dtype)
                first = t == (4 if s is not stacks[0] else 0)
                assert shared == (fused and not first), (fused, t)
        outputs[fused] = out.data
    np.testing.assert_allclose(outputs[True], outputs[False], rtol=1e-12, atol=1e-12)


def test_stack_rows_is_stack_without_the_copy():
    from microgradrnn.ops import stack, stack_rows
    rows = np.random.default_rng(0).standard_normal((3, 2))
    a = [Tensor(rows[k], requires_grad=True) for k in range(3)]
    b = [Tensor(rows[k].copy(), requires_grad=True) for k in range(3)]
    s, r = stack(b), stack_rows(a, rows)
    assert r.data.base is rows and r.op == s.op == "stack"  # a view of rows, no copy
    w = np.arange(6.0).reshape(3, 2)
    (s * w).sum().backward()
    (r * w).sum().backward()
    for p, q in zip(a, b, strict=True):
        np.testing.assert_array_equal(p.grad, q.grad)
    with pytest.raises(ValueError, match="stack_rows: 2 tensors for 3 rows"):
        stack_rows(a[:2], rows)


@pytest.mark.parametrize("dropout", [0.0, 0.3])
@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_fused_stacked_layers_equal_composed(kind, dropout):
    """Three one-direction layers: a fused layer makes every step's input projection in
    one product, from x for layer 1 and from the rows the layer below wrote for the
    others (not with dropout between them); the composed cells make it step by step."""
    x = np.random.default_rng(3).standard_normal((6, 2, 3))
    results = []
    for fused in (False, True):
        layer = getattr(nn, kind)(3, 5, num_layers=3, dropout=dropout, rng=1, fused=fused)
        xt = Tensor(x, requires_grad=True)
        out, _ = layer(xt)
        (out * out).sum().backward()
        grads = [p.grad for _, p in layer.named_parameters()] + [xt.grad]
        results.append((out.data, grads))
    (out_c, grads_c), (out_f, grads_f) = results
    np.testing.assert_allclose(out_f, out_c, rtol=1e-12, atol=1e-12)
    for a, b in zip(grads_f, grads_c, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
