"""``microgradrnn render`` end to end: files written and parseable, errors one line."""

import re
import shlex
import subprocess
import sys
import xml.dom.minidom
from pathlib import Path

import pytest

from microgradrnn.app.cli import main
from microgradrnn.viz import engines

ROOT = Path(__file__).resolve().parents[1]
needs_engine = pytest.mark.skipif(
    not (engines.find_pure() or engines.find_dot()), reason="no graphviz engine")


@needs_engine
def test_render_svg_in_process(tmp_path, capsys):
    out = tmp_path / "lstm.svg"
    assert main(["render", "--cell", "lstm", "--layers", "2", "--steps", "3",
                 "-o", str(out)]) == 0
    doc = xml.dom.minidom.parse(str(out))  # well-formed SVG
    assert doc.documentElement.tagName == "svg"
    text = out.read_text()
    # W_hy is Wₕy: unicode has no subscript y (ᵧ is a Greek gamma)
    assert "c₂⁽²⁾" in text and "Wₕy" in text and "ᵧ" not in text
    assert "wrote the cells view" in capsys.readouterr().out
    # a file render wrote may be written again without --force
    assert main(["render", "--steps", "2", "-o", str(out)]) == 0


@needs_engine
def test_render_png_dot_ops_loss_at_bidirectional(tmp_path):
    png, gv = tmp_path / "g.png", tmp_path / "o.dot"
    assert main(["render", "--cell", "gru", "--bidirectional", "--steps", "2",
                 "--hidden", "2", "--seed", "3", "-o", str(png)]) == 0
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert main(["render", "--view", "ops", "--steps", "3", "--loss-at", "2",
                 "-o", str(gv)]) == 0
    assert "digraph ops {" in gv.read_text() and "gradients of L₂ only" in gv.read_text()


def test_render_fused_draws_one_op_a_step_with_the_same_gradients(tmp_path):
    def dot(*extra):
        out = tmp_path / f"{len(extra)}.dot"
        assert main(["render", "--view", "ops", "--steps", "3", *extra, "-o", str(out)]) == 0
        return out.read_text()

    composed, fused = dot(), dot("--fused")
    assert "(fused)" in fused and "(fused)" not in composed
    assert len(re.findall(r'tooltip="h[₀-₉] = rnn_tanh_cell', fused)) == 3
    assert "rnn_tanh_cell" not in composed
    # the same model and data: the gradient of every h_t (the box that makes it) agrees
    grads = lambda src: re.findall(r'‖grad‖ ([0-9.]+)<.*tooltip="h[₀-₉]+ = ', src)
    assert grads(fused) and grads(fused) == grads(composed)


def _readme_render_commands():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return [shlex.split(line.split("#")[0])[1:] for line in text.splitlines()
            if line.startswith("microgradrnn render ")]


@needs_engine
@pytest.mark.parametrize("argv", _readme_render_commands(), ids=" ".join)
def test_readme_render_commands_run(argv, tmp_path):
    i = argv.index("-o") + 1
    argv = argv[:i] + [str(tmp_path / Path(argv[i]).name)] + argv[i + 1:]
    assert main(argv) == 0
    assert Path(argv[i]).stat().st_size > 0


def test_readme_lists_every_render_option_with_its_range():
    """The README's "Options:" paragraph for render names each option the parser has (the
    --force of the sentence after it included), and each bounded one with its range."""
    from microgradrnn.app import cli

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("Options: `--cell")
    paragraph = text[start:text.index("\n\n", start)]
    render = cli.build_parser()._subparsers._group_actions[0].choices["render"]
    for action in render._actions:
        if "--help" not in action.option_strings:
            assert any(f"`{o}" in paragraph for o in action.option_strings), action.dest
    for flag, limit in (("--layers N", cli.MAX_LAYERS), ("--steps T", cli.MAX_STEPS),
                        ("--hidden H", cli.MAX_HIDDEN), ("--dpi N", cli.MAX_DPI)):
        assert f"`{flag}` (1..{limit})" in paragraph, flag


def _one_line_error(capsys, argv, code=2):
    assert main(argv) == code
    err = capsys.readouterr().err.strip()
    assert err and "\n" not in err and "Traceback" not in err, err
    return err


@pytest.mark.parametrize("argv, words", [
    (["--cell", "elman"], "invalid choice"),
    (["--layers", "0"], "--layers"),
    (["--steps", "0"], "--steps"),
    (["--steps", "x"], "--steps"),
    (["--steps", "3", "--loss-at", "4"], "1..3"),
    (["--loss-at", "0"], "--loss-at"),
])
def test_bad_arguments(tmp_path, capsys, argv, words):
    err = _one_line_error(capsys, ["render", *argv, "-o", str(tmp_path / "a.svg")])
    assert words in err
    assert not (tmp_path / "a.svg").exists()


def test_bad_extension_and_pdf(tmp_path, capsys):
    assert "extension" in _one_line_error(capsys, ["render", "-o", str(tmp_path / "a.jpeg")])
    if not engines.find_dot():
        assert "pdf" in _one_line_error(capsys, ["render", "-o", str(tmp_path / "a.pdf")])


def test_never_overwrites_a_foreign_file(tmp_path, capsys):
    out = tmp_path / "mine.svg"
    out.write_text("my notes")
    err = _one_line_error(capsys, ["render", "-o", str(out)], code=1)
    assert "--force" in err and out.read_text() == "my notes"


@needs_engine
def test_force_and_subprocess(tmp_path):
    out = tmp_path / "mine.svg"
    out.write_text("my notes")
    proc = subprocess.run(
        [sys.executable, "-m", "microgradrnn", "render", "--steps", "2", "--force",
         "-o", str(out)], capture_output=True, text=True, cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": ""})
    assert proc.returncode == 0, proc.stderr
    assert out.read_text().startswith("<?xml")


def test_help(capsys):
    assert main(["render", "--help"]) == 0
    text = capsys.readouterr().out
    assert "--loss-at" in text and "--bidirectional" in text and "--force" in text
