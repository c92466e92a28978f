"""Value, the micrograd face of the engine: micrograd's README example and nn.py MLP run
with only the import line changed, and agree with micrograd itself."""

import math
import random
import sys
from pathlib import Path

import numpy as np
import pytest

from microgradrnn import Tensor, Value, tags
from microgradrnn.engine import toposort


def readme_example(Value):
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
    g.backward()
    return g, a, b


def test_micrograd_readme_example():
    g, a, b = readme_example(Value)
    assert f"{g.data:.4f}" == "24.7041"
    assert f"{a.grad:.4f}" == "138.8338"
    assert f"{b.grad:.4f}" == "645.5773"


def test_readme_example_matches_micrograd():
    micrograd_engine = pytest.importorskip("micrograd.engine")
    ours, theirs = readme_example(Value), readme_example(micrograd_engine.Value)
    assert ours[0].data == pytest.approx(theirs[0].data, rel=1e-12)
    for x, y in zip(ours[1:], theirs[1:], strict=True):
        assert x.grad == pytest.approx(y.grad, rel=1e-12)


def test_value_data_and_grad_are_floats():
    x = Value(3.0)
    y = x * x
    y.backward()
    assert type(x.data) is float and type(x.grad) is float and type(y.data) is float
    assert x.grad == 6.0 and float(y.data) == 9.0 and y.data > x.data
    assert float(y) == 9.0 and f"{y.data:.2f}" == "9.00" and y.data / 2 == 4.5
    assert y > x and x < 4 and x <= 3.0 and not x >= 4
    assert isinstance(y, Value) and isinstance(y, Tensor)  # one engine, two faces
    assert repr(x) == "Value(data=3.0, grad=6.0)"


def test_grad_is_zero_before_backward_and_settable():
    v = Value(1.0)
    assert v.grad == 0.0
    v.grad = 0  # micrograd's zero_grad writes an int
    (v * 5).backward()
    assert v.grad == 5.0
    v.data -= 0.5  # an optimiser step
    assert v.data == 0.5 and type(v.data) is float


@pytest.mark.parametrize("expr,value,grad", [
    (lambda x: x + 1, 4.0, 1.0),
    (lambda x: 1 + x, 4.0, 1.0),
    (lambda x: x - 1, 2.0, 1.0),
    (lambda x: 2 - x, -1.0, -1.0),
    (lambda x: x * 2, 6.0, 2.0),
    (lambda x: 2 * x, 6.0, 2.0),
    (lambda x: x / 2, 1.5, 0.5),
    (lambda x: 1 / x, 1 / 3, -1 / 9),
    (lambda x: x ** 2, 9.0, 6.0),
    (lambda x: x ** -1, 1 / 3, -1 / 9),
    (lambda x: 2 ** x, 8.0, 8.0 * math.log(2)),
    (lambda x: x ** Value(2.0), 9.0, 6.0),
    (lambda x: Value(2.0) ** x, 8.0, 8.0 * math.log(2)),
    (lambda x: x ** x, 27.0, 27.0 * (math.log(3) + 1)),
    (lambda x: -x, -3.0, -1.0),
    (lambda x: x.relu(), 3.0, 1.0),
    (lambda x: (-x).relu(), 0.0, 0.0),
    (lambda x: x.tanh(), math.tanh(3), 1 - math.tanh(3) ** 2),
    (lambda x: x.exp(), math.exp(3), math.exp(3)),
    (lambda x: x.log(), math.log(3), 1 / 3),
    (lambda x: x.sigmoid(), 1 / (1 + math.exp(-3)), math.exp(-3) / (1 + math.exp(-3)) ** 2),
], ids=["add", "radd", "sub", "rsub", "mul", "rmul", "div", "rdiv", "pow", "pow -1", "rpow",
        "pow Value", "Value rpow", "x**x", "neg", "relu", "relu 0", "tanh", "exp", "log",
        "sigmoid"])
def test_value_ops(expr, value, grad):
    x = Value(3.0)
    y = expr(x)
    y.backward()
    assert isinstance(y, Value) and type(y.data) is float
    assert y.data == pytest.approx(value, rel=1e-14)
    assert x.grad == pytest.approx(grad, rel=1e-14)


def test_inplace_rebinding_keeps_both_edges():
    c = Value(2.0)
    c0 = c
    c += c + 1  # c = c0 + (c0 + 1)
    c.backward()
    assert c.data == 5.0 and c0.grad == 2.0


def test_value_inside_a_tensor_expression_gets_a_float_grad():
    v, t = Value(2.0), Tensor([1.0, 2.0, 3.0], requires_grad=True)
    (t * v).sum().backward()
    assert type(v.grad) is float and v.grad == 6.0
    np.testing.assert_array_equal(t.grad, [2.0, 2.0, 2.0])


def test_values_carry_tags_and_flow():
    a = Value(1.5)
    with tags(t=1):
        b = a * a
    c = b + a
    c.backward(record_flow=True)
    assert b.tags == {"t": 1} and c.tags == {}
    assert b.flow == (1.5, 1.5) and c.flow == (1.0, 1.0)
    assert toposort(c) == [a, b, c]
    assert a.grad == 4.0


# -- micrograd's nn.py with our Value (one copy, shared with the S1 benchmark) ------------

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from workloads import mlp_classes  # noqa: E402

MLP = mlp_classes(Value)


def _train(model, steps=5):
    xs = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
    ys = [1.0, -1.0, -1.0, 1.0]
    losses = []
    for _ in range(steps):
        ypred = [model(x) for x in xs]
        loss = sum((yout - ygt) ** 2 for ygt, yout in zip(ys, ypred))  # noqa: B905
        model.zero_grad()
        loss.backward()
        for p in model.parameters():
            p.data += -0.05 * p.grad
        losses.append(loss.data)
    return losses


def test_mlp_trains_like_micrograd():
    micrograd_nn = pytest.importorskip("micrograd.nn")
    random.seed(1234)
    ours = MLP(3, [4, 4, 1])
    random.seed(1234)
    theirs = micrograd_nn.MLP(3, [4, 4, 1])
    assert [p.data for p in ours.parameters()] == [p.data for p in theirs.parameters()]
    ours_losses, their_losses = _train(ours), _train(theirs)
    assert ours_losses == pytest.approx(their_losses, rel=1e-12)
    assert ours_losses[-1] < ours_losses[0]  # it learns
    for p, q in zip(ours.parameters(), theirs.parameters(), strict=True):
        assert p.data == pytest.approx(q.data, rel=1e-12, abs=1e-15)
        assert p.grad == pytest.approx(q.grad, rel=1e-12, abs=1e-15)


def test_value_rejects_non_numbers():
    with pytest.raises(TypeError, match="Value: expected a real number"):
        Value("3")


def test_truth_value_follows_the_number():
    from microgradrnn import Tensor

    assert not Value(0.0) and Value(-2.0)
    assert Tensor([3.0]) and not Tensor(0.0)
    with pytest.raises(ValueError, match="bool: a tensor of shape \\(2,\\) is ambiguous"):
        bool(Tensor([1.0, 2.0]))
