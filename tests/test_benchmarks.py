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
# wide enough (B*H >= 1024) that the engine's fused steps take the exp form of tanh (if
# it still has one: ops.TANH_EXP_FROM), where the reference always takes np.tanh
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


def test_run_quick_end_to_end(tmp_path):
    out = tmp_path / "r.json"
    proc = subprocess.run(
        [sys.executable, str(BENCH / "run.py"), "--quick", "--rounds", "1", "--json", str(out)],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    assert "summary:" in proc.stdout
    res = json.loads(out.read_text())
    assert set(res["workloads"]) == set(W.WORKLOADS)
    assert "peak_memory_bytes" in res["workloads"]["W3"]
    for r in res["workloads"].values():
        assert r["ratios"] and all(m > 0 for m in r["median_s"].values())
    assert "G2 gru: GRU B=3" in proc.stdout
    g2 = {r["ratio"]: r for r in res["workloads"]["G2"]["ratios"]}
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


def test_a_missed_target_against_torch_names_where_the_reference_stands():
    import run

    res = {"ratios": [{"ratio": "numpy / torch_cell", "median": 1.02, "ok": None}]}
    missed = {"ratio": "microgradrnn_fused / torch_cell", "median": 1.1, "ok": False}
    assert run.reference_note(missed, res) == " (the numpy reference: 1.02)"
    assert run.reference_note({**missed, "ok": True}, res) == ""
    assert run.reference_note({"ratio": "microgradrnn / numpy", "ok": False}, res) == ""
