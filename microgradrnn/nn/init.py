"""Initialisers. Each returns a new float64 array of the given shape.

All randomness comes from a ``numpy.random.Generator``; pass a seed (int) or a Generator
to ``as_generator``. Assign the result with ``param.data = init.orthogonal(param.shape,
rng)``.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "as_generator", "uniform", "normal", "pytorch_default", "xavier_uniform",
    "xavier_normal", "orthogonal", "identity", "zeros",
]


def as_generator(rng: np.random.Generator | int | None) -> np.random.Generator:
    """A Generator from a Generator (returned as is), a seed, or None (fresh entropy)."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, (int, np.integer)):
        return np.random.default_rng(rng)
    raise TypeError(f"rng: expected a numpy.random.Generator, an int seed or None, "
                    f"got {type(rng).__name__}")


def uniform(shape: tuple[int, ...], bound: float, rng: np.random.Generator) -> np.ndarray:
    """Uniform on [-bound, bound]."""
    return rng.uniform(-bound, bound, size=shape)


def normal(shape: tuple[int, ...], std: float, rng: np.random.Generator) -> np.ndarray:
    """Normal with mean 0 and standard deviation std."""
    return rng.normal(0.0, std, size=shape)


def pytorch_default(
    shape: tuple[int, ...], fan: int, rng: np.random.Generator
) -> np.ndarray:
    """PyTorch's default for RNN weights (fan = hidden_size) and Linear (fan = in_features):
    uniform on [-1/sqrt(fan), 1/sqrt(fan)]."""
    return uniform(shape, 1.0 / math.sqrt(fan), rng)


def _fans(shape: tuple[int, ...]) -> tuple[int, int]:
    if len(shape) < 2:
        raise ValueError(f"init: fan in/out need at least 2 dimensions, got shape {shape}")
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def xavier_uniform(
    shape: tuple[int, ...], rng: np.random.Generator, gain: float = 1.0
) -> np.ndarray:
    """Glorot: uniform on ±gain·sqrt(6 / (fan_in + fan_out)); weight shape (out, in)."""
    fan_in, fan_out = _fans(shape)
    return uniform(shape, gain * math.sqrt(6.0 / (fan_in + fan_out)), rng)


def xavier_normal(
    shape: tuple[int, ...], rng: np.random.Generator, gain: float = 1.0
) -> np.ndarray:
    """Glorot: normal with std gain·sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _fans(shape)
    return normal(shape, gain * math.sqrt(2.0 / (fan_in + fan_out)), rng)


def orthogonal(
    shape: tuple[int, ...], rng: np.random.Generator, gain: float = 1.0
) -> np.ndarray:
    """A (semi-)orthogonal matrix (rows or columns orthonormal), as PyTorch's orthogonal_.

    For a gated cell's W_hh of shape (4H, H) the columns are orthonormal.
    """
    if len(shape) < 2:
        raise ValueError(f"orthogonal: needs at least 2 dimensions, got shape {shape}")
    rows, cols = shape[0], math.prod(shape[1:])
    a = rng.standard_normal((rows, cols))
    if rows < cols:
        a = a.T
    q, r = np.linalg.qr(a)
    q *= np.sign(np.diag(r))  # makes the distribution uniform (Haar)
    if rows < cols:
        q = q.T
    return gain * q.reshape(shape)


def identity(shape: tuple[int, ...], scale: float = 1.0) -> np.ndarray:
    """scale · I (ones on the main diagonal; non-square allowed).

    For W_hh of a ReLU RNN this is the "IRNN" initialisation (Le, Jaitly & Hinton 2015):
    at the start each step copies h forward, so the gradient neither vanishes nor explodes.
    """
    if len(shape) != 2:
        raise ValueError(f"identity: needs a 2-D shape, got {shape}")
    return scale * np.eye(*shape)


def zeros(shape: tuple[int, ...]) -> np.ndarray:
    return np.zeros(shape)
