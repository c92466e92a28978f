"""gradcheck on every cell, a stacked bidirectional layer and a custom cell written from
the cell contract alone; the tags contract; a very deep unroll; errors and dropout."""

import numpy as np
import pytest

from microgradrnn import (
    Tensor,
    concatenate,
    gradcheck,
    linear,
    linear_each,
    nn,
    no_grad,
    stack,
    tags,
)
from microgradrnn.engine import toposort


class MGUCell(nn.Module):
    """Minimal gated unit, written only against the cell contract (as in the README):
    f = sigmoid(W_f [x, h] + b_f),  n = tanh(W_n [x, f * h] + b_n),  h' = h + f * (n - h)."""

    def __init__(self, input_size, hidden_size, rng=None):
        g = np.random.default_rng(rng)
        scale = 1 / np.sqrt(hidden_size)
        shape = (hidden_size, input_size + hidden_size)
        self.hidden_size = hidden_size
        self.W_f = nn.Parameter(g.uniform(-scale, scale, shape))
        self.b_f = nn.Parameter(np.zeros(hidden_size))
        self.W_n = nn.Parameter(g.uniform(-scale, scale, shape))
        self.b_n = nn.Parameter(np.zeros(hidden_size))

    def init_state(self, batch_size):
        return Tensor(np.zeros((batch_size, self.hidden_size)))

    def __call__(self, x, h):
        f = (concatenate([x, h], axis=1) @ self.W_f.T + self.b_f).sigmoid()
        n = (concatenate([x, f * h], axis=1) @ self.W_n.T + self.b_n).tanh()
        h = h + f * (n - h)
        return h, h


def _param_slots(module):
    """(owner, attribute, parameter) for every parameter, to swap in gradcheck's copies."""
    return [(m, name, v) for m in module.modules() for name, v in vars(m).items()
            if isinstance(v, nn.Parameter)]


def _gradcheck_module(module, run, *inputs):
    """gradcheck fn(*inputs, *params): the module's parameters replaced by the leaves."""
    slots = _param_slots(module)

    def fn(*leaves):
        for (m, name, _), leaf in zip(slots, leaves[len(inputs):], strict=True):
            object.__setattr__(m, name, leaf)
        return run(*leaves[:len(inputs)])

    try:
        return gradcheck(fn, *inputs, *[p for _, _, p in slots])
    finally:
        for m, name, p in slots:
            object.__setattr__(m, name, p)


@pytest.mark.parametrize("make", [
    lambda: nn.RNNCell(3, 2, rng=0),
    lambda: nn.RNNCell(3, 2, nonlinearity="relu", rng=0),
    lambda: nn.GRUCell(3, 2, rng=0),
    lambda: MGUCell(3, 2, rng=0),
])
def test_gradcheck_single_state_cells(make):
    cell = make()
    rng = np.random.default_rng(1)
    x = Tensor(rng.standard_normal((2, 3)), requires_grad=True)
    h = Tensor(rng.standard_normal((2, 2)), requires_grad=True)

    def run(x, h):  # two steps, so the gradient goes through the recurrence too
        h1, s = cell(x, h)
        h2, _ = cell(x * 0.5, s)
        return concatenate([h1, h2], axis=1)

    assert _gradcheck_module(cell, run, x, h)


@pytest.mark.parametrize("fused", [False, True], ids=["composed", "fused"])
def test_gradcheck_lstm_cell(fused):
    cell = nn.LSTMCell(3, 2, rng=0, fused=fused)
    rng = np.random.default_rng(1)
    x = Tensor(rng.standard_normal((2, 3)), requires_grad=True)
    h = Tensor(rng.standard_normal((2, 2)), requires_grad=True)
    c = Tensor(rng.standard_normal((2, 2)), requires_grad=True)

    def run(x, h, c):
        _, s = cell(x, (h, c))
        h2, (_, c2) = cell(x * 0.5, s)
        return concatenate([h2, c2], axis=1)

    assert _gradcheck_module(cell, run, x, h, c)


@pytest.mark.parametrize("make", [
    lambda: nn.LSTM(2, 2, num_layers=2, bidirectional=True, rng=0),
    lambda: nn.GRU(2, 2, num_layers=2, bidirectional=True, batch_first=True, rng=0),
    lambda: nn.GRU(2, 2, num_layers=2, bidirectional=True, rng=0, fused=True),
    lambda: nn.Recurrent(lambda n, g: MGUCell(n, 2, rng=g), 2, num_layers=2,
                         bidirectional=True, rng=0),
])
def test_gradcheck_stacked_bidirectional_layer(make):
    layer = make()
    x = Tensor(np.random.default_rng(2).standard_normal((3, 2, 2)), requires_grad=True)

    def run(x):
        out, final = layer(x)
        final = final if isinstance(final, tuple) else (final,)
        return concatenate([out.reshape(-1)] + [f.reshape(-1) for f in final])

    assert _gradcheck_module(layer, run, x)


def test_custom_cell_gets_stacking_names_labels_and_truncation():
    layer = nn.Recurrent(lambda n, g: MGUCell(n, 4, rng=g), 3, num_layers=2,
                         bidirectional=True, batch_first=True, rng=0)
    assert layer.hidden_size == 4
    names = [n for n, _ in layer.named_parameters()]
    assert names[:5] == ["W_f_l0", "b_f_l0", "W_n_l0", "b_n_l0", "W_f_l0_reverse"]
    assert layer.cells[3].W_n.label == "W_n_l1_reverse"
    out, h_n = layer(np.ones((5, 6, 3)))
    assert out.shape == (5, 6, 8) and h_n.shape == (4, 5, 4)
    total, _ = nn.truncated_window(MGUCell(3, 4, rng=0), np.ones((6, 2, 3)),
                                   lambda t, h: h.sum(), k=2)
    assert np.isfinite(total)


def test_same_seed_same_model_and_output():
    a, b = nn.LSTM(3, 4, 2, rng=7), nn.LSTM(3, 4, 2, rng=7)
    for (na, pa), (nb, pb) in zip(a.named_parameters(), b.named_parameters(), strict=True):
        assert na == nb
        np.testing.assert_array_equal(pa.data, pb.data)
    c = nn.LSTM(3, 4, 2, rng=8)
    assert not np.array_equal(a.parameters()[0].data, c.parameters()[0].data)


def test_dropout_between_layers_is_seeded_and_training_only():
    x = np.random.default_rng(0).standard_normal((4, 2, 3))
    a = nn.GRU(3, 5, num_layers=3, dropout=0.5, rng=1)
    b = nn.GRU(3, 5, num_layers=3, dropout=0.5, rng=1)
    np.testing.assert_array_equal(a(x)[0].data, b(x)[0].data)
    plain = nn.GRU(3, 5, num_layers=3, rng=1)
    assert not np.allclose(a(x)[0].data, plain(x)[0].data)
    a.eval()
    np.testing.assert_allclose(a(x)[0].data, plain(x)[0].data)
    assert not a.cells[1].training


def _graph(root):
    return toposort(root)


def test_tags_of_a_two_layer_bidirectional_lstm_unroll():
    T, B = 3, 2
    lstm = nn.LSTM(2, 3, num_layers=2, bidirectional=True, rng=0)
    x = Tensor(np.ones((T, B, 2)), requires_grad=True)
    h0 = Tensor(np.zeros((4, B, 3)), requires_grad=True)
    c0 = Tensor(np.zeros((4, B, 3)), requires_grad=True)
    out, (h_n, c_n) = lstm(x, (h0, c0))
    with tags(role="loss"):
        loss = out.sum() + h_n.sum() + c_n.sum()
    nodes = _graph(loss)
    key = lambda n: (n.tags["t"], n.tags["layer"], n.tags["direction"])

    xs = [n for n in nodes if n.tags.get("role") == "x"]
    assert sorted(key(n) for n in xs) == [(t, 1, "fwd") for t in range(1, T + 1)]
    assert all(n.op == "getitem" and n.parents == (x,) for n in xs)

    for role in ("h", "c"):
        made = sorted(key(n) for n in nodes if n.tags.get("role") == role)
        expected = sorted((t, layer, d) for t in range(0, T + 1) for layer in (1, 2)
                          for d in ("fwd", "bwd"))
        assert made == expected, role
    # h_t of step t reads h of step t-1 (fwd) or t+1 (bwd) of the same layer and direction
    for n in nodes:
        if n.tags.get("role") == "h" and n.tags["t"] > 0:
            t, layer, d = key(n)
            prev = t - 1 if d == "fwd" else (t + 1) % (T + 1)
            ancestors = {id(a) for a in _graph(n)}
            assert any(id(m) in ancestors for m in nodes if m.tags.get("role") == "h"
                       and key(m) == (prev, layer, d))
    # every node made inside a step carries t, layer and direction; inputs of layer 2
    for n in nodes:
        if n.op and n.tags.get("role") not in ("loss", "output"):
            assert "t" in n.tags, (n.op, n.tags)
    inputs = [n for n in nodes if n.tags.get("role") == "input"]
    assert sorted(key(n) for n in inputs) == [(t, 2, "fwd") for t in range(1, T + 1)]
    for n in nodes:
        if "t" in n.tags:
            assert {"layer", "direction"} <= set(n.tags), n.tags
    gates = [n for n in nodes if n.tags.get("role") == "gate"]
    assert gates and all(n.tags["t"] >= 1 for n in gates)
    # the shared weights are labelled with PyTorch's names
    labels = {p.label for p in lstm.parameters()}
    assert "weight_hh_l1_reverse" in labels and "bias_ih_l0" in labels


def test_tagging_never_mutates_a_shared_tags_dict():
    with tags(t=5) as active:
        before = dict(active)
        lstm = nn.LSTM(2, 3, rng=0)
        lstm(np.ones((2, 1, 2)))
        assert active == before


def test_two_thousand_step_lstm_unroll_backpropagates():
    lstm = nn.LSTM(1, 3, rng=0)
    x = Tensor(np.random.default_rng(0).standard_normal((2000, 1, 1)), requires_grad=True)
    out, (h, c) = lstm(x)
    (out[-1].sum() + c.sum()).backward()
    assert x.grad.shape == x.shape and np.all(np.isfinite(x.grad))
    assert np.abs(lstm.weight_hh_l0.grad).sum() > 0


def test_clear_errors():
    rnn = nn.RNN(3, 4)
    with pytest.raises(ValueError, match="RNN: input has 5 features, expected input_size=3"):
        rnn(np.ones((2, 1, 5)))
    with pytest.raises(ValueError, match="RNN: input of shape"):
        rnn(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"LSTM: initial state has 1 tensors, expected 2"):
        nn.LSTM(3, 4)(np.ones((2, 1, 3)), Tensor(np.zeros((1, 1, 4))))
    with pytest.raises(ValueError, match=r"GRU: initial state of shape \(2, 1, 4\)"):
        nn.GRU(3, 4)(np.ones((2, 1, 3)), Tensor(np.zeros((2, 1, 4))))
    with pytest.raises(ValueError, match="LSTMCell: input of shape"):
        nn.LSTMCell(3, 4)(Tensor(np.ones((2, 2))), nn.LSTMCell(3, 4).init_state(2))
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.RNNCell(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="dropout"):
        nn.GRU(3, 4, dropout=1.0)
    with pytest.raises(ValueError, match="Linear: input of shape"):
        nn.Linear(3, 2)(np.ones((4, 2)))


def test_linear_and_embedding():
    lin = nn.Linear(3, 2, rng=0)
    assert lin.weight.shape == (2, 3) and lin.bias.shape == (2,)
    assert np.all(np.abs(lin.weight.data) <= 1 / np.sqrt(3))
    emb = nn.Embedding(5, 3, rng=0)
    idx = np.array([[1, 1], [4, 0]])
    y = emb(idx)
    assert y.shape == (2, 2, 3)
    y.sum().backward()
    np.testing.assert_array_equal(emb.weight.grad[:, 0], [1, 2, 0, 0, 1])
    with pytest.raises(IndexError, match="Embedding"):
        emb(np.array([5]))


def test_initialisers():
    g = np.random.default_rng(0)
    q = nn.init.orthogonal((8, 4), g)
    np.testing.assert_allclose(q.T @ q, np.eye(4), atol=1e-12)
    q = nn.init.orthogonal((3, 6), g)
    np.testing.assert_allclose(q @ q.T, np.eye(3), atol=1e-12)
    np.testing.assert_array_equal(nn.init.identity((3, 3)), np.eye(3))
    w = nn.init.xavier_uniform((20, 30), g)
    assert np.abs(w).max() <= np.sqrt(6 / 50)
    rnn = nn.RNN(2, 3, nonlinearity="relu", rng=0)  # IRNN
    rnn.weight_hh_l0.data = nn.init.identity(rnn.weight_hh_l0.shape)
    rnn.bias_hh_l0.data = nn.init.zeros((3,))
    assert np.array_equal(rnn.weight_hh_l0.data, np.eye(3))
    with pytest.raises(TypeError, match="rng"):
        nn.init.as_generator("seed")


def test_a_subclass_that_overrides_forward_is_called_at_every_step():
    calls = []

    class Counting(nn.RNNCell):
        def forward(self, x, h):
            calls.append(x.shape)
            return super().forward(x, h)

    layer = nn.Recurrent(lambda n, g: Counting(n, 4, rng=g), 3, rng=0)
    reference = nn.RNN(3, 4, rng=0)
    x = np.random.default_rng(1).standard_normal((6, 2, 3))
    out, _ = layer(x)
    np.testing.assert_allclose(out.data, reference(x)[0].data)
    assert len(calls) == 6


def test_the_first_step_checks_the_state_shape():
    with pytest.raises(ValueError, match="state of shape"):
        nn.LSTM(3, 4)(np.ones((5, 2, 3)), (np.zeros((1, 2, 5)), np.zeros((1, 2, 5))))


class _Elman(nn.Module):
    """h' = tanh(x W^T + h U^T), with the optional fast path of the cell contract (as in
    the README): unroll makes every x_t W^T in one product."""

    def __init__(self, input_size, hidden_size, rng=None, fast=True):
        g = nn.init.as_generator(rng)
        self.hidden_size, self.fast, self.unrolls = hidden_size, fast, 0
        self.W = nn.Parameter(nn.init.xavier_uniform((hidden_size, input_size), g))
        self.U = nn.Parameter(nn.init.xavier_uniform((hidden_size, hidden_size), g))

    def init_state(self, batch_size):
        return Tensor(np.zeros((batch_size, self.hidden_size)))

    def __call__(self, x, h):
        h = (linear(x, self.W) + linear(h, self.U)).tanh()
        return h, h

    def unroll(self, inputs, h, reverse=False):
        self.unrolls += 1
        if not self.fast:
            return NotImplemented
        xw = linear_each(inputs, self.W, steps=range(1, len(inputs) + 1))
        hs = [None] * len(inputs)
        for t in (range(len(inputs), 0, -1) if reverse else range(1, len(inputs) + 1)):
            with tags(t=t):
                h = (xw[t - 1] + linear(h, self.U)).tanh()
            nn.cells.stamp_roles(self, h, h)
            hs[t - 1] = h
        with tags(role="output"):
            return stack(hs), h


def test_a_custom_cell_with_unroll_runs_it_with_the_plain_loops_numbers_and_tags():
    x = np.random.default_rng(0).standard_normal((4, 2, 3))
    results = {}
    for fast in (True, False):
        layer = nn.Recurrent(lambda n, g, fast=fast: _Elman(n, 5, rng=g, fast=fast), 3,
                             num_layers=2, bidirectional=True, rng=0)
        xt = Tensor(x, requires_grad=True)
        out, h_n = layer(xt)
        (out * out).sum().backward()
        assert all(c.unrolls == 1 for c in layer.cells)  # asked once per layer, direction
        hs = {(n.tags["t"], n.tags["layer"], n.tags["direction"])
              for n in toposort(out) if n.tags.get("role") == "h"}
        results[fast] = out.data, h_n.data, xt.grad, layer.W_l1_reverse.grad, hs, \
            _drawn(out)[1]
    for a, b in zip(results[True][:4], results[False][:4], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    assert results[True][4] == results[False][4]
    assert results[True][5] == results[False][5]  # the same graph, node for node
    assert len(results[True][4]) == 4 * 2 * 2  # h_1..h_4 per layer and direction


def test_an_unroll_that_breaks_the_contract_is_named():
    class Bad(_Elman):
        def unroll(self, inputs, h, reverse=False):
            return [self(x, h)[0] for x in inputs], h

    layer = nn.Recurrent(lambda n, g: Bad(n, 5, rng=g), 3)
    with pytest.raises(TypeError, match=r"Bad.unroll must return \(output, final_state\), "
                       r"output the \(T, B, H\) stack of the 4 h_t"):
        layer(np.ones((4, 2, 3)))


def test_a_fused_subclass_that_overrides_forward_is_called_at_every_step():
    calls = []

    class Counting(nn.LSTMCell):
        def forward(self, x, state):
            calls.append(x.shape)
            return super().forward(x, state)

    layer = nn.Recurrent(lambda n, g: Counting(n, 4, rng=g, fused=True), 3, rng=0)
    x = np.random.default_rng(1).standard_normal((6, 2, 3))
    out, _ = layer(x)
    np.testing.assert_allclose(out.data, nn.LSTM(3, 4, rng=0, fused=True)(x)[0].data)
    assert len(calls) == 6


def test_the_first_fused_step_checks_the_shapes():
    cell = nn.LSTMCell(3, 4, fused=True)
    xs = [Tensor(np.ones((2, 3)))] * 5
    with pytest.raises(ValueError, match=r"LSTMCell: state of shape \(2, 5\), expected "
                       r"\(2, hidden_size=4\)"):
        cell.unroll(xs, (Tensor(np.zeros((2, 5))),) * 2)
    with pytest.raises(ValueError, match=r"GRUCell.unroll: inputs of shape \(2, 2\), "
                       r"expected \(batch, input_size=3\)"):
        nn.GRUCell(3, 4, fused=True).unroll([Tensor(np.ones((2, 2)))] * 5, None)
    with pytest.raises(ValueError, match="GRU: input has 2 features"):
        nn.GRU(3, 4, fused=True)(np.ones((5, 2, 2)))


@pytest.mark.parametrize("fused", [False, True])
def test_a_stacked_layer_under_no_grad_gives_the_same_output(fused):
    """Without a graph the unroll's stack keeps no parents; the next layer still gets the
    h_t (their values)."""
    layer = nn.GRU(2, 3, num_layers=2, bidirectional=True, rng=0, fused=fused)
    x = np.random.default_rng(0).standard_normal((4, 2, 2))
    with_graph = layer(x)[0].data
    with no_grad():
        np.testing.assert_array_equal(layer(x)[0].data, with_graph)


# -- the library cells' unroll builds the plain loop's graph ---------------------------------


def _plain(cls):
    """A library cell whose unroll asks for the plain loop of nn.Recurrent."""
    return type(f"Plain{cls.__name__}", (cls,), {"unroll": lambda *a, **k: NotImplemented})


def _drawn(root):
    """Every node under root as the ops view meets it: op, tags, its parents' positions,
    in the viz's depth-first order (parents first)."""
    from microgradrnn.viz.graph import walk
    graph = walk(root)
    return graph, [(n.op, n.tags, tuple(graph.index[p] for p in n.parents))
                   for n in graph.nodes]


@pytest.mark.parametrize("fused", [False, True], ids=["composed", "fused"])
@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_the_unroll_builds_the_plain_loops_graph_node_for_node(kind, fused):
    """What the ops view draws does not depend on the fast path: the same nodes (op,
    tags, edges) in the same order, the same values and gradients as the plain loop."""
    cell = getattr(nn, f"{kind}Cell")
    x = np.random.default_rng(3).standard_normal((5, 2, 3))
    runs = []
    for make in (cell, _plain(cell)):
        layer = nn.Recurrent(lambda n, g, make=make: make(n, 4, rng=g, fused=fused), 3,
                             num_layers=2, bidirectional=True, rng=0)
        xt = Tensor(x, requires_grad=True)
        out, _ = layer(xt)
        loss = (out * out).sum()
        loss.backward()
        runs.append((_drawn(loss), xt.grad, [p.grad for p in layer.parameters()]))
    ((g_fast, fast), x_fast, p_fast), ((g_plain, plain), x_plain, p_plain) = runs
    assert fast == plain
    for a, b in zip(g_fast.nodes, g_plain.nodes, strict=True):
        np.testing.assert_allclose(a.data, b.data, rtol=1e-12, atol=1e-14)
        assert (a.grad is None) == (b.grad is None)
        if a.grad is not None:
            np.testing.assert_allclose(a.grad, b.grad, rtol=1e-12, atol=1e-14)
    for a, b in zip([x_fast, *p_fast], [x_plain, *p_plain], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    per_step = {"RNN": ["linear", "linear", "add", "tanh"]}.get(kind)
    if per_step and not fused:  # the composed RNN step: four ops, each a node
        step = [op for op, tags_, _ in fast if tags_.get("t") == 3 and tags_.get("layer") == 1
                and tags_.get("direction") == "fwd" and op != "getitem"]
        assert step == per_step


def test_linear_each_tags_each_step_and_names_a_count_that_does_not_match():
    w = Tensor(np.ones((2, 3)), requires_grad=True)
    xs = [Tensor(np.full((1, 3), t)) for t in range(3)]
    with tags(layer=1):
        made = linear_each(xs, w, steps=[1, 2, 3])
    assert [n.tags for n in made] == [{"layer": 1, "t": t} for t in (1, 2, 3)]
    for x, n in zip(xs, made, strict=True):
        np.testing.assert_array_equal(n.data, linear(x, w).data)
    with pytest.raises(ValueError, match="linear_each: 2 steps for 3 inputs"):
        linear_each(xs, w, steps=(t for t in (1, 2)))
