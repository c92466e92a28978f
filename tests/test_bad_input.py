"""Bad input, found by trying as a careless user would: each case gets a clear error that
names the op, the argument or the file (or the behaviour PyTorch users expect), and
nothing is left half done. Grouped by where the input enters the library."""

# -- the engine: tensors, backward, in-place writes ------------------------------------


# -- layers, cells, modules and optimizers ---------------------------------------------


# -- files, the command line, the demo and the renderer's engine -----------------------
# Every command-line error is one line on stderr, never a traceback: exit status 2 for a
# bad argument (argparse's convention), 1 for a runtime error; nothing is written.

import os
import subprocess
import sys
import sysconfig
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from microgradrnn.app import cli, demo, outfiles, render

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
])
def test_render_bad_arguments_are_one_line_before_any_work(
        tmp_path, capsys, nothing_drawn, argv, words):
    err = _cli_error(capsys, ["render", *argv, "-o", str(tmp_path / "a.svg")], code=2)
    assert all(w in err for w in words), err
    assert not (tmp_path / "a.svg").exists()


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
