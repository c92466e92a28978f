"""Time the activation kernels an RNN step spends its elementwise time in, per element.

    python benchmarks/kernels.py [--repeat 7] [--save]

Two ways to write each activation over a numpy array, both into a preallocated output:

- tanh:    ``np.tanh``, or the exp form 2 sigmoid(2z) - 1 with sigmoid by one exp (the
           engine's ``tanh_into``: multiply, negate, clip, exp, add, reciprocal, multiply,
           subtract: eight numpy calls);
- sigmoid: the exp form 1 / (1 + e^-z) with e^-z clipped (the engine's ``sigmoid_into``:
           five calls), or the tanh form (tanh(z / 2) + 1) / 2 (four calls).

The forms are written here, not imported, so that this measures the forms whatever the
engine's kernels look like today. Sizes are the B*H (and B*4H) of the workloads, from 16
elements (W1's B1, H16) to 131072 (W4-sized LSTM gates, 64 * 512 * 4), in float64 and
float32. Each cell is the best of ``--repeat`` timed blocks (the least disturbed by other
jobs on the machine), with the median beside it as the spread. ``--save`` writes the
table to benchmarks/results/kernels-<cpu>.txt.
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"

import argparse  # noqa: E402
import platform  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
# B*H of W1 (16), W3 (512), W2/L2/G2 (4096), G2's r,z (8192), L2's gates (16384),
# W4 (32768), and a W4-sized LSTM's gates (131072), with the sizes between
SIZES = (16, 64, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 131072)


def _exp_limit(dtype) -> float:
    return float(np.log(np.finfo(dtype).max)) - 1.0


def sigmoid_exp(z: np.ndarray, out: np.ndarray) -> np.ndarray:
    """out <- 1 / (1 + e^-z), e^-z clipped below overflow (five numpy calls)."""
    np.negative(z, out=out)
    np.minimum(out, _LIMIT[out.dtype], out=out)
    np.exp(out, out=out)
    out += 1.0
    return np.reciprocal(out, out=out)


def sigmoid_tanh(z: np.ndarray, out: np.ndarray) -> np.ndarray:
    """out <- (tanh(z / 2) + 1) / 2 (four numpy calls)."""
    np.multiply(z, 0.5, out=out)
    np.tanh(out, out=out)
    out *= 0.5
    out += 0.5
    return out


def tanh_np(z: np.ndarray, out: np.ndarray) -> np.ndarray:
    return np.tanh(z, out=out)


def tanh_exp(z: np.ndarray, out: np.ndarray) -> np.ndarray:
    """out <- 2 sigmoid(2z) - 1, sigmoid by one exp (eight numpy calls)."""
    np.multiply(z, 2.0, out=out)
    sigmoid_exp(out, out)
    out *= 2.0
    out -= 1.0
    return out


_LIMIT = {np.dtype(t): _exp_limit(t) for t in (np.float32, np.float64)}
KERNELS = {
    "tanh": {"np.tanh": tanh_np, "exp form": tanh_exp},
    "sigmoid": {"exp form": sigmoid_exp, "tanh form": sigmoid_tanh},
}


def ns_per_element(f, z: np.ndarray, out: np.ndarray, repeat: int) -> tuple[float, float]:
    """(best, median) over ``repeat`` blocks of ns per element of f(z, out)."""
    number = max(20, int(2e6 / (z.size + 200)))  # about a millisecond or more a block
    f(z, out)
    per_block = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            f(z, out)
        per_block.append((time.perf_counter() - t0) / number / z.size * 1e9)
    return min(per_block), statistics.median(per_block)


def check_forms() -> None:
    """The forms agree (so the table compares like with like)."""
    z = np.random.default_rng(0).standard_normal(1000) * 3
    out = np.empty_like(z)
    np.testing.assert_allclose(tanh_exp(z, out), np.tanh(z), atol=1e-15)
    np.testing.assert_allclose(sigmoid_tanh(z, out), 1 / (1 + np.exp(-z)), atol=1e-16)


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def table(repeat: int) -> list[str]:
    rng = np.random.default_rng(0)
    lines = [f"machine: {cpu_name()}, {os.cpu_count()} cores, numpy {np.__version__}, "
             f"python {platform.python_version()}",
             f"ns per element, best of {repeat} blocks (median in brackets); input "
             "standard normal times 2", ""]
    for dtype in (np.float64, np.float32):
        for act, forms in KERNELS.items():
            names = list(forms)
            head = f"{np.dtype(dtype).name} {act}"
            lines.append(f"{head:18s}" + "".join(f"{n:>20s}" for n in names)
                         + f"{'ratio ' + names[1] + ' / ' + names[0]:>28s}")
            for n in SIZES:
                z = (rng.standard_normal(n) * 2).astype(dtype)
                out = np.empty_like(z)
                cells = [ns_per_element(forms[name], z, out, repeat) for name in names]
                row = "".join(f"{b:11.2f} ({m:6.2f})" for b, m in cells)
                lines.append(f"    {n:>10d}    {row}{cells[1][0] / cells[0][0]:28.2f}")
            lines.append("")
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7, help="timed blocks per cell")
    ap.add_argument("--save", action="store_true",
                    help="also write benchmarks/results/kernels-<cpu>.txt")
    args = ap.parse_args(argv)
    check_forms()
    lines = table(args.repeat)
    text = "\n".join(lines)
    print(text)
    if args.save:
        slug = re.sub(r"[^a-z0-9]+", "-", cpu_name().lower()).strip("-")
        path = HERE / "results" / f"kernels-{slug}.txt"
        path.write_text(text + "\n")
        print(f"saved {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
