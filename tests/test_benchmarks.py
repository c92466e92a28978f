"""The benchmark suite computes the right thing: the hand-written numpy BPTT reference,
the engine and PyTorch agree on losses and gradients, and the runner works end to end.
No timing is asserted here."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCH))

import workloads as W  # noqa: E402

SMALL = [W.shrink(W.WORKLOADS[n]) for n in ("W1", "W2", "L2", "G2")]
# wide (B*H >= 1024): the sizes where the engine's fused tanh once took an exp form;
# kept as a check of the reference at the larger sizes
WIDE = [W.Workload("rnn wide", "rnn", 8, 6, 160, 5, 4),
        W.Workload("lstm wide", "lstm", 8, 6, 128, 5, 4),
        W.Workload("gru wide", "gru", 8, 6, 128, 5, 4)]


def _assert_same(a, b, rtol=1e-9):
    (la, ga), (lb, gb) = a, b
    assert la == pytest.approx(lb, rel=rtol)
    assert ga.keys() == gb.keys()
    for k in ga:
        np.testing.assert_allclose(ga[k], gb[k], rtol=rtol, atol=1e-12, err_msg=k)


@pytest.mark.parametrize("path", ["microgradrnn", "microgradrnn_fused"])
@pytest.mark.parametrize("w", SMALL + WIDE, ids=lambda w: w.name)
def test_numpy_reference_matches_engine(w, path):
    c = W.contenders(w)
    _assert_same(c["numpy"]().loss_and_grads(), c[path]().loss_and_grads())


@pytest.mark.parametrize("w", SMALL + WIDE, ids=lambda w: w.name)
@pytest.mark.parametrize("variant", ["torch_fused", "torch_cell"])
def test_numpy_reference_matches_torch(w, variant):
    pytest.importorskip("torch")
    c = W.contenders(w)
    _assert_same(c["numpy"]().loss_and_grads(), c[variant]().loss_and_grads())


@pytest.mark.parametrize("path", ["microgradrnn", "microgradrnn_fused"])
@pytest.mark.parametrize("w", SMALL, ids=lambda w: w.name)
def test_sgd_steps_agree(w, path):
    c = W.contenders(w)
    a, b = c["numpy"](), c[path]()
    for _ in range(3):
        assert a.step() == pytest.approx(b.step(), rel=1e-9)
    for k, v in a.params().items():
        np.testing.assert_allclose(v, b.params()[k], rtol=1e-9, atol=1e-12)


def test_reference_is_independent_of_the_engine():
    """The reference computes its activations with numpy's own kernels, whatever the
    engine chose (the WIDE workloads above check that the two still agree)."""
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import numpy_bptt; "
            "print(sorted(m for m in sys.modules if m.startswith('microgradrnn')))")
    out = subprocess.run([sys.executable, "-c", code, str(BENCH)], capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("w", SMALL + WIDE, ids=lambda w: w.name)
def test_float32_stays_float32(w):
    c = W.contenders(w, np.float32)
    ref = W.contenders(w)["numpy"]().loss_and_grads()
    for name in ("numpy", "microgradrnn"):
        impl = c[name]()
        loss, grads = impl.loss_and_grads()
        assert all(g.dtype == np.float32 for g in grads.values())
        assert loss == pytest.approx(ref[0], rel=1e-4)
        impl.step()
        assert all(p.dtype == np.float32 for p in impl.params().values())


def test_scalar_mlp_value_tensor_and_micrograd_agree():
    w = W.shrink(W.WORKLOADS["S1"])
    c = W.contenders(w)
    value, tensor = c["microgradrnn"](), c["tensor"]()
    for _ in range(2):
        assert value.step() == pytest.approx(tensor.step(), rel=1e-9)
    np.testing.assert_allclose(value.params()["all"], tensor.params()["all"][
        _tensor_to_value_order(tensor)], rtol=1e-9)
    if "micrograd" in c:
        mg = c["micrograd"]()
        for _ in range(2):
            mg.step()
        np.testing.assert_allclose(mg.params()["all"], value.params()["all"], rtol=1e-9,
                                   atol=1e-12)


def _tensor_to_value_order(tensor):
    """Indices that list the Tensor MLP's parameters in micrograd's order (w..., b)."""
    idx, start = [], 0
    for Wt in tensor.p[::2]:
        nout, nin = Wt.shape
        for j in range(nout):
            idx += [start + j * nin + i for i in range(nin)] + [start + nout * nin + j]
        start += nout * nin + nout
    return np.array(idx)


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    """benchmarks/run.py --quick, one round, run once for the tests below."""
    out = tmp_path_factory.mktemp("quick") / "r.json"
    proc = subprocess.run(
        [sys.executable, str(BENCH / "run.py"), "--quick", "--rounds", "1", "--json", str(out)],
        capture_output=True, text=True, timeout=900,
    )
    assert proc.returncode == 0, proc.stderr
    return proc, json.loads(out.read_text())


def test_run_quick_end_to_end(quick_run):
    proc, res = quick_run
    assert "summary:" in proc.stdout
    assert set(res["workloads"]) == set(W.WORKLOADS)
    assert "peak_memory_bytes" in res["workloads"]["W3"]
    for name, r in res["workloads"].items():
        assert all(m > 0 for m in r["median_s"].values())
        if name != "S1":  # S1's ratios are all against micrograd: see the next test
            assert any(x["median"] is not None for x in r["ratios"]), name
    assert "G2 gru: GRU B=3" in proc.stdout
    g2 = {r["ratio"]: r for r in res["workloads"]["G2"]["ratios"] if not r["goal"]}
    assert {"microgradrnn / numpy", "microgradrnn_fused / numpy",
            "microgradrnn_f32 / numpy_f32"} <= set(g2)
    assert all(r["target"] == "" and r["ok"] is None for r in g2.values())  # no target
    if W.have_torch():  # the reference against PyTorch, and the BLAS of each, are reported
        for name in ("W2", "G2"):
            wr = res["workloads"][name]
            assert {"numpy / torch_fused", "numpy / torch_cell", "microgradrnn / torch_fused",
                    "microgradrnn / torch_cell"} <= {r["ratio"] for r in wr["ratios"]}
            assert set(wr["matmul_numpy_over_torch"]) == {"projection", "recurrent"}
            assert all(v > 0 for v in wr["matmul_numpy_over_torch"].values())


def test_run_quick_measures_s1_against_micrograd(quick_run):
    if not W.have_micrograd():
        pytest.skip("micrograd is not installed (pip install micrograd): S1 has no ratio")
    s1 = quick_run[1]["workloads"]["S1"]["ratios"]
    assert {"microgradrnn / micrograd", "tensor / micrograd"} <= {r["ratio"] for r in s1}
    assert all(r["median"] > 0 for r in s1)


def test_run_quick_judges_no_target_and_names_what_is_missing(quick_run):
    proc, res = quick_run
    assert "MISSED" not in proc.stdout
    rows = [r for w in res["workloads"].values() for r in w["ratios"] if r["target"]]
    assert rows and all(r["ok"] is None for r in rows)
    assert "none judged at --quick sizes" in proc.stdout
    goals = {(r["goal"], r["ratio"]) for r in res["workloads"]["W2"]["ratios"]}
    assert {("goal 2", "microgradrnn / microgradrnn_fused"),
            ("goal 5", "microgradrnn_fused / jax_jit"),
            ("goal 6", "microgradrnn_fused / torch_cell"),
            ("goal 6", "microgradrnn_fused / autograd")} <= goals
    missing = {n for w in W.WORKLOADS.values() for n in W.missing(w)}
    for n in missing:  # said at the top, and as the reason a row has no value
        assert f"{n} (pip install" in proc.stdout
        assert any(n in r.get("note", "") and r["median"] is None
                   for w in res["workloads"].values() for r in w["ratios"])


def test_quick_sizes_judge_no_target():
    import run

    rows = [{"ratio": "a / b", "median": 9.0, "min": 9.0, "max": 9.0}]
    (r,) = run.judged([dict(rows[0])], "<=", 1.0, judge=False)
    assert r["ok"] is None and run.status(r) == "not judged at --quick sizes"
    (r,) = run.judged([dict(rows[0])], "<=", 1.0)
    assert r["ok"] is False and run.status(r) == "MISSED"


def test_a_ratio_against_a_reference_not_timed_says_why():
    import run

    times = {"microgradrnn_fused": [1.0], "numpy": [2.0]}
    absent = {"jax_jit": 'not installed (pip install ".[bench]")'}
    (r,) = run.judged(run.ratio_rows("fused", "jax_jit", times, absent), "<=", 1.0)
    assert r["ratio"] == "microgradrnn_fused / jax_jit" and r["median"] is None
    assert r["ok"] is None
    assert run.status(r) == 'not judged: jax_jit: not installed (pip install ".[bench]")'
    (r,) = run.ratio_rows("fused", "numpy", times, absent)
    assert r["median"] == 0.5
    assert run.ratio_rows("fused", "micrograd", times, absent) == []  # not this workload's


class _Off:
    """A contender whose gradient of one parameter is off by ``by`` (relative)."""

    def __init__(self, impl, by: float) -> None:
        self.impl, self.by = impl, by

    def loss_and_grads(self):
        loss, grads = self.impl.loss_and_grads()
        grads["weight_hh"] = grads["weight_hh"] * (1 + self.by)
        return loss, grads


def test_a_contender_whose_gradients_disagree_is_not_timed():
    import run

    w = SMALL[1]
    c = W.contenders(w)
    impls = {"numpy": c["numpy"](), "microgradrnn_fused": c["microgradrnn_fused"](),
             "wrong": _Off(c["numpy"](), 1e-4), "close": _Off(c["numpy"](), 1e-12)}
    refused = run.gradients_disagree(w, impls)
    assert set(refused) == {"wrong"}
    assert "gradients disagree with the numpy reference" in refused["wrong"]


@pytest.mark.parametrize("peer", ["autograd", "jax_jit"])
@pytest.mark.parametrize("w", SMALL + WIDE, ids=lambda w: w.name)
def test_peer_matches_numpy_reference(w, peer):
    pytest.importorskip({"autograd": "autograd", "jax_jit": "jax"}[peer])
    c = W.contenders(w)
    _assert_same(c["numpy"]().loss_and_grads(), c[peer]().loss_and_grads())


@pytest.mark.parametrize("peer", ["autograd", "jax_jit"])
def test_peer_sgd_steps_agree_with_numpy_reference(peer):
    pytest.importorskip({"autograd": "autograd", "jax_jit": "jax"}[peer])
    c = W.contenders(SMALL[2])  # the LSTM
    a, b = c["numpy"](), c[peer]()
    for _ in range(3):
        assert a.step() == pytest.approx(b.step(), rel=1e-9)
    for k, v in a.params().items():
        np.testing.assert_allclose(v, b.params()[k], rtol=1e-9, atol=1e-12)


def test_a_missed_target_against_torch_names_where_the_reference_stands():
    import run

    res = {"ratios": [{"ratio": "numpy / torch_cell", "median": 1.02, "ok": None}]}
    missed = {"ratio": "microgradrnn_fused / torch_cell", "median": 1.1, "ok": False}
    assert run.reference_note(missed, res) == " (the numpy reference: 1.02)"
    assert run.reference_note({**missed, "ok": True}, res) == ""
    assert run.reference_note({"ratio": "microgradrnn / numpy", "ok": False}, res) == ""


def test_compare_engine_times_this_checkout_against_a_revision():
    """benchmarks/compare_engine.py extracts the package of a git revision under another
    name and times it beside this checkout's (one tiny round here)."""
    if subprocess.run(["git", "rev-parse", "HEAD"], cwd=BENCH, capture_output=True).returncode:
        pytest.skip("not a git checkout")
    proc = subprocess.run(
        [sys.executable, str(BENCH / "compare_engine.py"), "--old", "HEAD", "--only", "W1",
         "--rounds", "1", "--budget", "0.001"],
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "new engine / old (HEAD)" in proc.stdout
    for path in ("default", "fused"):
        assert f"{path:8s} new / old" in proc.stdout
    assert "default / fused: new" in proc.stdout


# ----------------------------------------------------------------------------------------
# benchmarks/floor.py: the bounds behind issue 15's unmet goals


def test_floor_counts_each_buffer_once_views_as_their_base():
    """contract_bytes: what a graph's nodes hold after backward, a view counted as its
    base. x (2, 3) leaf; a = x[0] (a view of x); b = a * 2 (fresh); c = b.sum()."""
    import floor

    from microgradrnn import Tensor

    x = Tensor(np.ones((2, 3)), requires_grad=True)
    c = (x[0] * 2.0).sum()
    c.backward()
    held = floor.contract_bytes(c)
    assert held["leaf"] == {"data": 48, "grad": 48}  # x and its scattered-back gradient
    assert held["getitem"] == {"data": 0, "grad": 24}  # x's memory; a fresh g * 2
    assert held["mul"]["data"] == 24
    # c's 0-d data and its seed; b's gradient is a broadcast view of c's: counted once
    assert held["mul"]["grad"] + held["sum"]["grad"] == 8
    assert held["sum"]["data"] == 8
    assert sum(v["data"] + v["grad"] for v in held.values()) == 160


def test_free_sums_hands_every_node_zeros_and_still_runs_the_rules():
    import floor

    from microgradrnn import Tensor, accumulate, engine

    calls = []

    def traced(x):
        def backward(g):
            calls.append(np.array(g))
            return (g,)
        return engine.from_op(x._data, (x,), backward, "traced")

    w = Tensor(np.ones(3), requires_grad=True)
    loss = (traced(w * 3.0) ** 2).sum()
    with accumulate.using(floor.FreeSums):
        loss.backward()
    assert len(calls) == 1 and not calls[0].any()
    assert w.grad.shape == (3,) and not w.grad.any()
    w.zero_grad()
    loss2 = (traced(w * 3.0) ** 2).sum()
    loss2.backward()  # the real sums again outside the block
    np.testing.assert_allclose(w.grad, 18.0 * np.ones(3))


def test_floor_quick_end_to_end(capsys):
    """floor.py --quick: the three measurements, and the memory floor is the held bytes
    (all but the output stack's data) over the numpy reference's peak."""
    import floor

    assert floor.main(["--quick"]) == 0
    out = capsys.readouterr().out
    for part in ("1. W1, fused", "2. W3: one node", "3. W3, default path"):
        assert part in out
    w3 = W.shrink(W.WORKLOADS["W3"])
    mem = floor.w3_memory_floor(w3)
    held = mem["held"]
    T, B, H, n_out = w3.T, w3.batch, w3.hidden, w3.output
    # per step four (B, H) arrays of data (x and h projections, their sum, tanh) and the
    # stack of all h_t; the head's (T, B, n_out) logits
    assert held["add"]["data"] == held["tanh"]["data"] == T * B * H * 8
    assert held["stack"]["data"] == T * B * H * 8
    assert held["linear"]["data"] == (2 * T * B * H + T * B * n_out) * 8
    total = sum(v["data"] + v["grad"] for v in held.values())
    assert mem["floor"] == total - held["stack"]["data"]
    assert mem["floor / numpy"] == pytest.approx(mem["floor"] / mem["numpy peak"])
