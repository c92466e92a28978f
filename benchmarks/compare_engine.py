"""Time this checkout's engine against another git revision's, in one process.

    python benchmarks/compare_engine.py [--old REV] [--only W1,W3] [--rounds 7]
                                        [--paths default,fused] [--clock cpu]

For a change to the library's hot paths: the package as of ``REV`` is extracted into a
temporary folder under another name (its imports are all relative), and both versions
train the same workload (float64, one BLAS thread) side by side with the numpy
reference, timed in rotated blocks so that the load of other jobs hits all of them
alike. A ratio is the median over rounds of new / old within a round, with its range
and the ratio of the two best blocks (the least disturbed by other jobs); new / numpy
and old / numpy are printed too, which is what the README's tables quote.
Both versions are checked to compute the same loss and gradients first (1e-10).
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"

import argparse  # noqa: E402
import importlib  # noqa: E402
import io  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tarfile  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import workloads as W  # noqa: E402
from timing import CLOCKS, block_size, rotated_rounds  # noqa: E402

import microgradrnn  # noqa: E402

OLD_NAME = "microgradrnn_old"


def load_old(rev: str, into: Path):
    """The package ``microgradrnn`` as of git revision ``rev``, imported as
    ``microgradrnn_old`` from a copy under ``into``."""
    tar = subprocess.run(["git", "archive", rev, "microgradrnn"], cwd=HERE.parent,
                         capture_output=True)
    if tar.returncode:
        raise SystemExit(f"compare_engine: cannot read microgradrnn at {rev!r}: "
                         f"{tar.stderr.decode().strip()}")
    with tarfile.open(fileobj=io.BytesIO(tar.stdout)) as t:
        t.extractall(into, filter="data")
    (into / "microgradrnn").rename(into / OLD_NAME)
    sys.path.insert(0, str(into))
    return importlib.import_module(OLD_NAME)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--old", default="HEAD", help="git revision of the old engine")
    ap.add_argument("--only", default="W1,W2,W3,L2,G2", help="comma-separated workloads")
    ap.add_argument("--paths", default="default,fused", help="default, fused or both")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--budget", type=float, default=0.2, help="seconds per timed block")
    ap.add_argument("--clock", choices=list(CLOCKS), default="cpu")
    args = ap.parse_args(argv)
    clock = CLOCKS[args.clock]
    paths = [p for p in args.paths.split(",") if p]
    with tempfile.TemporaryDirectory() as tmp:
        old = load_old(args.old, Path(tmp))
        print(f"new engine / old ({args.old}), {args.rounds} rotated rounds, "
              f"{args.clock} clock")
        for name in [n for n in args.only.split(",") if n]:
            w = W.WORKLOADS[name]
            params = W.make_params(w)
            X, target = W.make_data(w)
            impls = {"numpy": W.NumpyImpl(w, params, X, target)}
            for p in paths:
                for tag, mg in (("new", microgradrnn), ("old", old)):
                    impls[f"{p} {tag}"] = W.EngineImpl(w, params, X, target,
                                                       fused=p == "fused", mg=mg)
            ref_loss, ref = impls["numpy"].loss_and_grads()
            for n, impl in impls.items():
                loss, grads = impl.loss_and_grads()
                assert abs(loss - ref_loss) <= 1e-10 * abs(ref_loss), (name, n, loss)
                for k, g in grads.items():
                    np.testing.assert_allclose(g, ref[k], rtol=1e-9, atol=1e-12, err_msg=k)
            number = {}
            for n, impl in impls.items():
                impl.step()  # warm up
                number[n] = block_size(impl.step, args.budget, clock)
            times = rotated_rounds({n: impl.step for n, impl in impls.items()}, number,
                                   args.rounds, clock)

            def ratio(a: str, b: str) -> str:
                r = [x / y for x, y in zip(times[a], times[b], strict=True)]
                return (f"{statistics.median(r):.3f} ({min(r):.3f}-{max(r):.3f}; "
                        f"best/best {min(times[a]) / min(times[b]):.3f})")

            print(f"  {name}  numpy {statistics.median(times['numpy']) * 1e3:.3f} ms")
            for p in paths:
                print(f"    {p:8s} new / old {ratio(f'{p} new', f'{p} old')}   "
                      f"new / numpy {ratio(f'{p} new', 'numpy')}   "
                      f"old / numpy {ratio(f'{p} old', 'numpy')}", flush=True)
            if len(paths) == 2:
                print(f"    default / fused: new {ratio('default new', 'fused new')}   "
                      f"old {ratio('default old', 'fused old')}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
