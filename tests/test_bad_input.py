"""Bad input, found by trying as a careless user would: each case gets a clear error that
names the op, the argument or the file (or the behaviour PyTorch users expect), and
nothing is left half done. Grouped by where the input enters the library."""

import os
import re
import subprocess
import sys
import sysconfig
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

import microgradrnn as mg
from microgradrnn import Tensor, nn, optim
from microgradrnn.app import cli, demo, outfiles, render

# -- the engine: tensors, backward, in-place writes ------------------------------------
# (every op's shape and dtype error is in tests/test_engine_errors.py's table)

_READ_ONLY = "Tensor.data is read-only: a graph may hold this array"


def test_writing_into_data_a_graph_holds_is_refused_and_the_gradient_stays_right():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    with pytest.raises(ValueError, match=_READ_ONLY):
        x.data[:] = [10, 20]  # used to give dy/dx = [20, 40]
    x.data = [10.0, 20.0]  # a new array; the graph keeps the one x * x saw
    y.backward()
    np.testing.assert_array_equal(x.grad, [2.0, 4.0])
    np.testing.assert_array_equal(x.data, [10.0, 20.0])


def test_writing_into_an_ops_output_before_backward_is_refused():
    x = Tensor([0.5, -1.0], requires_grad=True)
    h = x.tanh()
    with pytest.raises(ValueError, match=_READ_ONLY):
        h.data[:] = 0  # used to give dh/dx = 1 - 0^2 = [1, 1]
    with pytest.raises(ValueError, match=_READ_ONLY + r".*tanh\(\.\.\., out=\)"):
        np.tanh(x.data, out=h.data)
    with pytest.raises(ValueError, match=_READ_ONLY + r".*x.data\[i\] \+= "):
        Tensor(np.ones((2, 2))).data[0] += 1
    h.sum().backward()
    np.testing.assert_allclose(x.grad, 1 - np.tanh([0.5, -1.0]) ** 2, rtol=1e-15)


def test_optimizer_style_updates_of_data_replace_the_array():
    p = Tensor([1.0, 2.0], requires_grad=True)
    loss = (p * p).sum()
    loss.backward(retain_graph=True)
    p.data -= 0.5 * p.grad  # micrograd's and PyTorch's `p.data -= lr * p.grad`
    np.testing.assert_array_equal(p.data, [0.0, 0.0])
    d = p.data
    d += 3.0  # through a name, as numpy users write it: p changes too
    np.testing.assert_array_equal(p.data, [3.0, 3.0])
    p.zero_grad()
    loss.backward()  # the retained graph computes with the values it saw: 2 * [1, 2]
    np.testing.assert_array_equal(p.grad, [2.0, 4.0])
    with pytest.raises(ValueError, match=r"data: new value of shape \(3, 2\)"):
        p.data += np.ones((3, 2))  # broadcasts, but to another shape
    np.testing.assert_array_equal(p.data, [3.0, 3.0])  # nothing half done


def test_reading_data_gives_plain_numpy_results():
    x = Tensor(np.arange(6.0).reshape(2, 3))
    assert type(x.data * 2) is np.ndarray and type(x.data.sum(axis=0)) is np.ndarray
    copy = x.data.copy()
    copy[0, 0] = 7.0  # a copy is the user's own
    assert copy[0, 0] == 7.0 and x.data[0, 0] == 0.0


def test_numpy_conversion_gives_the_values_not_an_object_array_of_nodes():
    # np.asarray(t) used to iterate over t: an object array of getitem nodes
    x = Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    a = np.asarray(x)
    assert a.dtype == np.float64 and a.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    a[0, 0] = 7.0  # a copy: the tensor keeps its values
    assert x.data[0, 0] == 1.0 and np.array(x, dtype=np.float32).dtype == np.float32
    assert float(np.asarray(mg.Value(2.5))) == 2.5
    with pytest.raises(ValueError, match=r"np.asarray\(t, copy=False\) cannot share"):
        np.asarray(x, copy=False)


def test_setting_data_to_none_is_refused_not_nan():
    x = Tensor(2.0)
    with pytest.raises(TypeError, match="Tensor: expected numbers or an array, got a NoneType"):
        x.data = None
    assert x.data == 2.0


def test_nan_under_detect_anomaly_names_the_op_and_shapes():
    x = Tensor([-1.0, 4.0], requires_grad=True)
    with pytest.raises(FloatingPointError, match=r"forward of op 'log' .*\(2,\)"):
        with mg.detect_anomaly(), np.errstate(invalid="ignore"):
            x.log()


# -- layers, cells, modules and optimizers ---------------------------------------------

_LAYERS = ["RNN", "LSTM", "GRU"]


@pytest.mark.parametrize("kind", _LAYERS)
@pytest.mark.parametrize("fused", [False, True])
def test_a_batch_of_zero_gives_an_empty_output_on_both_paths(kind, fused):
    # PyTorch returns empty tensors; the fused path used to fail in a reshape
    layer = getattr(nn, kind)(3, 4, num_layers=2, bidirectional=True, rng=0, fused=fused)
    out, final = layer(np.ones((5, 0, 3)))
    assert out.shape == (5, 0, 8)
    for f in final if isinstance(final, tuple) else (final,):
        assert f.shape == (4, 0, 4)


@pytest.mark.parametrize("kind", ["RNNCell", "LSTMCell", "GRUCell"])
@pytest.mark.parametrize("fused", [False, True])
def test_a_cell_without_a_state_starts_from_zeros(kind, fused):
    cell = getattr(nn, kind)(3, 4, rng=0, fused=fused)
    x = np.random.default_rng(0).standard_normal((2, 3))
    h, state = cell(Tensor(x), cell.init_state(2))
    for got in (cell(x), cell(x, None)):
        np.testing.assert_array_equal(got[0].data, h.data)
        assert type(got[1]) is type(state)


@pytest.mark.parametrize("fused", [False, True])
def test_an_lstm_cell_given_one_tensor_or_a_misshaped_c_is_refused(fused):
    # one Tensor used to unpack into its first two rows as (h, c); a c of the wrong
    # shape broadcast (fused: h_t came out with c's shape)
    cell = nn.LSTMCell(3, 4, fused=fused)
    x, h = np.ones((2, 3)), Tensor(np.zeros((2, 4)))
    with pytest.raises(TypeError, match=r"LSTMCell: state must be a tuple \(h, c\) of 2 "
                       r"Tensors, each \(batch, hidden_size=4\); got Tensor"):
        cell(x, h)
    with pytest.raises(TypeError, match="got a tuple of 1"):
        cell(x, (h,))
    for c in ((2, 5), (1, 4)):
        with pytest.raises(ValueError, match=rf"LSTMCell: state of shape \({c[0]}, {c[1]}\), "
                           r"expected \(2, hidden_size=4\) for c"):
            cell(x, (h, Tensor(np.zeros(c))))
    h_t, (h_t2, c_t) = cell(x, [np.zeros((2, 4))] * 2)  # arrays in a list, as layers take
    assert h_t is h_t2 and c_t.shape == (2, 4)


@pytest.mark.parametrize("kind", ["RNN", "GRU"])
@pytest.mark.parametrize("fused", [False, True])
def test_a_one_tensor_state_given_as_a_tuple_is_named(kind, fused):
    # used to fail deep in an op: 'tuple' object has no attribute '_data'
    layer = getattr(nn, kind)(3, 4, fused=fused)
    with pytest.raises(TypeError, match=rf"{kind}: initial state must be one Tensor "
                       r"\(num_layers \* num_directions, batch, hidden\), not a tuple"):
        layer(np.ones((5, 2, 3)), (np.zeros((1, 2, 4)),))
    cell = getattr(nn, kind + "Cell")(3, 4, fused=fused)
    with pytest.raises(TypeError, match=rf"{kind}Cell: state must be one Tensor h "
                       r"\(batch, hidden_size=4\); got a tuple of 1"):
        cell(np.ones((2, 3)), (Tensor(np.zeros((2, 4))),))


def test_dropout_of_the_wrong_type_or_range_is_refused():
    with pytest.raises(TypeError, match="LSTM: dropout must be a number.*'0.5'"):
        nn.LSTM(3, 4, num_layers=2, dropout="0.5")
    for p in (-0.1, 1.0, 1.5, float("nan")):  # 1 would zero every input above layer 1
        with pytest.raises(ValueError, match=r"GRU: dropout must be in \[0, 1\)"):
            nn.GRU(3, 4, num_layers=2, dropout=p)


def test_dropout_with_one_layer_warns_as_pytorch_does():
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        nn.RNN(3, 4, dropout=0.5)


def test_a_cell_that_returns_a_bare_tensor_gets_the_cell_contract_quoted():
    class Bare(nn.RNNCell):
        def forward(self, x, h):
            return super().forward(x, h)[0]

    layer = nn.Recurrent(lambda n, g: Bare(n, 4, rng=g), 3)
    with pytest.raises(TypeError, match=r"Bare returned Tensor, which breaks the cell "
                       r"contract: cell\(x_t, state\) returns a tuple \(h_t, new_state\)"):
        layer(np.ones((2, 1, 3)))


@pytest.mark.parametrize("make,match", [
    (lambda ps: optim.Adam(ps, betas=(1.5, 0.9)), r"Adam: invalid betas\[0\] 1.5"),
    (lambda ps: optim.Adam(ps, betas=(0.9, -0.1)), r"Adam: invalid betas\[1\] -0.1"),
    (lambda ps: optim.Adam(ps, eps=-1e-8), "Adam: invalid eps"),
    (lambda ps: optim.Adam(ps, weight_decay=-1), "Adam: invalid weight_decay"),
    (lambda ps: optim.SGD(ps, lr=-0.1), "SGD: invalid lr"),
    (lambda ps: optim.SGD(ps, momentum=-0.9), "SGD: invalid momentum"),
    (lambda ps: optim.SGD(ps, weight_decay=-1), "SGD: invalid weight_decay"),
    (lambda ps: optim.Adagrad(ps, eps=-1), "Adagrad: invalid eps"),
    (lambda ps: optim.Adagrad(ps, lr_decay=-1), "Adagrad: invalid lr_decay"),
])
def test_out_of_range_hyperparameters_are_refused_as_pytorch_refuses_them(make, match):
    with pytest.raises(ValueError, match=match):
        make(nn.Linear(2, 2).parameters())


def test_an_optimizer_given_a_module_says_to_pass_its_parameters():
    model = nn.Linear(2, 2)
    with pytest.raises(TypeError, match=r"SGD: params argument given to the optimizer should "
                       r"be an iterable of Tensors, got Linear \(pass module.parameters\(\)\)"):
        optim.SGD(model, lr=0.1)
    with pytest.raises(TypeError, match="iterable of Tensors, got Parameter"):
        optim.Adam(model.weight)
    opt = optim.SGD((p for p in model.parameters()), lr=0.1)  # a generator works
    assert opt.params == model.parameters()


def test_a_parameter_passed_twice_is_refused_not_updated_twice():
    model = nn.Linear(2, 2)
    with pytest.raises(ValueError, match=r"SGD: parameter 2 \(weight, shape \(2, 2\)\) is "
                       "parameter 0 again; pass each parameter once"):
        optim.SGD(model.parameters() + model.parameters(), lr=0.1)  # stepped it twice


def test_a_step_keeps_each_parameters_dtype():
    # a float64 lr (np.logspace), or Adam's state from before astype, made float32 weights
    # float64 at the first step
    model = nn.Linear(2, 1, rng=0).astype(np.float32)
    for opt in (optim.SGD(model.parameters(), lr=np.float64(0.1), momentum=0.9),
                optim.Adam(model.parameters(), lr=np.float64(0.1))):
        for _ in range(2):
            model(np.ones((1, 2), np.float32)).sum().backward()
            opt.step()
            assert model.weight.dtype == model.bias.dtype == np.float32


@pytest.mark.parametrize("make", [lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9),
                                  lambda ps: optim.Adam(ps, lr=0.1),
                                  lambda ps: optim.Adagrad(ps, lr=0.1)])
def test_a_step_keeps_a_values_data_a_float(make):
    # the update made it a numpy float: the next ops on it made Tensors, not Values
    v, w = mg.Value(2.0), mg.Value(3.0)
    opt = make([v])
    (v * w).backward()
    opt.step()
    assert type(v.data) is float and type(v * w) is mg.Value


@pytest.mark.parametrize("clip", [lambda p: optim.clip_grad_norm_(p, 1.0),
                                  lambda p: optim.clip_grad_value_(p, 1.0)])
def test_clipping_one_tensor_clips_it_as_pytorch_does(clip):
    # iterating over a Tensor gives its rows, new nodes without gradients: nothing was
    # clipped and clip_grad_norm_ returned 0.0
    w = nn.Parameter(np.zeros((2, 2)))
    w.grad = np.full((2, 2), 3.0)
    clip(w)
    assert np.abs(w.grad).max() <= 1.0
    with pytest.raises(TypeError, match=r"parameters must be a Tensor or an iterable of "
                       r"Tensors, got Linear \(pass module.parameters\(\)\)"):
        clip(nn.Linear(2, 2))


@pytest.mark.parametrize("call,kind,match", [
    (lambda p: optim.clip_grad_norm_(p, -1.0), ValueError,  # flipped every gradient
     "clip_grad_norm_: invalid max_norm -1.0, expected >= 0"),
    (lambda p: optim.clip_grad_norm_(p, "1"), TypeError, "clip_grad_norm_: max_norm must be"),
    (lambda p: optim.clip_grad_norm_(p, 1.0, norm_type=0), ValueError,
     "clip_grad_norm_: norm_type must be a positive number or math.inf, got 0"),
    (lambda p: optim.clip_grad_value_(p, -1.0), ValueError,  # set every element to -1
     "clip_grad_value_: invalid clip_value -1.0"),
    (lambda p: optim.Adam(p, betas=0.9), ValueError, "Adam: betas must be a pair"),
])
def test_clipping_and_adam_arguments_are_named(call, kind, match):
    w = nn.Parameter(np.zeros(3))
    w.grad = np.full(3, 3.0)
    with pytest.raises(kind, match=match):
        call([w])
    np.testing.assert_array_equal(w.grad, 3.0)


def test_clip_grad_norm_takes_pytorchs_inf_spelling():
    w = nn.Parameter(np.zeros(3))
    w.grad = np.array([1.0, -4.0, 2.0])
    assert optim.clip_grad_norm_([w], 1.0, norm_type="inf") == 4.0


@pytest.mark.parametrize("dtype", [int, np.int32, bool, "U3"])
def test_a_module_converts_only_to_floating_dtypes(dtype):
    model = nn.Linear(2, 2)
    before = model.weight.data
    with pytest.raises(TypeError, match="Linear.astype: dtype must be floating"):
        model.astype(dtype)
    assert model.weight.data.base is before.base  # the very same array, untouched


def test_load_state_dict_loads_nothing_unless_every_array_converts():
    model = nn.GRU(2, 3, rng=0)
    before = model.state_dict()
    state = {k: v + 1.0 for k, v in before.items()}
    last = list(state)[-1]
    state[last] = np.full(state[last].shape, "x")
    with pytest.raises(ValueError, match=f"not real numbers for {last} \\(dtype <U1\\)"):
        model.load_state_dict(state)
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


def test_load_state_dict_names_a_path_a_list_and_a_ragged_value():
    model = nn.Linear(2, 2, rng=0)
    with pytest.raises(TypeError, match=r"Linear.load_state_dict: expected a dict \{name: "
                       r"array\}, got str \(to read a file, use load\(path\)\)"):
        model.load_state_dict("model.npz")  # its letters were the unexpected keys
    with pytest.raises(TypeError, match="expected a dict .*got list"):
        model.load_state_dict(list(model.state_dict().items()))
    with pytest.raises(ValueError, match="Linear.load_state_dict: bias is not an array"):
        model.load_state_dict({**model.state_dict(), "bias": [[1.0], [2.0, 3.0]]})
    other = nn.Linear(2, 2, rng=1)
    model.load_state_dict(dict(other.named_parameters()))  # Tensors: their values
    np.testing.assert_array_equal(model.weight.data, other.weight.data)


def test_save_into_a_folder_or_a_missing_one_names_the_path_not_a_temporary_file(tmp_path):
    model = nn.Linear(2, 2)
    with pytest.raises(IsADirectoryError, match=f"is a directory: '{re.escape(str(tmp_path))}'"):
        model.save(tmp_path)
    missing = tmp_path / "no" / "such"
    with pytest.raises(FileNotFoundError, match=f"no such folder: '{re.escape(str(missing))}'"):
        model.save(missing / "model.npz")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("damage", ["empty", "truncated", "corrupted"])
def test_loading_a_damaged_npz_names_the_file_and_leaves_the_module(tmp_path, damage):
    model = nn.LSTM(2, 3, rng=0)
    good = tmp_path / "good.npz"
    nn.LSTM(2, 3, rng=1).save(good)
    data = good.read_bytes()
    if damage == "empty":
        data = b""
    elif damage == "truncated":
        data = data[:len(data) // 2]
    else:  # flip bytes inside the first array's stored data: its CRC no longer matches
        data = bytearray(data)
        for i in range(200, 260):
            data[i] ^= 0xFF
        data = bytes(data)
    bad = tmp_path / f"{damage}.npz"
    bad.write_bytes(data)
    before = model.state_dict()
    with pytest.raises(ValueError, match=f"LSTM.load: '{re.escape(str(bad))}' is empty, "
                       "truncated or corrupted"):
        model.load(bad)
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


def test_a_failed_save_leaves_no_half_written_file(tmp_path, monkeypatch):
    model = nn.RNN(2, 3, rng=0)
    path = tmp_path / "model.npz"
    model.save(path)
    old = path.read_bytes()

    def failing_savez(f, **arrays):
        f.write(b"PK half a file")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", failing_savez)
    with pytest.raises(OSError, match="disk full"):
        nn.RNN(2, 3, rng=1).save(path)
    assert path.read_bytes() == old  # the old file, whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz"]  # no temp file left


# already handled, kept so: wrong shapes and dtypes into layers and cells, pickles refused

@pytest.mark.parametrize("call,match", [
    (lambda: nn.LSTM(3, 4)(np.ones((5, 3))), r"LSTM: input of shape \(5, 3\), expected 3 dims"),
    (lambda: nn.GRU(3, 4)(np.ones((5, 2, 2))), "GRU: input has 2 features, expected input_size=3"),
    (lambda: nn.RNN(3, 4, fused=True)(np.ones((0, 2, 3))), "RNN: input has no time steps"),
    (lambda: nn.LSTM(3, 4)(np.ones((5, 2, 3)), np.zeros((1, 2, 4))),
     "LSTM: initial state has 1 tensors, expected 2"),
    (lambda: nn.RNN(3, 4)(np.ones((5, 2, 3)), np.zeros((2, 2, 4))),
     r"RNN: initial state of shape \(2, 2, 4\), expected \(1, 2, 4\)"),
    (lambda: nn.GRUCell(3, 4, fused=True)(np.ones((2, 5))),
     r"GRUCell: input of shape \(2, 5\), expected \(batch, input_size=3\)"),
    (lambda: nn.LSTMCell(3, 4)(np.ones((2, 3)), (Tensor(np.zeros((3, 4))),) * 2),
     r"LSTMCell: state of shape \(3, 4\), expected \(2, hidden_size=4\)"),
    (lambda: nn.Linear(3, 2)(np.ones((4, 2))), "Linear: input of shape .* expected in_features=3"),
    (lambda: nn.RNN(3, 0), "RNNCell: hidden_size must be a positive int"),
    (lambda: nn.LSTM(3, 4, num_layers=0), "LSTM: num_layers must be a positive int"),
    # these failed inside the initialiser (division by zero, math domain, numpy), or
    # (a float or str input_size of a sequence layer) were taken as int(3.5) = 3
    (lambda: nn.Linear(0, 2), "Linear: in_features must be a positive int, got 0"),
    (lambda: nn.Linear(3, -1), "Linear: out_features must be a positive int, got -1"),
    (lambda: nn.Linear(3.0, 2), "Linear: in_features must be a positive int, got 3.0"),
    (lambda: nn.Embedding("5", 2), "Embedding: num_embeddings must be a positive int, got '5'"),
    (lambda: nn.RNN(3.5, 4), "RNN: input_size must be a positive int, got 3.5"),
])
def test_wrong_shapes_into_layers_and_cells_are_named(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_wrong_dtypes_and_indices_into_an_embedding_are_named():
    emb = nn.Embedding(5, 2)
    with pytest.raises(TypeError, match="Embedding: indices must be integers, got dtype float64"):
        emb(np.array([0.0, 1.0]))
    with pytest.raises(IndexError, match=r"Embedding: indices must lie in \[0, 5\)"):
        emb(np.array([0, 5]))


def test_a_pickled_npz_is_refused_and_nothing_is_loaded(tmp_path):
    path = tmp_path / "pickled.npz"
    np.savez(path, weight=np.array([object()], dtype=object))
    model = nn.Linear(2, 2)
    before = model.weight.data
    with pytest.raises(ValueError, match="holds pickled Python objects"):
        model.load(path)
    assert model.weight.data.base is before.base  # the very same array, untouched



# -- files, the command line, the demo and the renderer's engine -----------------------
# Every command-line error is one line on stderr, never a traceback: exit status 2 for a
# bad argument (argparse's convention), 1 for a runtime error; nothing is written.


ROOT = Path(__file__).resolve().parents[1]


def _cli_error(capsys, argv, code):
    """Run the command line; return its one-line error after checking the exit status."""
    assert cli.main(argv) == code
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert err and "\n" not in err and "Traceback" not in err, captured
    return err


@pytest.fixture
def nothing_drawn(monkeypatch):
    """Fail the test if the command got as far as building a model."""
    def boom(*args, **kwargs):
        raise AssertionError("the model was built before the argument was refused")
    monkeypatch.setattr(render, "draw", boom)
    monkeypatch.setattr(demo, "SineToCosine", boom)


@pytest.mark.parametrize("argv, words", [
    (["--seed", "-1"], ["--seed", "non-negative", "-1"]),  # numpy refuses negative seeds
    (["--seed", "1.5"], ["--seed", "'1.5'"]),
    (["--hidden", "100000"], ["--hidden", "too large", f"at most {cli.MAX_HIDDEN}"]),
    (["--steps", "100000"], ["--steps", "too large", f"at most {cli.MAX_STEPS}"]),
    (["--layers", "1000"], ["--layers", "too large", f"at most {cli.MAX_LAYERS}"]),
    (["--hidden", "0"], ["--hidden", "positive"]),
    (["--steps", "-3"], ["--steps", "positive", "-3"]),
    (["--steps", "0"], ["--steps", "positive"]),
    (["--layers", "0"], ["--layers", "positive"]),
    (["--layers", "-2"], ["--layers", "positive"]),
    (["--cell", "elman"], ["--cell", "invalid choice", "'elman'"]),
    (["--view", "both"], ["--view", "invalid choice"]),
    (["--steps", "3", "--loss-at", "4"], ["--loss-at", "1..3"]),
    (["--loss-at", "-1"], ["--loss-at"]),
    # was "unexpected ValueError ... (a bug)", exit 1, after the model was built
    (["--dpi", "100000"], ["--dpi", "too large", f"at most {cli.MAX_DPI}"]),
])
def test_render_bad_arguments_are_one_line_before_any_work(
        tmp_path, capsys, nothing_drawn, argv, words):
    err = _cli_error(capsys, ["render", *argv, "-o", str(tmp_path / "a.svg")], code=2)
    assert all(w in err for w in words), err
    assert not (tmp_path / "a.svg").exists()


@pytest.mark.parametrize("argv, words", [
    (["--hidden", "100000"], ["--hidden", "too large", f"at most {cli.MAX_HIDDEN}"]),
    (["--steps", "100000"], ["--steps", "too large", f"at most {cli.MAX_STEPS}"]),
    (["--seed", "-1"], ["--seed", "non-negative", "-1"]),
])
def test_explore_takes_the_same_bounded_model_options_as_render(tmp_path, capsys, argv,
                                                                 words):
    err = _cli_error(capsys, ["explore", *argv, "-o", str(tmp_path / "a.html")], code=2)
    assert all(w in err for w in words), err
    assert not (tmp_path / "a.html").exists()


def test_render_limits_are_in_the_help(capsys):
    assert cli.main(["render", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    for option, limit in (("--hidden", cli.MAX_HIDDEN), ("--steps", cli.MAX_STEPS),
                          ("--layers", cli.MAX_LAYERS)):
        assert f"{option} " in text and f"1..{limit}" in text


@pytest.mark.parametrize("argv, words", [
    (["--seed", "-1"], ["--seed", "non-negative"]),
    (["--iterations", "0"], ["--iterations", "positive"]),
])
def test_demo_bad_arguments(tmp_path, capsys, nothing_drawn, argv, words):
    err = _cli_error(capsys, ["demo", "--out", str(tmp_path), *argv], code=2)
    assert all(w in err for w in words), err
    assert not list(tmp_path.iterdir())


def test_a_picture_rendered_to_a_folder_or_into_a_missing_one_is_refused(tmp_path):
    from microgradrnn import viz

    x = Tensor([1.0, 2.0], requires_grad=True)
    pic = viz.draw_ops((x * x).sum())
    (tmp_path / "out").mkdir()
    for path in (tmp_path / "out", f"{tmp_path / 'out'}/"):  # wrote the file out.svg beside
        with pytest.raises(IsADirectoryError, match="render: is a directory, give a file "
                           f"name such as cells.svg: '{re.escape(str(tmp_path / 'out'))}'"):
            pic.render(path)
    with pytest.raises(FileNotFoundError, match="render: no such folder: "
                       f"'{re.escape(str(tmp_path / 'no'))}'"):
        pic.render(tmp_path / "no" / "a.svg")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert not list((tmp_path / "out").iterdir())


def test_render_to_a_directory_named_like_a_file_even_with_force(tmp_path, capsys):
    target = tmp_path / "existing_directory.svg"
    target.mkdir()
    err = _cli_error(capsys, ["render", "-o", str(target), "--force"], code=1)
    assert str(target) in err and "is a directory" in err
    assert target.is_dir() and not list(target.iterdir())


def test_render_under_a_file(tmp_path, capsys, nothing_drawn):
    (tmp_path / "notes").write_text("mine")
    err = _cli_error(capsys, ["render", "-o", str(tmp_path / "notes" / "a.svg")], code=1)
    assert "notes is a file, not a folder" in err
    assert (tmp_path / "notes").read_text() == "mine"


def test_render_never_overwrites_a_file_it_did_not_write(tmp_path, capsys, nothing_drawn):
    mine = tmp_path / "mine.png"
    mine.write_bytes(b"my picture")
    err = _cli_error(capsys, ["render", "-o", str(mine)], code=1)
    assert str(mine) in err and "--force" in err
    assert mine.read_bytes() == b"my picture"


def test_demo_out_is_an_existing_file(tmp_path, capsys, nothing_drawn):
    out = tmp_path / "results"
    out.write_text("my results")
    err = _cli_error(capsys, ["demo", "--out", str(out), "--iterations", "1"], code=1)
    assert str(out) in err and "is a file, not a folder" in err
    assert out.read_text() == "my results"


def test_demo_never_overwrites_a_file_it_did_not_write(tmp_path, capsys, nothing_drawn):
    (tmp_path / "demo-gradients.svg").write_text("mine")
    err = _cli_error(capsys, ["demo", "--out", str(tmp_path)], code=1)
    assert "demo-gradients.svg" in err and "--force" in err
    assert (tmp_path / "demo-gradients.svg").read_text() == "mine"


def test_demo_picture_name_taken_by_a_folder(tmp_path, capsys, nothing_drawn):
    (tmp_path / "demo-cells.svg").mkdir()
    err = _cli_error(capsys, ["demo", "--out", str(tmp_path), "--force"], code=1)
    assert "demo-cells.svg is a directory" in err


def test_a_failed_write_is_one_line_naming_the_file(tmp_path, capsys, monkeypatch):
    def refuse(self, data):
        raise PermissionError(13, "Permission denied", str(self))
    monkeypatch.setattr(Path, "write_bytes", refuse)
    err = _cli_error(capsys, ["render", "--steps", "2", "-o", str(tmp_path / "a.dot")], 1)
    assert "a.dot" in err and "Permission denied" in err


def test_an_unexpected_error_is_one_line_or_a_traceback_on_request(
        tmp_path, capsys, monkeypatch):
    def broken(**options):
        raise ZeroDivisionError("division by zero\nsecond line")
    monkeypatch.setattr(render, "draw", broken)
    argv = ["render", "-o", str(tmp_path / "a.svg")]
    err = _cli_error(capsys, argv, code=1)
    assert "ZeroDivisionError: division by zero" in err and "MICROGRADRNN_TRACEBACK" in err
    monkeypatch.setenv("MICROGRADRNN_TRACEBACK", "1")
    with pytest.raises(ZeroDivisionError):
        cli.main(argv)


def test_version(capsys):
    from microgradrnn import __version__

    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == __version__


def _subprocess_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env.update({"PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
                **extra})
    return env


@pytest.mark.parametrize("encoding", ["ascii", "latin-1"])
def test_demo_on_a_terminal_that_is_not_utf8(tmp_path, encoding):
    proc = subprocess.run(
        [sys.executable, "-m", "microgradrnn", "demo", "--iterations", "2", "--out",
         str(tmp_path)], capture_output=True, cwd=tmp_path,
        env=_subprocess_env(PYTHONIOENCODING=encoding), timeout=300)
    assert proc.returncode == 0, proc.stderr.decode(encoding)
    out = proc.stdout.decode(encoding)
    assert "||dL_T/dh_t|| is" in out and "wrote the gradient plot" in out
    for name in ("demo-cells.svg", "demo-gradients.svg"):  # whole, parseable pictures
        assert ET.parse(tmp_path / name).getroot().tag.endswith("svg")
    assert "‖∂L_24/∂h_t‖" in (tmp_path / "demo-gradients.svg").read_text(encoding="utf-8")


def test_printable_keeps_what_the_terminal_can_show():
    import io

    from microgradrnn.app.progress import printable

    text = "‖∂L₂₄/∂h_t‖ → ü ✓"
    utf8 = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    latin = io.TextIOWrapper(io.BytesIO(), encoding="latin-1")
    ascii_ = io.TextIOWrapper(io.BytesIO(), encoding="ascii")
    assert printable(text, utf8) == text
    assert printable(text, latin) == "||dL24/dh_t|| -> ü \\u2713"
    assert printable(text, ascii_) == "||dL24/dh_t|| -> \\xfc \\u2713"


def test_graphviz_pure_found_from_its_distribution_when_not_on_path(tmp_path):
    """As after ``pip install --user graphviz-pure``: the package is importable, but its
    binary is neither next to the Python executable nor on PATH (a notebook's kernel)."""
    from importlib import metadata

    try:
        metadata.distribution("graphviz-pure")
    except metadata.PackageNotFoundError:
        pytest.skip("graphviz-pure is not installed")
    bin_dir = tmp_path / "elsewhere"
    bin_dir.mkdir()
    python = bin_dir / "python"
    python.symlink_to(os.path.realpath(sys.executable))  # outside any venv: no pyvenv.cfg
    site = os.pathsep.join(dict.fromkeys(
        [str(ROOT), sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]))
    code = ("import sys\n"
            "from microgradrnn import Tensor, viz\n"
            "from microgradrnn.viz import engines\n"
            "print(sys.executable, engines.find_pure(), engines.find_dot(), sep='\\n')\n"
            "x = Tensor([1.0, 2.0], requires_grad=True, label='x')\n"
            "bundle = viz.draw_ops((x * x).sum())._repr_mimebundle_()  # notebook display\n"
            "svg = bundle['image/svg+xml']\n"
            "print(svg.lstrip()[:5])\n")
    env = _subprocess_env(PYTHONPATH=site, PATH="/nonexistent")
    proc = subprocess.run([str(python), "-c", code], capture_output=True, text=True,
                          env=env, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    executable, pure, dot, head = proc.stdout.split("\n")[:4]
    assert executable == str(python) and dot == "None"
    assert Path(pure).name.startswith("graphviz-pure") and Path(pure).parent != bin_dir
    assert head in ("<?xml", "<svg ")


def test_load_refuses_a_pickle_and_loads_nothing(tmp_path):
    from microgradrnn import nn

    layer = nn.Linear(2, 1, rng=0)
    before = layer.weight.data.copy()
    path = tmp_path / "weights.npz"
    np.savez(path, weight=np.array([object()], dtype=object), bias=np.zeros(1))
    with pytest.raises(ValueError, match="weights.npz.*pickled"):
        layer.load(path)
    np.testing.assert_array_equal(layer.weight.data, before)


def test_outfiles_refuse_before_writing(tmp_path):
    """The same checks the command line runs, as the examples call them."""
    (tmp_path / "d.svg").mkdir()
    (tmp_path / "f").write_text("x")
    with pytest.raises(IsADirectoryError, match="d.svg is a directory"):
        outfiles.check_targets([tmp_path / "d.svg"], force=True, who="example")
    with pytest.raises(NotADirectoryError, match="f is a file, not a folder"):
        outfiles.check_targets([tmp_path / "f" / "a.svg"], force=True, who="example")


# -- a second careless-user round: the leftovers of the first -------------------------


def test_the_mean_cross_entropy_of_no_targets_is_nan_as_in_pytorch():
    from microgradrnn import functional as F

    z = Tensor(np.ones((0, 3)), requires_grad=True)
    loss = F.cross_entropy(z, np.zeros(0, int))
    assert np.isnan(loss.item())  # was -0.0: a loss that looked perfect
    loss.backward()
    assert z.grad.shape == (0, 3)
    assert F.cross_entropy(z, np.zeros(0, int), reduction="sum").item() == 0.0


@pytest.mark.parametrize("batch", [2.0, -1, True, "2"])
def test_init_state_names_a_bad_batch_size(batch):
    with pytest.raises(ValueError, match=f"LSTMCell.init_state: batch_size must be an int "
                                         f">= 0, got {re.escape(repr(batch))}"):
        nn.LSTMCell(2, 3).init_state(batch)


def test_gradcheck_takes_one_tensor_and_names_a_module():
    lin = nn.Linear(2, 1, rng=0)
    x = Tensor(np.ones((3, 2)))
    with pytest.raises(TypeError, match="gradcheck: params must be Tensors, got a Linear; "
                                        r"pass its \.parameters\(\)"):
        mg.gradcheck(lambda: lin(x).sum(), params=lin)
    assert mg.gradcheck(lambda: lin(x).sum(), params=lin.weight)


def test_truncated_bptt_names_a_loss_fn_that_returns_a_number():
    rnn = nn.RNN(2, 3, rng=0)
    x = np.ones((4, 1, 2))
    with pytest.raises(TypeError, match="chunked_bptt: loss_fn must return a Tensor"):
        nn.chunked_bptt(rnn, x, 2, lambda out, start: float(out.sum().item()))
    with pytest.raises(TypeError, match="truncated_window: loss_fn must return a Tensor"):
        nn.truncated_window(rnn.cells[0], x, lambda t, h: 1.0, 2)
