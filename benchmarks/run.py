"""Run the benchmark workloads and print medians and ratios measured in one run.

    python benchmarks/run.py [--quick] [--only W1,L2] [--rounds N] [--json PATH]

Every contender of a workload (microgradrnn, the hand-written numpy reference, PyTorch's
fused layer and its cell in a Python loop, micrograd for S1) is timed in every round, in
a rotated order, so that machine noise hits all of them alike; a ratio is the median
over rounds of the ratio within a round. BLAS and torch run on one thread (set before
numpy or torch is imported). Peak memory of W3 is measured with tracemalloc in a
separate, untimed pass. --quick runs tiny sizes for a smoke test.

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

from microgradrnn.nn import LAYER_NAMES as NAMES  # noqa: E402  ("rnn" -> "tanh RNN", ...)

if W.have_torch():
    import torch

    torch.set_num_threads(1)

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


CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}
clock = time.perf_counter


def time_steps(impl, n: int) -> float:
    gc.collect()
    return _timed(impl.step, n)


def _timed(f, number: int) -> float:
    """Seconds per call of f(), over ``number`` calls, by the chosen clock."""
    t0 = clock()
    for _ in range(number):
        f()
    return (clock() - t0) / number


def bench_workload(w: W.Workload, rounds: int, budget: float, quick: bool) -> dict:
    impls = {name: f() for name, f in contenders(w, quick).items()}
    number = {}
    for name, impl in impls.items():  # warm up, check, and size each timed block
        loss = impl.step()
        if not np.isfinite(loss):
            raise RuntimeError(f"{w.name} {name}: loss is {loss}")
        if name.endswith("_f32"):
            check_float32(name, impl)
        t = time_steps(impl, 1)
        number[name] = max(1, int(budget / max(t, 1e-9)))
    names = list(impls)
    times: dict[str, list[float]] = {n: [] for n in names}
    # The garbage collector stays on, but what exists now (torch's and numpy's modules,
    # the models) is frozen out of its full passes: otherwise every contender's graph
    # building pays for traversing the other libraries' imports, an artifact of
    # running them all in one process.
    gc.collect()
    gc.freeze()
    try:
        for r in range(rounds):
            order = names[r % len(names):] + names[: r % len(names)]
            for name in order:
                times[name].append(time_steps(impls[name], number[name]))
    finally:
        gc.unfreeze()
    result = {
        "workload": w.__dict__,
        "steps_per_round": number,
        "times_s": times,
        "median_s": {n: statistics.median(ts) for n, ts in times.items()},
        "ratios": [],
    }
    for num, den, op, bound in TARGETS.get(w.name, []) + [F32] + REFERENCE:
        rows = []
        for n in (PATHS if num == "microgradrnn" else (num,)):
            if n not in times or den not in times:
                continue
            per_round = [a / b for a, b in zip(times[n], times[den], strict=True)]
            rows.append({"ratio": f"{n} / {den}", "median": statistics.median(per_round),
                         "min": min(per_round), "max": max(per_round)})
        result["ratios"] += judged(rows, op, bound)
    return result


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
            best[lib] = min(_timed(f, number) for _ in range(repeat))
        out[name] = best["numpy"] / best["torch"]
    return out


def judged(rows: list[dict], op: str, bound: float) -> list[dict]:
    """The target is judged on the fastest row (the others get ok=None)."""
    best = min(rows, key=lambda r: r["median"]) if rows else None
    for r in rows:
        ratio = r["median"]
        r["target"] = f"{op} {bound:g}" if op else ""
        r["ok"] = None if not op or r is not best else (
            ratio <= bound if op == "<=" else ratio < bound)
    return rows


def peak_memory(w: W.Workload) -> dict:
    """Peak traced bytes while building an implementation and running two steps.

    What is counted is alike on both sides: each implementation builds its own copy of
    the parameters and of the input sequence (numpy's copies X as the engine's Tensor(X)
    does), then holds whatever its steps need."""
    out = {}
    for name, factory in W.contenders(w, np.float64).items():
        if name.startswith("torch"):
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
    if r["ok"] or not den.startswith("torch"):
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
          f"numpy {info['numpy']}, torch {info.get('torch', 'not installed')}")
    print(f"{rounds} interleaved rounds, {args.clock} clock; ratios are medians of "
          "per-round ratios\n")
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
                rows = [{"ratio": f"peak memory {n} / numpy", "median": mem[n] / mem["numpy"],
                         "min": mem[n] / mem["numpy"], "max": mem[n] / mem["numpy"]}
                        for n in PATHS if n in mem]
                res["ratios"] += judged(rows, "<=", MEMORY_TARGET[1])
        res["matmul_numpy_over_torch"] = matmul_parity(w)
        results["workloads"][name] = res
        print(f"{name} {describe(w)}")
        for n, m in res["median_s"].items():
            print(f"    {n:18s}{fmt_time(m)}")
        for k, v in res.get("peak_memory_bytes", {}).items():
            print(f"    peak memory {k:14s}{v / 2**20:8.2f} MiB")
        for r in res["ratios"]:
            mark = "" if r["ok"] is None else ("ok" if r["ok"] else "MISSED")
            print(f"    {r['ratio']:44s}{r['median']:9.3g}  (range {r['min']:.3g}-"
                  f"{r['max']:.3g})  {r['target']:8s} {mark}")
            summary.append((name, r, res))
        for k, v in res["matmul_numpy_over_torch"].items():
            print(f"    matmul time numpy / torch, {k:19s}{v:9.3g}")
        print(flush=True)
    if hasattr(os, "getloadavg"):
        info["loadavg_end"] = os.getloadavg()
    print("summary:")
    for name, r, res in summary:
        if r["ok"] is not None:
            print(f"    {name}  {r['ratio']:44s}{r['median']:9.3g}  {r['target']:8s} "
                  f"{'ok' if r['ok'] else 'MISSED'}{reference_note(r, res)}")
    path = args.json or (None if args.quick else str(HERE / "results" / "latest.json"))
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(results, indent=1, default=str) + "\n")
        print(f"\nsaved {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
