"""The additive shares of the roads into a node sum to the node's gradient norm."""

import numpy as np
import pytest

from microgradrnn import Tensor, gradient_flow, nn, toposort
from microgradrnn import functional as F
from microgradrnn.viz import additive_shares, flow_shares


def test_shares_of_two_parts_sum_to_the_norm_of_their_sum():
    a, b = np.array([3.0, 0.0]), np.array([0.0, 4.0])
    s = additive_shares([a, b])
    assert s == pytest.approx([9 / 5, 16 / 5])
    assert sum(s) == pytest.approx(5.0)


def test_a_road_against_the_total_has_a_negative_share():
    s = additive_shares([np.array([2.0]), np.array([-0.5])])
    assert s == pytest.approx([2.0, -0.5])


def test_no_gradient_gives_zero_shares():
    assert additive_shares([np.zeros(3), np.zeros(3)]) == [0.0, 0.0]


@pytest.mark.parametrize("layer", [nn.RNN, nn.LSTM, nn.GRU])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_shares_into_every_node_of_a_stacked_net_sum_to_its_norm(layer, seed):
    rng = np.random.default_rng(seed)
    net = layer(3, 4, num_layers=2, rng=seed)
    head = nn.Linear(4, 1, rng=seed + 10)
    out, _ = net(rng.normal(size=(5, 2, 3)))
    loss, _ = F.per_step_loss(out, head, rng.normal(size=(5, 2, 1)), F.mse_loss)
    flow = gradient_flow(loss)
    checked = 0
    for node in toposort(loss):
        shares = flow_shares(flow, node)
        if len(shares) < 2:
            continue
        g = np.asarray(flow.grad(node), dtype=np.float64)
        assert sum(s for _, _, s in shares) == pytest.approx(np.linalg.norm(g), abs=1e-9)
        checked += 1
    assert checked > 20  # h_t, c_t and every reused intermediate


def test_a_custom_graph_node_with_three_consumers_and_four_edges():
    x = Tensor([1.0, -2.0], requires_grad=True)
    y = (x * 3.0).sum() + (x.tanh()).sum() + (x * x).sum()
    flow = gradient_flow(y)
    shares = flow_shares(flow, x)
    assert len(shares) == 4  # x * x uses x twice: two edges
    assert sum(s for _, _, s in shares) == pytest.approx(np.linalg.norm(flow.grad(x)))
