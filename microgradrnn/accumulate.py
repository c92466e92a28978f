"""How gradients add up: what the backward loop hands a node's gradients to.

A node can be reached by several roads (h_t by the same step and by the next), so its
gradient is the sum of what its children send it. The backward loop in ``engine.py``
does not add: it gives each gradient to an *accumulator* and later takes the node's
finished sum back. An accumulator has two methods (HIPS autograd's ``add_outgrads`` is
the model):

    add(key, g, like) -> what flowed along the edge   (g, reduced to like's shape)
    pop(key, like)    -> the finished gradient of key, or None if nothing reached it

``key`` is the node, ``like`` its data (an array or a float): the gradient gets its
shape and dtype. The accumulator is made per backward pass as ``kind(root, seed)``.

What a backward rule may return for a parent (the op contract, docs/contracts.md):

- an array (or number) broadcastable to the parent: summed over the broadcast axes;
- None: the parent needs no gradient;
- ``Scatter(index, values, shape)``: zero except ``values`` at ``index`` (x[t]'s rule);
- ``Outer(a, b)``: the product a^T b (or a^T 1 if b is None), kept as its factors.

Two accumulators give the same sums:

- ``Plain``: the obvious one, about twenty lines. Everything is made a dense array of the
  parent's shape and added: ``g if prev is None else prev + g``. Read this one first.
- ``Fast`` (the default): the same sums, without the waste. A slice adds into one buffer
  that it owns (x[t] over T steps costs O(T), not O(T^2)); factors of a weight's
  gradient from many steps are multiplied in one matrix product (what a hand-written
  BPTT does); a second arrival adds in place into a buffer it made.

``with using(Plain): loss.backward()`` runs backward passes with another accumulator
(the test suite runs the gradient tests under both). Imports numpy only.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np

__all__ = ["Fast", "Outer", "Plain", "Scatter", "JoinCache", "current", "dense", "densified",
           "finished", "seed", "unbroadcast", "using"]


# ----------------------------------------------------------------------------------------
# The two gradients that are not plain arrays. Both densify with np.asarray(g) (they
# have __array__), so a recorded flow may be one of them and still reads as an array.


class Scatter:
    """The gradient of an indexing op: zeros of ``shape`` with ``values`` at ``index``.

    ``x[t]`` sends back a slice, not a full-size array, so a loop over T steps costs O(T)
    instead of O(T^2). basic: the index is basic (ints, slices, None, Ellipsis), which
    never repeats an element; otherwise repeated indices accumulate (np.add.at).
    """

    __slots__ = ("index", "values", "shape", "basic")

    def __init__(self, index: Any, values: np.ndarray, shape: tuple[int, ...],
                 basic: bool = False) -> None:
        self.index, self.values, self.shape, self.basic = index, values, shape, basic

    @property
    def dtype(self) -> np.dtype:
        return np.result_type(self.values)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def add_into(self, buf: np.ndarray) -> None:
        """buf += this gradient, in place."""
        if self.basic:
            buf[self.index] += self.values  # basic indexing never repeats an element
        else:
            np.add.at(buf, self.index, self.values)  # repeated indices accumulate

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        buf = np.zeros(self.shape, dtype=self.dtype)
        self.add_into(buf)
        return buf if dtype is None else buf.astype(dtype, copy=False)


class Outer:
    """A factored gradient: a^T b, or a^T 1 (the sum of a's rows) when b is None.

    a: (K, m), b: (K, n) -> (m, n), or (m,) without b. A linear map used at step t gives
    its weight the gradient g_t^T x_t; summed over T steps that is [g_1; ...; g_T]^T
    [x_1; ...; x_T], so ``Fast`` multiplies the factors of all uses at once (with
    K = T*batch rows instead of T products with K = batch). ``ops.linear`` and the fused
    cells return their weights' and biases' gradients this way.
    """

    __slots__ = ("a", "b")

    def __init__(self, a: np.ndarray, b: np.ndarray | None) -> None:
        self.a, self.b = a, b

    @property
    def shape(self) -> tuple[int, ...]:
        m = self.a.shape[1]
        return (m,) if self.b is None else (m, self.b.shape[1])

    @property
    def dtype(self) -> np.dtype:
        return np.result_type(self.a) if self.b is None else np.result_type(self.a, self.b)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = self.a.sum(axis=0) if self.b is None else np.dot(self.a.T, self.b)
        return out if dtype is None else out.astype(dtype, copy=False)


# ----------------------------------------------------------------------------------------
# Shapes and dtypes.


def unbroadcast(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum a gradient over the axes that broadcasting added or stretched, to ``shape``."""
    if g.ndim < len(shape) or any(m < n for m, n in zip(g.shape[::-1], shape[::-1],
                                                        strict=False)):
        g = np.broadcast_to(g, np.broadcast_shapes(g.shape, shape))  # from_op allows this
    extra = g.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(
        extra + i for i, n in enumerate(shape) if n == 1 and g.shape[extra + i] != 1
    )
    if axes:
        g = g.sum(axis=axes)
    return g.reshape(shape)


def dense(g: Any, like: Any) -> Any:
    """g as a plain gradient of ``like``: an array of its shape, or a float for a float.

    Scatter and Outer are made dense; a broadcast gradient is summed to the shape; a
    Value (float data) used inside a tensor expression gets the sum of its gradient.
    """
    if g.__class__ is Outer or g.__class__ is Scatter:
        g = np.asarray(g)
    if like.__class__ is float:
        return g if g.__class__ is float else float(np.sum(g))
    if g.__class__ is float or g.shape != like.shape:
        return unbroadcast(np.asarray(g), like.shape)
    return g


def densified(g: Any) -> Any:
    """g as an array if it is a Scatter or an Outer (a recorded flow, when read), else g."""
    return np.asarray(g) if g.__class__ is Scatter or g.__class__ is Outer else g


def seed(grad: Any, like: Any) -> Any:
    """The gradient a backward pass starts from at its root, whose data is ``like``:
    ``grad`` as a fresh array of like's shape and dtype (a float for a float), or 1 when
    grad is None and like has one element."""
    shape = np.shape(like)
    if grad is None:
        if np.size(like) != 1:
            raise RuntimeError(f"backward: the root has shape {shape}, so pass grad= of that "
                               "shape; only a one-element tensor gets the implicit gradient 1")
        return 1.0 if like.__class__ is float else np.ones_like(like)
    g = np.array(grad, dtype=np.result_type(like))  # a copy we may mark read-only
    if g.shape != shape:
        raise ValueError(f"backward: grad has shape {g.shape} but the root has shape {shape}")
    return float(g) if like.__class__ is float else g


def finished(g: Any, like: Any) -> Any:
    """A node's gradient as it is stored: of the node's dtype (a float32 node gets a
    float32 .grad, as its data) and read-only (one array may serve several nodes)."""
    if g.__class__ is np.ndarray:
        if like.__class__ is not float and g.dtype != like.dtype:
            g = g.astype(like.dtype)
        g.setflags(write=False)
    return g


# ----------------------------------------------------------------------------------------
# The obvious accumulator.


class Plain:
    """Every gradient made dense and added: ``g if prev is None else prev + g``."""

    def __init__(self, root: Any, seed: Any) -> None:
        self.grads = {root: seed}

    def add(self, key: Any, g: Any, like: Any) -> Any:
        g = dense(g, like)
        prev = self.grads.get(key)
        self.grads[key] = g if prev is None else prev + g
        return g

    def pop(self, key: Any, like: Any) -> Any:
        g = self.grads.pop(key, None)
        return None if g is None else finished(g, like)


# ----------------------------------------------------------------------------------------
# The fast accumulator: the same sums as Plain, with owned buffers, slices added in
# place and weight gradients multiplied from their factors in blocks.


class Fast:
    """Plain's sums, computed the way a hand-written BPTT does (see the module docstring).

    fold_rows: the factors collected for one node are multiplied once the node's gradient
    is needed, or every ``fold_rows`` rows, which bounds the memory they hold.
    """

    fold_rows = 512

    def __init__(self, root: Any, seed: Any) -> None:
        self.grads = {root: seed}  # this pass's gradients, released once popped
        self.owned: set = set()    # keys whose buffer in `grads` we made: safe to +=
        self.join = JoinCache()

    def pop(self, key: Any, like: Any) -> Any:
        g = self.grads.pop(key, None)
        if g.__class__ is _Factors:
            g = g.fold()
        if g.__class__ is np.ndarray and like.__class__ is not float and g.dtype == like.dtype:
            g.setflags(write=False)  # finished(g, like), inlined for the common case
            return g
        return None if g is None else finished(g, like)

    def add(self, key: Any, g: Any, like: Any) -> Any:
        prev = self.grads.get(key)
        if g.__class__ is Outer:  # a factored weight gradient: collected, not added
            if prev.__class__ is not _Factors:
                self.grads[key] = prev = _Factors(prev, self.join, self.fold_rows)
                self.owned.discard(key)
            prev.add(g)
            return g
        if prev.__class__ is _Factors:  # a dense or sparse gradient joins factored ones
            g = dense(g, like)
            prev.dense = g if prev.dense is None else prev.dense + g
            return g
        if g.__class__ is Scatter:  # a slice: added into a buffer of ours
            if prev is None or key not in self.owned:
                buf = np.zeros(like.shape, dtype=like.dtype)
                if prev is not None:
                    buf += prev
                self.grads[key] = prev = buf
                self.owned.add(key)
            g.add_into(prev)
            return g
        if g.__class__ is not np.ndarray or like.__class__ is float or g.shape != like.shape:
            g = dense(g, like)  # (the common case, an array of like's shape, skips the call)
        if prev is None:
            self.grads[key] = g
        elif key in self.owned:
            prev += g
        else:
            self.grads[key] = prev = prev + g
            if prev.__class__ is np.ndarray:  # a fresh array of ours: add in place next
                self.owned.add(key)
        return g


class _Factors:
    """A node's gradient so far: a dense part (or None) plus outer products to multiply."""

    __slots__ = ("dense", "a", "b", "rows", "join", "fold_rows")

    def __init__(self, dense: Any, join: JoinCache, fold_rows: int) -> None:
        self.dense, self.a, self.b, self.rows = dense, [], [], 0
        self.join, self.fold_rows = join, fold_rows

    def add(self, o: Outer) -> None:
        self.a.append(o.a)
        self.b.append(o.b)
        self.rows += len(o.a)
        if self.rows >= self.fold_rows:
            self.fold()

    def fold(self) -> Any:
        if self.a:  # (one node gets either weight or bias factors: their shapes differ)
            a = self.join(self.a)
            if self.b[0] is None:  # a bias: the sum of a's rows
                part = self.join.row_sum()
            else:  # b (x_t or h_t of each use) is this node's own: joined, used, dropped
                b = self.b[0] if len(self.b) == 1 else np.concatenate(self.b)
                part = np.dot(a.T, b)
            self.dense = part if self.dense is None else self.dense + part
            self.a, self.b, self.rows = [], [], 0
        return self.dense


class JoinCache:
    """np.concatenate of the g factors, remembering the last two joins: the weights and
    biases of an RNN or LSTM cell all get the same g_t (W_ih, W_hh, b_ih, b_hh of a step)
    and fold together, so g is joined once instead of four times, and the biases' row
    sum is taken once for both. A fused GRU's hidden side gets a g_t of its own, so its
    four folds alternate between two joins: both are kept. Lives for one backward pass."""

    __slots__ = ("recent",)

    def __init__(self) -> None:
        # [key, arrays, joined, row sum or None], the last one used first
        self.recent: list[list] = []

    def __call__(self, arrays: list) -> np.ndarray:
        key = tuple(map(id, arrays))
        for entry in self.recent:
            if entry[0] == key:
                if entry is not self.recent[0]:
                    self.recent.reverse()
                return entry[2]
        # keep the joined arrays alive with their ids: a freed array's id can be reused
        # by a new one, which would make a stale join look current
        joined = arrays[0] if len(arrays) == 1 else np.concatenate(arrays)
        self.recent = [[key, arrays, joined, None]] + self.recent[:1]
        return joined

    def row_sum(self) -> np.ndarray:
        """The sum of the rows of the last join."""
        entry = self.recent[0]
        if entry[3] is None:
            entry[3] = entry[2].sum(axis=0)
        return entry[3]


# ----------------------------------------------------------------------------------------
# Which accumulator backward passes use.

_kind: type = Fast


def current() -> type:
    """The accumulator class that backward passes use now (``Fast`` unless changed)."""
    return _kind


@contextlib.contextmanager
def using(kind: type) -> Iterator[None]:
    """Run the backward passes inside this block with accumulator ``kind``
    (``Plain``, ``Fast`` or any class with the same constructor, add and pop)."""
    global _kind
    prev, _kind = _kind, kind
    try:
        yield
    finally:
        _kind = prev
