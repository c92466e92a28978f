"""Hand-written tagged unrolls, built with engine ops exactly as docs/contracts.md says the
recurrent layers tag them (t from 1, layer from 1, direction, roles). Test helpers only."""

from __future__ import annotations

import numpy as np

from microgradrnn.engine import Tensor, tags
from microgradrnn.ops import concatenate, linear


def _param(rng, shape, label):
    return Tensor(rng.normal(0, 0.5, size=shape), requires_grad=True, label=label)


def _stamp(node, role):
    node.tags = {**node.tags, "role": role}
    return node


def _rnn_step(p, x, state):
    (h,) = state
    h = (linear(x, p["w_ih"], p["b_ih"]) + linear(h, p["w_hh"], p["b_hh"])).tanh()
    return h, (h,)


def _lstm_step(p, x, state):
    h, c = state
    z = linear(x, p["w_ih"], p["b_ih"]) + linear(h, p["w_hh"], p["b_hh"])
    n = z.shape[-1] // 4
    i, f, g, o = z[:, :n].sigmoid(), z[:, n:2 * n].sigmoid(), z[:, 2 * n:3 * n].tanh(), \
        z[:, 3 * n:].sigmoid()
    c = f * c + i * g
    h = o * c.tanh()
    return h, (h, c)


def _gru_step(p, x, state):
    (h,) = state
    gx = linear(x, p["w_ih"], p["b_ih"])
    gh = linear(h, p["w_hh"], p["b_hh"])
    n = gx.shape[-1] // 3
    r = (gx[:, :n] + gh[:, :n]).sigmoid()
    z = (gx[:, n:2 * n] + gh[:, n:2 * n]).sigmoid()
    cand = (gx[:, 2 * n:] + r * gh[:, 2 * n:]).tanh()
    h = (1.0 - z) * cand + z * h
    return h, (h,)


def _custom_step(p, x, state):
    """A 'minimal' cell written by a user: h = relu(W [x; h]) * 0.5 + h * 0.5 (no roles
    besides what the layer stamps)."""
    (h,) = state
    u = linear(concatenate([x, h], axis=1), p["w"], p["b"]).relu()
    h = u * 0.5 + h * 0.5
    return h, (h,)


CELLS = {
    "rnn": (_rnn_step, 1, ("h",)),
    "lstm": (_lstm_step, 4, ("h", "c")),
    "gru": (_gru_step, 3, ("h",)),
    "custom": (_custom_step, 1, ("h",)),
}


def unroll(cell="rnn", layers=2, steps=4, hidden=3, inputs=2, batch=2, seed=0,
           bidirectional=False, backward=True, retain=True, x_grad=False):
    """Build a tagged unrolled model with a per-step head and loss; returns (L, info)."""
    step, mult, names = CELLS[cell]
    rng = np.random.default_rng(seed)
    x = Tensor(rng.normal(size=(steps, batch, inputs)), requires_grad=x_grad, label="x")
    target = rng.normal(size=(steps, batch, 1))
    dirs = ("fwd", "bwd") if bidirectional else ("fwd",)
    below = None  # per t: the input of the current layer
    for layer in range(1, layers + 1):
        size_in = inputs if layer == 1 else hidden * len(dirs)
        outs = {}
        for d in dirs:
            sfx = f"_l{layer - 1}" + ("_reverse" if d == "bwd" else "")
            if cell == "custom":
                p = {"w": _param(rng, (hidden, size_in + hidden), "weight" + sfx),
                     "b": _param(rng, (hidden,), "bias" + sfx)}
            else:
                p = {"w_ih": _param(rng, (mult * hidden, size_in), "weight_ih" + sfx),
                     "w_hh": _param(rng, (mult * hidden, hidden), "weight_hh" + sfx),
                     "b_ih": _param(rng, (mult * hidden,), "bias_ih" + sfx),
                     "b_hh": _param(rng, (mult * hidden,), "bias_hh" + sfx)}
            state = []
            for name in names:
                with tags(t=0, layer=layer, direction=d, role=name):
                    state.append(Tensor(np.zeros((batch, hidden)), requires_grad=True))
            state = tuple(state)
            order = range(1, steps + 1) if d == "fwd" else range(steps, 0, -1)
            for t in order:
                with tags(t=t, layer=layer, direction=d):
                    if layer == 1:
                        with tags(role="x"):
                            inp = x[t - 1]
                    else:
                        inp = below[t]
                    h, state = step(p, inp, state)
                    for name, node in zip(names, state, strict=True):
                        _stamp(node, name)
                outs.setdefault(t, {})[d] = h
        below = {}
        for t in range(1, steps + 1):
            if len(dirs) == 2:
                with tags(t=t, layer=layer + 1, role="input"):
                    below[t] = concatenate([outs[t]["fwd"], outs[t]["bwd"]], axis=1)
            else:
                below[t] = outs[t]["fwd"]
    w_hy = _param(rng, (1, below[1].shape[-1]), "weight")
    b_y = _param(rng, (1,), "bias")
    losses = []
    for t in range(1, steps + 1):
        with tags(t=t, role="y"):
            y = linear(below[t], w_hy, b_y)
        with tags(t=t, role="loss"):
            losses.append(((y - target[t - 1]) ** 2).mean())
    total = losses[0]
    for loss in losses[1:]:
        total = total + loss
    total.label = "L"
    if backward:
        total.backward(retain_graph=retain, record_flow=True)
    return total, losses


def tanh_chain(steps) -> Tensor:
    """L = sum_t ||h_t||^2 over h_t = tanh(h_{t-1} W + 1), h_0 = 0, tagged with the step
    values given (``np.arange(1, 4)`` or ``range(1, 4)``: the renderer must unroll both
    alike), its layer a numpy int; backpropagated with the flow recorded."""
    rng = np.random.default_rng(0)
    W = Tensor(rng.normal(size=(2, 2)), requires_grad=True, label="weight_hh_l0")
    h = Tensor(np.zeros((1, 2)))
    total = None
    for t in steps:
        with tags(t=t, layer=np.int64(1), direction="fwd"):
            h = (h @ W + 1.0).tanh()
        _stamp(h, "h")
        with tags(t=t, role="loss"):
            L_t = (h * h).sum()
        total = L_t if total is None else total + L_t
    total.label = "L"
    total.backward(record_flow=True)
    return total
