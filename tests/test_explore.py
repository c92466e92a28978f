"""The explorer page (viz.explore): its numbers are the engine's, its walk is the engine's
backward order, its picture shows for every root what the cells view draws for it, it is
valid HTML that loads nothing from outside, and it stays small."""

from __future__ import annotations

import json
import re
import shlex
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from microgradrnn import viz
from microgradrnn.app.seqmodel import PerStepModel
from microgradrnn.engine import gradient_flow, toposort
from microgradrnn.viz.explore import SIZE_BOUND
from microgradrnn.viz.graph import contract, walk
from microgradrnn.viz.relabel import GRAPH, drawing, same_text, svg_runs


def model_loss(cell: str = "lstm", layers: int = 2, T: int = 4, seed: int = 0,
               bidirectional: bool = False):
    model = PerStepModel(cell, inputs=2, hidden=3, layers=layers, seed=seed,
                         bidirectional=bidirectional)
    rng = np.random.default_rng(seed + 1)
    return model.losses(rng.normal(size=(T, 1, 2)), rng.normal(size=(T, 1, 1)))


def norm(g):
    return None if g is None else float(np.linalg.norm(np.asarray(g, dtype=np.float64)))


@pytest.fixture(scope="module", params=["rnn", "lstm", "gru", "bigru"])
def explored(request):
    cell = request.param.removeprefix("bi")
    loss, losses = model_loss(cell, bidirectional=request.param.startswith("bi"))
    loss.backward(retain_graph=True, record_flow=True)  # explore works after this too
    return loss, losses, viz.explore(loss)


def embedded(page: str) -> dict:
    m = re.search(r'<script type="application/json" id="bptt-data">(.*?)</script>', page, re.S)
    assert m
    return json.loads(m.group(1).replace("<\\/", "</"))


def test_json_matches_the_engines_flow_for_every_root(explored):
    loss, losses, ex = explored
    data = embedded(ex.html())
    graph = walk(loss)
    nodes = graph.nodes
    assert [r["name"] for r in data["roots"]] == ["L"] + [f"L{chr(0x2080 + t)}"
                                                          for t in range(1, len(losses) + 1)]
    for root, L in zip(data["roots"], [loss] + losses, strict=True):
        flow = gradient_flow(L)
        checked = 0
        for key, g in zip(data["keys"], root["grads"], strict=True):
            want = norm(flow.grad(nodes[int(key["id"][1:])]))
            if want is None:
                assert g is None
            else:
                assert g == pytest.approx(want, rel=1e-12, abs=1e-12)
                checked += 1
        assert checked >= (3 * len(losses) if root["t"] is None else 3)
        # every road's norm is what the engine sent along it (the cells view's contraction)
        roads = {(e.src, e.dst, e.bare): norm(e.flow) for e in contract(graph, flow).edges}
        for edge, numbers in zip(data["edges"], root["edges"], strict=True):
            want = roads[(edge["src"], edge["dst"], edge["bare"])]
            assert numbers[0] == (None if want is None else pytest.approx(want, rel=1e-12))
        for w, got in zip(data["weights"], root["weights"], strict=True):
            node = nodes[int(w["id"][1:])]
            assert got["grad"] == pytest.approx(norm(flow.grad(node)), rel=1e-12)
            # each step's share of the weight's gradient: they add up to its norm
            total = sum(s for s in got["steps"] if s is not None) + (got["other"] or 0.0)
            assert total == pytest.approx(got["grad"], rel=1e-9, abs=1e-12)
        # the shares of the roads into a node add up to the node's norm
        for k, (key, g) in enumerate(zip(data["keys"], root["grads"], strict=True)):
            shares = [e[1] for e, d in zip(root["edges"], data["edges"], strict=True)
                      if d["src"] == k and e[1] is not None]
            if g and shares and key["tags"]["role"] in ("h", "c", "y"):
                assert sum(shares) == pytest.approx(g, rel=1e-9)


def test_the_walk_is_the_engines_backward_order(explored):
    """Each step is a moment of the engine's backward loop, in its order, and what the
    page says a node holds then is what the engine has accumulated in it by then."""
    loss, losses, ex = explored
    graph = walk(loss)
    nodes = graph.nodes
    slot_of = {int(k["id"][1:]): i for i, k in enumerate(ex.data["keys"])}
    members: dict[int, list[int]] = {}  # every engine node a drawn node stands for
    for k, s in enumerate(contract(graph, gradient_flow(loss)).slot_of):
        if s >= 0:
            members.setdefault(s, []).append(k)
    for L, root in zip([loss] + losses, ex.data["roots"], strict=True):
        flow = gradient_flow(L)
        order = list(reversed(toposort(L)))
        pos = {id(n): p for p, n in enumerate(order)}
        walk_ = root["walk"]
        assert walk_[0][0] == slot_of[graph.index[L]] and walk_[0][2] == 0  # the root first
        assert [s[2] for s in walk_] == sorted(s[2] for s in walk_)
        assert root["ops"] == len(order)
        for node, roads, p, op, holds, _, _ in walk_[1:]:
            assert roads and order[p].op == op
            got = 0.0
            for k in members[node]:
                for j, i in graph.children[k]:
                    outside = j not in members[node]
                    if outside and id(nodes[j]) in pos and pos[id(nodes[j])] <= p:
                        g = flow.edge(nodes[j], i)
                        got = got + (0.0 if g is None else np.asarray(g, dtype=np.float64))
            assert holds == pytest.approx(norm(got), rel=1e-12, abs=1e-15)
        # every road that carries gradient arrives once, and the last arrival at a node
        # leaves it holding its whole gradient
        arrived = [e for s in walk_ for e in s[1]]
        carrying = [i for i, e in enumerate(root["edges"]) if e[0]]
        assert sorted(arrived) == carrying
        for node, _, _, _, holds, _, done in walk_[1:]:
            if done:
                assert holds == pytest.approx(root["grads"][node], rel=1e-12)


def test_a_node_with_two_roads_is_visited_twice_and_its_sum_adds_up():
    loss, losses = model_loss("rnn", layers=1, T=3)
    ex = viz.explore(loss)
    keys, root = ex.data["keys"], ex.data["roots"][0]
    h2 = next(i for i, k in enumerate(keys) if k["name"] == "h₂")
    visits = [s for s in root["walk"] if s[0] == h2]
    assert len(visits) == 2 and [s[6] for s in visits] == [False, True]
    first, second = visits
    assert keys[ex.data["edges"][first[1][0]]["dst"]]["name"] in ("y₂", "h₃")
    total, parts = second[5]
    assert len(parts) == 2 and total == root["gradText"][h2]
    as_int = [round(float(p.replace("−", "-")) * 1000) for _, p in parts]
    assert sum(as_int) == round(float(total) * 1000)  # printed so that they add up


def test_a_sum_below_a_thousandth_says_its_scale_on_every_number():
    loss, _ = model_loss("lstm", layers=2, T=8)
    root = viz.explore(loss).data["roots"][4]  # L_4: its gradient in layer 1 is tiny
    scaled = [s[5] for s in root["walk"] if "×10" in s[5][0]]
    assert scaled
    for total, parts in scaled:
        unit = total[total.index("×"):]
        assert unit.startswith("×10⁻") and all(p.endswith(unit) for _, p in parts)


def test_the_picture_shows_for_every_root_what_the_cells_view_draws(explored):
    loss, losses, ex = explored
    page = svg_runs(ex.svg)
    d0 = drawing(viz.draw_cells(loss, fold=False, arrows="gradient"))
    titles = {f"e{j}": e.title for j, e in enumerate(d0.edges)}
    key_of = {gid: GRAPH if gid == "graph0" else titles.get(gid, gid)
              for gid, _ in ex.data["texts"]}
    for t, root in enumerate(ex.data["roots"]):
        static = drawing(viz.draw_cells(loss, loss_at=t or None, fold=False,
                                        arrows="gradient"))
        shown = {key: list(runs) for key, runs in page.items()}
        for (gid, ix), words in zip(ex.data["texts"], root["text"], strict=True):
            runs = shown[key_of[gid]]
            if ix is None:  # a node L_t does not reach has no number: its runs are fewer
                assert len(words) <= len(runs)
                runs[:] = words
                continue
            for i, w in zip(ix, words, strict=True):
                runs[i] = w
        for key, runs in shown.items():
            assert same_text(static.runs.get(key, []), runs), (root["name"], key, runs)
        assert root["pens"] == [e.pen for e in static.edges]
    assert "gradients of the root L" in " ".join(page[GRAPH])


def test_the_labels_read_back_from_dot_are_the_svgs_texts(explored):
    """What lets the page swap a root's words in: graphviz writes each label's runs as
    relabel.drawing reads them from the DOT, one <text> each."""
    loss, _, ex = explored
    picture = viz.draw_cells(loss, fold=False, arrows="gradient")
    d = drawing(picture)
    svg = svg_runs(picture.pipe("svg", encoding="utf-8"))
    assert GRAPH in d.runs and len(d.edges) > 10
    for key, runs in d.runs.items():
        assert same_text(runs, svg.get(key, [])), key


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
    ids = [a["id"] for _, a in parser.tags if "id" in a]
    assert len(ids) == len(set(ids))  # ids the page looks up are unique
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


def test_every_drawn_node_and_road_has_the_id_the_page_looks_up(explored):
    ex = explored[2]
    for k in ex.data["keys"]:
        if k["tags"]["role"] in ("h", "c", "y", "loss"):
            assert f'<g id="{k["id"]}" class="node">' in ex.svg
    for e, numbers in zip(ex.data["edges"], ex.data["roots"][0]["edges"], strict=True):
        if numbers[0] is not None:
            assert f'<g id="{e["g"]}" class="edge">' in ex.svg
    for gid, _ in ex.data["texts"]:
        assert f'<g id="{gid}" class=' in ex.svg


def test_the_file_stays_under_the_size_bound(tmp_path):
    loss, _ = model_loss("lstm", layers=2, T=20)
    path = viz.explore(loss).save(tmp_path / "bptt.html")
    assert 100_000 < path.stat().st_size <= SIZE_BOUND == 2_000_000


def test_explore_needs_the_graph():
    loss, _ = model_loss("rnn", layers=1, T=2)
    loss.backward()
    with pytest.raises(RuntimeError, match="explore: .*retain_graph=True"):
        viz.explore(loss)
    with pytest.raises(TypeError, match="explore: root must be a Tensor"):
        viz.explore(1.5)


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
    data = embedded(page)
    assert len(data["roots"]) == 4  # L, L_1, L_2, L_3
    assert data["title"] == "2-layer LSTM unrolled over T = 3"
    assert main(args) == 0  # our own file: replaced without --force
    mine = tmp_path / "mine.html"
    mine.write_text("my notes")
    assert main(["explore", "-o", str(mine)]) == 1
    assert "pass --force" in capsys.readouterr().err and mine.read_text() == "my notes"
    assert main(["explore", "-o", str(mine), "--force"]) == 0
    assert main(["explore", "-o", str(tmp_path / "x.svg")]) == 2
    assert "-o must end in .html" in capsys.readouterr().err
    assert main(["explore", "--steps", "41", "-o", str(tmp_path / "long.html")]) == 2
    assert "at most 40" in capsys.readouterr().err and not (tmp_path / "long.html").exists()


def test_the_help_of_each_command_states_its_own_step_limit(capsys):
    from microgradrnn.app.cli import MAX_EXPLORE_STEPS, MAX_STEPS, main

    for command, limit in (("explore", MAX_EXPLORE_STEPS), ("render", MAX_STEPS)):
        assert main([command, "--help"]) == 0
        assert f"time steps to unroll, 1..{limit} " in " ".join(capsys.readouterr().out.split())


def test_the_readme_explore_command_runs(tmp_path):
    """The README's one ``microgradrnn explore ...`` command, as written (the page written
    into tmp_path)."""
    from microgradrnn.app.cli import main

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    (command,) = re.findall(r"`(microgradrnn explore [^`]*)`", readme)
    argv = shlex.split(command)[1:]
    i = argv.index("-o") + 1
    argv[i] = str(tmp_path / argv[i])
    assert main(argv) == 0
    assert len(embedded(Path(argv[i]).read_text(encoding="utf-8"))["roots"]) == 9  # L, L_1..8
