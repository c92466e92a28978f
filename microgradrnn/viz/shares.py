"""How the roads into a node add up: each road's additive share of the node's gradient.

Where several roads meet at a node (h_t gets one gradient from the same step and one
from the next step), the node's gradient is the *sum* of what arrived along them:
g = g_1 + g_2 + ... The norms of the parts do not add (||g_1|| + ||g_2|| >= ||g||), but
their projections onto g do:

    s_i = <g_i, g> / ||g||,   and   s_1 + s_2 + ... = <g, g> / ||g|| = ||g||.

A road whose part points against the total gets a negative share. The pictures print
these shares on the edges into a node and ||g|| in the node, so the addition can be
checked by eye.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..engine import Flow, Tensor

__all__ = ["additive_shares", "flow_shares", "incoming", "printed_sum"]


def _vector(g: Any) -> np.ndarray:
    return np.asarray(g, dtype=np.float64).ravel()


def additive_shares(parts: Sequence[Any]) -> list[float]:
    """The share s_i = <g_i, g>/||g|| of each part g_i of g = sum(parts).

    Parts are arrays of one shape (or floats). The shares sum to ||g|| up to rounding;
    all are 0 when g is 0.
    """
    if not parts:
        return []
    vectors = [_vector(p) for p in parts]
    total = np.sum(vectors, axis=0)
    size = float(np.sqrt(total @ total))
    if size == 0.0:
        return [0.0] * len(vectors)
    return [float(v @ total) / size for v in vectors]


def incoming(flow: Flow, node: Tensor) -> list[tuple[Tensor, int, Any]]:
    """The edges along which gradient reached ``node`` in ``flow``: (child, i, gradient)
    for every child that uses ``node`` as its parent number i, in the flow's order."""
    return [(child, i, g) for (child, i), g in flow.edges.items()
            if g is not None and child.parents[i] is node]


def flow_shares(flow: Flow, node: Tensor) -> list[tuple[Tensor, int, float]]:
    """Each incoming edge's additive share of ``node``'s gradient: (child, i, share).

    The shares sum to the norm of the sum of the incoming gradients, which is
    ``||flow.grad(node)||`` unless a hook changed it.
    """
    edges = incoming(flow, node)
    shares = additive_shares([g for _, _, g in edges])
    return [(child, i, s) for (child, i, _), s in zip(edges, shares, strict=True)]


MINUS = "\u2212"


def printed_sum(shares: Sequence[float]) -> tuple[list[str], str, int]:
    """The shares and their sum as the picture prints them: decimals at one resolution
    (two significant digits of the sum, at least two decimals), rounded so that the
    printed parts add up exactly to the printed sum (largest remainder): the addition
    checks by eye.

    Returns (parts, sum, exponent): the strings read as multiples of 10**exponent, which
    is 0 unless the sum is below 0.001 (then 1.2 + 0.3 = 1.5 are read ×10⁻⁵). Negative
    parts carry a minus sign (U+2212). ``printed_sum([0.1749, 0.1151]) ==
    (["0.17", "0.12"], "0.29", 0)``.
    """
    total = math.fsum(shares)
    size = abs(total) or max((abs(s) for s in shares), default=0.0)
    if size < 1e-300 or not math.isfinite(size):  # (nothing printable below that)
        return ["0" for _ in shares], "0", 0
    lead = math.floor(math.log10(size))  # the sum's first significant digit
    exponent = lead if lead < -3 else 0
    decimals = max(2, 1 - lead + exponent) if not exponent else 1 - lead + exponent
    unit = 10.0 ** (exponent - decimals)
    scaled = [s / unit for s in shares]
    want = round(math.fsum(scaled))
    ints = [math.floor(x) for x in scaled]
    by_remainder = sorted(range(len(scaled)), key=lambda k: ints[k] - scaled[k])
    for k in by_remainder[: want - sum(ints)]:
        ints[k] += 1
    return [_fixed(n, decimals) for n in ints], _fixed(want, decimals), exponent


def _fixed(n: int, decimals: int) -> str:
    """The integer n read with ``decimals`` decimals: _fixed(-6, 2) == "−0.06"."""
    sign = MINUS if n < 0 else ""
    whole, frac = divmod(abs(n), 10 ** decimals)
    return sign + (f"{whole}.{frac:0{decimals}d}" if decimals else str(whole))
