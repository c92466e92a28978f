"""Shared test helpers: seeded inputs, hypothesis strategies and the table of ops.

The op table is used twice: against finite differences (test_engine_ops.py) and against
PyTorch (test_engine_torch.py). Each case has an engine function and, when the torch
spelling differs, a torch function; both take the same inputs in the same order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import microgradrnn as mg
from microgradrnn.engine import Tensor


def rand(shape: tuple[int, ...], seed: int = 0, positive: bool = False) -> np.ndarray:
    """Seeded float64 values: standard normal, or in [0.5, 2] when ``positive``."""
    rng = np.random.default_rng(seed)
    if positive:
        return rng.uniform(0.5, 2.0, size=shape)
    return rng.standard_normal(shape)


def leaves(shapes: list[tuple[int, ...]], seed: int = 0, positive: bool = False) -> list[Tensor]:
    """One requires-grad float64 leaf per shape, with distinct seeded values."""
    return [
        Tensor(rand(s, seed + i, positive), requires_grad=True) for i, s in enumerate(shapes)
    ]


# -- hypothesis ---------------------------------------------------------------------------

small_shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)


def finite_arrays(shape: tuple[int, ...], lo: float = -3.0, hi: float = 3.0) -> st.SearchStrategy:
    return hnp.arrays(np.float64, shape, elements=st.floats(lo, hi, allow_subnormal=False))


@st.composite
def broadcast_pair(draw: Any, lo: float = -3.0, hi: float = 3.0) -> tuple[np.ndarray, ...]:
    """Two arrays whose shapes broadcast against each other, as numpy allows."""
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3))
    return tuple(draw(finite_arrays(s, lo, hi)) for s in shapes.input_shapes)


# -- the op table -------------------------------------------------------------------------


@dataclass
class Case:
    """One op applied to inputs of given shapes.

    fn(*tensors) is the engine expression; ref(*torch_tensors) the PyTorch one (fn when
    the spelling is the same). positive: inputs in [0.5, 2] (log, pow, division).
    """

    name: str
    fn: Callable
    shapes: list[tuple[int, ...]]
    ref: Callable | None = None
    positive: bool = False
    kwargs: dict = field(default_factory=dict)

    def torch_fn(self) -> Callable:
        return self.ref or self.fn


def _torch() -> Any:
    """The torch module, imported only when a reference is computed (torch is optional)."""
    import torch

    return torch


IDX = np.array([2, 0, 2, 2])  # repeated indices must accumulate

OPS: list[Case] = [
    Case("add", lambda a, b: a + b, [(2, 3), (2, 3)]),
    Case("add (3,1)+(4,)", lambda a, b: a + b, [(3, 1), (4,)]),
    Case("add scalar+matrix", lambda a, b: a + b, [(), (2, 3)]),
    Case("add number", lambda a: a + 2.5, [(2, 3)]),
    Case("radd number", lambda a: 2.5 + a, [(2, 3)]),
    Case("sub (2,1,3)-(4,1)", lambda a, b: a - b, [(2, 1, 3), (4, 1)]),
    Case("rsub number", lambda a: 2 - a, [(3,)]),
    Case("mul (3,1)*(4,)", lambda a, b: a * b, [(3, 1), (4,)]),
    Case("mul a*a", lambda a: a * a, [(2, 3)]),
    Case("rmul number", lambda a: 3 * a, [(3,)]),
    Case("div", lambda a, b: a / b, [(2, 3), (3,)], positive=True),
    Case("rdiv number", lambda a: 1 / a, [(2, 3)], positive=True),
    Case("pow number", lambda a: a ** 3, [(2, 3)]),
    Case("pow fractional", lambda a: a ** 1.5, [(2, 3)], positive=True),
    Case("pow negative", lambda a: a ** -2, [(2, 3)], positive=True),
    Case("pow tensor exponent", lambda a, b: a ** b, [(2, 3), (3,)], positive=True),
    Case("rpow number", lambda a: 2.0 ** a, [(2, 3)]),
    Case("neg", lambda a: -a, [(2, 3)]),
    Case("matmul 2-D", lambda a, b: a @ b, [(3, 4), (4, 2)]),
    Case("matmul 1-D @ 1-D", lambda a, b: a @ b, [(4,), (4,)]),
    Case("matmul 1-D @ 2-D", lambda a, b: a @ b, [(4,), (4, 2)]),
    Case("matmul 2-D @ 1-D", lambda a, b: a @ b, [(3, 4), (4,)]),
    Case("matmul (2,3,4)@(4,5)", lambda a, b: a @ b, [(2, 3, 4), (4, 5)]),
    Case("matmul batched broadcast", lambda a, b: a @ b, [(2, 1, 3, 4), (5, 4, 2)]),
    Case("matmul 1-D @ 3-D", lambda a, b: a @ b, [(4,), (2, 4, 3)]),
    Case("matmul 3-D @ 1-D", lambda a, b: a @ b, [(2, 3, 4), (4,)]),
    Case("rmatmul array", lambda a: np.ones((2, 3)) @ a, [(3, 2)],
         ref=lambda a: a.new_ones((2, 3)) @ a),
    Case("exp", lambda a: a.exp(), [(2, 3)]),
    Case("log", lambda a: a.log(), [(2, 3)], positive=True),
    Case("tanh", lambda a: a.tanh(), [(2, 3)]),
    Case("sigmoid", lambda a: a.sigmoid(), [(2, 3)]),
    Case("relu", lambda a: a.relu(), [(2, 3)]),
    Case("abs", lambda a: a.abs(), [(2, 3)]),
    Case("sum", lambda a: a.sum(), [(2, 3)]),
    Case("sum axis", lambda a: a.sum(axis=1), [(2, 3, 4)], ref=lambda a: a.sum(dim=1)),
    Case("sum axes keepdims", lambda a: a.sum(axis=(0, 2), keepdims=True), [(2, 3, 4)],
         ref=lambda a: a.sum(dim=(0, 2), keepdim=True)),
    Case("mean", lambda a: a.mean(), [(2, 3)]),
    Case("mean axis -1 keepdims", lambda a: a.mean(axis=-1, keepdims=True), [(2, 3)],
         ref=lambda a: a.mean(dim=-1, keepdim=True)),
    Case("max", lambda a: a.max(), [(2, 3)], ref=lambda a: a.amax()),
    Case("max axis", lambda a: a.max(axis=0), [(3, 4)], ref=lambda a: a.amax(dim=0)),
    Case("max axes keepdims", lambda a: a.max(axis=(1, 2), keepdims=True), [(2, 3, 4)],
         ref=lambda a: a.amax(dim=(1, 2), keepdim=True)),
    Case("reshape", lambda a: a.reshape(3, -1), [(2, 3, 2)]),
    Case("reshape tuple", lambda a: a.reshape((4, 3)), [(2, 6)]),
    Case("transpose .T", lambda a: a.T, [(2, 3)]),
    Case("transpose axes", lambda a: a.transpose(1, 2, 0), [(2, 3, 4)],
         ref=lambda a: a.permute(1, 2, 0)),
    Case("transpose reversed 3-D", lambda a: a.transpose(), [(2, 3, 4)],
         ref=lambda a: a.permute(2, 1, 0)),
    Case("getitem int", lambda a: a[1], [(3, 4)]),
    Case("getitem slices", lambda a: a[1:, ::2], [(3, 4)]),
    Case("getitem None Ellipsis", lambda a: a[None, ..., 1], [(2, 3, 4)]),
    Case("getitem negative", lambda a: a[-1, -2], [(3, 4)]),
    Case("getitem repeated ints", lambda a: a[IDX], [(3, 2)],
         ref=lambda a: a[list(IDX)]),
    Case("getitem repeated 2-D", lambda a: a[IDX, [0, 1, 1, 1]], [(3, 2)],
         ref=lambda a: a[list(IDX), [0, 1, 1, 1]]),
    Case("getitem array and slice", lambda a: a[:, [1, 1, 0]], [(2, 3)]),
    Case("getitem bool mask", lambda a: a[np.array([True, False, True])], [(3, 2)],
         ref=lambda a: a[[True, False, True]]),
    Case("concatenate", lambda a, b: mg.concatenate([a, b], axis=1), [(2, 3), (2, 1)],
         ref=lambda a, b: _torch().cat([a, b], dim=1)),
    Case("concatenate axis -1 3-D", lambda a, b, c: mg.concatenate([a, b, c], axis=-1),
         [(2, 2, 1), (2, 2, 3), (2, 2, 2)], ref=lambda a, b, c: _torch().cat([a, b, c], dim=-1)),
    Case("stack", lambda a, b: mg.stack([a, b]), [(2, 3), (2, 3)],
         ref=lambda a, b: _torch().stack([a, b])),
    Case("stack axis -1", lambda a, b, c: mg.stack([a, b, c], axis=-1),
         [(2, 3), (2, 3), (2, 3)], ref=lambda a, b, c: _torch().stack([a, b, c], dim=-1)),
    # each slice weighted by its position, so a gradient sent to the wrong place shows
    Case("unbind", lambda a: sum((k + 1) * p for k, p in enumerate(mg.unbind(a))),
         [(3, 2, 2)], ref=lambda a: sum((k + 1) * p for k, p in enumerate(_torch().unbind(a)))),
    Case("unbind axis -1", lambda a: sum((k + 1) * p for k, p in enumerate(mg.unbind(a, -1))),
         [(2, 3)], ref=lambda a: sum((k + 1) * p
                                     for k, p in enumerate(_torch().unbind(a, dim=-1)))),
    Case("where", lambda a, b: mg.where(a > 0, a, b), [(2, 3), (3,)],
         ref=lambda a, b: _torch().where(a > 0, a, b)),
    Case("where number", lambda a: mg.where(a > 0, a, 0.5), [(2, 3)],
         ref=lambda a: _torch().where(a > 0, a, 0.5)),
    Case("maximum", lambda a, b: mg.maximum(a, b), [(2, 3), (3,)],
         ref=lambda a, b: _torch().maximum(a, b)),
    Case("minimum", lambda a, b: mg.minimum(a, b), [(3, 1), (4,)],
         ref=lambda a, b: _torch().minimum(a, b)),
    Case("maximum number", lambda a: mg.maximum(a, 0.1), [(2, 3)],
         ref=lambda a: _torch().clamp(a, min=0.1)),
    Case("minimum method", lambda a, b: a.minimum(b), [(2, 3), (2, 3)]),
    Case("clip", lambda a: a.clip(-0.5, 0.5), [(3, 4)]),
    Case("clip lower only", lambda a: a.clip(0.0), [(3, 4)], ref=lambda a: a.clip(0.0)),
    Case("linear", lambda x, w, b: mg.functional.linear(x, w, b), [(5, 3), (2, 3), (2,)],
         ref=lambda x, w, b: _torch().nn.functional.linear(x, w, b)),
    Case("linear 3-D no bias", lambda x, w: mg.functional.linear(x, w), [(2, 4, 3), (2, 3)],
         ref=lambda x, w: _torch().nn.functional.linear(x, w)),
    Case("composite", lambda a, b: ((a @ b).tanh() * a.sum(axis=1, keepdims=True)).mean(),
         [(3, 4), (4, 2)],
         ref=lambda a, b: ((a @ b).tanh() * a.sum(dim=1, keepdim=True)).mean()),
]
