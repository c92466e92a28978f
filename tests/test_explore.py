"""The explorer page (viz.explore): its numbers are the engine's, its walk is the engine's
backward order, it is valid HTML that loads nothing from outside, and it stays small."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import numpy as np
import pytest

from microgradrnn import Flow, viz
from microgradrnn.app.seqmodel import PerStepModel
from microgradrnn.engine import gradient_flow, toposort
from microgradrnn.viz.explore import SIZE_BOUND
from microgradrnn.viz.graph import walk


def model_loss(cell: str = "lstm", layers: int = 2, T: int = 4, seed: int = 0):
    model = PerStepModel(cell, inputs=2, hidden=3, layers=layers, seed=seed)
    rng = np.random.default_rng(seed + 1)
    return model.losses(rng.normal(size=(T, 1, 2)), rng.normal(size=(T, 1, 1)))


def norm(g):
    return None if g is None else float(np.linalg.norm(np.asarray(g, dtype=np.float64)))


@pytest.fixture(scope="module", params=["rnn", "lstm", "gru"])
def explored(request):
    loss, losses = model_loss(request.param)
    loss.backward(retain_graph=True, record_flow=True)
    return loss, losses, viz.explore(loss)


def embedded(page: str) -> dict:
    m = re.search(r'<script type="application/json" id="bptt-data">(.*?)</script>', page, re.S)
    assert m
    return json.loads(m.group(1).replace("<\\/", "</"))


def test_json_matches_the_engines_flow_for_every_root(explored):
    loss, losses, ex = explored
    data = embedded(ex.html())
    nodes = walk(loss).nodes
    flows = [Flow.recorded(loss)] + [gradient_flow(L_t) for L_t in losses]
    assert [r["name"] for r in data["roots"]] == ["L"] + [f"L{chr(0x2080 + t)}"
                                                          for t in range(1, len(losses) + 1)]
    for root, flow in zip(data["roots"], flows, strict=True):
        checked = 0
        for key, g in zip(data["keys"], root["grads"], strict=True):
            want = norm(flow.grad(nodes[int(key["id"][1:])]))
            if want is None:
                assert g is None
            else:
                assert g == pytest.approx(want, rel=1e-12, abs=1e-12)
                checked += 1
        assert checked >= (3 * len(losses) if root["t"] is None else 3)
        for w, got in zip(data["weights"], root["weights"], strict=True):
            node = nodes[int(w["id"][1:])]
            assert got["grad"] == pytest.approx(norm(flow.grad(node)), rel=1e-12)
            # each step's share of the weight's gradient: they add up to its norm
            total = sum(s for s in got["steps"] if s is not None) + (got["other"] or 0.0)
            assert total == pytest.approx(got["grad"], rel=1e-9, abs=1e-12)
        # the shares of the roads into a node add up to the node's norm
        for key, g in zip(data["keys"], root["grads"], strict=True):
            shares = [e[1] for e, d in zip(root["edges"], data["edges"], strict=True)
                      if d["src"] == key["id"] and e[1] is not None]
            if g and shares and key["tags"]["role"] in ("h", "c", "y"):
                assert sum(shares) == pytest.approx(g, rel=1e-9)


def test_the_walk_is_the_engines_backward_order(explored):
    loss, losses, ex = explored
    nodes = walk(loss).nodes
    keys = ex.data["keys"]
    for root, data in zip([loss] + losses, ex.data["roots"], strict=True):
        flow = gradient_flow(root)
        drawn = {int(k["id"][1:]): i for i, k in enumerate(keys)}
        order = [drawn[k] for n in reversed(toposort(root))
                 for k in [next((j for j in drawn if nodes[j] is n), None)]
                 if k is not None and flow.grad(n) is not None]
        assert data["walk"] == order
        assert keys[data["walk"][0]]["id"] == f"n{nodes.index(root)}"  # starts at the root


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.tags: list[tuple[str, dict]] = []
        self.errors: list[str] = []

    VOID = {"meta", "br", "input", "img", "link", "hr"}

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()


def test_the_page_is_valid_html_and_loads_nothing_from_outside(explored):
    page = explored[2].html()
    assert page.startswith("<!DOCTYPE html>")
    parser = _Page()
    parser.feed(page)
    parser.close()
    assert parser.errors == [] and parser.stack == []
    names = [t for t, _ in parser.tags]
    assert names.count("svg") >= 1 and names.count("script") == 2 and "style" in names
    for tag, attrs in parser.tags:
        assert "src" not in attrs, tag
        assert tag not in ("link", "iframe", "img"), tag
        for k, v in attrs.items():
            if k in ("href", "xlink:href", "action"):
                assert not v or v.startswith("#"), (tag, k, v)
    text = page.replace("http://www.w3.org/2000/svg", "").replace(
        "http://www.w3.org/1999/xlink", "")
    assert not re.search(r"https?:", text)
    assert not re.search(r"""(src|href)\s*=\s*["']?//""", text)
    assert "url(" not in text and "@import" not in text and "fetch(" not in text


def test_every_drawn_number_can_be_rewritten_per_root(explored):
    ex = explored[2]
    root = ex.data["roots"][0]
    numbered = sum(1 for t in root["gradText"] if t) + sum(1 for e in root["edges"] if e[4])
    # every node's ‖grad‖ and every edge's number the view printed got its tspan
    printed = len(re.findall(r"‖grad‖ ", ex.svg))
    assert ex.svg.count('<tspan class="num">') >= printed
    assert ex.svg.count('<tspan class="num">') <= numbered
    for k in ex.data["keys"]:
        if k["tags"]["role"] in ("h", "c", "y", "loss"):
            assert f'<g id="{k["id"]}" class="node">' in ex.svg


def test_the_file_stays_under_the_size_bound(tmp_path):
    loss, _ = model_loss("lstm", layers=2, T=20)
    path = viz.explore(loss).save(tmp_path / "bptt.html")
    assert 100_000 < path.stat().st_size <= SIZE_BOUND == 2_000_000


def test_explore_needs_the_graph():
    loss, _ = model_loss("rnn", layers=1, T=2)
    loss.backward()
    with pytest.raises(RuntimeError, match="explore: .*retain_graph=True"):
        viz.explore(loss)


def test_jupyter_display_is_a_sandboxed_frame():
    loss, _ = model_loss("rnn", layers=1, T=2)
    shown = viz.explore(loss)._repr_html_()
    assert shown.startswith("<iframe srcdoc=") and "&lt;!DOCTYPE html&gt;" in shown


def test_the_command_writes_a_marked_page_and_keeps_other_files(tmp_path, capsys):
    from microgradrnn.app.cli import main

    out = tmp_path / "bptt.html"
    args = ["explore", "--cell", "lstm", "--layers", "2", "--steps", "3", "-o", str(out)]
    assert main(args) == 0
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>\n<!-- made by microgradrnn explore -->")
    assert len(embedded(page)["roots"]) == 4  # L, L_1, L_2, L_3
    assert main(args) == 0  # our own file: replaced without --force
    mine = tmp_path / "mine.html"
    mine.write_text("my notes")
    assert main(["explore", "-o", str(mine)]) == 1
    assert "pass --force" in capsys.readouterr().err and mine.read_text() == "my notes"
    assert main(["explore", "-o", str(mine), "--force"]) == 0
    assert main(["explore", "-o", str(tmp_path / "x.svg")]) == 2
    assert "-o must end in .html" in capsys.readouterr().err
