"""PyTorch as the reference: every op's output and gradients in float64, and micrograd's
own test expressions for ``Value``."""

import numpy as np
import pytest
from helpers import OPS, leaves

from microgradrnn import Value, functional

torch = pytest.importorskip("torch")

TOL = dict(rtol=1e-10, atol=1e-10)


def _torch_leaves(xs):
    return [torch.tensor(x.numpy(), dtype=torch.float64, requires_grad=True) for x in xs]


@pytest.mark.parametrize("case", OPS, ids=lambda c: c.name)
def test_op_matches_torch(case):
    xs = leaves(case.shapes, positive=case.positive)
    ts = _torch_leaves(xs)
    out, ref = case.fn(*xs), case.torch_fn()(*ts)
    np.testing.assert_allclose(out.data, ref.detach().numpy(), **TOL)
    seed = np.random.default_rng(1).standard_normal(out.shape)
    out.backward(seed)
    ref.backward(torch.tensor(seed))
    for x, t in zip(xs, ts, strict=True):
        np.testing.assert_allclose(x.grad, t.grad.numpy(), **TOL)


def _ce(targets, reduction):
    return (f"cross_entropy {reduction}",
            lambda z: functional.cross_entropy(z, targets, reduction=reduction),
            lambda z: torch.nn.functional.cross_entropy(z, torch.tensor(targets),
                                                        reduction=reduction))


LOSSES = [
    ("log_softmax", lambda z: functional.log_softmax(z, axis=1),
     lambda z: torch.log_softmax(z, dim=1)),
    ("softmax", lambda z: functional.softmax(z, axis=0), lambda z: torch.softmax(z, dim=0)),
    _ce([0, 2, 1, 2], "mean"),
    _ce([1, 1, 0, 2], "sum"),
    _ce([2, 0, 0, 1], "none"),
    ("mse_loss", lambda z: functional.mse_loss(z, np.ones((4, 3))),
     lambda z: torch.nn.functional.mse_loss(z, torch.ones(4, 3, dtype=torch.float64))),
]


@pytest.mark.parametrize("scale", [1.0, 1e4])
@pytest.mark.parametrize("name,fn,ref", LOSSES, ids=[c[0] for c in LOSSES])
def test_functional_matches_torch(name, fn, ref, scale):
    (z,) = leaves([(4, 3)])
    if scale != 1.0:
        z.data = np.sign(z.data) * scale  # logits of +-1e4: nothing overflows
    (t,) = _torch_leaves([z])
    out, expected = fn(z), ref(t)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-10, atol=1e-10)
    seed = np.random.default_rng(2).standard_normal(out.shape)
    out.backward(seed)
    expected.backward(torch.tensor(seed))
    assert np.all(np.isfinite(z.grad))
    np.testing.assert_allclose(z.grad, t.grad.numpy(), rtol=1e-10, atol=1e-10)


# -- micrograd's test_engine.py, with ``from microgradrnn import Value`` ------------------


def test_sanity_check():
    x = Value(-4.0)
    z = 2 * x + 2 + x
    q = z.relu() + z * x
    h = (z * z).relu()
    y = h + q + q * x
    y.backward()
    xmg, ymg = x, y

    x = torch.Tensor([-4.0]).double()
    x.requires_grad = True
    z = 2 * x + 2 + x
    q = z.relu() + z * x
    h = (z * z).relu()
    y = h + q + q * x
    y.backward()
    xpt, ypt = x, y

    # forward pass went well
    assert ymg.data == ypt.data.item()
    # backward pass went well
    assert xmg.grad == xpt.grad.item()


def test_more_ops():
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
    amg, bmg, gmg = a, b, g

    a = torch.Tensor([-4.0]).double()
    b = torch.Tensor([2.0]).double()
    a.requires_grad = True
    b.requires_grad = True
    c = a + b
    d = a * b + b**3
    c = c + c + 1
    c = c + 1 + c + (-a)
    d = d + d * 2 + (b + a).relu()
    d = d + 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g = g + 10.0 / f
    g.backward()
    apt, bpt, gpt = a, b, g

    tol = 1e-12
    # forward pass went well
    assert abs(gmg.data - gpt.data.item()) < tol
    # backward pass went well
    assert abs(amg.grad - apt.grad.item()) < tol
    assert abs(bmg.grad - bpt.grad.item()) < tol


def test_value_unary_ops_and_value_exponent_match_torch():
    a, b = Value(0.7), Value(1.3)
    out = (a.tanh() + a.exp() * b.sigmoid() + (a * b).log() + a ** b + (2 - a) / b).relu()
    out.backward()
    ta = torch.tensor(0.7, dtype=torch.float64, requires_grad=True)
    tb = torch.tensor(1.3, dtype=torch.float64, requires_grad=True)
    ref = (ta.tanh() + ta.exp() * tb.sigmoid() + (ta * tb).log() + ta ** tb
           + (2 - ta) / tb).relu()
    ref.backward()
    assert abs(out.data - ref.item()) < 1e-12
    assert abs(a.grad - ta.grad.item()) < 1e-12
    assert abs(b.grad - tb.grad.item()) < 1e-12
