"""Optimizers against PyTorch (when importable) and hand computations; gradient clipping."""

import math

import numpy as np
import pytest

from microgradrnn import Tensor, nn, optim


def _params(seed=0):
    rng = np.random.default_rng(seed)
    return [nn.Parameter(rng.standard_normal((3, 2))), nn.Parameter(rng.standard_normal(4))]


def _set_grads(params, seed):
    rng = np.random.default_rng(seed)
    for p in params:
        p.grad = rng.standard_normal(p.shape)


CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("SGD", dict(lr=0.1, momentum=0.8, dampening=0.3, weight_decay=0.1)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.9), eps=1e-6, weight_decay=0.1)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.1, initial_accumulator_value=0.5)),
]


@pytest.mark.parametrize("name,kw", CASES)
def test_steps_match_torch(name, kw):
    torch = pytest.importorskip("torch")
    ours = _params()
    ref = [torch.tensor(p.numpy(), requires_grad=True) for p in ours]
    opt = getattr(optim, name)(ours, **kw)
    ropt = getattr(torch.optim, name)(ref, **kw)
    for step in range(3):
        _set_grads(ours, step)
        for r, p in zip(ref, ours, strict=True):
            r.grad = torch.tensor(p.grad)
        opt.step()
        ropt.step()
        for r, p in zip(ref, ours, strict=True):
            np.testing.assert_allclose(p.data, r.detach().numpy(), rtol=0, atol=1e-12)


def test_one_step_by_hand():
    p = nn.Parameter([1.0, -2.0])
    p.grad = np.array([0.5, 0.25])
    optim.SGD([p], lr=0.1, momentum=0.9).step()
    np.testing.assert_allclose(p.data, [1.0 - 0.05, -2.0 - 0.025])
    q = nn.Parameter([1.0, -2.0])
    q.grad = np.array([0.5, 0.25])
    optim.Adam([q], lr=0.1).step()  # first Adam step moves by lr * sign(g)
    np.testing.assert_allclose(q.data, [0.9, -2.1], atol=1e-6)
    r = nn.Parameter([1.0])
    r.grad = np.array([2.0])
    optim.Adagrad([r], lr=0.1).step()  # g / sqrt(g^2) = 1
    np.testing.assert_allclose(r.data, [0.9])


def test_step_builds_no_graph_skips_missing_grads_and_zero_grad():
    a, b = _params()
    a.grad = np.ones(a.shape)
    before_b = b.numpy()
    opt = optim.SGD([a, b], lr=1.0)
    opt.step()
    assert a.is_leaf and a.requires_grad and isinstance(a, nn.Parameter)
    np.testing.assert_array_equal(b.data, before_b)
    opt.zero_grad()
    assert a.grad is None


def test_step_does_not_touch_shared_readonly_grad():
    w = nn.Parameter([1.0, 2.0])
    (w * w).sum().backward()
    g = w.grad
    assert not g.flags.writeable
    optim.SGD([w], lr=0.1, weight_decay=0.5).step()
    np.testing.assert_array_equal(w.grad, [2.0, 4.0])


def test_clip_grad_norm_returns_total_norm_and_scales():
    a, b = _params()
    a.grad = np.full(a.shape, 1.0)  # 6 ones
    b.grad = np.full(b.shape, 2.0)  # 4 twos: squared sum 6 + 16 = 22
    total = optim.clip_grad_norm_([a, b], max_norm=1.0)
    assert total == pytest.approx(math.sqrt(22))
    new = math.sqrt(np.sum(a.grad ** 2) + np.sum(b.grad ** 2))
    assert new == pytest.approx(1.0, abs=1e-6)
    # below the limit: unchanged, still returns the norm
    assert optim.clip_grad_norm_([a, b], max_norm=10.0) == pytest.approx(new)
    biggest = np.max(np.abs(b.grad))
    assert optim.clip_grad_norm_([a, b], 0.1, norm_type=math.inf) == pytest.approx(biggest)
    assert np.max(np.abs(b.grad)) == pytest.approx(0.1, abs=1e-6)


def test_clip_grad_norm_matches_torch():
    torch = pytest.importorskip("torch")
    ours = _params()
    _set_grads(ours, 5)
    ref = [torch.tensor(p.numpy(), requires_grad=True) for p in ours]
    for r, p in zip(ref, ours, strict=True):
        r.grad = torch.tensor(p.grad)
    total = optim.clip_grad_norm_(ours, 0.5)
    rtotal = torch.nn.utils.clip_grad_norm_(ref, 0.5)
    assert total == pytest.approx(float(rtotal), rel=1e-12)
    for r, p in zip(ref, ours, strict=True):
        np.testing.assert_allclose(p.grad, r.grad.numpy(), rtol=1e-12)


def test_clip_grad_value_on_engine_grads():
    w = nn.Parameter([1.0, -3.0, 0.1])
    (w * w).sum().backward()  # grad 2w, read-only
    optim.clip_grad_value_([w], 1.0)
    np.testing.assert_array_equal(w.grad, [1.0, -1.0, 0.2])


def test_training_reduces_loss():
    rng = np.random.default_rng(0)
    model = nn.Linear(3, 1, rng=0)
    x = Tensor(rng.standard_normal((32, 3)))
    y = x.data @ np.array([[1.0], [-2.0], [0.5]])
    opt = optim.Adam(model.parameters(), lr=0.05)
    losses = []
    for _ in range(100):
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.01 * losses[0]


def test_bad_arguments():
    with pytest.raises(ValueError, match="empty"):
        optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="nesterov"):
        optim.SGD(_params(), lr=0.1, nesterov=True)
    with pytest.raises(TypeError, match="requires grad"):
        optim.SGD([Tensor([1.0])], lr=0.1)
