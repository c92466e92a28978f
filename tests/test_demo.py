"""`microgradrnn demo` end to end, at a reduced number of iterations."""

import xml.etree.ElementTree as ET

import numpy as np
import pytest

from microgradrnn.app import cli, demo, outfiles


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    return demo.run(out, iterations=150, progress=False)


def test_demo_learns(result):
    assert result.final_loss < result.first_loss / 5
    assert result.test_mse < 0.05  # 150 iterations; the full 600 reach about 3e-3


def test_demo_writes_parseable_svgs(result):
    cells, plot = result.files["cells view"], result.files["gradient plot"]
    for path in (cells, plot):
        root = ET.parse(path).getroot()
        assert root.tag.endswith("svg")
        assert outfiles.MARK in path.read_text(encoding="utf-8")[:2000]
    text = cells.read_text(encoding="utf-8")
    assert "t = 1" in text and "t = 24" in text  # first and last steps drawn, middle folded


def test_gradient_of_the_last_loss_vanishes_back_in_time(result):
    for norms in result.gradient_norms.values():
        assert len(norms) == 24
        assert norms[0] < 1e-3 * norms[-1]


def test_demo_refuses_to_overwrite_a_foreign_file(tmp_path, capsys):
    precious = tmp_path / "demo-cells.svg"
    precious.write_text("my own drawing")
    assert cli.main(["demo", "--out", str(tmp_path), "--iterations", "1"]) == 1
    assert "--force" in capsys.readouterr().err  # one line on stderr, before training
    assert precious.read_text() == "my own drawing"


def test_demo_overwrites_its_own_files_and_foreign_ones_with_force(tmp_path, capsys):
    (tmp_path / "demo-gradients.svg").write_text("mine")
    assert cli.main(["demo", "--out", str(tmp_path), "--iterations", "2", "--force"]) == 0
    first = (tmp_path / "demo-cells.svg").read_text()
    assert cli.main(["demo", "--out", str(tmp_path), "--iterations", "2"]) == 0  # its own
    assert (tmp_path / "demo-cells.svg").read_text() == first  # seeded: same picture
    printed = capsys.readouterr().out
    assert "test mean squared error" in printed and "wrote the cells view" in printed


def test_hidden_gradient_norms_match_a_direct_backward():
    model = demo.SineToCosine(hidden=4, seed=3)
    x, y = np.linspace(0, 1, 5).reshape(5, 1, 1), np.zeros((5, 1, 1))
    loss, steps = model.losses(x, y)
    norms = demo.hidden_gradient_norms(steps[-1], loss)
    steps[-1].backward(retain_graph=True)
    out, _ = model.rnn(x)  # a fresh graph, to read h_5 of the top layer directly
    assert set(norms) == {1, 2}
    # dL_5/dh_5 of the top layer is the head's weight times dL_5/dy_5
    y5 = model.head(out[4])
    g = 2 * (y5.data - y[4])
    np.testing.assert_allclose(norms[2][-1], np.linalg.norm(g @ model.head.weight.data))
