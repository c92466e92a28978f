"""gradcheck itself: it passes correct ops, and it catches wrong ones with a useful message."""

import re

import numpy as np
import pytest
from helpers import rand

from microgradrnn import GradcheckError, Tensor, from_op, gradcheck


def square(a, wrong_at=None, scale=1.0):
    """a**2 as a custom op; its backward is wrong at one element, or scaled, if asked."""
    x = a.data

    def backward(g):
        d = 2 * x * scale
        if wrong_at is not None:
            d = d.copy()
            d[wrong_at] += 1.0
        return (g * d,)

    return from_op(x * x, (a,), backward, "square")


def test_a_correct_custom_op_passes():
    assert gradcheck(square, Tensor(rand((2, 3)), requires_grad=True)) is True


def test_a_wrong_custom_op_fails_naming_input_index_and_both_values():
    a = Tensor(rand((2, 3)), requires_grad=True)
    b = Tensor(rand((2, 3), seed=1), requires_grad=True)
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda p, q: p * square(q, wrong_at=(1, 2)), a, b)
    msg = str(info.value)
    assert "input 1" in msg and "index (1, 2)" in msg
    found = re.findall(r"(?:analytic gradient|numeric) ([-+.e0-9]+)", msg)
    analytic, numeric = map(float, found)
    q = b.data[1, 2]  # whatever the weights, the ratio is that of the two derivatives
    assert analytic / numeric == pytest.approx((2 * q + 1) / (2 * q), rel=1e-6)
    assert isinstance(info.value, AssertionError)  # pytest shows it as a failed check


def test_a_small_relative_error_is_caught_and_rtol_is_honoured():
    a = Tensor(rand((4,)), requires_grad=True)
    with pytest.raises(GradcheckError):
        gradcheck(lambda t: square(t, scale=1 + 1e-4), a)
    assert gradcheck(lambda t: square(t, scale=1 + 1e-4), a, rtol=1e-3)


def _counting(fn):
    calls = []

    def wrapped(*args):
        calls.append(1)
        return fn(*args)

    return wrapped, calls


def test_small_inputs_are_checked_element_by_element():
    fn, calls = _counting(lambda t: t.tanh())
    assert gradcheck(fn, Tensor(rand((3, 4)), requires_grad=True))
    assert len(calls) == 1 + 2 * 12  # one forward, then two probes per element


def test_large_inputs_are_checked_along_random_directions():
    a = Tensor(rand((30, 30)), requires_grad=True)
    fn, calls = _counting(lambda t: t.tanh())
    assert gradcheck(fn, a, directions=8)
    assert len(calls) == 1 + 2 * 8
    with pytest.raises(GradcheckError, match="input 0 .*random direction"):
        gradcheck(lambda t: square(t, wrong_at=(3, 7)), a)


def test_inputs_are_checked_in_float64_and_left_untouched():
    x = rand((2, 3)).astype(np.float32)
    a = Tensor(x, requires_grad=True)
    seen = []

    def fn(t):
        seen.append(t.dtype)
        return (t * t).sum(axis=1)

    assert gradcheck(fn, a, atol=1e-9, rtol=1e-7)  # float32 differences could not do this
    assert set(seen) == {np.dtype(np.float64)}
    assert a.dtype == np.float32 and a.grad is None
    np.testing.assert_array_equal(a.data, x)


def test_only_inputs_that_require_grad_are_checked():
    a = Tensor(rand((3,)), requires_grad=True)
    k = Tensor(rand((3,), seed=5))  # a constant: its wrong "gradient" does not matter
    assert gradcheck(lambda p, q, axis: (p * square(q, wrong_at=0)).sum(axis=axis), a, k, 0)


def test_scalar_input():
    assert gradcheck(lambda t: (t * 3.0).exp(), Tensor(0.2, requires_grad=True))


def test_params_of_a_module_are_checked_in_place_and_given_back():
    from microgradrnn import nn

    cell = nn.RNNCell(2, 3, rng=0).astype(np.float32)
    before = {name: (p, p.data.copy()) for name, p in cell.named_parameters()}
    cell.weight_hh.grad = np.full((3, 3), 7.0, dtype=np.float32)  # a user's grad, kept
    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal((4, 2)))
    h = Tensor(rng.standard_normal((4, 3)))
    assert gradcheck(lambda x, h: cell(x, h)[0], x, h, params=cell.parameters())
    for name, (p, data) in before.items():
        assert getattr(cell, name) is p and p.dtype == np.float32
        np.testing.assert_array_equal(p.data, data)
    np.testing.assert_array_equal(cell.weight_hh.grad, 7.0)
    assert cell.bias_ih.grad is None


def test_a_wrong_rule_is_found_through_a_parameter():
    from microgradrnn import from_op

    w = Tensor(np.array([1.0, 2.0]), requires_grad=True, label="w")

    def wrong_square(t):  # d(t^2)/dt is 2t; this rule says 3t
        return from_op(t._data ** 2, (t,), lambda g: (3 * t._data * g,), "square")

    with pytest.raises(GradcheckError, match=r"parameter 'w' \(shape \(2,\)\) at index "
                                             r"\(\d,\): analytic gradient"):
        gradcheck(lambda: wrong_square(w), params=[w])
    with pytest.raises(TypeError, match=r"params\[0\] is not a Tensor that requires grad"):
        gradcheck(lambda: wrong_square(w), params=[Tensor([1.0])])
