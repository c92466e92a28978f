"""The autograd engine: ``Tensor``, its ops with their backward rules, and ``backward()``.

Every op computes its output with numpy and builds a node that remembers its parents
(an ordered tuple) and a *backward rule*: a closure that receives the gradient of the
output and returns one gradient per parent. Rules never touch a parent's ``.grad``; the
backward loop alone accumulates. That single loop also reduces broadcast gradients to
the parent's shape, runs hooks, checks for NaN/inf in anomaly mode and, when asked,
records the gradient that flowed along every edge (parent -> child).

The rules are written with arithmetic operators, so the same code serves numpy arrays
(``Tensor``) and Python floats (``Value``, the micrograd face in ``scalar.py``).

Imports numpy and the standard library only.
"""

from __future__ import annotations

import contextlib
import math
import operator
from collections.abc import Callable, Iterable, Iterator, Sequence
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
        out = _new(Tensor)
        out._data, out._grad, out.requires_grad = self._data, None, False
        out._parents, out._backward, out._op = (), None, ""
        out.label, out.tags, out._hooks, out._flow = self.label, self.tags, None, None
        return out

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
    out = _new(cls)
    out._data, out._grad, out.requires_grad = data, None, False
    out._parents, out._backward, out._op = (), None, ""
    out.label, out.tags, out._hooks, out._flow = "", _tags, None, None
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


def _dense(g: Any, parent: Tensor) -> Any:
    if g.__class__ is _Scatter:
        buf = np.zeros(_shape(parent._data), dtype=np.result_type(parent._data))
        g.add_into(buf)
        return buf
    return g


def _unbroadcast(g: Any, shape: tuple[int, ...]) -> Any:
    """Sum a gradient over the axes that broadcasting added or stretched."""
    if g.ndim < len(shape) or any(m < n for m, n in zip(g.shape[::-1], shape[::-1])):
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
    flow = Flow({}, {}) if not write else None
    for node in reversed(toposort(root)):
        g = grads.pop(node, None)
        if g is None:
            continue
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
        if not retain_graph:
            node._backward = _freed  # drop the closure and the arrays it saved
        edge_flows = [None] * len(node._parents) if record_flow else None
        for i, (parent, pg) in enumerate(zip(node._parents, parent_grads)):
            if pg is None or not parent.requires_grad:
                continue
            if _anomaly:
                _check_backward(node, i, pg)
            pdata = parent._data
            prev = grads.get(parent)
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
                    for a, b in zip(node._flow, edge_flows)
                )
    return flow


# ----------------------------------------------------------------------------------------
# Ops. Each forward sits next to its backward rule, with the math in a comment.


def _np_or_math(np_fn: Callable, math_fn: Callable) -> Callable:
    """One elementwise function for arrays (numpy) and Python floats (math, much faster)."""

    def fn(x: Any) -> Any:
        return math_fn(x) if x.__class__ is float else np_fn(x)

    return fn


def _math_exp(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


def _math_log(x: float) -> float:
    return math.log(x) if x > 0 else (-math.inf if x == 0 else math.nan)


def _math_sigmoid(x: float) -> float:
    return 0.5 * (math.tanh(0.5 * x) + 1.0)


def _np_sigmoid(x: np.ndarray) -> np.ndarray:
    # 0.5 (1 + tanh(x/2)) equals 1 / (1 + e^-x) and never overflows
    out = np.tanh(x * 0.5)
    out += 1.0
    out *= 0.5
    return out


_exp = _np_or_math(np.exp, _math_exp)
_log = _np_or_math(np.log, _math_log)
_tanh = _np_or_math(np.tanh, math.tanh)
_sigmoid = _np_or_math(_np_sigmoid, _math_sigmoid)


def _binary(op: str, f: Callable, a: Any, b: Any) -> Any:
    try:
        return f(a, b)
    except ValueError:
        raise ValueError(f"{op}: shapes {_shape(a)} and {_shape(b)} do not broadcast") from None


def add(a: Tensor, b: Any) -> Tensor:
    b = _const(b, a)
    out = _binary("add", operator.add, a._data, b._data)

    def backward(g):  # d(a+b)/da = d(a+b)/db = 1
        return g, g

    return from_op(out, (a, b), backward, "add")


def sub(a: Tensor, b: Any) -> Tensor:
    b = _const(b, a)
    out = _binary("sub", operator.sub, a._data, b._data)

    def backward(g):  # d(a-b)/da = 1, d(a-b)/db = -1
        return g, -g

    return from_op(out, (a, b), backward, "sub")


def mul(a: Tensor, b: Any) -> Tensor:
    b = _const(b, a)
    x, y = a._data, b._data
    out = _binary("mul", operator.mul, x, y)

    def backward(g):  # d(ab)/da = b, d(ab)/db = a
        return (g * y if a.requires_grad else None), (g * x if b.requires_grad else None)

    return from_op(out, (a, b), backward, "mul")


def div(a: Tensor, b: Any) -> Tensor:
    b = _const(b, a)
    x, y = a._data, b._data
    out = _binary("div", operator.truediv, x, y)

    def backward(g):  # d(a/b)/da = 1/b, d(a/b)/db = -a/b^2
        ga = g / y if a.requires_grad else None
        gb = -g * out / y if b.requires_grad else None
        return ga, gb

    return from_op(out, (a, b), backward, "div")


def pow_(a: Tensor, b: Any) -> Tensor:
    """a ** b. A number exponent is part of the op; a Tensor exponent is a parent."""
    x = a._data
    if not isinstance(b, Tensor):
        if not isinstance(b, (int, float, np.integer, np.floating)):
            raise TypeError(f"pow: exponent must be a number or a Tensor, got {type(b).__name__}")
        k = float(b) if x.__class__ is float or isinstance(b, np.floating) else b
        out = _np_pow(x, k)

        def backward_k(g):  # d(a^k)/da = k a^(k-1); 0 for k = 0, even at a = 0
            return (g * k * _np_pow(x, k - 1) if k != 0 else g * 0.0,)

        return from_op(out, (a,), backward_k, f"**{b:g}")
    y = b._data
    out = _binary("pow", _np_pow, x, y)

    def backward(g):  # d(a^b)/da = b a^(b-1), d(a^b)/db = a^b log a (0 at a=0, b>=0)
        ga = g * y * _np_pow(x, y - 1) if a.requires_grad else None
        gb = None
        if b.requires_grad and out.__class__ is float:
            gb = g * (0.0 if x == 0 and y >= 0 else out * _log(x))
        elif b.requires_grad:
            with np.errstate(divide="ignore", invalid="ignore"):
                gb = g * np.where((x == 0) & (y >= 0), 0.0, out * _log(x))
        return ga, gb

    return from_op(out, (a, b), backward, "pow")


def _np_pow(x: Any, k: Any) -> Any:
    if x.__class__ is float and k.__class__ in (float, int):
        try:
            r = x ** k
        except ZeroDivisionError:
            return math.inf
        except OverflowError:
            return math.inf
        return r if r.__class__ is float else math.nan  # a complex result is not real
    return np.power(x, k)


def neg(a: Tensor) -> Tensor:
    def backward(g):  # d(-a)/da = -1
        return (-g,)

    return from_op(-a._data, (a,), backward, "neg")


def _matmul_shapes_check(x: Any, y: Any) -> None:
    sx, sy = _shape(x), _shape(y)
    if not sx or not sy:
        raise ValueError(f"matmul: shapes {sx} and {sy}: operands must have at least 1 dimension")
    kx, ky = sx[-1], (sy[-2] if len(sy) > 1 else sy[0])
    if kx != ky:
        raise ValueError(
            f"matmul: shapes {sx} and {sy} do not line up (inner dimensions {kx} and {ky})"
        )


def matmul(a: Tensor, b: Any) -> Tensor:
    """a @ b with numpy's rules: 1-D, 2-D and batched N-D (batch dims broadcast)."""
    b = _const(b, a)
    x, y = a._data, b._data
    _matmul_shapes_check(x, y)
    try:
        out = x @ y
    except ValueError:
        raise ValueError(
            f"matmul: batch dimensions of shapes {x.shape} and {y.shape} do not broadcast"
        ) from None

    if x.ndim == 2 and y.ndim == 2:
        def backward(g):  # d(xy)/dx = g y^T, d(xy)/dy = x^T g
            return (g @ y.T if a.requires_grad else None), (x.T @ g if b.requires_grad else None)
    else:
        def backward(g):  # same rule with vectors made matrices, then batch dims summed
            x2 = x[None, :] if x.ndim == 1 else x
            y2 = y[:, None] if y.ndim == 1 else y
            g2 = g
            if y.ndim == 1:  # first: for 1-D @ 1-D, g is 0-d
                g2 = np.expand_dims(g2, -1)
            if x.ndim == 1:
                g2 = np.expand_dims(g2, -2)
            ga = gb = None
            if a.requires_grad:
                ga = g2 @ np.swapaxes(y2, -1, -2)
                ga = ga[..., 0, :] if x.ndim == 1 else ga
            if b.requires_grad:
                gb = np.swapaxes(x2, -1, -2) @ g2
                gb = gb[..., 0] if y.ndim == 1 else gb
            return ga, gb

    return from_op(out, (a, b), backward, "matmul")


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """x @ weight.T + bias, as one op (PyTorch's layout: weight is (out, in)).

    x: (..., in), weight: (out, in), bias: (out,) -> (..., out). One node instead of
    three keeps both the unrolled graph and the per-step cost small.
    """
    X, W = x._data, weight._data
    if W.ndim != 2 or X.ndim < 1 or X.shape[-1] != W.shape[1]:
        raise ValueError(
            f"linear: input of shape {X.shape} does not fit weight of shape {W.shape} "
            "(expected input (..., in) and weight (out, in))"
        )
    out = X @ W.T
    parents: tuple[Tensor, ...] = (x, weight)
    if bias is not None:
        if bias._data.shape != (W.shape[0],):
            raise ValueError(
                f"linear: bias of shape {_shape(bias._data)}, expected ({W.shape[0]},)")
        out += bias._data  # out is a fresh array
        parents = (x, weight, bias)

    def backward(g):  # dx = g W, dW = g^T x, db = sum of g over leading axes
        gx = g @ W if x.requires_grad else None
        g2 = g if g.ndim == 2 else g.reshape(-1, g.shape[-1])  # leading axes as one
        gw = g2.T @ (X if X.ndim == 2 else X.reshape(-1, X.shape[-1])) \
            if weight.requires_grad else None
        if bias is None:
            return gx, gw
        return gx, gw, (g2.sum(axis=0) if bias.requires_grad else None)

    return from_op(out, parents, backward, "linear")


def _unary(op: str, fn: Callable, d: Callable) -> Callable:
    """An elementwise op whose derivative d(x, out) is written from input and output."""

    def method(a: Tensor) -> Tensor:
        x = a._data
        out = fn(x)

        def backward(g):
            return (g * d(x, out),)

        return from_op(out, (a,), backward, op)

    method.__name__ = op
    return method


exp = _unary("exp", _exp, lambda x, y: y)  # d e^x = e^x
log = _unary("log", _log, lambda x, y: 1.0 / x)  # d log x = 1/x
tanh = _unary("tanh", _tanh, lambda x, y: 1.0 - y * y)  # d tanh x = 1 - tanh^2 x
sigmoid = _unary("sigmoid", _sigmoid, lambda x, y: y * (1.0 - y))  # d s = s (1 - s)


def relu(a: Tensor) -> Tensor:
    x = a._data
    if x.__class__ is float:
        out, mask = (x if x > 0 else 0.0), (1.0 if x > 0 else 0.0)
    else:
        mask = x > 0
        out = x * mask

    def backward(g):  # d relu(x) = 1 where x > 0, else 0
        return (g * mask,)

    return from_op(out, (a,), backward, "relu")


def abs_(a: Tensor) -> Tensor:
    x = a._data
    sign = (x > 0) - (x < 0) if x.__class__ is float else np.sign(x)

    def backward(g):  # d|x| = sign(x), 0 at 0
        return (g * sign,)

    return from_op(np.abs(x) if x.__class__ is not float else math.fabs(x), (a,), backward,
                   "abs")


def _axes(axis: Any, ndim: int, op: str) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for ax in axes:
        if not -ndim <= ax < ndim:
            raise ValueError(f"{op}: axis {ax} is out of range for a tensor with {ndim} dims")
        out.append(ax % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: axis {axis} repeats an axis")
    return tuple(out)


def _kept_shape(shape: tuple[int, ...], axes: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def sum_(a: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:
    """Sum over axis (an int, a tuple, or None for all)."""
    x = np.asarray(a._data)
    axes = _axes(axis, x.ndim, "sum")
    out = x.sum(axis=axes, keepdims=keepdims)
    kept = _kept_shape(x.shape, axes)

    def backward(g):  # every summed element gets g
        return (np.broadcast_to(np.reshape(g, kept), x.shape),)

    return from_op(out, (a,), backward, "sum")


def mean(a: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:
    """Mean over axis (an int, a tuple, or None for all)."""
    x = np.asarray(a._data)
    axes = _axes(axis, x.ndim, "mean")
    n = math.prod(x.shape[i] for i in axes)
    out = x.mean(axis=axes, keepdims=keepdims)
    kept = _kept_shape(x.shape, axes)

    def backward(g):  # every averaged element gets g / n
        return (np.broadcast_to(np.reshape(g, kept) / n, x.shape),)

    return from_op(out, (a,), backward, "mean")


def max_(a: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:
    """Maximum over axis. Ties share the gradient equally."""
    x = np.asarray(a._data)
    axes = _axes(axis, x.ndim, "max")
    if x.size == 0:
        raise ValueError(f"max: tensor of shape {x.shape} is empty")
    m = x.max(axis=axes, keepdims=True)
    out = m if keepdims else m.reshape([n for i, n in enumerate(x.shape) if i not in axes])

    def backward(g):  # the gradient goes to the maxima, split among ties
        mask = x == m
        ties = mask.sum(axis=axes, keepdims=True).astype(x.dtype)  # int counts would promote
        return (mask * (np.reshape(g, m.shape) / ties),)

    return from_op(out, (a,), backward, "max")


def reshape(a: Tensor, *shape: Any) -> Tensor:
    """The same values in a new shape (``-1`` infers one dimension)."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    x = np.asarray(a._data)
    try:
        out = x.reshape(shape)
    except ValueError:
        raise ValueError(f"reshape: cannot reshape shape {x.shape} into {shape}") from None

    def backward(g):  # reshape back
        return (np.reshape(g, x.shape),)

    return from_op(out, (a,), backward, "reshape")


def transpose(a: Tensor, *axes: Any) -> Tensor:
    """Permute axes (reverse them when none are given, like numpy)."""
    if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
        axes = tuple(axes[0])
    x = np.asarray(a._data)
    perm = tuple(range(x.ndim))[::-1] if not axes else axes
    if any(not -x.ndim <= p < x.ndim for p in perm) or sorted(
        p % max(x.ndim, 1) for p in perm
    ) != list(range(x.ndim)):
        raise ValueError(f"transpose: {axes} is not a permutation of the axes of {x.shape}")
    out = x.transpose(perm)
    inverse = np.argsort([p % x.ndim for p in perm])

    def backward(g):  # permute back
        return (np.transpose(g, inverse),)

    return from_op(out, (a,), backward, "transpose")


def _is_basic(index: Any) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return all(
        i is None or i is Ellipsis or isinstance(i, (int, np.integer, slice)) for i in items
    )


def _clean_index(index: Any) -> Any:
    if isinstance(index, tuple):
        return tuple(_clean_index(i) for i in index)
    if isinstance(index, Tensor):
        index = np.asarray(index._data)
    if isinstance(index, (list, np.ndarray)):
        arr = np.asarray(index)
        if arr.dtype.kind == "f":
            if not np.all(arr == np.round(arr)):
                raise TypeError("getitem: float index values must be whole numbers")
            arr = arr.astype(np.intp)
        elif arr.dtype.kind not in "biu" and arr.size:
            raise TypeError(f"getitem: index arrays must hold integers, got dtype {arr.dtype}")
        return arr
    return index


def getitem(a: Tensor, index: Any) -> Tensor:
    """Indexing like numpy: ints, slices, None, Ellipsis, integer (or bool) arrays.

    Repeated integer indices accumulate their gradients.
    """
    if index.__class__ is not int:  # x[t], the unroll's slice, is already clean and basic
        index = _clean_index(index)
    x = np.asarray(a._data)
    try:
        out = x[index]
    except IndexError as e:
        raise IndexError(f"getitem: {e} (tensor of shape {x.shape})") from None
    if out.__class__ is not np.ndarray:
        out = np.asarray(out)
    basic = index.__class__ is int or _is_basic(index)
    if not basic:  # np.add.at wants integer arrays, not boolean masks
        items = index if isinstance(index, tuple) else (index,)
        if any(isinstance(i, np.ndarray) and i.dtype == bool for i in items):
            items = tuple(
                j for i in items for j in
                (np.nonzero(i) if isinstance(i, np.ndarray) and i.dtype == bool else (i,))
            )
            index = items

    def backward(g):  # d x[i] / dx scatters g back into a zero array at i
        return (_Scatter(index, g, basic),)

    return from_op(out, (a,), backward, "getitem")


def concatenate(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """Join tensors along an existing axis."""
    tensors = [t if isinstance(t, Tensor) else Tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("concatenate: needs at least one tensor")
    arrays = [np.asarray(t._data) for t in tensors]
    try:
        out = np.concatenate(arrays, axis=axis)
    except (ValueError, np.exceptions.AxisError):
        shapes = ", ".join(str(x.shape) for x in arrays)
        raise ValueError(
            f"concatenate: shapes {shapes} must match except along axis {axis}"
        ) from None
    cuts = np.cumsum([x.shape[axis] for x in arrays])[:-1]

    def backward(g):  # each input gets its own slice of g
        return tuple(np.split(g, cuts, axis=axis))

    return from_op(out, tuple(tensors), backward, "concatenate")


def stack(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """Join same-shaped tensors along a new axis."""
    tensors = [t if isinstance(t, Tensor) else Tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("stack: needs at least one tensor")
    arrays = [np.asarray(t._data) for t in tensors]
    if len({x.shape for x in arrays}) > 1:
        shapes = ", ".join(str(x.shape) for x in arrays)
        raise ValueError(f"stack: all shapes must be equal, got {shapes}")
    try:
        out = np.stack(arrays, axis=axis)
    except np.exceptions.AxisError:
        raise ValueError(f"stack: axis {axis} is out of range") from None
    ax = axis % out.ndim

    def backward(g):  # input k gets g[..., k, ...]
        return tuple(np.moveaxis(g, ax, 0))

    return from_op(out, tuple(tensors), backward, "stack")


def where(condition: Any, a: Any, b: Any) -> Tensor:
    """Elementwise ``a if condition else b`` (condition is not differentiated)."""
    cond = np.asarray(condition._data if isinstance(condition, Tensor) else condition)
    cond = cond.astype(bool)
    like = a if isinstance(a, Tensor) else b if isinstance(b, Tensor) else Tensor(0.0)
    a, b = _const(a, like), _const(b, like)
    try:
        out = np.where(cond, a._data, b._data)
    except ValueError:
        raise ValueError(
            f"where: shapes {cond.shape}, {_shape(a._data)} and {_shape(b._data)} "
            "do not broadcast"
        ) from None

    def backward(g):  # the gradient goes to whichever input was chosen
        return np.where(cond, g, 0.0), np.where(cond, 0.0, g)

    return from_op(out, (a, b), backward, "where")


def _extremum(op: str, pick: Callable) -> Callable:
    def fn(a: Any, b: Any) -> Tensor:
        like = a if isinstance(a, Tensor) else b
        a, b = _const(a, like), _const(b, like)
        x, y = a._data, b._data
        out = _binary(op, pick, x, y)

        def backward(g):  # the gradient goes to the chosen input; ties share it
            wa = (out == x).astype(out.dtype)  # float64 weights would promote float32
            wb = (out == y).astype(out.dtype)
            both = wa + wb
            return g * wa / both, g * wb / both

        return from_op(out, (a, b), backward, op)

    fn.__name__ = op
    return fn


maximum = _extremum("maximum", np.maximum)
minimum = _extremum("minimum", np.minimum)


def clip(a: Tensor, lo: float | None = None, hi: float | None = None) -> Tensor:
    """Limit values to [lo, hi]; the gradient passes where lo <= x <= hi."""
    x = np.asarray(a._data)
    out = np.clip(x, lo, hi)
    inside = np.ones(x.shape, dtype=bool)
    if lo is not None:
        inside &= x >= lo
    if hi is not None:
        inside &= x <= hi

    def backward(g):
        return (g * inside,)

    return from_op(out, (a,), backward, "clip")


# ----------------------------------------------------------------------------------------
# Attach the ops to Tensor as operators and methods.


def _rsub(a: Tensor, b: Any) -> Tensor:
    return sub(_const(b, a), a)


def _rdiv(a: Tensor, b: Any) -> Tensor:
    return div(_const(b, a), a)


def _rpow(a: Tensor, b: Any) -> Tensor:
    return pow_(_const(b, a), a)


def _rmatmul(a: Tensor, b: Any) -> Tensor:
    return matmul(_const(b, a), a)


def _compare(f: Callable) -> Callable:
    def method(a: Tensor, b: Any) -> Any:  # comparisons give plain booleans, no graph
        return f(a._data, b._data if isinstance(b, Tensor) else b)

    return method


Tensor.__add__ = add
Tensor.__radd__ = lambda a, b: add(_const(b, a), a)
Tensor.__sub__ = sub
Tensor.__rsub__ = _rsub
Tensor.__mul__ = mul
Tensor.__rmul__ = lambda a, b: mul(_const(b, a), a)
Tensor.__truediv__ = div
Tensor.__rtruediv__ = _rdiv
Tensor.__pow__ = pow_
Tensor.__rpow__ = _rpow
Tensor.__neg__ = neg
Tensor.__matmul__ = matmul
Tensor.__rmatmul__ = _rmatmul
Tensor.__getitem__ = getitem
Tensor.__lt__ = _compare(lambda x, y: x < y)
Tensor.__le__ = _compare(lambda x, y: x <= y)
Tensor.__gt__ = _compare(lambda x, y: x > y)
Tensor.__ge__ = _compare(lambda x, y: x >= y)
for _fn in (exp, log, tanh, sigmoid, relu, mean, reshape, transpose, clip):
    setattr(Tensor, _fn.__name__, _fn)
Tensor.sum = sum_
Tensor.max = max_
Tensor.abs = Tensor.__abs__ = abs_
Tensor.T = property(transpose, doc="The tensor with its axes reversed.")
Tensor.matmul = matmul
Tensor.maximum = maximum
Tensor.minimum = minimum
del _fn

