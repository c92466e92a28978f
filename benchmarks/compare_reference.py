"""Time the numpy reference of this checkout against the one of another git revision.

    python benchmarks/compare_reference.py [--old REV] [--only W1,L2] [--rounds 9]
                                           [--clock cpu]

For a change to ``numpy_bptt.py``: both versions train the same workload (float64, one
BLAS thread) in one process, timed in alternating blocks, so that the load of other jobs
hits both alike; a ratio is the median over rounds of new / old within a round, with its
range. The two are checked to compute the same loss and gradients first.
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"

import argparse  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import types  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import numpy_bptt  # noqa: E402
import workloads as W  # noqa: E402
from timing import CLOCKS, block_size, rotated_rounds  # noqa: E402


def load_old(rev: str) -> types.ModuleType:
    """benchmarks/numpy_bptt.py as of git revision ``rev``, as a module."""
    src = subprocess.run(["git", "show", f"{rev}:benchmarks/numpy_bptt.py"], cwd=HERE,
                         capture_output=True, text=True)
    if src.returncode:
        raise SystemExit(f"compare_reference: cannot read numpy_bptt.py at {rev!r}: "
                         f"{src.stderr.strip()}")
    mod = types.ModuleType(f"numpy_bptt_{rev}")
    exec(compile(src.stdout, f"{rev}:benchmarks/numpy_bptt.py", "exec"), mod.__dict__)
    return mod


def model(mod: types.ModuleType, w: W.Workload):
    cls = {"rnn": mod.NumpyRNN, "lstm": mod.NumpyLSTM, "gru": mod.NumpyGRU}[w.cell]
    params = W.make_params(w)
    X, target = W.make_data(w)
    m = cls({k: v.copy() for k, v in params.items()}, w.T, w.batch, w.loss)
    return m, X, target


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--old", default="HEAD", help="git revision of the old reference")
    ap.add_argument("--only", default="", help="comma-separated workloads")
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--budget", type=float, default=0.2, help="seconds per timed block")
    ap.add_argument("--clock", choices=list(CLOCKS), default="cpu")
    args = ap.parse_args(argv)
    clock = CLOCKS[args.clock]
    old = load_old(args.old)
    names = [n for n in args.only.split(",") if n] or [
        n for n, w in W.WORKLOADS.items() if w.cell != "mlp"]
    print(f"new reference / old ({args.old}), {args.rounds} alternating rounds, "
          f"{args.clock} clock")
    for name in names:
        w = W.WORKLOADS[name]
        (mn, X, tg), (mo, _, _) = model(numpy_bptt, w), model(old, w)
        ln, gn = mn.loss_and_grads(X, tg)
        lo, go = mo.loss_and_grads(X, tg)
        assert abs(ln - lo) <= 1e-9 * abs(lo), (name, ln, lo)
        for k in gn:
            np.testing.assert_allclose(gn[k], go[k], rtol=1e-9, atol=1e-12, err_msg=k)
        steps = {"new": lambda: mn.step(X, tg, W.LR), "old": lambda: mo.step(X, tg, W.LR)}
        number = block_size(steps["old"], args.budget, clock)
        times = rotated_rounds(steps, {"new": number, "old": number}, args.rounds, clock)
        ratio = [a / b for a, b in zip(times["new"], times["old"], strict=True)]
        print(f"    {name}  old {statistics.median(times['old']) * 1e3:9.3f} ms  "
              f"new {statistics.median(times['new']) * 1e3:9.3f} ms  new / old "
              f"{statistics.median(ratio):.3f} (range {min(ratio):.3f}-{max(ratio):.3f})",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
