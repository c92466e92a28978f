"""Run the benchmark workloads and print medians and ratios measured in one run.

    python benchmarks/run.py [--quick] [--only W1,L2] [--rounds N] [--json PATH]

Every contender of a workload (microgradrnn, the hand-written numpy reference, PyTorch's
fused layer and its cell in a Python loop, the peers HIPS autograd and JAX jit, micrograd
for S1) is timed in every round, in a rotated order, so that machine noise hits all of
them alike; a ratio is the median over rounds of the ratio within a round. BLAS, torch
and JAX run on one thread (set before numpy or torch is imported; JAX's backend started
pinned to one CPU). Peak memory of W3 is measured with tracemalloc in a separate,
untimed pass. Before any timing, every float64 contender's gradients are
checked against the numpy reference's; one that disagrees is not timed (and said so).
An optional reference that is not installed is named in the output. --quick runs tiny
sizes for a smoke test: its targets are reported as not judged.

Two further lines per RNN workload explain the ratios against PyTorch: the numpy
reference against PyTorch, and numpy's matrix product time over torch's at the
workload's shapes (the two libraries ship different BLAS).
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"  # before numpy (and torch) load their BLAS

import argparse  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))  # run from a checkout without installing

import workloads as W  # noqa: E402
from timing import CLOCKS, block_size, rotated_rounds, timed  # noqa: E402

from microgradrnn.nn import LAYER_NAMES as NAMES  # noqa: E402  ("rnn" -> "tanh RNN", ...)

if W.have_torch():
    import torch

    torch.set_num_threads(1)
if W.peers.have_jax():
    W.peers.start_jax()  # one CPU thread, synchronous: before any other JAX computation

# (numerator, denominator, comparison, bound): the targets of the speed issue; comparison
# "" reports the ratio with no target
TARGETS = {
    "W1": [("microgradrnn", "numpy", "<=", 4.0), ("microgradrnn", "torch_cell", "<=", 0.5)],
    "W2": [("microgradrnn", "numpy", "<=", 1.25), ("microgradrnn", "torch_fused", "<", 1.0),
           ("microgradrnn", "torch_cell", "<", 1.0)],
    "W3": [("microgradrnn", "numpy", "<=", 2.0), ("microgradrnn", "torch_cell", "<=", 0.6),
           ("microgradrnn", "torch_fused", "", 0.0)],
    "W4": [("microgradrnn", "numpy", "<=", 1.1), ("microgradrnn", "torch_fused", "", 0.0),
           ("microgradrnn", "torch_cell", "", 0.0)],
    "L2": [("microgradrnn", "numpy", "<=", 1.3), ("microgradrnn", "torch_cell", "<", 1.0),
           ("microgradrnn", "torch_fused", "", 0.0)],
    "S1": [("microgradrnn", "micrograd", "<=", 1.0), ("tensor", "micrograd", "<=", 1 / 500)],
    # the GRU came after the speed issue: its ratios are reported, with no target
    "G2": [("microgradrnn", "numpy", "", 0.0), ("microgradrnn", "torch_fused", "", 0.0),
           ("microgradrnn", "torch_cell", "", 0.0)],
}
F32 = ("microgradrnn_f32", "numpy_f32", "", 0.0)  # float32 is reported, no target
# The hand-written numpy reference against PyTorch, reported with no target: it bounds
# what an engine on numpy's BLAS can reach. Where PyTorch's BLAS (MKL on x86) multiplies
# faster than numpy's (OpenBLAS), even the reference can miss a "faster than PyTorch"
# target, and the summary says so next to the miss.
REFERENCE = [("numpy", "torch_fused", "", 0.0), ("numpy", "torch_cell", "", 0.0)]
# microgradrnn runs twice: the default composed layers and fused=True (one op per RNN
# step). A target is judged on the faster of the two, the fastest path a user can
# choose; the other row is reported alongside.
PATHS = ("microgradrnn", "microgradrnn_fused")
MEMORY_TARGET = ("W3", 1.5)
# The goals of issue 15 ("speed, round 2"), judged on the named path: "fused" is
# microgradrnn_fused, "default" the composed layers (microgradrnn). (workloads,
# numerator, denominator, comparison, bound, label)
RECURRENT = ("W1", "W2", "W3", "W4", "L2", "G2")
GOALS = [
    (("W1",), "fused", "numpy", "<=", 3.0, "goal 1"),
    (("W2", "W3", "L2"), "default", "microgradrnn_fused", "<=", 1.25, "goal 2"),
    (("W2", "W3", "L2"), "fused", "jax_jit", "<=", 1.0, "goal 5"),
    (RECURRENT, "fused", "torch_fused", "<", 1.0, "goal 6"),
    (RECURRENT, "fused", "torch_cell", "<", 1.0, "goal 6"),
    (RECURRENT, "fused", "autograd", "<", 1.0, "goal 6"),  # every eager peer
]
MEMORY_GOAL = ("W3", "default", 1.5, "goal 2")  # W3's default-path peak memory / numpy
# a numerator -> the contenders it stands for ("microgradrnn": the faster of the two)
NUMERATORS = {"microgradrnn": PATHS, "fused": ("microgradrnn_fused",),
              "default": ("microgradrnn",)}
GRAD_RTOL = 1e-7  # gradient check before timing: max |a - b| <= GRAD_RTOL * max |b|


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {
        "cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
        "numpy": np.__version__, "blas_threads": os.environ["OPENBLAS_NUM_THREADS"],
        "platform": platform.platform(),
    }
    if W.have_torch():
        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
    if W.peers.have_autograd():
        from importlib.metadata import version

        info["autograd"] = version("autograd")
    if W.peers.have_jax():
        import jax

        info["jax"] = jax.__version__
    if hasattr(os, "getloadavg"):
        info["loadavg_start"] = os.getloadavg()
    return info


def contenders(w: W.Workload, quick: bool) -> dict:
    """Factories of the contenders, float64, plus float32 for the engine and numpy."""
    out = W.contenders(w, np.float64)
    if w.cell != "mlp":
        c32 = W.contenders(w, np.float32)
        out["microgradrnn_f32"] = c32["microgradrnn"]
        out["numpy_f32"] = c32["numpy"]
    return out


def check_float32(name: str, impl) -> None:
    for k, v in impl.params().items():
        if v.dtype != np.float32:
            raise RuntimeError(f"{name}: parameter {k} became {v.dtype} after a float32 step")


clock = time.perf_counter  # the chosen one of timing.CLOCKS (--clock)


def gradients_disagree(w: W.Workload, impls: dict) -> dict[str, str]:
    """Each float64 contender whose loss or gradients differ from the numpy reference's
    -> why. Run before any timing: a contender that computes something else is not
    timed."""
    if "numpy" not in impls:
        return {}
    ref_loss, ref = impls["numpy"].loss_and_grads()
    out = {}
    for name, impl in impls.items():
        if name == "numpy" or name.endswith("_f32"):
            continue
        loss, grads = impl.loss_and_grads()
        worst = max(float(np.max(np.abs(grads[k] - g))) / max(float(np.max(np.abs(g))),
                                                            1e-300)
                    for k, g in ref.items())
        if not abs(loss - ref_loss) <= GRAD_RTOL * abs(ref_loss) or not worst <= GRAD_RTOL:
            out[name] = (f"gradients disagree with the numpy reference (loss {loss:.10g} "
                         f"vs {ref_loss:.10g}, worst relative error {worst:.3g}): not timed")
    return out


def bench_workload(w: W.Workload, rounds: int, budget: float, quick: bool) -> dict:
    impls = {name: f() for name, f in contenders(w, quick).items()}
    refused = gradients_disagree(w, impls) if w.cell != "mlp" else {}
    for name in refused:
        del impls[name]
    number = {}
    for name, impl in impls.items():  # warm up, check, and size each timed block
        loss = impl.step()
        if not np.isfinite(loss):
            raise RuntimeError(f"{w.name} {name}: loss is {loss}")
        if name.endswith("_f32"):
            check_float32(name, impl)
        number[name] = block_size(impl.step, budget, clock)
    times = rotated_rounds({n: impl.step for n, impl in impls.items()}, number, rounds,
                           clock)
    absent = {**{n: f"not installed ({how})" for n, how in W.missing(w).items()}, **refused}
    result = {
        "workload": w.__dict__,
        "steps_per_round": number,
        "times_s": times,
        "median_s": {n: statistics.median(ts) for n, ts in times.items()},
        "not_timed": absent,
        "ratios": [],
    }
    goals = [(num, den, op, bound, label) for names_, num, den, op, bound, label in GOALS
             if w.name in names_]
    for num, den, op, bound, *label in (
            [t + ("",) for t in TARGETS.get(w.name, []) + [F32] + REFERENCE] + goals):
        rows = ratio_rows(num, den, times, absent)
        for r in rows:
            r["goal"] = label[0]
        result["ratios"] += judged(rows, op, bound, judge=not quick)
    return result


def ratio_rows(num: str, den: str, times: dict, absent: dict) -> list[dict]:
    """The per-round ratio rows of ``num`` over ``den``; a row saying why when one side
    was not timed (not installed, or refused by the gradient check)."""
    nums = [n for n in NUMERATORS.get(num, (num,)) if n in times]
    if nums and den in times:
        rows = []
        for n in nums:
            per_round = [a / b for a, b in zip(times[n], times[den], strict=True)]
            rows.append({"ratio": f"{n} / {den}", "median": statistics.median(per_round),
                         "min": min(per_round), "max": max(per_round)})
        return rows
    why = [f"{n}: {absent[n]}" for n in NUMERATORS.get(num, (num,)) + (den,) if n in absent]
    if not why:
        return []  # a contender this workload does not have (e.g. float32 for S1)
    alias = NUMERATORS.get(num, (num,))
    name = alias[0] if len(alias) == 1 else num
    return [{"ratio": f"{name} / {den}", "median": None, "min": None, "max": None,
             "note": "; ".join(why)}]


def matmul_parity(w: W.Workload, repeat: int = 5) -> dict[str, float]:
    """numpy's matrix product time over torch's, float64, one thread, at the two shapes
    an RNN workload's time goes to: all steps' input projection (T*B, I) x (I, G*H) and
    one step's recurrent product (B, H) x (H, G*H). Best of ``repeat`` timed blocks each:
    a property of the two BLAS libraries on this machine, not of either engine."""
    if w.cell == "mlp" or not W.have_torch():
        return {}
    G = W.GATES[w.cell]
    rng = np.random.default_rng(0)
    shapes = {"projection": (w.T * w.batch, w.input, G * w.hidden),
              "recurrent": (w.batch, w.hidden, G * w.hidden)}
    out = {}
    for name, (m, k, n) in shapes.items():
        a, b = rng.standard_normal((m, k)), rng.standard_normal((k, n))
        ta, tb = torch.from_numpy(a), torch.from_numpy(b)
        number = max(1, int(2e7 / (m * k * n)))
        best = {}
        for lib, f in (("numpy", lambda: np.dot(a, b)), ("torch", lambda: torch.mm(ta, tb))):
            f()
            best[lib] = min(timed(f, number, clock) for _ in range(repeat))
        out[name] = best["numpy"] / best["torch"]
    return out


def judged(rows: list[dict], op: str, bound: float, judge: bool = True) -> list[dict]:
    """The target is judged on the fastest row (the others get ok=None); with ``judge``
    false (the tiny --quick sizes, which no target was set for) none is judged."""
    timed = [r for r in rows if r["median"] is not None]
    best = min(timed, key=lambda r: r["median"]) if timed else None
    for r in rows:
        ratio = r["median"]
        r["target"] = f"{op} {bound:g}" if op else ""
        r["ok"] = None if not op or r is not best or not judge else (
            ratio <= bound if op == "<=" else ratio < bound)
        if op and r is best and not judge:
            r["note"] = "not judged at --quick sizes"
        elif op and ratio is None:
            r["note"] = "not judged: " + r["note"]
    return rows


def status(r: dict) -> str:
    """ok / MISSED / why the row was not judged / "" (no target, or not the best path)."""
    if r["ok"] is not None:
        return "ok" if r["ok"] else "MISSED"
    return r.get("note", "")


def fmt_ratio(r: dict) -> str:
    if r["median"] is None:
        return f"{'-':>9s}  {'':22s}"
    rng = f"(range {r['min']:.3g}-{r['max']:.3g})"
    return f"{r['median']:9.3g}  {rng:22s}"


def peak_memory(w: W.Workload, only: tuple[str, ...] | None = None) -> dict:
    """Peak traced bytes while building an implementation and running two steps (every
    contender but torch's, or those named in ``only``).

    What is counted is alike on both sides: each implementation builds its own copy of
    the parameters and of the input sequence (numpy's copies X as the engine's Tensor(X)
    does), then holds whatever its steps need."""
    out = {}
    for name, factory in W.contenders(w, np.float64).items():
        if name.startswith("torch") or (only is not None and name not in only):
            continue  # torch's allocator is invisible to tracemalloc
        gc.collect()
        tracemalloc.start()
        impl = factory()
        impl.step()
        impl.step()
        out[name] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        del impl
    return out


def fmt_time(s: float) -> str:
    return f"{s * 1e3:9.3f} ms" if s >= 1e-3 else f"{s * 1e6:9.1f} us"


def describe(w: W.Workload) -> str:
    if w.cell == "mlp":
        return w.about
    return (f"{w.about}: {NAMES[w.cell]} B={w.batch} "
            f"I={w.input} H={w.hidden} O={w.output} T={w.T}, {w.loss}")


def reference_note(r: dict, res: dict) -> str:
    """For a missed target against PyTorch: where the numpy reference itself stands."""
    den = r["ratio"].split(" / ")[-1]
    if r["ok"] is not False or not den.startswith("torch"):
        return ""
    ref = next((x for x in res["ratios"] if x["ratio"] == f"numpy / {den}"), None)
    return "" if ref is None else f" (the numpy reference: {ref['median']:.3g})"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="tiny sizes, 2 rounds (smoke test)")
    ap.add_argument("--only", default="", help="comma-separated workloads, e.g. W1,L2")
    ap.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default 7)")
    ap.add_argument("--budget", type=float, default=None,
                    help="seconds per timed block (default 0.25; 0.01 with --quick)")
    ap.add_argument("--clock", choices=list(CLOCKS), default="wall",
                    help="wall time (default), or this process's CPU time, which is "
                         "steadier on a machine shared with other jobs")
    ap.add_argument("--json", default=None,
                    help="where to save results (default benchmarks/results/latest.json; "
                         "none with --quick)")
    args = ap.parse_args(argv)
    global clock
    clock = CLOCKS[args.clock]
    rounds = args.rounds or (2 if args.quick else 7)
    budget = args.budget or (0.01 if args.quick else 0.25)
    names = [n.strip() for n in args.only.split(",") if n.strip()] or list(W.WORKLOADS)
    unknown = [n for n in names if n not in W.WORKLOADS]
    if unknown:
        ap.error(f"unknown workloads {unknown}; choose from {list(W.WORKLOADS)}")

    info = machine()
    print(f"machine: {info['cpu']}, {info['cores']} cores, BLAS threads 1, "
          f"numpy {info['numpy']}, torch {info.get('torch', 'not installed')}, "
          f"autograd {info.get('autograd', 'not installed')}, "
          f"jax {info.get('jax', 'not installed')}")
    absent = {n: how for name in names for n, how in W.missing(W.WORKLOADS[name]).items()}
    if absent:
        print("optional references not installed, their rows left out: "
              + ", ".join(f"{n} ({how})" for n, how in absent.items()))
    print(f"{rounds} interleaved rounds, {args.clock} clock; ratios are medians of "
          "per-round ratios")
    if args.quick:
        print("--quick: tiny sizes, which the targets were not set for: none is judged")
    print()
    results = {"machine": info, "quick": args.quick, "rounds": rounds, "clock": args.clock,
               "workloads": {}}
    summary = []
    for name in names:
        w = W.WORKLOADS[name]
        if args.quick:
            w = W.shrink(w)
        res = bench_workload(w, rounds, budget, args.quick)
        if name == MEMORY_TARGET[0]:
            mem = peak_memory(w)
            res["peak_memory_bytes"] = mem
            if "numpy" in mem:
                def rows(paths: tuple) -> list[dict]:
                    return [{"ratio": f"peak memory {n} / numpy",
                             "median": mem[n] / mem["numpy"], "min": mem[n] / mem["numpy"],
                             "max": mem[n] / mem["numpy"], "goal": goal}
                            for n in paths if n in mem]
                goal = ""
                res["ratios"] += judged(rows(PATHS), "<=", MEMORY_TARGET[1], not args.quick)
                goal = MEMORY_GOAL[3]
                res["ratios"] += judged(rows(NUMERATORS[MEMORY_GOAL[1]]), "<=",
                                        MEMORY_GOAL[2], not args.quick)
        res["matmul_numpy_over_torch"] = matmul_parity(w)
        results["workloads"][name] = res
        print(f"{name} {describe(w)}")
        for n, m in res["median_s"].items():
            print(f"    {n:18s}{fmt_time(m)}")
        for n, why in res["not_timed"].items():
            print(f"    {n:18s}{why}")
        for k, v in res.get("peak_memory_bytes", {}).items():
            print(f"    peak memory {k:14s}{v / 2**20:8.2f} MiB")
        for r in res["ratios"]:
            goal = f"[{r['goal']}]" if r.get("goal") else ""
            print(f"    {r['ratio']:44s}{fmt_ratio(r)}{r['target']:8s} {goal:10s}{status(r)}")
            summary.append((name, r, res))
        for k, v in res["matmul_numpy_over_torch"].items():
            print(f"    matmul time numpy / torch, {k:19s}{v:9.3g}")
        print(flush=True)
    if hasattr(os, "getloadavg"):
        info["loadavg_end"] = os.getloadavg()
    print("summary: the speed issues' targets ([goal N]: issue 15's goals)")
    if args.quick:
        n = sum(1 for _, r, _ in summary if r["target"] and status(r))
        print(f"    {n} targets, none judged at --quick sizes")
        summary = [x for x in summary if x[1]["median"] is None and x[1]["target"]]
    for name, r, res in summary:
        if r["target"] and status(r):
            goal = f"[{r['goal']}]" if r.get("goal") else ""
            value = "        -" if r["median"] is None else f"{r['median']:9.3g}"
            print(f"    {name}  {r['ratio']:44s}{value}  {r['target']:8s} {goal:10s}"
                  f"{status(r)}{reference_note(r, res)}")
    path = args.json or (None if args.quick else str(HERE / "results" / "latest.json"))
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(results, indent=1, default=str) + "\n")
        print(f"\nsaved {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
