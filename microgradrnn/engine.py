"""The autograd engine: the node (``Tensor``), the graph it builds, and ``backward()``.

Every op (``ops.py``) makes its output with numpy and records a node with ``from_op``: its
parents and a *backward rule* (output gradient -> one gradient per parent). ``_backprop``
visits the nodes children first and does the chain rule at each; how gradients add up is
``accumulate.py``'s job. Also here: the modes (no_grad, tags, detect_anomaly) and Flow."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from . import accumulate, readonly
from .accumulate import Outer, Scatter  # noqa: F401  (what rules may return: from_op)

# ----------------------------------------------------------------------------------------
# The modes: grad recording, tags and anomaly detection.

_grad_enabled = True
_anomaly = False
_tags: dict[str, Any] = {}  # tags active now; replaced, never mutated in place


class no_grad(contextlib.ContextDecorator):
    """Build no graph inside this block (a context manager or decorator)."""

    def __new__(cls, fn: Callable | None = None) -> Any:  # @no_grad too, as in PyTorch
        if fn is not None and not callable(fn):
            raise TypeError(f"no_grad: takes a function to decorate or nothing, got {fn!r}")
        return super().__new__(cls) if fn is None else super().__new__(cls)(fn)

    def __enter__(self) -> None:
        global _grad_enabled
        self._prev, _grad_enabled = _grad_enabled, False

    def __exit__(self, *exc: object) -> None:
        global _grad_enabled
        _grad_enabled = self._prev

    def _recreate_cm(self) -> no_grad:  # a fresh state per use as a decorator
        return no_grad()


def is_grad_enabled() -> bool:
    """True unless inside ``no_grad()``."""
    return _grad_enabled


class tags:
    """``with tags(t=3, role="h"):`` stamps the nodes made inside (for the renderer; never
    changes results). Nested scopes merge, the inner value of a key winning."""

    def __init__(self, **kw: Any) -> None:
        self._kw = kw

    def __enter__(self) -> dict[str, Any]:
        global _tags
        self._outer, _tags = _tags, {**_tags, **self._kw}
        return _tags

    def __exit__(self, *exc: object) -> None:
        global _tags
        _tags = self._outer


def current_tags() -> dict[str, Any]:
    """A copy of the tags that a node created now would carry."""
    return dict(_tags)


class AnomalyError(FloatingPointError):
    """An op produced NaN or inf while ``detect_anomaly()`` was active."""


@contextlib.contextmanager
def detect_anomaly() -> Iterator[None]:
    """Raise ``AnomalyError`` (naming op, tags and shapes) at the first op whose forward or
    backward gives NaN or inf. A check per op and gradient, so off by default."""
    global _anomaly
    prev, _anomaly = _anomaly, True
    try:
        yield
    finally:
        _anomaly = prev


def _check(node: Tensor, where: str, value: Any, what: str) -> None:
    if not np.all(np.isfinite(value)):
        tagged = f", tags {node.tags}" if node.tags else ""
        inputs = ", ".join(str(np.shape(p._data)) for p in node._parents) or "none"
        raise AnomalyError(f"detect_anomaly: {where} of op '{node._op}' (inputs of shapes "
                           f"{inputs}{tagged}) produced NaN or inf in {what}")


# ----------------------------------------------------------------------------------------
# The node. Its operators (`a + b`, `a @ b`, `a[t]`, `a.tanh()`...) are the ops of ops.py.


class Tensor:
    """An array that records the ops applied to it: ``Tensor(data, requires_grad=False,
    label="", dtype=None)``, data a number, (nested) list or array (float dtypes kept, the
    rest float64). After ``backward()`` each node that took part and requires grad has .grad."""

    __slots__ = ("_data", "_grad", "requires_grad", "_parents", "_backward",
                 "_op", "label", "tags", "_hooks", "_flow", "__weakref__")
    __array_ufunc__ = None  # numpy defers `array + tensor` to Tensor.__radd__

    def __init__(self, data: Any, requires_grad: bool = False, label: str = "",
                 dtype: Any = None) -> None:
        data, kind = (data._data if isinstance(data, Tensor) else data), type(data).__name__
        if isinstance(data, (str, bytes)) or data is None:  # None: NaN with a float dtype
            raise TypeError(f"Tensor: expected numbers or an array, got a {kind}")
        if isinstance(data, (list, tuple)) and any(isinstance(d, Tensor) for d in data):
            raise TypeError(f"Tensor: got a {kind} of Tensors, which would be cut from their "
                            "graph: join them with stack() or concatenate(), or use .numpy()")
        try:
            arr = np.array(data, dtype=dtype)  # a fresh array
        except (ValueError, TypeError) as e:
            raise TypeError(f"Tensor: cannot make a tensor from {kind} ({e}); nested lists "
                            "must be rectangular and hold numbers") from None
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"Tensor: cannot make a tensor from {kind} of dtype "
                            f"{arr.dtype}; expected real numbers")
        self._setup(arr if arr.dtype.kind == "f" else arr.astype(np.float64),
                    bool(requires_grad), (), None, "", label)

    def _setup(self, data: Any, requires_grad: bool, parents: tuple, backward: Any,
               op: str, label: str) -> None:
        """Set every slot: the one place a node (leaf, op output or Value) is built."""
        self._data, self._grad, self.requires_grad = data, None, requires_grad
        self._parents, self._backward, self._op = parents, backward, op
        self.label, self.tags, self._hooks, self._flow = label, _tags, None, None

    @property
    def data(self) -> np.ndarray:
        """The values, a read-only numpy array (0-d for a scalar). Replace them with
        ``x.data = new`` or ``x.data -= lr * g``: a graph keeps the values its ops saw."""
        return readonly.view(self._data, self)

    @data.setter
    def data(self, value: Any) -> None:
        arr = Tensor(value, dtype=self.dtype)._data
        if arr.shape != self.shape:
            raise ValueError(f"data: new value of shape {arr.shape} does not match shape "
                             f"{self.shape}")
        self._data = arr

    @property
    def grad(self) -> np.ndarray | None:
        """dL/dself summed over backward calls since the last ``zero_grad()``, or None."""
        return None if self._grad is None else np.asarray(self._grad)

    @grad.setter
    def grad(self, value: Any) -> None:
        if value is not None:
            value = np.asarray(value, dtype=self.dtype)
            if value.shape != self.shape:
                raise ValueError(f"grad: value of shape {value.shape} does not match shape "
                                 f"{self.shape}")
        self._grad = value

    def zero_grad(self) -> None:
        """Forget the accumulated gradient (and any recorded flow) of this node."""
        self._grad = self._flow = None

    @property
    def flow(self) -> tuple | None:
        """After ``backward(record_flow=True)``: per parent, the gradient sent to it."""
        return None if self._flow is None else tuple(map(accumulate.densified, self._flow))

    parents = property(lambda self: self._parents,
                       doc="The inputs of the op that made this node, in order (a*a: twice).")
    _prev = parents  # micrograd's name, so its draw_dot code runs unchanged
    op = property(lambda self: self._op, doc='The op that made this node; "" for a leaf.')
    is_leaf = property(lambda self: not self._parents)
    shape = property(lambda self: () if self._data.__class__ is float else self._data.shape)
    dtype = property(lambda self: np.asarray(self._data).dtype)

    def register_hook(self, fn: Callable[[np.ndarray], Any]) -> _HookHandle:
        """Call ``fn(grad)`` when this node's gradient is complete in a backward pass (a
        returned array replaces it, here and for the parents); ``.remove()`` undoes it."""
        if not self.requires_grad:
            raise RuntimeError("register_hook: this tensor does not require grad")
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(fn)
        return _HookHandle(self._hooks, fn)

    def backward(self, grad: Any = None, retain_graph: bool = False,
                 record_flow: bool = False) -> None:
        """Add dself/dnode into ``node.grad`` for every node that leads here. grad: of
        self's shape (optional for one element). Without retain_graph the arrays saved for
        backward are freed. record_flow: each node also gets ``.flow`` (drawn by viz)."""
        _backprop(self, grad, retain_graph, _OnNodes(), record_flow)


class _HookHandle:
    def __init__(self, hooks: list, fn: Callable) -> None:
        self._hooks, self._fn = hooks, fn

    def remove(self) -> None:
        if self._fn in self._hooks:
            self._hooks.remove(self._fn)


_new = object.__new__


def from_op(data: Any, parents: tuple[Tensor, ...], backward: Callable, op: str) -> Tensor:
    """Record the output node of an op (every op, built in or yours). backward(g) gets
    dL/d(output) and returns per parent None, an array broadcastable to the parent, a
    ``Scatter`` (a slice's gradient) or an ``Outer`` (a factored product)."""
    out = _new(parents[0].__class__ if data.__class__ is float else Tensor)  # float: Values
    for p in parents if _grad_enabled else ():  # a plain loop: any() costs more, per op
        if p.requires_grad:
            out._setup(data, True, parents, backward, op, "")
            break
    else:  # no graph: the node keeps neither its parents nor its rule
        out._setup(data, False, (), None, op, "")
    if _anomaly:
        _check(out, "forward", data, f"its output of shape {np.shape(data)}")
    return out


def toposort(root: Tensor) -> list[Tensor]:
    """Nodes that require grad and lead to root, parents first (iterative: any depth)."""
    order: list[Tensor] = []
    seen = {root}
    stack = [(root, iter(root._parents))]
    while stack:
        node, parents = stack[-1]
        for p in parents:
            if p.requires_grad and p not in seen:
                seen.add(p)
                stack.append((p, iter(p._parents)))
                break
        else:
            stack.pop()
            order.append(node)
    return order


def _backprop(root: Tensor, grad: Any, retain_graph: bool, into: Any,
              record_flow: bool) -> Any:
    """The chain rule, node by node from the root: ``into`` stores each node's gradient
    (``.grad`` on the nodes, or a ``Flow``) and, with record_flow, each edge's share."""
    if not root.requires_grad:
        raise RuntimeError("backward: this tensor does not require grad (none of its inputs "
                           "does, or it was made under no_grad()): nothing to differentiate")
    seed = accumulate.seed(grad._data if isinstance(grad, Tensor) else grad, root._data)
    acc = accumulate.current()(root, seed)
    for node in reversed(toposort(root)):
        g = acc.pop(node, node._data)  # the sum of what its children sent it
        if g is None:
            continue  # no gradient reached this node
        if node._hooks:
            g = _run_hooks(node, g)
        into.store(node, g)
        rule = node._backward
        if rule is None:
            continue  # a leaf
        parent_grads = rule(g)
        parents = node._parents
        if len(parent_grads) != len(parents):
            raise TypeError(f"backward rule of op '{node._op}' returned "
                            f"{len(parent_grads)} gradients for {len(parents)} inputs")
        if not retain_graph:
            node._backward = _freed  # drop the rule and the arrays it saved
        flows = [None] * len(parents)
        for i, parent in enumerate(parents):  # (indexing costs less than zip, per node)
            pg = parent_grads[i]
            if pg is not None and parent.requires_grad:
                if _anomaly:
                    _check(node, "backward", accumulate.dense(pg, parent._data),
                           f"the gradient for input {i} of shape {parent.shape}")
                flows[i] = acc.add(parent, pg, parent._data)  # what flowed along the edge
        if record_flow:
            into.record(node, flows)
    return into


def _run_hooks(node: Tensor, g: Any) -> Any:
    for hook in node._hooks:
        new = hook(g)
        if new is not None:
            if np.shape(new) != np.shape(g):
                raise ValueError(f"hook on node '{node._op or node.label}': returned shape "
                                 f"{np.shape(new)}, expected {np.shape(g)}")
            g = accumulate.finished(new, node._data)
    return g


def _freed(g: Any) -> None:  # the rule of a node whose saved arrays were released
    raise RuntimeError("backward: this part of the graph was already backpropagated and its "
                       "saved arrays freed; pass retain_graph=True to the first backward()")


class _OnNodes:
    """Where ``backward()`` puts its results: ``.grad`` (summed over passes) and ``.flow``."""

    def store(self, node: Tensor, g: Any) -> None:
        node._grad = g if node._grad is None else node._grad + g

    def record(self, node: Tensor, flows: list) -> None:
        old = node._flow or (None,) * len(flows)
        node._flow = tuple(b if a is None else a if b is None else accumulate.densified(a) + b
                           for a, b in zip(old, flows, strict=True))


class Flow:
    """A backward pass's gradients: ``grads[node]`` = dL/d(node); ``edges[(child, i)]``
    what reached ``child.parents[i]`` through child (an array, or a Scatter/Outer that
    ``np.asarray`` and ``edge()`` make dense). The edges into a node sum to its grad."""

    __slots__ = ("grads", "edges")

    def __init__(self, grads: dict | None = None, edges: dict | None = None) -> None:
        self.grads, self.edges = grads or {}, edges or {}

    def grad(self, node: Tensor) -> Any:
        return self.grads.get(node)

    def edge(self, child: Tensor, i: int) -> Any:
        return accumulate.densified(self.edges.get((child, i)))

    def store(self, node: Tensor, g: Any) -> None:
        self.grads[node] = g

    def record(self, node: Tensor, flows: list) -> None:
        for i, g in enumerate(flows):
            if g is not None:
                self.edges[(node, i)] = g

    @classmethod
    def recorded(cls, root: Tensor) -> Flow:
        """The flow that ``backward(record_flow=True)`` stored on the nodes under root."""
        flow = cls()
        for node in toposort(root):
            if node._grad is not None:
                flow.store(node, node._grad)
            flow.record(node, node._flow or ())
        return flow


def gradient_flow(root: Tensor, grad: Any = None) -> Flow:
    """Backpropagate from root (graph kept) without touching any ``.grad``: the Flow."""
    return _backprop(root, grad, retain_graph=True, into=Flow(), record_flow=True)
