"""Module: discovery, labels, modes, state dicts, .npz save/load and pickle refusal."""

import pickle

import numpy as np
import pytest

from microgradrnn import nn


class Net(nn.Module):
    def __init__(self, rng=0):
        g = np.random.default_rng(rng)
        self.rnn = nn.LSTM(3, 4, rng=g)
        self.heads = [nn.Linear(4, 2, rng=g), nn.Linear(4, 1, bias=False, rng=g)]
        self.scale = nn.Parameter([1.0])

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.heads[0](out)


def test_named_parameters_are_dotted_and_ordered():
    names = [n for n, _ in Net().named_parameters()]
    assert names == [
        "scale", "rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0", "rnn.bias_hh_l0",
        "heads.0.weight", "heads.0.bias", "heads.1.weight",
    ]
    assert len(Net().parameters()) == 8


def test_shared_parameter_listed_once_and_labelled_by_attribute():
    a = nn.Linear(2, 2, rng=0)
    b = nn.Linear(2, 2, rng=1)
    b.weight = a.weight  # tied

    class Pair(nn.Module):
        def __init__(self):
            self.a, self.b = a, b

    assert len(Pair().parameters()) == 3
    assert a.weight.label == "weight" and a.bias.label == "bias"
    p = nn.Parameter([1.0], label="mine")
    a.extra = p
    assert p.label == "mine"


def test_train_eval_and_zero_grad():
    net = Net()
    net.eval()
    assert all(not m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    net(np.ones((2, 1, 3))).sum().backward()
    assert net.rnn.weight_hh_l0.grad is not None
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    with pytest.raises(TypeError, match="Net.train: mode must be True or False, got 'False'"):
        net.train("False")  # a str is truthy: it would have switched training on
    net.train(np.bool_(False))  # numpy's bools are bools
    assert all(m.training is False for m in net.modules())


def test_state_dict_round_trip_and_copies():
    a, b = Net(rng=0), Net(rng=1)
    sd = a.state_dict()
    assert all(isinstance(v, np.ndarray) for v in sd.values())
    b.load_state_dict(sd)
    x = np.ones((3, 2, 3))
    np.testing.assert_array_equal(a(x).data, b(x).data)
    sd["scale"][0] = 99.0  # a copy, not a view
    assert a.scale.data[0] == 1.0


def test_load_errors_list_everything_and_load_nothing():
    net = Net()
    before = net.state_dict()
    sd = {k: v + 1 for k, v in before.items()}
    del sd["scale"], sd["heads.1.weight"]
    sd["extra"] = np.zeros(1)
    with pytest.raises(KeyError) as e:
        net.load_state_dict(sd)
    msg = str(e.value)
    assert "missing keys ['scale', 'heads.1.weight']" in msg and "unexpected keys ['extra']" in msg
    sd = {k: v + 1 for k, v in before.items()}
    sd["rnn.bias_ih_l0"] = np.zeros(3)
    sd["heads.0.weight"] = np.zeros((4, 2))
    with pytest.raises(ValueError, match=r"rnn.bias_ih_l0: got \(3,\), expected \(16,\)"
                                         r".*heads.0.weight: got \(4, 2\), expected \(2, 4\)"):
        net.load_state_dict(sd)
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


def test_save_load_npz_exact_path(tmp_path):
    a, b = Net(rng=0), Net(rng=1)
    path = tmp_path / "model"
    a.save(path)
    assert path.exists() and not (tmp_path / "model.npz").exists()
    b.load(path)
    for (_, p), (_, q) in zip(a.named_parameters(), b.named_parameters(), strict=True):
        np.testing.assert_array_equal(p.data, q.data)
    Net(rng=5).save(path)  # an explicit save to the same path overwrites it
    b.load(str(path))
    np.testing.assert_array_equal(b.scale.data, Net(rng=5).scale.data)


def test_load_refuses_pickles(tmp_path):
    net = Net()
    before = net.state_dict()
    with_objects = tmp_path / "objects.npz"
    sd = dict(before)
    sd["scale"] = np.array([{"evil": 1}], dtype=object)
    np.savez(with_objects, **sd)
    with pytest.raises(ValueError, match="pickled Python objects"):
        net.load(with_objects)
    raw = tmp_path / "raw.pkl"
    raw.write_bytes(pickle.dumps(before))
    with pytest.raises(ValueError, match="pickled Python objects"):
        net.load(raw)
    single = tmp_path / "one.npy"
    np.save(single, np.zeros(3))
    with pytest.raises(ValueError, match="single .npy array"):
        net.load(single)
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


def test_torch_state_dict_loads_directly():
    torch = pytest.importorskip("torch")
    ref = torch.nn.GRU(3, 4, num_layers=2, bidirectional=True)
    ours = nn.GRU(3, 4, num_layers=2, bidirectional=True)
    ours.load_state_dict({k: v.numpy() for k, v in ref.state_dict().items()})
    back = {k: torch.from_numpy(v).float() for k, v in ours.state_dict().items()}
    ref.load_state_dict(back)  # and back again, strict


def test_astype_float32():
    lstm = nn.LSTM(2, 3, rng=0).astype(np.float32)
    out, _ = lstm(np.ones((2, 1, 2), dtype=np.float32))
    assert out.dtype == np.float32
