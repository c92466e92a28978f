"""Numeric kernels: the activations written over their argument, for the fused steps.

numpy's float64 tanh is a scalar libm loop while its exp is vectorised, so on large
arrays both activations are written with one exp:

    sigmoid(z) = 1 / (1 + e^-z)         exact to a few ulps everywhere (so always used);
    tanh(z)    = 2 sigmoid(2z) - 1      a few ulps of 1 off (absolute error <= 4e-16),
                                        so not relatively exact near 0.

The exp form of tanh takes seven numpy calls where ``np.tanh`` takes one, so below
``TANH_EXP_FROM`` elements ``np.tanh`` is faster and is used (benchmarks/README has the
timings behind the threshold). ``Tensor.tanh`` keeps numpy's exact tanh; the fused
recurrent steps (``nn/fused.py``), where speed is the point and h is O(1), use
``tanh_into``. e^-z is clipped where it would overflow the dtype (z < -708 in float64,
-87 in float32): sigmoid then moves by less than the dtype's smallest normal number.
"""

from __future__ import annotations

import numpy as np

__all__ = ["TANH_EXP_FROM", "sigmoid_into", "tanh_into"]

TANH_EXP_FROM = 1024  # elements: from this size on, tanh_into uses the exp form

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
    """z <- tanh(z), in place (2 sigmoid(2z) - 1 from TANH_EXP_FROM elements on); returns z."""
    if z.size < TANH_EXP_FROM:
        return np.tanh(z, out=z)
    z *= 2.0
    sigmoid_into(z)
    z *= 2.0
    z -= 1.0
    return z
