"""The autograd engine: the node (``Tensor``), the graph it builds, and ``backward()``.

Every op (see ``ops.py``) computes its output with numpy and records a node through
``from_op``: the node remembers its parents (an ordered tuple) and a *backward rule*, a
closure that receives the gradient of the output and returns one gradient per parent.
Rules never touch a parent's ``.grad``; the backward loop here alone accumulates. That
single loop also reduces broadcast gradients to the parent's shape, adds sliced
(``_Scatter``) and factored (``_Outer``: a weight's g^T x at every step, multiplied once)
gradients, runs hooks, checks for NaN/inf in anomaly mode and, when asked, records the
gradient that flowed along every edge (parent -> child).

Also here: the modes (``no_grad``, ``tags``, ``detect_anomaly``), the ``Flow`` record and
``gradient_flow``. Imports numpy and the standard library only.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

# ----------------------------------------------------------------------------------------
# Global modes: grad recording, tags and anomaly detection.

_grad_enabled = True
_anomaly = False
_tags: dict[str, Any] = {}  # tags active now; replaced, never mutated in place


class no_grad(contextlib.ContextDecorator):
    """Build no graph inside this block (context manager or decorator).

    Ops still compute their outputs, but the results do not require grad and keep no
    parents, so no memory is held for a backward pass.
    """

    def __enter__(self) -> None:
        global _grad_enabled
        self._prev = _grad_enabled
        _grad_enabled = False

    def __exit__(self, *exc: object) -> None:
        global _grad_enabled
        _grad_enabled = self._prev

    def _recreate_cm(self) -> no_grad:  # a fresh state per use as a decorator
        return no_grad()


def is_grad_enabled() -> bool:
    """True unless inside ``no_grad()``."""
    return _grad_enabled


class tags:
    """Stamp every node created inside this block with metadata.

    ``with tags(t=3, layer=1, role="h"): ...`` Nested scopes merge; the inner value of a
    key wins. Tags never change results: they tell the renderer where a node belongs.
    (A class rather than a generator: the recurrent layers enter one scope per step.)
    """

    __slots__ = ("_kw", "_outer")

    def __init__(self, **kw: Any) -> None:
        self._kw = kw

    def __enter__(self) -> dict[str, Any]:
        global _tags
        self._outer = _tags
        _tags = {**_tags, **self._kw}
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
    """Raise ``AnomalyError`` at the first op whose forward or backward gives NaN or inf.

    The message names the op, its tags and the shapes involved. It costs a finiteness
    check per op and per gradient, so it is off by default.
    """
    global _anomaly
    prev = _anomaly
    _anomaly = True
    try:
        yield
    finally:
        _anomaly = prev


def _describe(node: Tensor) -> str:
    where = f", tags {node.tags}" if node.tags else ""
    shapes = ", ".join(str(_shape(p._data)) for p in node._parents)
    return f"op '{node._op}' (inputs of shapes {shapes or 'none'}{where})"


def _check_forward(node: Tensor) -> None:
    if not np.all(np.isfinite(node._data)):
        raise AnomalyError(
            f"detect_anomaly: forward of {_describe(node)} produced NaN or inf "
            f"in its output of shape {_shape(node._data)}"
        )


def _check_backward(node: Tensor, i: int, g: Any) -> None:
    if not np.all(np.isfinite(_dense(g, node._parents[i]))):
        raise AnomalyError(
            f"detect_anomaly: backward of {_describe(node)} produced NaN or inf "
            f"in the gradient for input {i} of shape {_shape(node._parents[i]._data)}"
        )


# ----------------------------------------------------------------------------------------
# Converting user data.


def _shape(x: Any) -> tuple[int, ...]:
    return () if x.__class__ is float else x.shape


def _to_array(data: Any, dtype: Any = None) -> np.ndarray:
    """User data -> a fresh float array: float64 by default, float32 kept when given."""
    if isinstance(data, Tensor):
        data = data._data
    if isinstance(data, (str, bytes)):
        raise TypeError(f"Tensor: expected numbers or an array, got a {type(data).__name__}")
    try:
        arr = np.array(data, dtype=dtype)
    except (ValueError, TypeError) as e:
        raise TypeError(
            f"Tensor: cannot make a tensor from {type(data).__name__} ({e}); "
            "nested lists must be rectangular and hold numbers"
        ) from None
    if arr.dtype.kind in "biu":
        return arr.astype(np.float64)
    if arr.dtype.kind != "f":
        raise TypeError(
            f"Tensor: cannot make a tensor from {type(data).__name__} of dtype "
            f"{arr.dtype}; expected real numbers"
        )
    return arr


# ----------------------------------------------------------------------------------------
# The node.


class Tensor:
    """An n-dimensional array that records the ops applied to it, for reverse-mode autodiff.

    ``Tensor(data, requires_grad=False, label="", dtype=None)``: data is a number, a
    (nested) list or a numpy array. Floating arrays keep their dtype; everything else
    becomes float64. After ``backward()`` every node that took part, leaf or
    intermediate, has ``.grad``: a read-only numpy array of its shape.
    """

    __slots__ = (
        "_data", "_grad", "requires_grad", "_parents", "_backward",
        "_op", "label", "tags", "_hooks", "_flow", "__weakref__",
    )
    __array_ufunc__ = None  # numpy defers `array + tensor` to Tensor.__radd__

    def __init__(
        self, data: Any, requires_grad: bool = False, label: str = "", dtype: Any = None
    ) -> None:
        self._data = _to_array(data, dtype)
        self._grad: Any = None
        self.requires_grad = bool(requires_grad)
        self._parents: tuple[Tensor, ...] = ()
        self._backward: Callable | None = None
        self._op = ""
        self.label = label
        self.tags = _tags
        self._hooks: list[Callable] | None = None
        self._flow: tuple | None = None

    # -- data and grad --------------------------------------------------------------------

    @property
    def data(self) -> np.ndarray:
        """The values, a numpy array (0-d for a scalar)."""
        return np.asarray(self._data)

    @data.setter
    def data(self, value: Any) -> None:
        arr = _to_array(value)
        if arr.shape != _shape(self._data):
            raise ValueError(
                f"data: new value of shape {arr.shape} does not match shape "
                f"{_shape(self._data)}"
            )
        self._data = arr.astype(self.dtype, copy=False)

    @property
    def grad(self) -> np.ndarray | None:
        """dL/dself summed over backward calls since the last ``zero_grad()``, or None."""
        return None if self._grad is None else np.asarray(self._grad)

    @grad.setter
    def grad(self, value: Any) -> None:
        if value is not None:
            value = np.asarray(value, dtype=self.dtype)
            if value.shape != self.shape:
                raise ValueError(
                    f"grad: value of shape {value.shape} does not match shape {self.shape}"
                )
        self._grad = value

    def zero_grad(self) -> None:
        """Forget the accumulated gradient (and any recorded flow) of this node."""
        self._grad = None
        self._flow = None

    @property
    def flow(self) -> tuple | None:
        """After ``backward(record_flow=True)``: per parent, the gradient sent to it."""
        return self._flow

    # -- graph ----------------------------------------------------------------------------

    @property
    def parents(self) -> tuple[Tensor, ...]:
        """The inputs of the op that made this node, in order (repeats kept: a*a)."""
        return self._parents

    @property
    def op(self) -> str:
        """The name of the op that made this node; "" for a leaf."""
        return self._op

    _prev = parents  # micrograd's name, so its draw_dot code runs unchanged

    @property
    def is_leaf(self) -> bool:
        return not self._parents

    # -- array-like -----------------------------------------------------------------------

    @property
    def shape(self) -> tuple[int, ...]:
        return _shape(self._data)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def dtype(self) -> np.dtype:
        return np.asarray(self._data).dtype

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __bool__(self) -> bool:
        """Truth of a one-element tensor (numpy's rule); larger tensors are ambiguous."""
        if self.size != 1:
            raise ValueError(f"bool: a tensor of shape {self.shape} is ambiguous as a truth "
                             "value; use (t > 0).any() or .all()")
        return bool(np.asarray(self._data).reshape(()))

    def numpy(self) -> np.ndarray:
        """A copy of the data as a numpy array."""
        return np.array(self._data)

    def item(self) -> float:
        if self.size != 1:
            raise ValueError(f"item: tensor of shape {self.shape} has {self.size} elements")
        return float(np.asarray(self._data).reshape(()))

    def __float__(self) -> float:
        return self.item()

    def __repr__(self) -> str:
        body = np.array2string(np.asarray(self._data), precision=4, separator=", ")
        extra = f", op={self._op}" if self._op else ""
        extra += ", requires_grad=True" if self.requires_grad else ""
        extra += f", label={self.label!r}" if self.label else ""
        return f"Tensor({body}{extra})"

    def detach(self) -> Tensor:
        """The same values as a new leaf that does not require grad (cuts the graph)."""
        return _leaf(Tensor, self._data, self.label, self.tags)

    def register_hook(self, fn: Callable[[np.ndarray], Any]) -> _HookHandle:
        """Call ``fn(grad)`` when this node's gradient is complete in a backward pass.

        ``fn`` may return a replacement gradient (same shape), which is what this node
        stores and sends on to its parents. Returns a handle with ``remove()``.
        """
        if not self.requires_grad:
            raise RuntimeError("register_hook: this tensor does not require grad")
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(fn)
        return _HookHandle(self, fn)

    def backward(
        self, grad: Any = None, retain_graph: bool = False, record_flow: bool = False
    ) -> None:
        """Backpropagate from this node, adding dself/dnode into ``node.grad`` everywhere.

        grad: the gradient of the final objective w.r.t. this tensor; may be omitted
        only when this tensor has one element. Without ``retain_graph`` the arrays saved
        for backward are released, so the graph can be walked back only once. With
        ``record_flow`` every node also gets ``.flow``: the gradient it sent to each
        parent (reduced to that parent's shape), which the renderer draws.
        """
        _backprop(self, grad, retain_graph, record_flow, write=True)

    # -- operators (defined below as functions, attached at the end of the module) --------


class _HookHandle:
    __slots__ = ("_node", "_fn")

    def __init__(self, node: Tensor, fn: Callable) -> None:
        self._node, self._fn = node, fn

    def remove(self) -> None:
        hooks = self._node._hooks
        if hooks and self._fn in hooks:
            hooks.remove(self._fn)


_new = object.__new__


def _const(x: Any, like: Tensor) -> Tensor:
    """A number or array operand, as a leaf that does not require grad.

    Next to a Value (float data) a number becomes a Value; next to a Tensor it stays a
    Python float, a "weak" scalar in numpy's promotion rules, so float32 stays float32.
    """
    if isinstance(x, Tensor):
        return x
    if isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool):
        data: Any = float(x)
        cls = like.__class__ if like._data.__class__ is float else Tensor
    else:
        data, cls = _to_array(x), Tensor
    return _leaf(cls, data, "", _tags)


def _leaf(cls: type, data: Any, label: str, tags: dict[str, Any]) -> Tensor:
    """A leaf that does not require grad, made without the constructor's conversions."""
    out = _new(cls)
    out._data, out._grad, out.requires_grad = data, None, False
    out._parents, out._backward, out._op = (), None, ""
    out.label, out.tags, out._hooks, out._flow = label, tags, None, None
    return out


def from_op(data: Any, parents: tuple[Tensor, ...], backward: Callable, op: str) -> Tensor:
    """Make the output node of an op. This is how every op, built in or yours, is recorded.

    backward(g) receives dL/d(output) and returns one gradient per parent (None where a
    parent needs none), each either of the parent's shape or broadcastable to it; the
    engine reduces and accumulates.
    """
    # float data only comes from Values (scalar.py): the output is of their class
    out = _new(parents[0].__class__ if data.__class__ is float else Tensor)
    out._data = data
    out._grad = None
    out._op = op
    out.label = ""
    out.tags = _tags
    out._hooks = None
    out._flow = None
    needs_grad = False
    if _grad_enabled:
        for p in parents:  # a plain loop: any() over a generator costs more, per op
            if p.requires_grad:
                needs_grad = True
                break
    if needs_grad:
        out.requires_grad = True
        out._parents = parents
        out._backward = backward
    else:
        out.requires_grad = False
        out._parents = ()
        out._backward = None
    if _anomaly:
        _check_forward(out)
    return out


# ----------------------------------------------------------------------------------------
# Sparse gradients of indexing: x[t] sends a slice back, not a full-size array, so a loop
# over T steps costs O(T) instead of O(T^2). The backward loop adds it into a buffer.


class _Scatter:
    __slots__ = ("index", "values", "basic")

    def __init__(self, index: Any, values: Any, basic: bool) -> None:
        self.index, self.values, self.basic = index, values, basic

    def add_into(self, buf: np.ndarray) -> None:
        if self.basic:
            buf[self.index] += self.values  # basic indexing never repeats an element
        else:
            np.add.at(buf, self.index, self.values)  # repeated indices accumulate


# Factored gradients of shared weights: a linear map used at step t gives its weight the
# gradient g_t^T x_t. Summed over T steps that is [g_1; ...; g_T]^T [x_1; ...; x_T], so
# one matmul with K = T*batch rows can replace T matmuls with K = batch (and T additions
# of a full weight-sized array): what a hand-written BPTT does. A rule returns
# _Outer(a, b) for a^T @ b; the backward loop collects the factors per node and multiplies
# once the node's gradient is needed, or every _FOLD_ROWS rows, which bounds the memory
# the held factors take. A bias gets _Outer(g, None): the sum of g's rows, g^T 1.

_FOLD_ROWS = 512


class _Outer:
    __slots__ = ("a", "b")

    def __init__(self, a: np.ndarray, b: np.ndarray | None) -> None:
        # a: (K, m), b: (K, n); the gradient is a^T b: (m, n), or a^T 1: (m,) if b is None
        self.a, self.b = a, b

    def dense(self) -> np.ndarray:
        return self.a.sum(axis=0) if self.b is None else np.dot(self.a.T, self.b)


class _Factors:
    """A node's gradient so far: a dense part (or None) plus outer products to multiply."""

    __slots__ = ("dense", "a", "b", "rows", "joined")

    def __init__(self, dense: Any, joined: _Joined) -> None:
        self.dense, self.a, self.b, self.rows, self.joined = dense, [], [], 0, joined

    def add(self, o: _Outer) -> None:
        self.a.append(o.a)
        self.b.append(o.b)
        self.rows += len(o.a)
        if self.rows >= _FOLD_ROWS:
            self.fold()

    def fold(self) -> Any:
        if self.a:  # (one node gets either weight or bias factors: their shapes differ)
            a = self.joined(self.a)
            if self.b[0] is None:  # a bias: the sum of a's rows
                part = self.joined.row_sum()
            else:  # b (x_t or h_t of each use) is this node's own: joined, used, dropped
                b = self.b[0] if len(self.b) == 1 else np.concatenate(self.b)
                part = np.dot(a.T, b)
            self.dense = part if self.dense is None else self.dense + part
            self.a, self.b, self.rows = [], [], 0
        return self.dense


class _Joined:
    """np.concatenate of the g factors with a memory of the last join: the weights and
    biases of an RNN or LSTM cell all get the same g_t (W_ih, W_hh, b_ih, b_hh of a
    step) and fold together, so g is joined once instead of four times, and the biases'
    row sum is taken once for both. (A fused GRU's hidden side gets a g_t of its own,
    so its four joins alternate and each is made: about 1% of its step.) Lives for one
    backward pass."""

    __slots__ = ("key", "value", "source", "sum")

    def __init__(self) -> None:
        self.key: tuple = ()
        self.value: Any = None
        self.source: list = []
        self.sum: Any = None

    def __call__(self, arrays: list) -> np.ndarray:
        key = tuple(map(id, arrays))
        if key != self.key:
            # keep the joined arrays alive with their ids: a freed array's id can be
            # reused by a new one, which would make a stale join look current
            self.key, self.source, self.sum = key, arrays, None
            self.value = arrays[0] if len(arrays) == 1 else np.concatenate(arrays)
        return self.value

    def row_sum(self) -> np.ndarray:
        """The sum of the rows of the last join."""
        if self.sum is None:
            self.sum = self.value.sum(axis=0)
        return self.sum


def _dense(g: Any, parent: Tensor) -> Any:
    if g.__class__ is _Outer:
        return g.dense()
    if g.__class__ is _Scatter:
        buf = np.zeros(_shape(parent._data), dtype=np.result_type(parent._data))
        g.add_into(buf)
        return buf
    return g


def _unbroadcast(g: Any, shape: tuple[int, ...]) -> Any:
    """Sum a gradient over the axes that broadcasting added or stretched."""
    if g.ndim < len(shape) or any(m < n for m, n in zip(g.shape[::-1], shape[::-1], strict=False)):
        g = np.broadcast_to(g, np.broadcast_shapes(g.shape, shape))  # from_op allows this
    extra = g.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(
        extra + i for i, n in enumerate(shape) if n == 1 and g.shape[extra + i] != 1
    )
    if axes:
        g = g.sum(axis=axes)
    return g.reshape(shape)


def _freed(g: Any) -> None:
    raise RuntimeError(
        "backward: this part of the graph was already backpropagated and the arrays it "
        "saved for backward were freed; pass retain_graph=True to the first backward() "
        "to go through the graph more than once"
    )


# ----------------------------------------------------------------------------------------
# The backward pass.


def toposort(root: Tensor) -> list[Tensor]:
    """Nodes that require grad and lead to ``root``, parents before children.

    Iterative depth-first search: an unrolled graph of any depth is fine.
    """
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


class Flow:
    """The gradients of one backward pass: at every node, and along every edge.

    ``grads[node]`` is dL/d(node); ``edges[(child, i)]`` is the gradient that reached
    ``child.parents[i]`` through ``child``, reduced to that parent's shape. The
    contributions along the edges into a node sum to its gradient (before any hook).
    """

    __slots__ = ("grads", "edges")

    def __init__(self, grads: dict, edges: dict) -> None:
        self.grads, self.edges = grads, edges

    def grad(self, node: Tensor) -> Any:
        return self.grads.get(node)

    def edge(self, child: Tensor, i: int) -> Any:
        return self.edges.get((child, i))

    @classmethod
    def recorded(cls, root: Tensor) -> Flow:
        """The flow that ``backward(record_flow=True)`` stored on the nodes under root."""
        grads, edges = {}, {}
        for node in toposort(root):
            if node._grad is not None:
                grads[node] = node._grad
            for i, g in enumerate(node._flow or ()):
                if g is not None:
                    edges[(node, i)] = g
        return cls(grads, edges)


def gradient_flow(root: Tensor, grad: Any = None) -> Flow:
    """Backpropagate from root without touching any ``.grad``; return the whole flow.

    The graph is kept (as with ``retain_graph=True``), so this can be called for several
    roots of one graph, e.g. for each step's loss L_t to see how far back it reaches.
    """
    return _backprop(root, grad, retain_graph=True, record_flow=True, write=False)


def _seed(root: Tensor, grad: Any) -> Any:
    if not root.requires_grad:
        raise RuntimeError(
            "backward: this tensor does not require grad (none of its inputs does, or it "
            "was computed under no_grad()); there is nothing to differentiate"
        )
    shape = _shape(root._data)
    if grad is None:
        if math.prod(shape) != 1:
            raise RuntimeError(
                f"backward: the root has shape {shape}, so pass grad= of that shape; "
                "only a one-element tensor gets the implicit gradient 1"
            )
        return 1.0 if root._data.__class__ is float else np.ones_like(root._data)
    if isinstance(grad, Tensor):
        grad = grad._data
    g = np.array(grad, dtype=np.result_type(root._data))  # a copy we may mark read-only
    if g.shape != shape:
        raise ValueError(f"backward: grad has shape {g.shape} but the root has shape {shape}")
    return float(g) if root._data.__class__ is float else g


def _backprop(
    root: Tensor, grad: Any, retain_graph: bool, record_flow: bool, write: bool
) -> Flow | None:
    grads = {root: _seed(root, grad)}  # this pass's gradients, released once used
    owned: set[Tensor] = set()  # nodes whose buffer in `grads` we allocated: safe to +=
    joined = _Joined()
    flow = Flow({}, {}) if not write else None
    for node in reversed(toposort(root)):
        g = grads.pop(node, None)
        if g is None:
            continue
        if g.__class__ is _Factors:
            g = g.fold()
        if node._hooks:
            for hook in node._hooks:
                new = hook(g)
                if new is not None:
                    if _shape(new) != _shape(g):
                        raise ValueError(
                            f"hook on node '{node._op or node.label}': returned shape "
                            f"{_shape(new)}, expected {_shape(g)}"
                        )
                    g = new
        if g.__class__ is np.ndarray:
            data = node._data
            if data.__class__ is not float and g.dtype != data.dtype:
                g = g.astype(data.dtype)  # a float32 node gets a float32 .grad, as its data
            g.setflags(write=False)  # one array may serve several nodes' .grad
        if not write:
            flow.grads[node] = g
        elif node._grad is None:
            node._grad = g
        else:
            node._grad = node._grad + g
        backward = node._backward
        if backward is None:
            continue
        parent_grads = backward(g)
        parents = node._parents
        if len(parent_grads) != len(parents):
            raise TypeError(
                f"backward rule of op '{node._op}' returned {len(parent_grads)} gradients "
                f"for {len(parents)} inputs"
            )
        if not retain_graph:
            node._backward = _freed  # drop the closure and the arrays it saved
        edge_flows = [None] * len(parents) if record_flow else None
        for i, (parent, pg) in enumerate(zip(parents, parent_grads, strict=True)):
            if pg is None or not parent.requires_grad:
                continue
            if _anomaly:
                _check_backward(node, i, pg)
            prev = grads.get(parent)
            if pg.__class__ is _Outer:  # a factored weight gradient: collected, not added
                if prev.__class__ is not _Factors:
                    grads[parent] = prev = _Factors(prev, joined)
                    owned.discard(parent)
                if record_flow:
                    edge_flows[i] = pg.dense()
                prev.add(pg)
                continue
            pdata = parent._data
            if prev.__class__ is _Factors:  # a dense or sparse gradient joins factored ones
                pg = _dense(pg, parent)
                if pg.__class__ is not float and pg.shape != pdata.shape:
                    pg = _unbroadcast(np.asarray(pg), pdata.shape)
                if record_flow:
                    edge_flows[i] = pg
                prev.dense = pg if prev.dense is None else prev.dense + pg
                continue
            if pg.__class__ is _Scatter:
                if prev is None or parent not in owned:
                    buf = np.zeros(_shape(pdata), dtype=np.result_type(pdata))
                    if prev is not None:
                        buf += prev
                    grads[parent] = prev = buf
                    owned.add(parent)
                if record_flow:
                    edge_flows[i] = _dense(pg, parent)
                pg.add_into(prev)
                continue
            if pdata.__class__ is float:
                if pg.__class__ is not float:  # a Value used inside a tensor expression
                    pg = float(np.sum(pg))
            elif pg.__class__ is float or pg.shape != pdata.shape:
                pg = _unbroadcast(np.asarray(pg), pdata.shape)
            if record_flow:
                edge_flows[i] = pg
            if prev is None:
                grads[parent] = pg
            elif parent in owned:
                prev += pg
            else:
                grads[parent] = prev = prev + pg
                if prev.__class__ is np.ndarray:  # a fresh array of ours: add in place
                    owned.add(parent)
        if record_flow:
            if not write:
                for i, ef in enumerate(edge_flows):
                    if ef is not None:
                        flow.edges[(node, i)] = ef
            elif node._flow is None:
                node._flow = tuple(edge_flows)
            else:
                node._flow = tuple(
                    a if b is None else b if a is None else a + b
                    for a, b in zip(node._flow, edge_flows, strict=True)
                )
    return flow
