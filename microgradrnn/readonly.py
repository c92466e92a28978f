"""The array that ``Tensor.data`` returns: the node's values, read-only.

A graph's backward rules keep the arrays their ops saw (``x * x`` keeps ``x``'s array
for its rule), so writing into such an array between forward and backward would change
the gradients silently. ``Tensor.data`` therefore hands out a read-only view, and

- ``x.data = v``, ``x.data -= lr * x.grad`` (the optimizer style of micrograd and
  PyTorch), and ``d = x.data; d -= lr * x.grad``: the tensor gets a new array with the
  new values; a graph built before keeps the old one, so its gradients stay those of the
  values it computed with (the optimizers update parameters the same way);
- ``x.data[:] = v``, ``x.data[0] += 1``, ``np.add(a, b, out=x.data)``: a ValueError that
  says what to do instead.

Everything else is numpy's: reading, slicing (read-only views again), arithmetic (plain
arrays), copies (writable).
"""

from __future__ import annotations

from typing import Any

import numpy as np

_HOW = ("Tensor.data is read-only: a graph may hold this array for its backward pass. "
        "Assign new values instead: x.data = new_values, or x.data -= lr * x.grad "
        "(the graph keeps the values its ops saw)")


class ReadOnlyArray(np.ndarray):
    """A numpy array that refuses in-place writes while it is read-only. The view that
    ``Tensor.data`` returns knows its tensor (``_owner``): its in-place operators
    (``-=`` and the like) give the tensor a new array instead of writing into the old."""

    _owner: Any = None  # only the view made by view(); slices and copies have none

    def __setitem__(self, index: Any, value: Any) -> None:
        if not self.flags.writeable:
            raise ValueError(f"{_HOW}.")
        super().__setitem__(index, value)

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kw: Any) -> Any:
        out = kw.get("out", ())
        if any(isinstance(o, ReadOnlyArray) and not o.flags.writeable for o in out):
            raise ValueError(f"{_HOW}; {ufunc.__name__}(..., out=) would write into it.")
        if out:
            kw["out"] = tuple(_plain(o) for o in out)
        return getattr(ufunc, method)(*map(_plain, inputs), **kw)  # plain arrays out


def _plain(x: Any) -> Any:
    return x.view(np.ndarray) if isinstance(x, ReadOnlyArray) else x


def _inplace(ufunc: np.ufunc, symbol: str) -> Any:
    def method(self: ReadOnlyArray, other: Any) -> Any:
        if self.flags.writeable:  # a copy the user made: in place, as numpy does
            return ufunc(self, other, out=(self,))
        if self._owner is None:  # x.data[0] += 1: part of an array cannot be replaced
            raise ValueError(f"{_HOW}; x.data[i] {symbol}= ... would write into it.")
        self._owner.data = ufunc(self, other)  # the tensor's new array
        return view(self._owner._data, self._owner)

    return method


for _name, _ufunc, _symbol in [
        ("add", np.add, "+"), ("sub", np.subtract, "-"), ("mul", np.multiply, "*"),
        ("truediv", np.true_divide, "/"), ("floordiv", np.floor_divide, "//"),
        ("mod", np.remainder, "%"), ("pow", np.power, "**"), ("matmul", np.matmul, "@")]:
    setattr(ReadOnlyArray, f"__i{_name}__", _inplace(_ufunc, _symbol))
del _name, _ufunc, _symbol


def view(data: Any, owner: Any = None) -> ReadOnlyArray:
    """``data`` (an array, or a numpy scalar an op returned) seen read-only, no copy;
    ``owner``: the tensor whose ``.data`` it is."""
    v = np.asarray(data).view(ReadOnlyArray)
    v.flags.writeable = False
    v._owner = owner
    return v
