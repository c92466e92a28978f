"""Fused cell steps: a recurrent step in one op (RNN, GRU) or three (LSTM), each with a
hand-derived backward rule.

The cells in ``cells.py`` compose a step from the engine's ops (two ``linear``, an add,
a tanh: four nodes per RNN step, about a dozen per LSTM or GRU step); that is the lesson,
and the ops view draws every one of them. ``RNNCell``, ``LSTMCell`` and ``GRUCell`` with
``fused=True`` make the same step with the ops below instead: the same numbers, far fewer
nodes, far less Python per step. Nothing else changes: each op is recorded with
``engine.from_op`` like any other, its rule returns one gradient per parent and the
engine's backward loop accumulates them (BPTT is still just backprop).

Why three ops for the LSTM and not one: the pictures. With the weights in
``lstm_gates`` alone, c_{t-1} -> c_t runs through ``lstm_c``, an op with no weight, so
the cells view draws the cell-state edge as the composed cell does (no weight on it,
carrying exactly dL/dc_{t-1}), and h_t is computed from c_t (``lstm_h``), so the c_t ->
h_t edge is there too. One op returning [h_t, c_t] sliced in two loses both: h_t and c_t
become siblings and every edge into them names W_ih and W_hh. The RNN and the GRU have
one state, h: in the cells view a step is the edges x_t -> h_t and h_{t-1} -> h_t either
way, so one op loses nothing but the names (both edges name W_ih and W_hh, as the
LSTM's h_{t-1} -> h_t does).

Each rule keeps only what it needs: the RNN rule its output h' (the node's own data);
the LSTM rules the gate activations (the gates node's data), c_{t-1}, c' (nodes' data)
and tanh(c'), which costs more to recompute than to keep; the GRU rule its activations
r, z, n and h W_hn^T + b_hn (see ``gru_cell``).

The activations are ``kernels.sigmoid_into`` (one exp) and ``kernels.tanh_into``
(np.tanh), in place; benchmarks/README.md says how they were chosen.

Shapes: x (B, I), h and c (B, H), weight_ih (G*H, I), weight_hh (G*H, H), biases (G*H,),
G = 1 (RNN), 4 (LSTM, gates in PyTorch's order i, f, g, o) or 3 (GRU, r, z, n).
"""

from __future__ import annotations

import numpy as np

from ..engine import Outer, Tensor, from_op
from ..kernels import sigmoid_into, tanh_into

__all__ = ["rnn_cell", "lstm_gates", "lstm_c", "lstm_h", "gru_cell", "gru_input_bias"]


def _preactivation(x: Tensor, h: Tensor, w_ih: Tensor, w_hh: Tensor,
                   b_ih: Tensor | None, b_hh: Tensor | None,
                   out: np.ndarray | None = None, proj: np.ndarray | None = None
                   ) -> np.ndarray:
    """z = x W_ih^T + b_ih + h W_hh^T + b_hh, as a fresh array (so we may work in place),
    or written into ``out`` (of z's shape and dtype).

    proj, if given, is x W_ih^T + b_ih + b_hh already made: a fused cell's unroll makes
    it for all T steps in one matrix product (M = T*B rows instead of B), as hand-written
    BPTT does. Only the forward arithmetic moves: the op's parents and rule stay the same.

    np.dot rather than @ in this file: the same product on 2-D arrays, with less call
    overhead (about 1 us), which counts at small sizes."""
    if proj is not None:
        return np.add(proj, np.dot(h._data, w_hh._data.T), out=out)
    z = np.dot(x._data, w_ih._data.T, out=out)
    z += np.dot(h._data, w_hh._data.T)
    if b_ih is not None:
        z += b_ih._data + b_hh._data  # one add over the batch instead of two
    return z


def _parents(x, h, w_ih, w_hh, b_ih, b_hh) -> tuple[Tensor, ...]:
    return (x, h, w_ih, w_hh) if b_ih is None else (x, h, w_ih, w_hh, b_ih, b_hh)


def _input_grads(dz: np.ndarray, x: Tensor, h: Tensor, w_ih: Tensor, w_hh: Tensor,
                 has_bias: bool) -> tuple:
    """From dz = dL/dz, the gradients of (x, h, W_ih, W_hh[, b_ih, b_hh]), the parents of
    rnn_cell and lstm_gates in their order; None where a parent needs none.

    dx = dz W_ih,  dh = dz W_hh,  dW_ih = dz^T x,  dW_hh = dz^T h,  db_ih = db_hh = sum_B dz
    """
    dx = np.dot(dz, w_ih._data) if x.requires_grad else None
    dh = np.dot(dz, w_hh._data) if h.requires_grad else None
    # the weights' gradients as factors: the engine multiplies those of all steps at once
    dw_ih = Outer(dz, x._data) if w_ih.requires_grad else None
    dw_hh = Outer(dz, h._data) if w_hh.requires_grad else None
    if not has_bias:
        return dx, dh, dw_ih, dw_hh
    db = Outer(dz, None)  # sum of dz's rows, for both biases, summed with the others
    return dx, dh, dw_ih, dw_hh, db, db


def rnn_cell(x: Tensor, h: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None = None,
             b_hh: Tensor | None = None, nonlinearity: str = "tanh",
             out: np.ndarray | None = None, proj: np.ndarray | None = None) -> Tensor:
    """h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh) as one op ("rnn_tanh_cell" or
    "rnn_relu_cell"). x: (B, I), h: (B, H) -> h': (B, H).

    out: where to write h' (an array of its shape and dtype, e.g. a row of the layer's
    (T, B, H) output, which then needs no stacking copy); a fresh array by default.
    proj: x W_ih^T + b_ih + b_hh if already made (see _preactivation)."""
    z = _preactivation(x, h, w_ih, w_hh, b_ih, b_hh, out, proj)
    tanh = nonlinearity == "tanh"
    out = tanh_into(z) if tanh else np.maximum(z, 0.0, out=z)  # z is ours: in place

    def backward(g):
        # dz = g * act'(z), written from the output: tanh' = 1 - h'^2, relu' = [h' > 0];
        # then the two linear maps: see _input_grads
        if tanh:
            dz = out * out
            np.subtract(1.0, dz, out=dz)
            dz *= g
        else:
            dz = g * (out > 0)
        return _input_grads(dz, x, h, w_ih, w_hh, b_ih is not None)

    op = "rnn_tanh_cell" if tanh else "rnn_relu_cell"
    return from_op(out, _parents(x, h, w_ih, w_hh, b_ih, b_hh), backward, op)


def lstm_gates(x: Tensor, h: Tensor, w_ih: Tensor, w_hh: Tensor,
               b_ih: Tensor | None = None, b_hh: Tensor | None = None,
               proj: np.ndarray | None = None) -> Tensor:
    """The four LSTM gates as one op ("lstm_gates"): [i, f, g, o] (B, 4H), where

        [z_i, z_f, z_g, z_o] = x W_ih^T + b_ih + h W_hh^T + b_hh,
        i, f, o = sigmoid(z_i, z_f, z_o),  g = tanh(z_g)

    proj: x W_ih^T + b_ih + b_hh if already made (see _preactivation).
    """
    H = h._data.shape[-1]
    # becomes the activations, in place
    a = _preactivation(x, h, w_ih, w_hh, b_ih, b_hh, proj=proj)
    # one sigmoid over the whole array (one exp: see kernels.sigmoid_into), with g's quarter
    # doubled before and mapped by 2s - 1 after: tanh(z) = 2 sigmoid(2z) - 1
    g = a[:, 2 * H:3 * H]
    g *= 2.0
    sigmoid_into(a)
    g *= 2.0
    g -= 1.0

    def backward(da):
        # dz = da * act'(z), from the output: sigmoid' = s (1 - s), tanh' = 1 - g^2
        d = 1.0 - a
        d *= a
        np.multiply(g, g, out=d[:, 2 * H:3 * H])
        np.subtract(1.0, d[:, 2 * H:3 * H], out=d[:, 2 * H:3 * H])
        d *= da
        return _input_grads(d, x, h, w_ih, w_hh, b_ih is not None)

    return from_op(a, _parents(x, h, w_ih, w_hh, b_ih, b_hh), backward, "lstm_gates")


def lstm_c(gates: Tensor, c: Tensor) -> Tensor:
    """The new cell state as one op ("lstm_c"): c' = f * c + i * g. gates: [i, f, g, o]."""
    a, C = gates._data, c._data
    H = C.shape[-1]
    i, f, g = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H]
    out = f * C
    out += i * g

    def backward(dc):
        # d/di = dc g, d/df = dc c, d/dg = dc i, d/do = 0;  d/dc = dc f
        da = np.empty_like(a)
        np.multiply(dc, g, out=da[:, :H])
        np.multiply(dc, C, out=da[:, H:2 * H])
        np.multiply(dc, i, out=da[:, 2 * H:3 * H])
        da[:, 3 * H:] = 0.0
        return da, (dc * f if c.requires_grad else None)

    return from_op(out, (gates, c), backward, "lstm_c")


def lstm_h(gates: Tensor, c: Tensor, out: np.ndarray | None = None) -> Tensor:
    """The new hidden state as one op ("lstm_h"): h' = o * tanh(c'). gates: [i, f, g, o].

    out: where to write h' (as for ``rnn_cell``); a fresh array by default."""
    a = gates._data
    H = c._data.shape[-1]
    o = a[:, 3 * H:]
    tc = tanh_into(np.array(c._data))  # kept for backward: a tanh costs more than its array
    out = np.multiply(o, tc, out=out)

    def backward(dh):
        # d/do = dh tanh(c'), d/d(i, f, g) = 0;  d/dc' = dh o (1 - tanh^2 c')
        da = np.zeros_like(a)
        np.multiply(dh, tc, out=da[:, 3 * H:])
        dc = tc * tc
        np.subtract(1.0, dc, out=dc)
        dc *= o
        dc *= dh
        return da, dc

    return from_op(out, (gates, c), backward, "lstm_h")


def gru_input_bias(b_ih: np.ndarray, b_hh: np.ndarray) -> np.ndarray:
    """The GRU's biases that may be added to x W_ih^T: b_ih + [b_hr, b_hz, 0], (3H,).

    b_hn may not: it sits inside r * (h W_hn^T + b_hn), so it stays with h's product."""
    H = len(b_hh) // 3
    b = b_ih + b_hh
    b[2 * H:] = b_ih[2 * H:]
    return b


def gru_cell(x: Tensor, h: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None = None,
             b_hh: Tensor | None = None, out: np.ndarray | None = None,
             proj: np.ndarray | None = None) -> Tensor:
    """A GRU step as one op ("gru_cell"), gates in PyTorch's order r, z, n:

        [gi_r, gi_z, gi_n] = x W_ih^T + b_ih,   [gh_r, gh_z, gh_n] = h W_hh^T + b_hh,
        r = sigmoid(gi_r + gh_r),  z = sigmoid(gi_z + gh_z),  n = tanh(gi_n + r * gh_n),
        h' = (1 - z) n + z h

    x: (B, I), h: (B, H) -> h': (B, H). out: where to write h' (as for ``rnn_cell``).
    proj: x W_ih^T + b_ih + [b_hr, b_hz, 0] if already made (``gru_input_bias``; unlike
    the other cells' proj it lacks b_hn, which is multiplied by r).
    """
    H = h._data.shape[-1]
    gh = np.dot(h._data, w_hh._data.T)
    # a: the activations [r, z, n], a fresh array, made in place over x's part
    if proj is None:
        a = np.dot(x._data, w_ih._data.T)
        if b_ih is not None:
            a += gru_input_bias(b_ih._data, b_hh._data)  # one add over the batch
        a[:, :2 * H] += gh[:, :2 * H]
    else:  # the layer's projections are not ours to change: no copy, added into a
        a = np.empty_like(gh)
        np.add(proj[:, :2 * H], gh[:, :2 * H], out=a[:, :2 * H])
    sigmoid_into(a[:, :2 * H])  # r and z: one sigmoid (one exp) over both
    r, z, n = a[:, :H], a[:, H:2 * H], a[:, 2 * H:]
    # gh_n = h W_hn^T + b_hn, a fresh (B, H) array (so the rest of gh is not kept)
    gh_n = gh[:, 2 * H:] + b_hh._data[2 * H:] if b_hh is not None else gh[:, 2 * H:].copy()
    if proj is None:  # n_pre = gi_n + r gh_n
        n += r * gh_n
    else:
        np.multiply(r, gh_n, out=n)
        n += proj[:, 2 * H:]
    tanh_into(n)
    # h' = n + z (h - n), the composed cell's form (the same rounding), in three passes
    out = np.subtract(h._data, n, out=out)
    out *= z
    out += n

    # Kept for backward: a = [r, z, n] (a sigmoid and a tanh to recompute) and gh_n
    # (dL/dr needs it; a matrix product to recompute). x and h are the parents' own
    # data; h' itself is not needed.
    def backward(g):
        # The gradient of the preactivations, d(gi) = [dr_pre, dz_pre, dn_pre]:
        #   dn_pre = g (1 - z) (1 - n^2)     h' = (1 - z) n + z h,  n = tanh(n_pre)
        #   dr_pre = dn_pre gh_n r (1 - r)   n_pre = gi_n + r gh_n,  r = sigmoid(r_pre)
        #   dz_pre = g (h - n) z (1 - z)     h' = n + z (h - n),  z = sigmoid(z_pre)
        d_gi = np.empty_like(a)
        dr, dz, dn = d_gi[:, :H], d_gi[:, H:2 * H], d_gi[:, 2 * H:]
        one_minus_z = 1.0 - z
        np.multiply(n, n, out=dn)
        np.subtract(1.0, dn, out=dn)
        dn *= one_minus_z
        dn *= g
        np.multiply(dn, gh_n, out=dr)
        dr *= r
        dr *= 1.0 - r
        np.subtract(h._data, n, out=dz)
        dz *= g
        dz *= z
        dz *= one_minus_z
        # h's side differs in n's block: gh_n enters n_pre times r, so
        # d(gh) = [dr_pre, dz_pre, dn_pre r]. An array of its own, not d_gi changed in
        # place: the engine holds both as factors (Outer) until it folds them.
        d_gh = np.empty_like(d_gi)
        d_gh[:, :2 * H] = d_gi[:, :2 * H]
        np.multiply(dn, r, out=d_gh[:, 2 * H:])
        # dx = d(gi) W_ih,  dh = d(gh) W_hh + g z (h' = ... + z h),
        # dW_ih = d(gi)^T x,  dW_hh = d(gh)^T h,  db_ih = sum_B d(gi),  db_hh = sum_B d(gh)
        dx = np.dot(d_gi, w_ih._data) if x.requires_grad else None
        dh = None
        if h.requires_grad:
            dh = np.dot(d_gh, w_hh._data)
            dh += g * z
        # the weights' gradients as factors, as in _input_grads; each bias gets its
        # weight's factor (the same array), so the engine joins d(gi) and d(gh) once
        # each (accumulate.JoinCache keeps two joins)
        dw_ih = Outer(d_gi, x._data) if w_ih.requires_grad else None
        dw_hh = Outer(d_gh, h._data) if w_hh.requires_grad else None
        if b_ih is None:
            return dx, dh, dw_ih, dw_hh
        return dx, dh, dw_ih, dw_hh, Outer(d_gi, None), Outer(d_gh, None)

    return from_op(out, _parents(x, h, w_ih, w_hh, b_ih, b_hh), backward, "gru_cell")
