"""How gradients add up: the fast accumulator gives the obvious one's sums (1e-12), the
gradient tests pass under the obvious one too, recorded flows stay linear in T, and the
backward loop and engine.py stay short enough to read in one sitting."""

import ast
import inspect
import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from helpers import OPS, leaves

import microgradrnn as mg
from microgradrnn import Tensor, accumulate, engine, nn
from microgradrnn.engine import toposort

ROOT = Path(__file__).resolve().parent.parent


def _grads(make_root, kind):
    """Every node's gradient after a backward pass with accumulator ``kind``."""
    root, inputs = make_root()
    with accumulate.using(kind):
        root.backward(np.ones(root.shape) if root.shape else None, record_flow=True)
    nodes = toposort(root)
    return [np.asarray(n.grad) for n in nodes], [n.flow for n in nodes]


def _op_case(case):
    def make():
        xs = leaves(case.shapes, positive=case.positive)
        return case.fn(*xs), xs
    return make


def _layer(kind, fused, **kw):
    def make():
        layer = getattr(nn, kind)(3, 4, num_layers=2, rng=0, fused=fused, **kw)
        x = Tensor(np.random.default_rng(1).standard_normal((6, 2, 3)), requires_grad=True)
        out, _ = layer(x)
        return (out * out).sum() + out[2].sum(), [x]
    return make


CASES = [(c.name, _op_case(c)) for c in OPS] + [
    (f"{k}{'-fused' if f else ''}{'-bi' if b else ''}", _layer(k, f, bidirectional=b))
    for k in ("RNN", "LSTM", "GRU") for f in (False, True) for b in (False, True)]


@pytest.mark.parametrize("name,make", CASES, ids=[n for n, _ in CASES])
def test_fast_accumulator_gives_the_plain_sums(name, make):
    fast, fast_flows = _grads(make, accumulate.Fast)
    plain, plain_flows = _grads(make, accumulate.Plain)
    assert len(fast) == len(plain)
    for f, p in zip(fast, plain, strict=True):
        np.testing.assert_allclose(f, p, rtol=1e-12, atol=1e-12)
    for ff, pf in zip(fast_flows, plain_flows, strict=True):
        for a, b in zip(ff or (), pf or (), strict=True):
            assert (a is None) == (b is None)
            if a is not None:
                np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_using_selects_the_accumulator_of_every_backward_pass():
    calls = []

    class Counting(accumulate.Plain):
        def add(self, key, g, like):
            calls.append(type(g).__name__)
            return super().add(key, g, like)

    x = Tensor(np.ones((3, 2)), requires_grad=True)
    w = Tensor(np.ones((4, 2)), requires_grad=True)
    with accumulate.using(Counting):
        mg.linear(x[1:], w).sum().backward()
    assert sorted(calls) == ["Outer", "Scatter", "ndarray", "ndarray"]
    assert accumulate.current() is accumulate.Fast  # restored
    mg.linear(x[1:], w).sum().backward()
    assert len(calls) == 4  # sum, linear (x and W), getitem; the second pass: none


def test_plain_accumulator_is_the_obvious_sum():
    acc = accumulate.Plain("root", 1.0)
    like = np.zeros((2, 3))
    acc.add("x", np.ones(3), like)                                  # broadcast: summed
    acc.add("x", accumulate.Scatter((1,), np.full(3, 2.0), (2, 3), True), like)
    acc.add("x", accumulate.Outer(np.ones((4, 2)), np.ones((4, 3))), like)
    np.testing.assert_array_equal(acc.pop("x", like), [[5, 5, 5], [7, 7, 7]])
    assert acc.pop("x", like) is None


def test_gradient_tests_pass_under_the_plain_accumulator():
    """The op table, the fused cells and the layers' gradient tests, rerun with every
    backward pass using accumulate.Plain (conftest's --accumulator option)."""
    tests = ["tests/test_engine_ops.py", "tests/test_nn_fused.py",
             "tests/test_nn_recurrent.py", "tests/test_engine_graph.py",
             "tests/test_engine_accumulate.py::test_the_plain_option_is_in_force"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          "-o", "addopts=", "-rs", "--accumulator=plain", *tests],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    summary = run.stdout.strip().splitlines()[-1]
    assert " passed" in summary and "test_the_plain_option_is_in_force" not in run.stdout


def test_the_plain_option_is_in_force(request):
    if request.config.getoption("accumulator") != "plain":
        pytest.skip("runs inside test_gradient_tests_pass_under_the_plain_accumulator")
    assert accumulate.current() is accumulate.Plain


# -- recorded flows stay linear in T --------------------------------------------------------


def _held_by_flow(T):
    layer = nn.LSTM(8, 8, rng=0)
    x = Tensor(np.random.default_rng(0).standard_normal((T, 4, 8)), requires_grad=True)
    tracemalloc.start()
    try:
        out, _ = layer(x)
        loss = (out * out).sum()
        loss.backward(record_flow=True)
        held = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    return held, loss


def test_record_flow_memory_is_linear_in_T():
    small, _ = _held_by_flow(100)
    large, loss = _held_by_flow(400)
    assert large / small <= 5
    # and the compact flows of the indexing edges are the dense ones
    x = next(n for n in toposort(loss) if n.is_leaf and n.shape[0] == 400)
    edges = [(n, i) for n in toposort(loss) for i, p in enumerate(n.parents) if p is x]
    assert len(edges) == 400
    total = np.zeros(x.shape)
    for n, i in edges:
        g = n.flow[i]
        dense = np.zeros(x.shape)
        dense[int(np.flatnonzero(np.abs(g).sum(axis=(1, 2)))[0])] = n.grad
        np.testing.assert_array_equal(g, dense)
        total += g
    np.testing.assert_allclose(total, x.grad, rtol=1e-12, atol=1e-15)
    flow = mg.Flow.recorded(loss)
    assert isinstance(flow.edges[edges[0]], accumulate.Scatter)  # held compact
    np.testing.assert_array_equal(np.asarray(flow.edges[edges[0]]), flow.edge(*edges[0]))


# -- size guards ------------------------------------------------------------------------------


def test_the_backward_loop_fits_in_forty_lines():
    fn = ast.parse(inspect.getsource(engine._backprop)).body[0]
    assert fn.end_lineno - fn.lineno + 1 <= 40


def test_engine_py_fits_in_350_lines():
    assert len(Path(engine.__file__).read_text().splitlines()) <= 350


def test_nothing_outside_engine_and_accumulate_imports_a_private_engine_name():
    offenders = []
    for path in (ROOT / "microgradrnn").rglob("*.py"):
        text = path.read_text()
        if path.name in ("engine.py", "accumulate.py"):
            continue
        for bad in ("engine._", "from ..engine import _", "from .engine import _"):
            if bad in text:
                offenders.append(f"{path.name}: {bad}")
    assert offenders == []
