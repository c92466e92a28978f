import builtins

import pytest

from microgradrnn.app.progress import Progress


@pytest.fixture
def without_tqdm(monkeypatch):
    """Make ``import tqdm`` fail, so Progress draws its own plain bar."""
    real_import = builtins.__import__

    def no_tqdm(name, *args, **kwargs):
        if name == "tqdm":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tqdm)


def test_progress_is_silent_off_a_terminal(capsys):
    bar = Progress(5, "train")  # pytest captures stderr: not a terminal
    seen = []
    for i in bar:
        bar.show(loss=1.0 / (i + 1))
        seen.append(i)
    assert seen == [0, 1, 2, 3, 4]
    assert capsys.readouterr().err == ""


def test_plain_bar_draws_when_enabled(capsys, without_tqdm):
    bar = Progress(2, "train", enabled=True)
    for _ in bar:
        bar.show(loss=0.5)
    err = capsys.readouterr().err
    assert "2/2" in err and "loss 0.5" in err


def test_write_prints_plain_lines_off_a_terminal(capsys):
    bar = Progress(2, "train")
    for i in bar:
        bar.write(f"line {i}")
    out = capsys.readouterr()
    assert out.out == "line 0\nline 1\n" and out.err == ""


def test_write_clears_the_bar_prints_and_draws_it_again(capsys, without_tqdm):
    bar = Progress(2, "train", enabled=True)
    for i in bar:
        bar.write(f"line {i}")
    out = capsys.readouterr()
    assert out.out == "line 0\nline 1\n"
    assert out.err.count("\r\033[K") == 2 and out.err.count("train [") >= 2
