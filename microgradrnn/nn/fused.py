"""Fused cell steps: a recurrent step in one op (RNN) or three (LSTM), each with a
hand-derived backward rule.

The cells in ``cells.py`` compose a step from the engine's ops (two ``linear``, an add,
a tanh: four nodes per RNN step, about a dozen per LSTM step); that is the lesson, and
the ops view draws every one of them. ``RNNCell(..., fused=True)`` and
``LSTMCell(..., fused=True)`` make the same step with the ops below instead: the same
numbers, far fewer nodes, far less Python per step. Nothing else changes: each op is
recorded with ``engine.from_op`` like any other, its rule returns one gradient per
parent and the engine's backward loop accumulates them (BPTT is still just backprop).

Why three ops for the LSTM and not one: the pictures. With the weights in
``lstm_gates`` alone, c_{t-1} -> c_t runs through ``lstm_c``, an op with no weight, so
the cells view draws the cell-state edge as the composed cell does (no weight on it,
carrying exactly dL/dc_{t-1}), and h_t is computed from c_t (``lstm_h``), so the c_t ->
h_t edge is there too. One op returning [h_t, c_t] sliced in two loses both: h_t and c_t
become siblings and every edge into them names W_ih and W_hh.

Each rule keeps only what it needs: the RNN rule its output h' (the node's own data);
the LSTM rules the gate activations (the gates node's data), c_{t-1}, c' (nodes' data)
and tanh(c'), which costs more to recompute than to keep.

The activations are ``ops.sigmoid_into`` and ``ops.tanh_into``: written with numpy's
vectorised exp, about twice as fast as its float64 tanh on large arrays, to within 4e-16
(small arrays keep np.tanh, which is faster there).

Shapes: x (B, I), h and c (B, H), weight_ih (G*H, I), weight_hh (G*H, H), biases (G*H,),
G = 1 (RNN) or 4 (LSTM, gates in PyTorch's order i, f, g, o).
"""

from __future__ import annotations

import numpy as np

from ..engine import Tensor, _Outer, from_op
from ..ops import sigmoid_into, tanh_into

__all__ = ["rnn_cell", "lstm_gates", "lstm_c", "lstm_h"]


def _preactivation(x: Tensor, h: Tensor, w_ih: Tensor, w_hh: Tensor,
                   b_ih: Tensor | None, b_hh: Tensor | None,
                   out: np.ndarray | None = None, proj: np.ndarray | None = None
                   ) -> np.ndarray:
    """z = x W_ih^T + b_ih + h W_hh^T + b_hh, as a fresh array (so we may work in place),
    or written into ``out`` (of z's shape and dtype).

    proj, if given, is x W_ih^T + b_ih + b_hh already made: a sequence layer makes it for
    all T steps in one matrix product (M = T*B rows instead of B), as hand-written BPTT
    does. Only the forward arithmetic moves: the op's parents and rule stay the same.

    np.dot rather than @ in this file: the same product on 2-D arrays, with less call
    overhead (about 1 us), which counts at small sizes."""
    if proj is not None:
        return np.add(proj, np.dot(h._data, w_hh._data.T), out=out)
    z = np.dot(x._data, w_ih._data.T, out=out)
    z += np.dot(h._data, w_hh._data.T)
    if b_ih is not None:
        z += b_ih._data + b_hh._data  # one add over the batch instead of two
    return z


def _parents(x, h, c, w_ih, w_hh, b_ih, b_hh) -> tuple[Tensor, ...]:
    state = (h,) if c is None else (h, c)
    return (x, *state, w_ih, w_hh) + ((b_ih, b_hh) if b_ih is not None else ())


def _input_grads(dz: np.ndarray, x: Tensor, h: Tensor, w_ih: Tensor, w_hh: Tensor,
                 has_bias: bool) -> tuple:
    """From dz = dL/dz, the gradients of (x, h, W_ih, W_hh[, b_ih, b_hh]), the parents of
    rnn_cell and lstm_gates in their order; None where a parent needs none.

    dx = dz W_ih,  dh = dz W_hh,  dW_ih = dz^T x,  dW_hh = dz^T h,  db_ih = db_hh = sum_B dz
    """
    dx = np.dot(dz, w_ih._data) if x.requires_grad else None
    dh = np.dot(dz, w_hh._data) if h.requires_grad else None
    # the weights' gradients as factors: the engine multiplies those of all steps at once
    dw_ih = _Outer(dz, x._data) if w_ih.requires_grad else None
    dw_hh = _Outer(dz, h._data) if w_hh.requires_grad else None
    if not has_bias:
        return dx, dh, dw_ih, dw_hh
    db = _Outer(dz, None)  # sum of dz's rows, for both biases, summed with the others
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
    return from_op(out, _parents(x, h, None, w_ih, w_hh, b_ih, b_hh), backward, op)


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
    # one sigmoid over the whole array (one exp: see ops.sigmoid_into), with g's quarter
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

    return from_op(a, _parents(x, h, None, w_ih, w_hh, b_ih, b_hh), backward, "lstm_gates")


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
