"""Check analytic gradients against central finite differences, in float64."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from .engine import Tensor

__all__ = ["gradcheck", "GradcheckError"]


class GradcheckError(AssertionError):
    """An analytic gradient disagrees with the finite-difference estimate."""


def gradcheck(
    fn: Callable[..., Tensor],
    *inputs: Any,
    params: Iterable[Tensor] = (),
    eps: float = 1e-6,
    atol: float = 1e-8,
    rtol: float = 1e-6,
    max_elements: int = 512,
    directions: int = 16,
    seed: int = 0,
) -> bool:
    """Compare backward() with central differences for every input that requires grad.

    fn(*inputs) may return a tensor of any shape; it is reduced to the scalar
    sum(out * R) with a fixed random R, so every output element is checked. Inputs are
    copied to float64 first. ``params`` are tensors fn uses without taking them as
    arguments, e.g. a module's ``parameters()``: they are checked too, each held in float64
    while checking and then given back its own data and ``.grad``. Tensors with up to
    ``max_elements`` elements are checked element by element; larger ones along
    ``directions`` random directions.

    Returns True, or raises GradcheckError naming the input or parameter, the index (or
    direction) and both values of the worst mismatch.
    """
    rng = np.random.default_rng(seed)
    leaves = [
        Tensor(np.asarray(x._data, dtype=np.float64), requires_grad=x.requires_grad)
        if isinstance(x, Tensor) else x
        for x in inputs
    ]
    checked = [(f"input {i}", x) for i, x in enumerate(leaves)
               if isinstance(x, Tensor) and x.requires_grad]
    if isinstance(params, Tensor):
        params = [params]
    elif hasattr(params, "parameters") and not hasattr(params, "__iter__"):
        raise TypeError(f"gradcheck: params must be Tensors, got a {type(params).__name__}; "
                        "pass its .parameters()")
    params = list(params)
    for k, p in enumerate(params):
        if not isinstance(p, Tensor) or not p.requires_grad:
            raise TypeError(f"gradcheck: params[{k}] is not a Tensor that requires grad")
        checked.append((f"parameter {p.label or k!r}", p))
    if not checked:
        raise ValueError("gradcheck: no input is a Tensor with requires_grad=True")
    saved = [(p._data, p._grad) for p in params]
    try:
        for p in params:
            p._data, p._grad = np.array(p._data, dtype=np.float64), None
        return _check(fn, leaves, checked, rng, eps, atol, rtol, max_elements, directions)
    finally:
        for p, (data, grad) in zip(params, saved, strict=True):
            p._data, p._grad = data, grad


def _check(fn: Callable[..., Tensor], leaves: list, checked: list, rng: np.random.Generator,
           eps: float, atol: float, rtol: float, max_elements: int, directions: int) -> bool:
    out = fn(*leaves)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor, got {type(out).__name__}")
    weights = rng.standard_normal(out.shape)

    def objective() -> float:
        return float(np.sum(np.asarray(fn(*leaves)._data, dtype=np.float64) * weights))

    out.backward(weights)
    worst: tuple[float, str] | None = None
    for name, x in checked:
        analytic = np.zeros(x.shape) if x._grad is None else np.asarray(x._grad, np.float64)
        data = x._data  # perturbed in place, restored after each probe
        if x.size <= max_elements:
            probes = [(idx, None) for idx in np.ndindex(*x.shape)]
        else:
            probes = [(None, rng.standard_normal(x.shape)) for _ in range(directions)]
        for idx, v in probes:
            step = np.zeros(x.shape)
            if v is None:
                step[idx] = eps
                expected = analytic[idx]
                where = f"index {idx}"
            else:
                step = eps * v
                expected = float(np.sum(analytic * v))
                where = "a random direction"
            data += step
            up = objective()
            data -= 2 * step
            down = objective()
            data += step
            numeric = (up - down) / (2 * eps)
            err = abs(numeric - expected)
            if err > atol + rtol * abs(numeric):
                excess = err / (atol + rtol * abs(numeric))
                msg = (f"gradcheck: {name} (shape {x.shape}) at {where}: analytic "
                       f"gradient {expected:.10g}, numeric {numeric:.10g}")
                if worst is None or excess > worst[0]:
                    worst = (excess, msg)
    if worst is not None:
        raise GradcheckError(worst[1])
    return True
