"""Numeric kernels: the activations written over their argument, for the fused steps.

    sigmoid(z) = 1 / (1 + e^-z)   with e^-z clipped where it would overflow the dtype
                                  (z < -708 in float64, -87 in float32): sigmoid then
                                  moves by less than the dtype's smallest normal number;
    tanh(z)    = np.tanh(z)       numpy's own, in place.

Both were chosen by measurement on two CPUs (benchmarks/kernels.py; the tables are in
benchmarks/README.md): numpy 2.4's np.tanh is vectorised and beats the one-exp form
2 sigmoid(2z) - 1 at every size on both an Intel Xeon and an AMD EPYC, so the exp form
of tanh is gone. ``Tensor.tanh`` uses np.tanh too.
"""

from __future__ import annotations

import numpy as np

__all__ = ["sigmoid_into", "tanh_into"]

_EXP_LIMITS: dict = {}


def _exp_limit(dtype: np.dtype) -> float:
    limit = _EXP_LIMITS.get(dtype)
    if limit is None:
        limit = _EXP_LIMITS[dtype] = float(np.log(np.finfo(dtype).max)) - 1.0
    return limit


def sigmoid_into(z: np.ndarray) -> np.ndarray:
    """z <- sigmoid(z), in place; returns z. z: a float array of any shape."""
    np.negative(z, out=z)
    np.minimum(z, _exp_limit(z.dtype), out=z)
    np.exp(z, out=z)
    z += 1.0
    return np.reciprocal(z, out=z)


def tanh_into(z: np.ndarray) -> np.ndarray:
    """z <- tanh(z), in place; returns z."""
    return np.tanh(z, out=z)
