"""Other autograd libraries a user might pick instead, on the same recurrent workloads.

- ``autograd`` (HIPS autograd): eager, numpy-backed, functional (``value_and_grad`` of a
  loss written in ``autograd.numpy``); the sequence is a Python loop over the steps.
- ``jax_jit`` (JAX): the training step (forward by ``lax.scan`` over the steps, loss,
  gradient, SGD) compiled by ``jax.jit``, float64, on one CPU thread (``start_jax``).

Both are optional (``pip install ".[bench]"``); ``have_autograd()`` / ``have_jax()`` say
whether they are installed. Each implementation has the interface of the ones in
``workloads.py``: ``step()`` (one SGD step, returning the loss), ``loss_and_grads()``
(gradients as numpy arrays by ``numpy_bptt.PARAM_NAMES``) and ``params()``. Parameters
use PyTorch's layout and gate order, as everywhere in the benchmarks; the model is the
same (time-major input, h_0 = 0, the head over the stacked hidden states, the loss over
all steps). Written as a user of each library would write it, without tricks.
"""

from __future__ import annotations

import os

import numpy as np

_jax_started = False


def have_autograd() -> bool:
    try:
        import autograd  # noqa: F401
    except ImportError:
        return False
    return True


def have_jax() -> bool:
    try:
        import jax  # noqa: F401
    except ImportError:
        return False
    return True


def start_jax() -> None:
    """Start JAX's CPU backend for one-thread, synchronous timing (before any other JAX
    computation in the process; later calls do nothing).

    XLA sizes its CPU thread pool by the CPUs the process may run on when the backend
    starts, and ignores OMP/MKL-style thread flags, so the backend is started while the
    process is pinned to one CPU and the mask is restored afterwards. Async dispatch is
    turned off, so that a step's time is its computation. float64 is enabled."""
    global _jax_started
    if _jax_started:
        return
    import jax

    jax.config.update("jax_enable_x64", True)
    jax.config.update("jax_cpu_enable_async_dispatch", False)
    mask = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    try:
        if mask:
            os.sched_setaffinity(0, {min(mask)})
        jax.numpy.zeros(1).block_until_ready()  # the backend starts here
    finally:
        if mask:
            os.sched_setaffinity(0, mask)
    _jax_started = True


def _sequence_loss(np_, cell: str, p: dict, X, target, loss: str, step_loop):
    """The loss of a workload's model with numpy-like module ``np_``; ``step_loop(f, h0,
    X)`` runs the cell ``f(state, x_t) -> (state, h_t)`` over the steps and returns the
    stacked hidden states (T, B, H)."""
    T, B = X.shape[0], X.shape[1]
    H = p["weight_hh"].shape[1]

    # each parameter read (and transposed) once: with autograd, every read of a traced
    # dict or transpose is a node of its own
    W_ih_T, W_hh_T = p["weight_ih"].T, p["weight_hh"].T
    b_ih, b_hh = p["bias_ih"], p["bias_hh"]

    def sigmoid(z):
        return 0.5 * (np_.tanh(0.5 * z) + 1.0)

    def rnn(h, x):
        h = np_.tanh(x @ W_ih_T + b_ih + h @ W_hh_T + b_hh)
        return h, h

    def lstm(state, x):
        h, c = state
        a = x @ W_ih_T + b_ih + h @ W_hh_T + b_hh
        i, f = sigmoid(a[:, :H]), sigmoid(a[:, H: 2 * H])
        g, o = np_.tanh(a[:, 2 * H: 3 * H]), sigmoid(a[:, 3 * H:])
        c = f * c + i * g
        h = o * np_.tanh(c)
        return (h, c), h

    def gru(h, x):
        gi = x @ W_ih_T + b_ih
        gh = h @ W_hh_T + b_hh
        r = sigmoid(gi[:, :H] + gh[:, :H])
        z = sigmoid(gi[:, H: 2 * H] + gh[:, H: 2 * H])
        n = np_.tanh(gi[:, 2 * H:] + r * gh[:, 2 * H:])
        h = n + z * (h - n)
        return h, h

    h0 = np_.zeros((B, H), dtype=X.dtype)
    f = {"rnn": rnn, "lstm": lstm, "gru": gru}[cell]
    hs = step_loop(f, (h0, h0) if cell == "lstm" else h0, X)
    W_y_T, b_y = p["head_weight"].T, p["head_bias"]
    n_out = W_y_T.shape[1]

    def total(h, tgt):  # the loss summed over the rows of h (n, H); tgt (n, n_out)
        y = h @ W_y_T + b_y
        if loss == "cross_entropy":
            m = np_.max(y, axis=1, keepdims=True)
            logp = y - m - np_.log(np_.sum(np_.exp(y - m), axis=1, keepdims=True))
            return -np_.sum(logp * tgt)  # tgt: one-hot
        return np_.sum((y - tgt) ** 2)

    scale = 1.0 / (T * B) if loss == "cross_entropy" else 1.0 / (B * n_out)
    return total(hs.reshape(T * B, H), target.reshape(T * B, n_out)) * scale


def _one_hot(target: np.ndarray, n: int, dtype) -> np.ndarray:
    return np.eye(n, dtype=dtype)[target.reshape(-1)]


class AutogradImpl:
    """HIPS autograd: value_and_grad of the loss; the steps in a Python loop."""

    def __init__(self, w, params: dict, X: np.ndarray, target: np.ndarray, lr: float) -> None:
        import autograd
        import autograd.numpy as anp

        self.p = {k: v.copy() for k, v in params.items()}
        self.X, self.lr = X.copy(), lr
        n_out = params["head_weight"].shape[0]
        self.target = (_one_hot(target, n_out, X.dtype) if w.loss == "cross_entropy"
                       else target.copy())

        def loop(f, state, X):
            hs = []
            for t in range(X.shape[0]):
                state, h = f(state, X[t])
                hs.append(h)
            # (stacking T arrays costs autograd O(T^2) in its concatenate's gradient, yet
            # measured less than applying the head step by step, even at W3's T = 1000)
            return anp.stack(hs)

        def loss(p):
            return _sequence_loss(anp, w.cell, p, self.X, self.target, w.loss, loop)

        self._vg = autograd.value_and_grad(loss)

    def loss_and_grads(self):
        loss, g = self._vg(self.p)
        return float(loss), {k: np.asarray(v) for k, v in g.items()}

    def step(self) -> float:
        loss, g = self._vg(self.p)
        for k, v in self.p.items():
            v -= self.lr * g[k]
        return float(loss)

    def params(self) -> dict[str, np.ndarray]:
        return self.p


class JaxImpl:
    """JAX: one jitted training step, the steps by lax.scan, float64, one thread."""

    def __init__(self, w, params: dict, X: np.ndarray, target: np.ndarray, lr: float) -> None:
        start_jax()
        import jax
        import jax.numpy as jnp

        if X.dtype != np.float64:
            raise ValueError(f"JaxImpl: the JAX peer runs float64 only, got {X.dtype}")
        n_out = params["head_weight"].shape[0]
        tgt = (_one_hot(target, n_out, X.dtype) if w.loss == "cross_entropy" else target)
        self.X, self.target = jnp.asarray(X), jnp.asarray(tgt)
        self.p = {k: jnp.asarray(v) for k, v in params.items()}

        def loop(f, state, X):
            return jax.lax.scan(f, state, X)[1]

        def loss(p, X, target):
            return _sequence_loss(jnp, w.cell, p, X, target, w.loss, loop)

        def train_step(p, X, target):
            value, g = jax.value_and_grad(loss)(p, X, target)
            return value, jax.tree_util.tree_map(lambda q, d: q - lr * d, p, g)

        self._step = jax.jit(train_step)
        self._vg = jax.jit(jax.value_and_grad(loss))

    def loss_and_grads(self):
        loss, g = self._vg(self.p, self.X, self.target)
        return float(loss), {k: np.array(v) for k, v in g.items()}

    def step(self) -> float:
        loss, self.p = self._step(self.p, self.X, self.target)
        return float(loss)  # waits for the step (async dispatch is off as well)

    def params(self) -> dict[str, np.ndarray]:
        return {k: np.asarray(v) for k, v in self.p.items()}
