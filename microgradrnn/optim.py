"""Optimizers (SGD, Adam, Adagrad) and gradient clipping, with PyTorch's update rules.

Optimizers update each parameter (the same Parameter object) and build no graph. A step
gives the parameter a new data array rather than writing into the old one, which a graph
built before the step may still hold for its backward pass. They never write into a
``.grad`` array either (the engine's gradients are read-only and may be shared); the
clipping functions assign new arrays instead.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from .engine import Tensor, no_grad
from .nn.module import Parameter

__all__ = ["Optimizer", "SGD", "Adam", "Adagrad", "clip_grad_norm_", "clip_grad_value_"]


def _as_list(params: Iterable[Parameter], where: str) -> list[Parameter]:
    if isinstance(params, Tensor) or not isinstance(params, Iterable):
        got = type(params).__name__
        hint = " (pass module.parameters())" if hasattr(params, "parameters") else ""
        raise TypeError(f"{where}: params argument given to the optimizer should be an "
                        f"iterable of Tensors, got {got}{hint}")
    params = list(params)
    if not params:
        raise ValueError(f"{where}: got an empty list of parameters")
    first: dict[int, int] = {}
    for i, p in enumerate(params):
        if not getattr(p, "requires_grad", False):
            raise TypeError(f"{where}: every parameter must be a Tensor that requires grad, "
                            f"got {type(p).__name__}")
        if first.setdefault(id(p), i) != i:  # step() would update it twice
            raise ValueError(f"{where}: parameter {i} ({p.label or 'unnamed'}, shape "
                             f"{p.shape}) is parameter {first[id(p)]} again; pass each "
                             "parameter once")
    return params


def _with_grads(params: Tensor | Iterable[Tensor], where: str) -> list[Tensor]:
    """The parameters that have a gradient; one Tensor is taken as [it], as PyTorch does
    (iterating over it would give its rows, new nodes without gradients)."""
    if isinstance(params, Tensor):
        params = [params]
    elif not isinstance(params, Iterable):
        hint = " (pass module.parameters())" if hasattr(params, "parameters") else ""
        raise TypeError(f"{where}: parameters must be a Tensor or an iterable of Tensors, "
                        f"got {type(params).__name__}{hint}")
    params = list(params)
    for p in params:
        if not isinstance(p, Tensor):
            raise TypeError(f"{where}: parameters must be Tensors, got {type(p).__name__}")
    return [p for p in params if p._grad is not None]


def _check_at_least(where: str, low: float = 0.0, **values: Any) -> None:
    """ValueError naming the first hyperparameter that is not a number >= low (NaN too),
    as PyTorch refuses them ("Invalid learning rate: -1")."""
    for name, v in values.items():
        if isinstance(v, bool) or not isinstance(v, (int, float, np.number)):
            raise TypeError(f"{where}: {name} must be a number, got {type(v).__name__} {v!r}")
        if not v >= low:
            raise ValueError(f"{where}: invalid {name} {v!r}, expected >= {low}")


class Optimizer:
    """Holds the parameters and per-parameter state; ``step()`` updates, ``zero_grad()``
    forgets the gradients. Parameters without a gradient are skipped."""

    def __init__(self, params: Iterable[Parameter], lr: float) -> None:
        name = type(self).__name__
        _check_at_least(name, lr=lr)
        self.params = _as_list(params, name)
        self.lr = lr
        self.state: dict[int, dict[str, Any]] = {}

    def zero_grad(self) -> None:
        for p in self.params:
            p.zero_grad()

    def step(self) -> None:
        with no_grad():
            for i, p in enumerate(self.params):
                if p._grad is not None:  # p keeps its type: float32 stays, a Value's float
                    old = p._data
                    new = old - self._update(i, p, np.asarray(p._grad))
                    p._data = float(new) if old.__class__ is float else \
                        new.astype(old.dtype, copy=False)

    def _update(self, i: int, p: Parameter, g: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class SGD(Optimizer):
    """p <- p - lr * v, as torch.optim.SGD:

        g = grad + weight_decay * p
        b = g at the first step, then b = momentum * b + (1 - dampening) * g
        v = g + momentum * b (nesterov), b (momentum), or g (no momentum)
    """

    def __init__(
        self, params: Iterable[Parameter], lr: float = 1e-3, momentum: float = 0.0,
        dampening: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False,
    ) -> None:
        super().__init__(params, lr)
        _check_at_least("SGD", momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: nesterov needs momentum > 0 and dampening = 0")
        self.momentum, self.dampening = momentum, dampening
        self.weight_decay, self.nesterov = weight_decay, nesterov

    def _update(self, i: int, p: Parameter, g: np.ndarray) -> np.ndarray:
        if self.weight_decay:
            g = g + self.weight_decay * p._data
        if self.momentum:
            st = self.state.setdefault(i, {})
            if "buf" not in st:
                st["buf"] = np.array(g)
            else:
                st["buf"] = self.momentum * st["buf"] + (1 - self.dampening) * g
            g = g + self.momentum * st["buf"] if self.nesterov else st["buf"]
        return self.lr * g


class Adam(Optimizer):
    """Adam (Kingma & Ba), as torch.optim.Adam (weight_decay adds weight_decay * p to g):

        m = b1 m + (1 - b1) g,  v = b2 v + (1 - b2) g^2
        p <- p - lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
    """

    def __init__(
        self, params: Iterable[Parameter], lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr)
        _check_at_least("Adam", eps=eps, weight_decay=weight_decay)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"Adam: betas must be a pair (beta1, beta2), got {betas!r}")
        for i, b in enumerate(betas):  # PyTorch: "Invalid beta parameter at index 0"
            _check_at_least("Adam", **{f"betas[{i}]": b})
            if not b < 1.0:
                raise ValueError(f"Adam: invalid betas[{i}] {b!r}, expected in [0, 1)")
        self.betas, self.eps, self.weight_decay = betas, eps, weight_decay

    def _update(self, i: int, p: Parameter, g: np.ndarray) -> np.ndarray:
        b1, b2 = self.betas
        if self.weight_decay:
            g = g + self.weight_decay * p._data
        st = self.state.setdefault(i, {"t": 0, "m": np.zeros_like(g), "v": np.zeros_like(g)})
        st["t"] += 1
        st["m"] = b1 * st["m"] + (1 - b1) * g
        st["v"] = b2 * st["v"] + (1 - b2) * g * g
        bc1, bc2 = 1 - b1 ** st["t"], 1 - b2 ** st["t"]
        denom = np.sqrt(st["v"]) / math.sqrt(bc2) + self.eps
        return (self.lr / bc1) * st["m"] / denom


class Adagrad(Optimizer):
    """Adagrad, as torch.optim.Adagrad:

        s = s + g^2,  p <- p - lr / (1 + (t - 1) lr_decay) * g / (sqrt(s) + eps)
    """

    def __init__(
        self, params: Iterable[Parameter], lr: float = 1e-2, lr_decay: float = 0.0,
        weight_decay: float = 0.0, initial_accumulator_value: float = 0.0, eps: float = 1e-10,
    ) -> None:
        super().__init__(params, lr)
        _check_at_least("Adagrad", lr_decay=lr_decay, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, eps=eps)
        self.lr_decay, self.weight_decay, self.eps = lr_decay, weight_decay, eps
        self.initial_accumulator_value = initial_accumulator_value

    def _update(self, i: int, p: Parameter, g: np.ndarray) -> np.ndarray:
        if self.weight_decay:
            g = g + self.weight_decay * p._data
        st = self.state.setdefault(
            i, {"t": 0, "sum": np.full_like(g, self.initial_accumulator_value)})
        st["t"] += 1
        st["sum"] = st["sum"] + g * g
        clr = self.lr / (1 + (st["t"] - 1) * self.lr_decay)
        return clr * g / (np.sqrt(st["sum"]) + self.eps)


def clip_grad_norm_(
    params: Tensor | Iterable[Tensor], max_norm: float, norm_type: float | str = 2.0
) -> float:
    """Scale all gradients together so their joint norm is at most max_norm.

    The norm is taken over all gradients as one vector (``norm_type`` 2, 1, or inf).
    Returns the total norm *before* clipping. As PyTorch, scales by
    max_norm / (norm + 1e-6) when that is below 1. Gradients are replaced, not mutated.
    params: an iterable of Tensors, or one Tensor.
    """
    where = "clip_grad_norm_"
    _check_at_least(where, max_norm=max_norm)  # a negative one flipped every gradient
    if norm_type == "inf":  # PyTorch's spelling too
        norm_type = math.inf
    if isinstance(norm_type, bool) or not isinstance(norm_type, (int, float, np.number)) \
            or not norm_type > 0:
        raise ValueError(f"{where}: norm_type must be a positive number or math.inf, got "
                         f"{norm_type!r}")
    grads = _with_grads(params, where)
    if not grads:
        return 0.0
    arrays = [np.asarray(p._grad) for p in grads]
    if norm_type == math.inf:
        total = max(float(np.max(np.abs(a))) for a in arrays)
    else:
        total = float(sum(np.sum(np.abs(a) ** norm_type) for a in arrays) ** (1 / norm_type))
    scale = max_norm / (total + 1e-6)
    if scale < 1.0:
        for p, a in zip(grads, arrays, strict=True):
            p.grad = a * scale
    return total


def clip_grad_value_(params: Tensor | Iterable[Tensor], clip_value: float) -> None:
    """Clip every gradient element to [-clip_value, clip_value] (new arrays). params: an
    iterable of Tensors, or one Tensor."""
    _check_at_least("clip_grad_value_", clip_value=clip_value)
    for p in _with_grads(params, "clip_grad_value_"):
        p.grad = np.clip(np.asarray(p._grad), -clip_value, clip_value)
