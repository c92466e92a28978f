"""PyTorch parity of the cells and sequence layers, in float64 to 1e-10.

Weights are copied from the torch module through its state_dict; outputs, final states,
the input's gradient, the initial state's gradient and every parameter's gradient must
match.
"""

import numpy as np
import pytest

from microgradrnn import Tensor, nn

torch = pytest.importorskip("torch")

TOL = 1e-10
T, B, IN, H = 4, 3, 5, 4


def _torch_layer(kind, **kw):
    if kind == "rnn_tanh":
        return torch.nn.RNN(IN, H, nonlinearity="tanh", **kw)
    if kind == "rnn_relu":
        return torch.nn.RNN(IN, H, nonlinearity="relu", **kw)
    return {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[kind](IN, H, **kw)


def _ours(kind, **kw):
    if kind.startswith("rnn"):
        return nn.RNN(IN, H, nonlinearity=kind[4:], **kw)
    return {"lstm": nn.LSTM, "gru": nn.GRU}[kind](IN, H, **kw)


def _close(a, b, what):
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape, f"{what}: shape {a.shape} vs {b.shape}"
    np.testing.assert_allclose(a, b, rtol=0, atol=TOL, err_msg=what)


@pytest.mark.parametrize("kind", ["rnn_tanh", "rnn_relu", "lstm", "gru"])
@pytest.mark.parametrize(
    "num_layers,bidirectional,batch_first,with_state",
    [(1, False, False, False), (1, True, True, True), (2, False, True, True),
     (2, True, False, False), (3, True, False, True), (3, False, False, False)],
)
def test_layer_matches_torch(kind, num_layers, bidirectional, batch_first, with_state):
    torch.manual_seed(0)
    kw = dict(num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first)
    ref = _torch_layer(kind, **kw).double()
    ours = _ours(kind, **kw, rng=1)
    ours.load_state_dict({k: v.detach().numpy() for k, v in ref.state_dict().items()})

    rng = np.random.default_rng(2)
    x = rng.standard_normal((B, T, IN) if batch_first else (T, B, IN))
    D = 2 if bidirectional else 1
    n_state = 2 if kind == "lstm" else 1
    states = [rng.standard_normal((num_layers * D, B, H)) for _ in range(n_state)]

    xt = torch.tensor(x, requires_grad=True)
    st = [torch.tensor(s, requires_grad=True) for s in states]
    xo = Tensor(x, requires_grad=True)
    so = [Tensor(s, requires_grad=True) for s in states]
    if with_state:
        out_t, fin_t = ref(xt, tuple(st) if kind == "lstm" else st[0])
        out_o, fin_o = ours(xo, tuple(so) if kind == "lstm" else so[0])
    else:
        out_t, fin_t = ref(xt)
        out_o, fin_o = ours(xo)
    fin_t = fin_t if kind == "lstm" else (fin_t,)
    fin_o = fin_o if kind == "lstm" else (fin_o,)

    _close(out_o.data, out_t.detach().numpy(), "output")
    for a, b in zip(fin_o, fin_t, strict=True):
        _close(a.data, b.detach().numpy(), "final state")

    # one scalar objective touching the output and every final state
    r_out = rng.standard_normal(out_o.shape)
    r_fin = [rng.standard_normal(f.shape) for f in fin_o]
    loss_t = (out_t * torch.tensor(r_out)).sum() + sum(
        (f * torch.tensor(r)).sum() for f, r in zip(fin_t, r_fin, strict=True))
    loss_o = (out_o * r_out).sum()
    for f, r in zip(fin_o, r_fin, strict=True):
        loss_o = loss_o + (f * r).sum()
    loss_t.backward()
    loss_o.backward()

    _close(xo.grad, xt.grad.numpy(), "input grad")
    if with_state:
        for a, b in zip(so, st, strict=True):
            _close(a.grad, b.grad.numpy(), "initial state grad")
    ref_params = dict(ref.named_parameters())
    ours_params = dict(ours.named_parameters())
    assert list(ours_params) == list(ref_params)
    for name, p in ours_params.items():
        _close(p.grad, ref_params[name].grad.numpy(), f"grad of {name}")


@pytest.mark.parametrize("kind", ["rnn_tanh", "rnn_relu", "lstm", "gru"])
def test_cell_matches_torch(kind):
    torch.manual_seed(0)
    if kind.startswith("rnn"):
        ref = torch.nn.RNNCell(IN, H, nonlinearity=kind[4:]).double()
        ours = nn.RNNCell(IN, H, nonlinearity=kind[4:], rng=0)
    else:
        ref = {"lstm": torch.nn.LSTMCell, "gru": torch.nn.GRUCell}[kind](IN, H).double()
        ours = {"lstm": nn.LSTMCell, "gru": nn.GRUCell}[kind](IN, H, rng=0)
    ours.load_state_dict({k: v.detach().numpy() for k, v in ref.state_dict().items()})
    rng = np.random.default_rng(3)
    x = rng.standard_normal((B, IN))
    hs = [rng.standard_normal((B, H)) for _ in range(2 if kind == "lstm" else 1)]
    xt = torch.tensor(x, requires_grad=True)
    xo = Tensor(x, requires_grad=True)
    if kind == "lstm":
        h_t, c_t = ref(xt, tuple(torch.tensor(h) for h in hs))
        h_o, (_, c_o) = ours(xo, tuple(Tensor(h) for h in hs))
        _close(c_o.data, c_t.detach().numpy(), "c")
        r = rng.standard_normal((B, H))
        (h_t.sum() + (c_t * torch.tensor(r)).sum()).backward()
        (h_o.sum() + (c_o * r).sum()).backward()
    else:
        h_t = ref(xt, torch.tensor(hs[0]))
        h_o, _ = ours(xo, Tensor(hs[0]))
        h_t.sum().backward()
        h_o.sum().backward()
    _close(h_o.data, h_t.detach().numpy(), "h")
    _close(xo.grad, xt.grad.numpy(), "input grad")
    for name, p in ref.named_parameters():
        _close(dict(ours.named_parameters())[name].grad, p.grad.numpy(), name)


def test_default_init_matches_torch_distribution_bounds():
    ours = nn.LSTM(IN, H, num_layers=2, rng=0)
    bound = 1 / np.sqrt(H)
    for name, p in ours.named_parameters():
        assert np.all(np.abs(p.data) <= bound), name
    ref = torch.nn.LSTM(IN, H, num_layers=2)
    assert {k: tuple(v.shape) for k, v in ref.state_dict().items()} == {
        k: v.shape for k, v in ours.state_dict().items()}
