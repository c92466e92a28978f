"""``Value``: the micrograd-compatible scalar face of the engine.

A Value is a 0-d node of the same engine as ``Tensor`` (same graph, same backward loop,
same tags and renderer) whose data is a Python float. The shared backward rules are
written with arithmetic operators, so on floats they run at plain-Python speed.
micrograd code runs unchanged with ``from microgradrnn import Value``.
"""

from __future__ import annotations

from typing import Any

from .engine import Tensor


class Value(Tensor):
    """A scalar that records the ops applied to it: ``Value(2.0)``.

    ``.data`` and ``.grad`` are Python floats (``.grad`` is 0.0 before any backward).
    Values require grad by default, as in micrograd.
    """

    __slots__ = ()

    def __init__(
        self, data: Any, _children: tuple = (), _op: str = "", label: str = ""
    ) -> None:
        if isinstance(data, Tensor) or not isinstance(data, (int, float)) and not (
            hasattr(data, "__float__") and getattr(data, "ndim", 0) == 0
        ):
            raise TypeError(f"Value: expected a real number, got {type(data).__name__}")
        if isinstance(data, complex):
            raise TypeError("Value: expected a real number, got complex")
        self._setup(float(data), True, tuple(_children), None, _op, label)

    @property
    def data(self) -> float:  # type: ignore[override]
        """The value, a Python float."""
        return float(self._data)

    @data.setter
    def data(self, value: Any) -> None:
        self._data = float(value)

    @property
    def grad(self) -> float:  # type: ignore[override]
        """dL/dself as a Python float (0.0 until a backward pass reaches it)."""
        return 0.0 if self._grad is None else float(self._grad)

    @grad.setter
    def grad(self, value: Any) -> None:
        self._grad = None if value is None else float(value)

    def __repr__(self) -> str:
        return f"Value(data={self.data}, grad={self.grad})"
