"""Every example runs end to end in --fast mode and reaches what it claims at that setting.

The examples are called in-process (``main(["--fast", "--out", dir])`` returns the numbers
they reached), which is much faster than a subprocess per example.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def example(name: str) -> ModuleType:
    """Import examples/<name>.py (the examples folder is not a package)."""
    if str(EXAMPLES) not in sys.path:
        sys.path.insert(0, str(EXAMPLES))
    return importlib.import_module(name)


def run(name: str, out: Path) -> dict:
    result = example(name).main(["--fast", "--out", str(out)])
    assert "NOT reached" not in result["summary"]
    return result


def written(out: Path) -> set[str]:
    return {p.name for p in out.iterdir()}


HAVE_PLOTS = importlib.util.find_spec("matplotlib") is not None


def plots(capsys: pytest.CaptureFixture, *names: str) -> set[str]:
    """The plots an example writes: ``names`` with matplotlib (the plots extra); without
    it none, and the example must have said how to get them."""
    if HAVE_PLOTS:
        return set(names)
    assert "pip install 'microgradrnn[plots]'" in capsys.readouterr().out
    return set()


def test_sine_to_cosine(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    r = run("sine_to_cosine", tmp_path)
    assert r["test_mse"] < 1e-2
    assert r["final_loss"] < r["first_loss"] / 10
    assert written(tmp_path) == plots(capsys, "sine_to_cosine.png")


def test_binary_addition(tmp_path: Path) -> None:
    r = run("binary_addition", tmp_path)
    assert r["accuracy"] == 1.0  # all 200 held-out pairs, every bit
    assert r["final_loss"] < r["first_loss"] / 10


def test_char_rnn(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    r = run("char_rnn", tmp_path)
    entropy = r["unigram_entropy"]
    assert 2.5 < entropy < 4.0  # source code: about 3.2 nats per character
    assert r["final_loss"] < entropy - r["margin"]  # margin = 0.5 nats
    assert r["held_out_loss"] < entropy - r["margin"]  # it did not just memorise
    assert set(r["samples"]) == {0.5, 1.0}
    assert all(s.startswith("def ") and len(s) > 100 for s in r["samples"].values())
    assert written(tmp_path) == plots(capsys, "char_rnn_loss.png")


def test_vanishing_gradients(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    r = run("vanishing_gradients", tmp_path)
    rates, bounds = r["rates"], r["bounds"]
    for name, bound in bounds.items():  # the classic bound holds for every f and ||W_hh||
        if bound is not None:
            assert rates[name] <= bound * (1 + 1e-9), name
    by = {" ".join(n.split()): v for n, v in rates.items()}
    assert by["sigmoid ||W_hh||=1"] < 0.3  # vanishes: one step back keeps < 30%
    assert by["tanh ||W_hh||=8"] > 1.5  # explodes: each step back multiplies by > 1.5
    assert by["LSTM, b_f = 2"] > by["LSTM (PyTorch)"]  # a forget bias carries error back
    for M in r["maps"].values():  # T x T, nothing above the diagonal
        assert M.shape == (r["T"], r["T"])
    assert written(tmp_path) == plots(
        capsys, "vanishing_gradients_map.png", "vanishing_gradients_decay.png") | {
        "vanishing_gradients_sigmoid_cells.svg", "vanishing_gradients_lstm_cells.svg",
        "vanishing_gradients_explorer.html"}
    assert (tmp_path / "vanishing_gradients_lstm_cells.svg").read_text().startswith("<?xml")
    page = (tmp_path / "vanishing_gradients_explorer.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>\n<!-- made by microgradrnn example -->")


def test_custom_cell(tmp_path: Path) -> None:
    r = run("custom_cell", tmp_path)
    assert r["gradcheck"] is True
    assert r["test_mse"] < 1e-2
    assert r["final_loss"] < r["first_loss"] / 10
    assert written(tmp_path) == {"custom_cell_cells.svg", "custom_cell_ops.svg"}


def test_custom_cell_follows_the_contract() -> None:
    import numpy as np

    from microgradrnn import Tensor

    cell = example("custom_cell").MGUCell(3, 5, rng=np.random.default_rng(0))
    h, state = cell(Tensor([[1.0, 2.0, 3.0]]), cell.init_state(1))
    assert h.shape == (1, 5) and state is h


def test_scalar_rnn(tmp_path: Path) -> None:
    r = run("scalar_rnn", tmp_path)
    assert r["factor"] >= 20  # the loss fell at least 20 times
    svg = (tmp_path / "scalar_rnn_ops.svg").read_text()
    assert "w_hh[0][1]" in svg and "grad" in svg  # every scalar with its data and grad


def test_examples_run_without_matplotlib(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    r = run("vanishing_gradients", tmp_path)
    assert "microgradrnn[plots]" in capsys.readouterr().out
    assert r["rates"]  # the measurement ran all the same
    assert not any(p.suffix == ".png" for p in tmp_path.iterdir())


def test_examples_never_overwrite_a_users_file(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    mine = tmp_path / "scalar_rnn_ops.svg"
    mine.write_text("my own drawing")
    with pytest.raises(SystemExit):  # refused before any work, with a one-line reason
        example("scalar_rnn").main(["--fast", "--out", str(tmp_path)])
    assert "--force" in capsys.readouterr().err
    assert mine.read_text() == "my own drawing"
    mine.unlink()
    run("scalar_rnn", tmp_path)
    run("scalar_rnn", tmp_path)  # its own file, marked as microgradrnn's, may be replaced
