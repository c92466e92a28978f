"""softmax, log_softmax, cross_entropy, mse_loss: values, gradients and stability;
per_step_loss: the tags the renderer reads, and the loss values."""

import numpy as np
import pytest
from helpers import leaves, rand

from microgradrnn import Tensor, gradcheck, linear, tags, toposort
from microgradrnn.functional import (
    cross_entropy,
    log_softmax,
    mse_loss,
    per_step_loss,
    softmax,
)

TARGETS = np.array([[0, 2, 1], [3, 3, 0]])  # (B, T) for logits (B, T, C=4)


@pytest.mark.parametrize("fn", [
    lambda z: log_softmax(z),
    lambda z: log_softmax(z, axis=0),
    lambda z: softmax(z, axis=1),
    lambda z: softmax(z),
    lambda z: cross_entropy(z, TARGETS),
    lambda z: cross_entropy(z, TARGETS, reduction="sum"),
    lambda z: cross_entropy(z, TARGETS, reduction="none"),
    lambda z: mse_loss(z, np.ones((2, 3, 4))),
    lambda z: mse_loss(z, np.zeros((2, 3, 4)), reduction="none"),
], ids=["log_softmax", "log_softmax axis 0", "softmax axis 1", "softmax", "ce mean",
        "ce sum", "ce none", "mse", "mse none"])
def test_gradients(fn):
    assert gradcheck(fn, *leaves([(2, 3, 4)]))


def test_mse_loss_with_a_target_that_requires_grad():
    assert gradcheck(lambda p, t: mse_loss(p, t, reduction="sum"), *leaves([(3, 2), (3, 2)]))


def test_values():
    z = rand((2, 3, 4))
    logp = z - np.log(np.exp(z).sum(-1, keepdims=True))
    np.testing.assert_allclose(log_softmax(Tensor(z)).data, logp, rtol=1e-12)
    np.testing.assert_allclose(softmax(Tensor(z)).data, np.exp(logp), rtol=1e-12)
    picked = np.take_along_axis(logp, TARGETS[..., None], -1)[..., 0]
    none = cross_entropy(Tensor(z), TARGETS, reduction="none")
    assert none.shape == (2, 3)
    np.testing.assert_allclose(none.data, -picked, rtol=1e-12)
    np.testing.assert_allclose(cross_entropy(Tensor(z), TARGETS, "sum").data, -picked.sum())
    np.testing.assert_allclose(cross_entropy(Tensor(z), TARGETS).data, -picked.mean())
    # integer-valued float targets are accepted as indices
    np.testing.assert_allclose(cross_entropy(Tensor(z), TARGETS.astype(float)).data,
                               -picked.mean())
    np.testing.assert_allclose(mse_loss(Tensor(z), np.ones_like(z)).data,
                               ((z - 1) ** 2).mean())
    np.testing.assert_allclose(mse_loss(Tensor(z), np.ones_like(z), "sum").data,
                               ((z - 1) ** 2).sum())


@pytest.mark.parametrize("big", [1e4, -1e4, 1e16, 1e300])
def test_stable_for_huge_logits(big):
    z = Tensor([[big, 0.0, -big], [0.0, big, big]], requires_grad=True)
    logp = log_softmax(z)
    expected = np.array([[0.0, -big, -2 * big], [-big - np.log(2), -np.log(2), -np.log(2)]])
    if big < 0:
        expected[0] = [-2 * abs(big), -abs(big), 0.0]
        expected[1] = [0.0, -abs(big), -abs(big)]
    np.testing.assert_allclose(logp.data, expected, rtol=1e-12)
    s = softmax(z)
    assert np.all(np.isfinite(s.data))
    np.testing.assert_allclose(s.data.sum(axis=-1), [1.0, 1.0])
    loss = cross_entropy(z, [0, 2])
    assert np.isfinite(loss.data)
    loss.backward()
    assert np.all(np.isfinite(z.grad))
    # d loss / d logits = (softmax - onehot) / batch
    onehot = np.array([[1.0, 0, 0], [0, 0, 1]])
    np.testing.assert_allclose(z.grad, (s.data - onehot) / 2, atol=1e-12)


def test_float32_stays_float32():
    z = Tensor(rand((3, 4)).astype(np.float32), requires_grad=True)
    for loss in (cross_entropy(z, [0, 1, 3]), log_softmax(z).sum(), softmax(z).max(),
                 mse_loss(z, np.zeros((3, 4), np.float32))):
        z.zero_grad()
        assert loss.dtype == np.float32
        loss.backward()
        assert z.grad.dtype == np.float32


def _head_and_data(T=3, B=2, H=4, seed=0):
    out_np, targets = rand((T, B, H), seed), rand((T, B, 1), seed + 1)
    W, b = Tensor(rand((1, H), seed + 2), requires_grad=True), Tensor(rand((1,), seed + 3),
                                                                     requires_grad=True)
    return Tensor(out_np, requires_grad=True), targets, W, b


def test_per_step_loss_values_and_gradients():
    out, targets, W, b = _head_and_data()
    L, losses = per_step_loss(out, lambda h: linear(h, W, b), targets, mse_loss)
    y = out.data @ W.data.T + b.data  # (T, B, 1)
    expected = ((y - targets) ** 2).mean(axis=(1, 2))
    assert len(losses) == 3
    np.testing.assert_allclose([L_t.item() for L_t in losses], expected, rtol=1e-12)
    np.testing.assert_allclose(L.item(), expected.sum(), rtol=1e-12)
    L.backward()
    n = y.shape[1] * y.shape[2]
    np.testing.assert_allclose(out.grad, 2 * (y - targets) / n * W.data, rtol=1e-12)


def test_per_step_loss_tags_what_the_renderer_reads():
    out, targets, W, b = _head_and_data()
    with tags(layer=1):  # an outer scope is kept; per_step_loss adds t and role
        L, losses = per_step_loss(out, lambda h: linear(h, W, b), targets, mse_loss)
    assert L.label == "L" and L.tags == {"layer": 1}  # the root: no role, no step
    made = [n for n in toposort(L) if n not in (out, W, b)]
    sums = [L, L.parents[0]]  # (L_1 + L_2) + L_3
    assert sums[1].op == "add" and sums[1].parents[1] is losses[1]
    for t, L_t in enumerate(losses, start=1):
        assert L_t.tags == {"layer": 1, "t": t, "role": "loss"}
        y_t = L_t.parents[0].parents[0].parents[0]  # mean(diff * diff), diff = y_t - target
        assert y_t.op == "linear" and y_t.tags == {"layer": 1, "t": t, "role": "y"}
        assert y_t.parents[0].tags == {"layer": 1, "t": t, "role": "y"}  # output[t - 1]
    for node in made:
        if node in sums:
            assert "role" not in node.tags and "t" not in node.tags
        else:
            assert node.tags["role"] in ("y", "loss") and node.tags["t"] in (1, 2, 3)


@pytest.mark.parametrize("T_targets", [2, 4])
def test_per_step_loss_wants_one_target_per_step(T_targets):
    out, _, W, b = _head_and_data()
    with pytest.raises(ValueError, match="output has 3 steps and targets " + str(T_targets)):
        per_step_loss(out, lambda h: linear(h, W, b), np.zeros((T_targets, 2, 1)), mse_loss)
