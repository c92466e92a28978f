"""Every op against central finite differences, plus forward values against numpy.

The table lives in helpers.OPS; hypothesis adds random broadcastable shapes and values.
"""

import numpy as np
import pytest
from helpers import OPS, broadcast_pair, finite_arrays, leaves, small_shapes
from hypothesis import given, settings
from hypothesis import strategies as st

import microgradrnn as mg
from microgradrnn import Tensor, gradcheck


@pytest.mark.parametrize("case", OPS, ids=lambda c: c.name)
def test_op_gradient_matches_finite_differences(case):
    xs = leaves(case.shapes, positive=case.positive)
    assert gradcheck(case.fn, *xs) is True


@pytest.mark.parametrize("case", OPS, ids=lambda c: c.name)
def test_op_forward_matches_numpy(case):
    """The engine computes on numpy arrays: the same expression on plain arrays agrees."""
    xs = leaves(case.shapes, positive=case.positive)
    out = case.fn(*xs)
    arrays = [x.numpy() for x in xs]
    expected = _NUMPY.get(case.name, case.fn)(*arrays)
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=0)
    assert out.shape == np.shape(expected)


def _sigmoid(a):
    return 1 / (1 + np.exp(-a))


# numpy spellings where the engine's method differs from numpy's
_NUMPY = {
    "exp": np.exp, "log": np.log, "tanh": np.tanh, "sigmoid": _sigmoid,
    "relu": lambda a: np.maximum(a, 0), "abs": np.abs, "clip": lambda a: np.clip(a, -0.5, 0.5),
    "clip lower only": lambda a: np.clip(a, 0.0, None),
    "concatenate": lambda a, b: np.concatenate([a, b], axis=1),
    "concatenate axis -1 3-D": lambda a, b, c: np.concatenate([a, b, c], axis=-1),
    "stack": lambda a, b: np.stack([a, b]),
    "stack axis -1": lambda a, b, c: np.stack([a, b, c], axis=-1),
    "unbind": lambda a: sum((k + 1) * a[k] for k in range(len(a))),
    "unbind axis -1": lambda a: sum((k + 1) * a[..., k] for k in range(a.shape[-1])),
    "where": lambda a, b: np.where(a > 0, a, b),
    "where number": lambda a: np.where(a > 0, a, 0.5),
    "maximum": np.maximum, "minimum": np.minimum, "minimum method": np.minimum,
    "maximum number": lambda a: np.maximum(a, 0.1),
    "linear": lambda x, w, b: x @ w.T + b, "linear 3-D no bias": lambda x, w: x @ w.T,
    "composite": lambda a, b: (np.tanh(a @ b) * a.sum(axis=1, keepdims=True)).mean(),
}


def test_every_op_has_a_case():
    """The table covers the whole required op list (a new op needs a row)."""
    names = " ".join(c.name for c in OPS)
    for op in ["add", "sub", "mul", "div", "pow", "neg", "matmul", "exp", "log", "tanh",
               "sigmoid", "relu", "abs", "sum", "mean", "max", "reshape", "transpose",
               "getitem", "unbind", "concatenate", "stack", "where", "maximum", "minimum", "clip",
               "rsub", "rdiv", "radd", "rmul", "rpow", "rmatmul"]:
        assert op in names, op


# -- hypothesis: random shapes and values -------------------------------------------------

BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / (b * b + 1.0),
    "maximum": mg.maximum,
    "minimum": mg.minimum,
}


@settings(max_examples=40, deadline=None)
@given(pair=broadcast_pair(), op=st.sampled_from(sorted(BINARY)))
def test_binary_ops_broadcast_like_numpy(pair, op):
    x, y = pair
    if op in ("maximum", "minimum") and np.any(np.abs(np.subtract(x, y)) < 1e-3):
        return  # a near-tie is a kink; finite differences cannot judge it
    a, b = Tensor(x, requires_grad=True), Tensor(y, requires_grad=True)
    out = BINARY[op](a, b)
    ref = BINARY[op](x, y) if op not in ("maximum", "minimum") else getattr(np, op)(x, y)
    np.testing.assert_allclose(out.data, ref, rtol=1e-12)
    out.backward(np.ones(out.shape))
    assert a.grad.shape == x.shape and b.grad.shape == y.shape
    assert gradcheck(BINARY[op], a, b)


@st.composite
def shape_and_axis(draw):
    shape = draw(small_shapes)
    axes = draw(st.one_of(
        st.none(),
        st.sampled_from(range(-len(shape), len(shape))) if shape else st.none(),
        st.lists(st.sampled_from(range(len(shape))), unique=True, max_size=len(shape))
        .map(tuple) if shape else st.none(),
    ))
    return draw(finite_arrays(shape)), axes, draw(st.booleans())


@settings(max_examples=40, deadline=None)
@given(args=shape_and_axis(), op=st.sampled_from(["sum", "mean", "max"]))
def test_reductions_match_numpy(args, op):
    x, axis, keepdims = args
    if op == "max":  # near-ties are kinks: keep hypothesis's order, space values by 0.1
        x = np.argsort(np.argsort(x, axis=None, kind="stable")).reshape(x.shape) * 0.1
    a = Tensor(x, requires_grad=True)
    out = getattr(a, op)(axis=axis, keepdims=keepdims)
    np.testing.assert_allclose(out.data, getattr(np, op)(x, axis=axis, keepdims=keepdims))
    assert gradcheck(lambda t: getattr(t, op)(axis=axis, keepdims=keepdims), a)


@settings(max_examples=30, deadline=None)
@given(x=small_shapes.flatmap(finite_arrays),
       op=st.sampled_from(["exp", "tanh", "sigmoid", "relu", "abs", "neg", "square"]))
def test_elementwise_ops_on_random_shapes(x, op):
    fn = {"neg": lambda t: -t, "square": lambda t: t ** 2}.get(op, lambda t: getattr(t, op)())
    if op in ("relu", "abs"):
        x = np.where(np.abs(x) < 1e-3, 0.5, x)  # keep away from the kink at 0
    a = Tensor(x, requires_grad=True)
    out = fn(a)
    assert out.shape == x.shape
    assert gradcheck(fn, a)


def test_max_ties_share_the_gradient():
    a = Tensor([1.0, 3.0, 3.0, 0.0], requires_grad=True)
    a.max().backward()
    np.testing.assert_array_equal(a.grad, [0.0, 0.5, 0.5, 0.0])


def test_maximum_ties_share_the_gradient():
    a, b = Tensor([1.0, 2.0], requires_grad=True), Tensor([1.0, 3.0], requires_grad=True)
    mg.maximum(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad, [0.5, 0.0])
    np.testing.assert_array_equal(b.grad, [0.5, 1.0])


def test_repeated_indices_accumulate():
    a = Tensor(np.zeros(3), requires_grad=True)
    (a[[0, 2, 2, 2]] * Tensor([1.0, 2.0, 3.0, 4.0])).sum().backward()
    np.testing.assert_array_equal(a.grad, [1.0, 0.0, 9.0])


def test_pow_zero_exponent_has_zero_gradient_at_zero():
    a = Tensor([0.0, 2.0], requires_grad=True)
    (a ** 0).sum().backward()
    np.testing.assert_array_equal(a.grad, [0.0, 0.0])


def test_relu_abs_clip_gradient_at_the_kinks():
    """Conventions at non-differentiable points, as PyTorch: relu'(0)=0, |x|'(0)=0,
    clip passes the gradient at its bounds."""
    a = Tensor([0.0, -1.0, 1.0], requires_grad=True)
    (a.relu() + a.abs() + a.clip(-1.0, 1.0)).sum().backward()
    np.testing.assert_array_equal(a.grad, [0.0 + 0.0 + 1.0, 0.0 - 1.0 + 1.0, 1 + 1 + 1])


def test_float_types_of_inputs():
    """float64 by default; float32 kept; numbers, lists, int and bool arrays -> float64."""
    assert Tensor(np.ones(2, np.float32)).dtype == np.float32
    assert Tensor(np.ones(2), dtype=np.float32).dtype == np.float32
    for data in (3, 2.5, [1, 2], [[1.0], [2.0]], np.arange(3), np.array([True, False]),
                 np.ones(2, np.int8)):
        t = Tensor(data)
        assert t.dtype == np.float64, data
        np.testing.assert_array_equal(t.data, np.asarray(data, dtype=np.float64))


FLOAT32_OPS = [c for c in OPS if c.name not in ("rmatmul array",)]


@pytest.mark.parametrize("case", FLOAT32_OPS, ids=lambda c: c.name)
def test_float32_stays_float32_through_ops_and_backward(case):
    xs = [Tensor(x.numpy().astype(np.float32), requires_grad=True)
          for x in leaves(case.shapes, positive=case.positive)]
    out = case.fn(*xs)
    assert out.dtype == np.float32
    out.backward(np.ones(out.shape, np.float32))
    for x in xs:
        assert x.grad.dtype == np.float32, x.grad.dtype
        assert x.grad.shape == x.shape


@pytest.mark.parametrize("make", [Tensor, lambda v: mg.Value(float(v[0]))],
                         ids=["Tensor", "Value"])
def test_tensor_exponent_gradient_at_zero_base(make):
    """d(a^b)/db = a^b log a is taken as 0 at a = 0, b >= 0 (the limit; PyTorch agrees)."""
    a, b = make([0.0]), make([2.0])
    b.requires_grad = True
    (a ** b).sum().backward()
    assert np.all(np.asarray(b.grad) == 0.0)
    c, d = make([0.0]), make([0.0])
    d.requires_grad = True
    (c ** d).sum().backward()
    assert np.all(np.asarray(d.grad) == 0.0)


def test_grad_has_the_dtype_of_its_node_in_a_mixed_graph():
    w32 = Tensor(np.ones((2, 3), dtype=np.float32), requires_grad=True)
    x64 = Tensor(np.ones((4, 3)), requires_grad=True)
    y = x64 @ w32.T  # float64: float32 is promoted
    y.sum().backward()
    assert y.dtype == np.float64 and y.grad.dtype == np.float64
    assert w32.grad.dtype == np.float32 and x64.grad.dtype == np.float64
    np.testing.assert_array_equal(w32.grad, 4.0)


# -- the activations behind the fused steps: two formulas, switched by size ---------------

EXTREMES = np.array([-1e4, -800.0, -709.0, -40.0, -1.0, -1e-9, 0.0, 1e-9, 1.0, 40.0, 800.0])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("size", [16, 4096], ids=["small: np.tanh", "large: tanh's exp form"])
def test_sigmoid_into_and_tanh_into_match_numpy(size, dtype):
    from microgradrnn.ops import sigmoid_into, tanh_into
    rng = np.random.default_rng(0)
    x = np.concatenate([EXTREMES, rng.normal(0, 5, size - len(EXTREMES))]).astype(dtype)
    eps = np.finfo(dtype).eps
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # no warnings either
        s, t = sigmoid_into(x.copy()), tanh_into(x.copy())
    assert s.dtype == dtype and t.dtype == dtype
    exact = 1 / (1 + np.exp(-x.astype(np.longdouble)))
    # where e^-z would overflow it is clipped: sigmoid is off by less than the tiniest normal
    np.testing.assert_allclose(s, exact.astype(dtype), rtol=8 * eps, atol=np.finfo(dtype).tiny)
    np.testing.assert_allclose(t, np.tanh(x), rtol=0, atol=4 * eps)
    assert np.all((s >= 0) & (s <= 1)) and np.all(np.abs(t) <= 1)


def test_linear_each_records_the_nodes_linear_would():
    """One matrix product for T inputs, T nodes exactly like linear's: op, parents, rule."""
    from microgradrnn.ops import linear_each

    rng = np.random.default_rng(0)
    w, b = rng.standard_normal((4, 3)), rng.standard_normal(4)
    xs = rng.standard_normal((5, 2, 3))
    grads = []
    for each in (True, False):
        W, B = Tensor(w, requires_grad=True), Tensor(b, requires_grad=True)
        X = [Tensor(x, requires_grad=True) for x in xs]
        ys = linear_each(X, W, B) if each else [mg.linear(x, W, B) for x in X]
        assert [y.op for y in ys] == ["linear"] * 5
        assert all(y.parents == (x, W, B) for y, x in zip(ys, X, strict=True))
        loss = sum(((y * y) * (k + 1)).sum() for k, y in enumerate(ys))
        loss.backward()
        grads.append([y.data for y in ys] + [W.grad, B.grad] + [x.grad for x in X])
    for a, c in zip(*grads, strict=True):
        np.testing.assert_allclose(a, c, rtol=1e-12, atol=1e-14)
    assert linear_each([], Tensor(w)) == []
    with pytest.raises(ValueError, match=r"linear_each: needs 2-D tensors of one shape, "
                       r"got shapes \[\(2, 3\), \(3, 3\)\]"):
        linear_each([Tensor(np.ones((2, 3))), Tensor(np.ones((3, 3)))], Tensor(w))
    with pytest.raises(ValueError, match="linear: input of shape"):
        linear_each([Tensor(np.ones((2, 2)))], Tensor(w))
