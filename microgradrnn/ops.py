"""The ops: each numpy forward next to its backward rule, with the math in a comment.

A rule receives g = dL/d(output) and returns one gradient per input (None where an input
needs none, or ``Scatter``/``Outer``: see ``accumulate.py``); the engine adds them up. The rules
are written with arithmetic operators so that the same code serves numpy arrays
(``Tensor``) and Python floats (``Value``); transcendental functions go through small
helpers that call ``math`` for floats, which is much faster than numpy on scalars.

Importing this module attaches the operators and methods (and the array-like ones:
``len``, ``item``, ``numpy``, ``repr``, ``detach``) to ``Tensor``; the package's
``__init__`` does that, so ``import microgradrnn`` (or any submodule) is enough. The
activations' kernels (``sigmoid_into``, ``tanh_into``) are in ``kernels.py``.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from .engine import Outer, Scatter, Tensor, from_op
from .kernels import sigmoid_into, tanh_into  # noqa: F401  (tests import them from ops)

# ----------------------------------------------------------------------------------------
# Ops. Each forward sits next to its backward rule, with the math in a comment.


def _operand(x: Any, like: Tensor) -> Tensor:
    """An operand of an op (``a + 2``) as a node: a Tensor as is, anything else a leaf
    that needs no gradient. Next to a Value (float data) a number becomes a Value; next
    to a Tensor it stays a Python float, a "weak" scalar in numpy's promotion rules, so
    float32 stays float32."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool):
        data: Any = float(x)
        out = object.__new__(like.__class__ if like._data.__class__ is float else Tensor)
    else:
        data, out = Tensor(x)._data, object.__new__(Tensor)
    out._setup(data, False, (), None, "", "")
    return out


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
    return sigmoid_into(np.array(x, dtype=np.result_type(x, np.float32)))


_exp = _np_or_math(np.exp, _math_exp)
_log = _np_or_math(np.log, _math_log)
_tanh = _np_or_math(np.tanh, math.tanh)
_sigmoid = _np_or_math(_np_sigmoid, _math_sigmoid)


def _binary(op: str, f: Callable, a: Any, b: Any) -> Any:
    try:
        return f(a, b)
    except ValueError:
        raise ValueError(f"{op}: shapes {np.shape(a)} and {np.shape(b)} do not "
                         "broadcast") from None


def add(a: Tensor, b: Any) -> Tensor:
    b = _operand(b, a)
    out = _binary("add", operator.add, a._data, b._data)

    def backward(g):  # d(a+b)/da = d(a+b)/db = 1
        return g, g

    return from_op(out, (a, b), backward, "add")


def sub(a: Tensor, b: Any) -> Tensor:
    b = _operand(b, a)
    out = _binary("sub", operator.sub, a._data, b._data)

    def backward(g):  # d(a-b)/da = 1, d(a-b)/db = -1
        return g, -g

    return from_op(out, (a, b), backward, "sub")


def mul(a: Tensor, b: Any) -> Tensor:
    b = _operand(b, a)
    x, y = a._data, b._data
    out = _binary("mul", operator.mul, x, y)

    def backward(g):  # d(ab)/da = b, d(ab)/db = a
        return (g * y if a.requires_grad else None), (g * x if b.requires_grad else None)

    return from_op(out, (a, b), backward, "mul")


def div(a: Tensor, b: Any) -> Tensor:
    b = _operand(b, a)
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
    sx, sy = np.shape(x), np.shape(y)
    if not sx or not sy:
        raise ValueError(f"matmul: shapes {sx} and {sy}: operands must have at least 1 dimension")
    kx, ky = sx[-1], (sy[-2] if len(sy) > 1 else sy[0])
    if kx != ky:
        raise ValueError(
            f"matmul: shapes {sx} and {sy} do not line up (inner dimensions {kx} and {ky})"
        )


def matmul(a: Tensor, b: Any) -> Tensor:
    """a @ b with numpy's rules: 1-D, 2-D and batched N-D (batch dims broadcast)."""
    b = _operand(b, a)
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
    _linear_check(X, W, bias)
    # leading axes as one: a single (N, in) @ (in, out) product, not one per leading index
    X2 = X if X.ndim == 2 else X.reshape(-1, X.shape[-1])
    out = np.dot(X2, W.T)
    if X.ndim != 2:
        out = out.reshape(*X.shape[:-1], W.shape[0])
    if bias is None:
        return from_op(out, (x, weight), _linear_rule(x, weight, None, X2), "linear")
    out += bias._data  # out is a fresh array
    return from_op(out, (x, weight, bias), _linear_rule(x, weight, bias, X2), "linear")


def _linear_check(X: np.ndarray, W: np.ndarray, bias: Tensor | None) -> None:
    if W.ndim != 2 or X.ndim < 1 or X.shape[-1] != W.shape[1]:
        raise ValueError(
            f"linear: input of shape {X.shape} does not fit weight of shape {W.shape} "
            "(expected input (..., in) and weight (out, in))"
        )
    if bias is not None and bias._data.shape != (W.shape[0],):
        raise ValueError(
            f"linear: bias of shape {np.shape(bias._data)}, expected ({W.shape[0]},)")


def _linear_rule(x: Tensor, weight: Tensor, bias: Tensor | None, X2: np.ndarray) -> Callable:
    """The backward rule of one linear node; X2 is x's data as (N, in)."""
    W, shape = weight._data, x._data.shape

    def backward(g):  # dx = g W, dW = g^T x, db = sum of g over leading axes
        g2 = g if g.ndim == 2 else g.reshape(-1, g.shape[-1])
        gx = None
        if x.requires_grad:
            gx = np.dot(g2, W)
            if len(shape) != 2:
                gx = gx.reshape(shape)
        # dW as its two factors: the engine multiplies those of all uses at once
        gw = Outer(g2, X2) if weight.requires_grad else None
        if bias is None:
            return gx, gw
        return gx, gw, (Outer(g2, None) if bias.requires_grad else None)  # sum of g's rows

    return backward


def linear_each(xs: Sequence[Tensor], weight: Tensor, bias: Tensor | None = None, *,
                steps: Iterable[int] | None = None) -> list[Tensor]:
    """``[linear(x, weight, bias) for x in xs]`` computed in one matrix product.

    xs: T tensors of one shape (B, in) -> T tensors (B, out). Each result is recorded as
    ``linear`` records it (op "linear", parents (x, weight[, bias]), the same rule), so
    the graph is the one the loop would build; only the forward arithmetic is shared:
    the sequence layers make the input projections x_t W_ih^T + b_ih of all steps so.
    steps: each x's time step, tagged on its result as if it was made inside
    ``tags(t=step)`` (a cell's unroll: ``steps=range(1, T + 1)``).
    """
    if not xs:
        return []
    try:  # one call; np.stack makes about four
        X, W = np.array([x._data for x in xs]), weight._data
    except ValueError:
        X = None
    if X is None or X.ndim != 3:
        shapes = sorted({np.shape(x._data) for x in xs})
        raise ValueError(f"linear_each: needs 2-D tensors of one shape, got shapes {shapes}")
    _linear_check(X, W, bias)
    T, B, n_in = X.shape
    out = np.dot(X.reshape(T * B, n_in), W.T).reshape(T, B, W.shape[0])
    parents: tuple[Tensor, ...] = (weight,) if bias is None else (weight, bias)
    if bias is not None:
        out += bias._data
    made = [from_op(out[t], (x, *parents), _linear_rule(x, weight, bias, x._data), "linear")
            for t, x in enumerate(xs)]
    if steps is not None:
        steps = list(steps)
        if len(steps) != len(made):
            raise ValueError(f"linear_each: {len(steps)} steps for {len(made)} inputs")
        for node, t in zip(made, steps, strict=True):
            node.tags = {**node.tags, "t": t}
    return made


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
    axes = (axis,) if isinstance(axis, (int, np.integer)) else axis
    if not isinstance(axes, (tuple, list)) or not all(
            isinstance(ax, (int, np.integer)) and not isinstance(ax, bool) for ax in axes):
        raise TypeError(f"{op}: axis must be an int, a tuple of ints or None, got {axis!r}")
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
    except (ValueError, TypeError):  # TypeError: a size that is not an int (2.0)
        raise ValueError(f"reshape: cannot reshape shape {x.shape} into {shape} (sizes are "
                         "ints, one of them may be -1)") from None

    def backward(g):  # reshape back
        return (np.reshape(g, x.shape),)

    return from_op(out, (a,), backward, "reshape")


def transpose(a: Tensor, *axes: Any) -> Tensor:
    """Permute axes (reverse them when none are given, like numpy)."""
    if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
        axes = tuple(axes[0])
    x = np.asarray(a._data)
    perm = tuple(range(x.ndim))[::-1] if not axes else axes
    if not all(isinstance(p, (int, np.integer)) for p in perm) or any(
        not -x.ndim <= p < x.ndim for p in perm
    ) or sorted(p % max(x.ndim, 1) for p in perm) != list(range(x.ndim)):
        swap = ""  # PyTorch's transpose(dim0, dim1) swaps two axes
        if len(axes) == 2 and x.ndim > 2 and all(isinstance(p, int) for p in axes):
            full = list(range(x.ndim))
            full[axes[0] % x.ndim], full[axes[1] % x.ndim] = axes[1] % x.ndim, axes[0] % x.ndim
            swap = (f"; it takes all the axes, as numpy's does: to swap two as PyTorch's "
                    f"transpose{axes} does, write transpose{tuple(full)}")
        raise ValueError(f"transpose: {axes} is not a permutation of the axes of "
                         f"{x.shape}{swap}")
    if len(axes) == 2 and x.ndim == 2 and tuple(p % 2 for p in perm) == (0, 1):
        raise ValueError("transpose: (0, 1) keeps a 2-D tensor as it is in numpy's reading "
                         "and swaps its axes in PyTorch's; write .T or transpose(1, 0) to "
                         "swap them")
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
        return (Scatter(index, g, x.shape, basic),)

    return from_op(out, (a,), backward, "getitem")


def unbind(a: Tensor, axis: int = 0) -> tuple[Tensor, ...]:
    """The slices of ``a`` along ``axis``, as a tuple of tensors (``torch.unbind``).

    Each slice is recorded as a getitem node (a view, gradient scattered back into its
    place), exactly as ``a[i]`` would be, but made in one call: the unroll slices its
    input into T steps this way.
    """
    X = a._data
    if X.__class__ is not np.ndarray or X.ndim == 0:
        raise ValueError(f"unbind: needs a tensor with at least one axis, got shape "
                         f"{np.shape(X)}")
    if not -X.ndim <= axis < X.ndim:
        raise ValueError(f"unbind: axis {axis} is out of range for shape {X.shape}")
    lead = (slice(None),) * (axis % X.ndim)
    views = X if not lead else np.moveaxis(X, axis, 0)
    if not a.requires_grad:  # leaves of no graph: no rule to make (the unroll's x_t)
        return tuple(from_op(v, (a,), None, "getitem") for v in views)
    return tuple(from_op(views[i], (a,), _scatter_back(lead + (i,), X.shape), "getitem")
                 for i in range(len(views)))


def _scatter_back(index: tuple, shape: tuple[int, ...]) -> Callable:
    def backward(g):  # a basic index: the slice's gradient goes back into its place
        return (Scatter(index, g, shape, True),)
    return backward


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
    try:  # axis 0 (the unroll's): np.array copies the list in one call, np.stack in ~4
        out = np.array(arrays) if axis == 0 else np.stack(arrays, axis=axis)
    except np.exceptions.AxisError:
        raise ValueError(f"stack: axis {axis} is out of range") from None
    ax = axis % out.ndim

    def backward(g):  # input k gets g[..., k, ...]
        return tuple(g if ax == 0 else np.moveaxis(g, ax, 0))

    return from_op(out, tuple(tensors), backward, "stack")


def stack_rows(tensors: Sequence[Tensor], rows: np.ndarray) -> Tensor:
    """``stack(tensors)`` for tensors whose values already fill ``rows`` in order
    (``rows[k]`` holds ``tensors[k]``): the result's data is ``rows`` itself, no copy.

    For code that wrote each step's output in place, as the sequence layers do with
    fused cells; the node and its gradients are those of ``stack``.
    """
    if rows.shape[0] != len(tensors):
        raise ValueError(f"stack_rows: {len(tensors)} tensors for {rows.shape[0]} rows")
    return from_op(rows, tuple(tensors), _unstack, "stack")


def _unstack(g):  # the k-th stacked tensor gets g[k]
    return tuple(g)


def where(condition: Any, a: Any, b: Any) -> Tensor:
    """Elementwise ``a if condition else b`` (condition is not differentiated)."""
    cond = np.asarray(condition._data if isinstance(condition, Tensor) else condition)
    cond = cond.astype(bool)
    like = a if isinstance(a, Tensor) else b if isinstance(b, Tensor) else Tensor(0.0)
    a, b = _operand(a, like), _operand(b, like)
    try:
        out = np.where(cond, a._data, b._data)
    except ValueError:
        raise ValueError(
            f"where: shapes {cond.shape}, {np.shape(a._data)} and {np.shape(b._data)} "
            "do not broadcast"
        ) from None

    def backward(g):  # the gradient goes to whichever input was chosen
        return np.where(cond, g, 0.0), np.where(cond, 0.0, g)

    return from_op(out, (a, b), backward, "where")


def _extremum(op: str, pick: Callable) -> Callable:
    def fn(a: Any, b: Any) -> Tensor:
        like = a if isinstance(a, Tensor) else b
        a, b = _operand(a, like), _operand(b, like)
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


def detach(a: Tensor) -> Tensor:
    """The same values as a new leaf that does not require grad (cuts the graph)."""
    out = object.__new__(Tensor)
    out._setup(a._data, False, (), None, "", a.label)
    out.tags = a.tags
    return out


def _len(a: Tensor) -> int:
    if not a.shape:
        raise TypeError("len() of a 0-d tensor")
    return a.shape[0]


def item(a: Tensor) -> float:
    """The value of a one-element tensor as a Python float."""
    if a.size != 1:
        raise ValueError(f"item: tensor of shape {a.shape} has {a.size} elements")
    return float(np.asarray(a._data).reshape(()))


def _bool(a: Tensor) -> bool:
    """Truth of a one-element tensor (numpy's rule); larger tensors are ambiguous."""
    if a.size != 1:
        raise ValueError(f"bool: a tensor of shape {a.shape} is ambiguous as a truth "
                         "value; use (t > 0).any() or .all()")
    return bool(item(a))


def _array(a: Tensor, dtype: Any = None, copy: Any = None) -> np.ndarray:
    """``np.asarray(t)``: a copy of the values, as ``t.numpy()`` (numpy used to iterate
    over the tensor, making an object array of one getitem node per row)."""
    if copy is False:
        raise ValueError("Tensor: np.asarray(t, copy=False) cannot share the values (a "
                         "graph may hold them); read t.data")
    return np.array(a._data, dtype=dtype)


def _repr(a: Tensor) -> str:
    body = np.array2string(np.asarray(a._data), precision=4, separator=", ")
    extra = f", op={a._op}" if a._op else ""
    extra += ", requires_grad=True" if a.requires_grad else ""
    extra += f", label={a.label!r}" if a.label else ""
    return f"Tensor({body}{extra})"


def _rsub(a: Tensor, b: Any) -> Tensor:
    return sub(_operand(b, a), a)


def _rdiv(a: Tensor, b: Any) -> Tensor:
    return div(_operand(b, a), a)


def _rpow(a: Tensor, b: Any) -> Tensor:
    return pow_(_operand(b, a), a)


def _rmatmul(a: Tensor, b: Any) -> Tensor:
    return matmul(_operand(b, a), a)


def _compare(f: Callable) -> Callable:
    def method(a: Tensor, b: Any) -> Any:  # comparisons give plain booleans, no graph
        return f(a._data, b._data if isinstance(b, Tensor) else b)

    return method


Tensor.ndim = property(lambda a: len(a.shape))
Tensor.size = property(lambda a: math.prod(a.shape))
Tensor.__len__ = _len
Tensor.item = Tensor.__float__ = item
Tensor.__bool__ = _bool
Tensor.numpy = lambda a: np.array(a._data)  # a copy of the data
Tensor.__array__ = _array
Tensor.__repr__ = _repr
Tensor.detach = detach
Tensor.__add__ = add
Tensor.__radd__ = lambda a, b: add(_operand(b, a), a)
Tensor.__sub__ = sub
Tensor.__rsub__ = _rsub
Tensor.__mul__ = mul
Tensor.__rmul__ = lambda a, b: mul(_operand(b, a), a)
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

