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

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..engine import Flow, Tensor

__all__ = ["additive_shares", "flow_shares", "incoming"]


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
