"""micrograd's README example and test expressions, with only the import line changed."""

import pytest

from microgradrnn import Value


def test_micrograd_readme_example():
    a = Value(-4.0)
    b = Value(2.0)
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    assert f"{g.data:.4f}" == "24.7041"
    g.backward()
    assert f"{a.grad:.4f}" == "138.8338"
    assert f"{b.grad:.4f}" == "645.5773"


def test_value_data_and_grad_are_floats():
    x = Value(3.0)
    y = x * x
    y.backward()
    assert type(x.data) is float and type(x.grad) is float
    assert x.grad == 6.0 and float(y.data) == 9.0 and y.data > x.data
    assert isinstance(y, Value)


def test_value_rejects_non_numbers():
    with pytest.raises(TypeError, match="Value: expected a real number"):
        Value("3")
