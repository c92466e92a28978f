"""Losses and normalisations built on the engine, with the numerics done right.

``log_softmax`` and ``cross_entropy`` are ops with their own backward rules (subtracting
the maximum keeps them exact for logits of any size); the rest are compositions.
``per_step_loss`` runs a head and a loss at every step of a recurrent layer's output,
tagged for the renderer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .engine import Tensor, from_op, tags
from .ops import linear

__all__ = ["linear", "log_softmax", "softmax", "cross_entropy", "mse_loss", "per_step_loss"]

_REDUCTIONS = ("mean", "sum", "none")


def _as_tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def _log_softmax(x: np.ndarray, axis: int) -> np.ndarray:
    # (x - m) - log sum e^(x - m): adding m back first would round away log(sum) for
    # large m (softmax of [0, 1e16, 1e16] summed to 2)
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def _check_axis(x: np.ndarray, axis: int, op: str) -> None:
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{op}: axis must be an int, got {axis!r}")
    if x.ndim == 0 or not -x.ndim <= axis < x.ndim:
        raise ValueError(f"{op}: axis {axis} is out of range for shape {x.shape}")


def log_softmax(x: Tensor, axis: int = -1) -> Tensor:
    """log(softmax(x)) along axis, computed as x - logsumexp(x): never overflows."""
    x = _as_tensor(x)
    X = np.asarray(x._data)
    _check_axis(X, axis, "log_softmax")
    out = _log_softmax(X, axis)

    def backward(g):  # d/dx = g - softmax(x) * sum(g)
        return (g - np.exp(out) * g.sum(axis=axis, keepdims=True),)

    return from_op(out, (x,), backward, "log_softmax")


def softmax(x: Tensor, axis: int = -1) -> Tensor:
    """exp(x) / sum(exp(x)) along axis, without overflow."""
    x = _as_tensor(x)
    X = np.asarray(x._data)
    _check_axis(X, axis, "softmax")
    out = np.exp(_log_softmax(X, axis))

    def backward(g):  # d/dx = s * (g - sum(g * s))
        return (out * (g - (g * out).sum(axis=axis, keepdims=True)),)

    return from_op(out, (x,), backward, "softmax")


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _check_reduction(reduction: str, op: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def cross_entropy(logits: Tensor, targets: Any, reduction: str = "mean") -> Tensor:
    """Softmax cross-entropy: -log softmax(logits)[target].

    logits: (..., C); targets: integer class indices of shape logits.shape[:-1].
    reduction: "mean" (over all positions), "sum" or "none" (shape of targets).
    """
    _check_reduction(reduction, "cross_entropy")
    logits = _as_tensor(logits)
    Z = np.asarray(logits._data)
    t = np.asarray(targets._data if isinstance(targets, Tensor) else targets)
    if Z.ndim == 0:
        raise ValueError("cross_entropy: logits must have a class axis, got a scalar")
    if t.dtype.kind not in "iu" and not (t.dtype.kind == "f" and np.all(t == np.round(t))):
        raise TypeError(f"cross_entropy: targets must be integer class indices, "
                        f"got dtype {t.dtype}")
    if t.shape != Z.shape[:-1]:
        raise ValueError(f"cross_entropy: targets of shape {t.shape} do not match logits "
                         f"of shape {Z.shape} (expected {Z.shape[:-1]})")
    C = Z.shape[-1]
    if t.size and (t.min() < 0 or t.max() >= C):  # before the cast: inf and 1e20 wrapped
        raise ValueError(f"cross_entropy: targets must lie in [0, {C}), "
                         f"got values from {t.min()} to {t.max()}")
    t = t.astype(np.intp, copy=False)
    # softmax once, kept for backward: e = exp(z - max), s = sum(e); then
    # log softmax[target] = (z - max)[target] - log s, and softmax = e / s
    e = Z - Z.max(axis=-1, keepdims=True)
    picked = np.take_along_axis(e, t[..., None], axis=-1)[..., 0]
    np.exp(e, out=e)
    s = e.sum(axis=-1, keepdims=True)
    picked -= np.log(s[..., 0])  # log softmax at the targets
    n = max(t.size, 1)
    if reduction == "none":
        out = -picked
    elif reduction == "sum" or t.size:
        out = -picked.sum() / (n if reduction == "mean" else 1)
    else:  # the mean of no targets, as PyTorch gives it (not -0.0)
        out = np.array(np.nan, dtype=Z.dtype)
    flat = (np.arange(t.size), t.reshape(-1))  # the target entries of e as (N, C)

    def backward(g):  # d/dlogits = (softmax - onehot(target)) * g, row by row
        scale = np.asarray(g)[..., None] if reduction == "none" else \
            (g / n if reduction == "mean" else g)
        d = e * (scale / s)  # one pass: softmax times the upstream gradient
        d.reshape(-1, C)[flat] -= np.broadcast_to(scale, s.shape).reshape(-1)
        return (d,)

    return from_op(out, (logits,), backward, "cross_entropy")


def mse_loss(pred: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """Mean squared error (pred - target)^2, reduced by "mean", "sum" or "none"."""
    _check_reduction(reduction, "mse_loss")
    pred = _as_tensor(pred)
    target_shape = target.shape if isinstance(target, Tensor) else np.shape(target)
    if tuple(target_shape) != pred.shape:
        raise ValueError(f"mse_loss: pred of shape {pred.shape} and target of shape "
                         f"{tuple(target_shape)} differ")
    diff = pred - target
    return _reduce(diff * diff, reduction)


def per_step_loss(
    output: Tensor, head: Callable[[Tensor], Tensor], targets: Any,
    loss_fn: Callable[[Tensor, Any], Tensor],
) -> tuple[Tensor, list[Tensor]]:
    """The total loss L = L_1 + ... + L_T of a head applied at every step, and [L_1..L_T].

    output: a recurrent layer's output (T, B, H), e.g. ``nn.RNN(...)(x)[0]``; head: a
    callable such as an ``nn.Linear``; targets: indexable by step, targets[t - 1] for step
    t (an array (T, ...) or a list); loss_fn(y_t, target_t), e.g. ``mse_loss``.

    y_t = head(output[t - 1]) is made inside ``tags(t=t, role="y")`` and
    L_t = loss_fn(y_t, targets[t - 1]) inside ``tags(t=t, role="loss")``, as
    docs/contracts.md asks of user code; L is summed left to right, labelled "L", and
    gets no role of its own: it is the root the renderer draws from.

        L, step_losses = F.per_step_loss(rnn(x)[0], head, y, F.mse_loss)
        L.backward()
    """
    if not isinstance(output, Tensor):  # a layer's (output, state) had "2 steps"
        hint = " (a layer returns (output, final_state): pass its [0])" \
            if isinstance(output, tuple) else ""
        raise TypeError(f"per_step_loss: output must be a Tensor (T, B, H), got "
                        f"{type(output).__name__}{hint}")
    T = len(output)
    if T == 0 or len(targets) != T:
        raise ValueError(f"per_step_loss: output has {T} steps and targets "
                         f"{len(targets)}; expected the same number, at least one")
    losses = []
    for t in range(1, T + 1):
        with tags(t=t, role="y"):
            y_t = head(output[t - 1])
        with tags(t=t, role="loss"):
            losses.append(loss_fn(y_t, targets[t - 1]))
    total = losses[0]
    for L_t in losses[1:]:
        total = total + L_t
    total.label = "L"
    return total, losses
