"""BPTT emerges from the engine: a hand-written numpy BPTT for a vanilla RNN with softmax
outputs, from the textbook recursion, equals the engine's gradients; the windowed
truncation equals the same hand-written code with WildML's ``bptt_truncate``."""

import numpy as np
import pytest

from microgradrnn import Tensor, nn
from microgradrnn import functional as F

T, B, IN, H, C = 7, 2, 3, 5, 4


def _softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def numpy_bptt(x, y, W_xh, W_hh, b_xh, b_hh, W_hy, c, h0, truncate=None):
    """The textbook recursion, batched (rows are examples, so W v becomes v @ W.T):

        h_t = tanh(W_xh x_t + W_hh h_{t-1} + b),  p_t = softmax(W_hy h_t + c),
        L = sum_t -log p_t[y_t]
        delta_t = (W_hy^T (p_t - y_t) + W_hh^T delta_{t+1}) * (1 - h_t^2)
        dL/dW_hh = sum_t delta_t h_{t-1}^T,  dL/dW_xh = sum_t delta_t x_t^T,
        dL/db = sum_t delta_t,  dL/dW_hy = sum_t (p_t - y_t) h_t^T, dL/dc = sum_t (p_t - y_t)

    With ``truncate=k`` it is WildML's bptt_truncate instead: each L_t's delta is carried
    back through the steps t, t-1, ..., max(1, t-k) only.
    """
    T, B, H = x.shape[0], x.shape[1], W_hh.shape[0]
    hs = [h0]
    ps = []
    for t in range(T):
        hs.append(np.tanh(x[t] @ W_xh.T + b_xh + hs[-1] @ W_hh.T + b_hh))
        ps.append(_softmax(hs[-1] @ W_hy.T + c))
    dy = [p.copy() for p in ps]  # p_t - onehot(y_t)
    for t in range(T):
        dy[t][np.arange(B), y[t]] -= 1
    g = {k: np.zeros_like(v) for k, v in
         dict(W_xh=W_xh, W_hh=W_hh, b=b_xh, W_hy=W_hy, c=c).items()}
    dx = np.zeros_like(x)
    for t in range(T):  # the output layer sees each step once
        g["W_hy"] += dy[t].T @ hs[t + 1]
        g["c"] += dy[t].sum(0)
    if truncate is None:
        delta_next = np.zeros((B, H))
        for t in reversed(range(T)):  # 0-based t; hs[t + 1] is h_t, hs[t] is h_{t-1}
            delta = (dy[t] @ W_hy + delta_next @ W_hh) * (1 - hs[t + 1] ** 2)
            g["W_hh"] += delta.T @ hs[t]
            g["W_xh"] += delta.T @ x[t]
            g["b"] += delta.sum(0)
            dx[t] += delta @ W_xh
            delta_next = delta
        return g, dx
    for t in reversed(range(T)):
        delta = (dy[t] @ W_hy) * (1 - hs[t + 1] ** 2)
        for s in range(t, max(0, t - truncate) - 1, -1):  # WildML's inner loop
            g["W_hh"] += delta.T @ hs[s]
            g["W_xh"] += delta.T @ x[s]
            g["b"] += delta.sum(0)
            dx[s] += delta @ W_xh
            delta = (delta @ W_hh) * (1 - hs[s] ** 2)
    return g, dx


@pytest.fixture
def problem():
    rng = np.random.default_rng(0)
    cell = nn.RNNCell(IN, H, rng=1)
    head = nn.Linear(H, C, rng=2)
    x = rng.standard_normal((T, B, IN))
    y = rng.integers(0, C, size=(T, B))
    h0 = 0.5 * rng.standard_normal((B, H))
    return cell, head, x, y, h0


def _hand(cell, head, x, y, h0, truncate=None):
    return numpy_bptt(x, y, cell.weight_ih.numpy(), cell.weight_hh.numpy(),
                      cell.bias_ih.numpy(), cell.bias_hh.numpy(), head.weight.numpy(),
                      head.bias.numpy(), h0, truncate)


def _engine_grads(cell, head):
    return dict(W_xh=cell.weight_ih.grad, W_hh=cell.weight_hh.grad, b=cell.bias_ih.grad,
                W_hy=head.weight.grad, c=head.bias.grad)


def _assert_same(g_engine, g_hand):
    for k in g_hand:
        np.testing.assert_allclose(g_engine[k], g_hand[k], rtol=0, atol=1e-12, err_msg=k)


def test_full_bptt_is_ordinary_backprop_through_the_unrolled_loop(problem):
    cell, head, x, y, h0 = problem
    xt = Tensor(x, requires_grad=True)
    h = Tensor(h0)
    loss = 0.0
    for t in range(T):  # a plain loop; no BPTT code anywhere
        h, _ = cell(xt[t], h)
        loss = loss + F.cross_entropy(head(h), y[t], reduction="sum")
    loss.backward()
    g_hand, dx = _hand(cell, head, x, y, h0)
    _assert_same(_engine_grads(cell, head), g_hand)
    np.testing.assert_allclose(cell.bias_hh.grad, g_hand["b"], atol=1e-12)
    np.testing.assert_allclose(xt.grad, dx, atol=1e-12)


def test_full_bptt_through_the_sequence_layer(problem):
    cell, head, x, y, h0 = problem
    rnn = nn.RNN(IN, H, rng=0)
    rnn.load_state_dict({k + "_l0": v for k, v in cell.state_dict().items()})
    out, _ = rnn(x, Tensor(h0[None]))
    F.cross_entropy(head(out), y, reduction="sum").backward()
    g_hand, _ = _hand(cell, head, x, y, h0)
    g = dict(W_xh=rnn.cells[0].weight_ih.grad,
             W_hh=rnn.cells[0].weight_hh.grad, b=rnn.cells[0].bias_ih.grad,
             W_hy=head.weight.grad, c=head.bias.grad)
    _assert_same(g, g_hand)


def _windowed(cell, head, x, y, h0, k):
    def loss_fn(t, h):
        return F.cross_entropy(head(h), y[t - 1], reduction="sum")
    xt = Tensor(x, requires_grad=True)
    total, final = nn.truncated_window(cell, xt, loss_fn, k, state=Tensor(h0))
    return total, final, xt


@pytest.mark.parametrize("k", [0, 1, 2, 4])
def test_windowed_truncation_equals_wildml_bptt_truncate(problem, k):
    cell, head, x, y, h0 = problem
    total, final, xt = _windowed(cell, head, x, y, h0, k)
    g_hand, dx = _hand(cell, head, x, y, h0, truncate=k)
    _assert_same(_engine_grads(cell, head), g_hand)
    np.testing.assert_allclose(xt.grad, dx, atol=1e-12)
    assert not final.requires_grad and final.shape == (B, H)


@pytest.mark.parametrize("k", [T - 1, T, 3 * T])
def test_window_at_least_T_equals_full_bptt(problem, k):
    cell, head, x, y, h0 = problem
    total, _, xt = _windowed(cell, head, x, y, h0, k)
    g_full, dx = _hand(cell, head, x, y, h0)
    _assert_same(_engine_grads(cell, head), g_full)
    np.testing.assert_allclose(xt.grad, dx, atol=1e-12)
    h = Tensor(h0)
    expected = 0.0
    for t in range(T):
        h, _ = cell(Tensor(x[t]), h)
        expected += F.cross_entropy(head(h), y[t], reduction="sum").item()
    assert total == pytest.approx(expected, rel=1e-12)


def test_chunked_bptt_cuts_between_chunks(problem):
    cell, head, x, y, h0 = problem
    rnn = nn.RNN(IN, H, rng=0)
    rnn.load_state_dict({k + "_l0": v for k, v in cell.state_dict().items()})
    k = 3
    calls = []

    def loss_fn(out, start):
        return F.cross_entropy(head(out), y[start:start + out.shape[0]], reduction="sum")

    total, final = nn.chunked_bptt(rnn, x, k, loss_fn, state=Tensor(h0[None]),
                                   after_chunk=lambda: calls.append(1))
    assert len(calls) == 3 and not final.requires_grad
    # by hand: run each chunk from the previous chunk's final state, as a constant
    g = {k2: np.zeros_like(v) for k2, v in _hand(cell, head, x, y, h0)[0].items()}
    h_start = h0
    for s in range(0, T, k):
        xs, ys = x[s:s + k], y[s:s + k]
        n = xs.shape[0]
        gs, _ = _hand(cell, head, xs, ys, h_start)
        for key in g:
            g[key] += gs[key]
        h = h_start
        for t in range(n):
            h = np.tanh(xs[t] @ cell.weight_ih.numpy().T + cell.bias_ih.numpy()
                        + h @ cell.weight_hh.numpy().T + cell.bias_hh.numpy())
        h_start = h
    np.testing.assert_allclose(final.data[0], h_start, atol=1e-12)
    c0 = rnn.cells[0]
    _assert_same(dict(W_xh=c0.weight_ih.grad, W_hh=c0.weight_hh.grad, b=c0.bias_ih.grad,
                      W_hy=head.weight.grad, c=head.bias.grad), g)
    assert total > 0

