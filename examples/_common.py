"""What every example shares: its command line, the optional plots, pictures, the report.

Not part of the library: a helper for the scripts in ``examples/``. Each example is run as
``python examples/<name>.py [--fast] [--seed N] [--out DIR] [--force]`` and has
``main(argv) -> dict`` returning the numbers it reached (the tests call it in-process).
"""

from __future__ import annotations

import argparse
import io
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

# An unrolled RNN makes thousands of tiny matrix products. A multi-threaded BLAS wakes its
# threads for each one, and on a small shared machine they spin against each other: the
# examples ran 3 to 10 times slower. One thread is faster here. This only works if it runs
# before numpy loads, so every example imports _common first.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from microgradrnn import viz  # noqa: E402
from microgradrnn.app.outfiles import check_targets, marked  # noqa: E402
from microgradrnn.app.progress import Progress  # noqa: E402

DEFAULT_OUT = Path(__file__).resolve().parent / "out"
PLOTS_MISSING = "matplotlib is not installed: no plots (pip install 'microgradrnn[plots]')"


def parse_args(
    doc: str | None, argv: Sequence[str] | None, outputs: Sequence[str] = ()
) -> argparse.Namespace:
    """--fast, --seed, --out and --force; the description is the docstring's first paragraph.

    ``outputs`` are the files the example will write into --out. One that exists and was
    not written by microgradrnn stops the example before it starts (unless --force), so
    a user's file is never overwritten silently; so does --out naming a file, or an
    output's name taken by a folder.
    """
    summary = (doc or "").strip().split("\n\n")[0]
    parser = argparse.ArgumentParser(description=summary)
    parser.add_argument("--fast", action="store_true",
                        help="a small setting that runs in seconds (what the tests run)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"folder for pictures and plots (default {DEFAULT_OUT})")
    parser.add_argument("--force", action="store_true",
                        help="overwrite files in --out that microgradrnn did not write")
    args = parser.parse_args(argv)
    try:
        check_targets([args.out / name for name in outputs], args.force, who="example",
                      elsewhere="choose another --out DIR")
    except OSError as err:  # a user's file, a folder named like a file, --out a file
        parser.error(str(err))
    return args


def write(out: Path, name: str, data: bytes) -> Path:
    """Write ``out/name`` (creating the folder), marked as microgradrnn's; say so."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / name
    path.write_bytes(marked(data, path.suffix.lstrip("."), "example"))
    print(f"wrote {path}")
    return path


def pyplot() -> Any:
    """matplotlib.pyplot with a non-interactive backend, or None (after saying so)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print(PLOTS_MISSING)
        return None
    return plt


def save_figure(fig: Any, out: Path, name: str) -> Path:
    """Save a matplotlib figure as the PNG ``out/name`` and close it."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    pyplot().close(fig)
    return write(out, name, buffer.getvalue())


def train(
    step: Callable[[], float], steps: int, desc: str, every: int | None = None
) -> list[float]:
    """Call ``step()`` (one update, returning its loss) ``steps`` times; return the losses.

    Shows a progress bar on a terminal, and prints the loss curve as it goes: the mean
    loss over each ``every`` steps (about ten lines by default), above the bar.
    """
    every = every or max(1, steps // 10)
    losses: list[float] = []
    bar = Progress(steps, desc)
    for i in bar:
        losses.append(step())
        bar.show(loss=losses[-1])
        if (i + 1) % every == 0 or i == 0:
            window = losses[-every:] if i else losses
            bar.write(f"  step {i + 1:5d}/{steps}  loss {sum(window) / len(window):.4g}")
    return losses


class Timer:
    """``with Timer() as t: ...``; then ``t.seconds``."""

    def __enter__(self) -> Timer:
        self._start = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._start


def reached(what: str, value: str, target: str, ok: bool) -> str:
    """The closing line of an example, e.g. ``test MSE 3.1e-03 (target < 1e-2): reached``."""
    return f"{what} {value} (target {target}): {'reached' if ok else 'NOT reached'}"


def total_loss(losses: Sequence[Any]) -> Any:
    """L = L_1 + ... + L_T, labelled "L": the root the renderer draws from."""
    total = losses[0]
    for L_t in losses[1:]:
        total = total + L_t
    total.label = "L"
    return total


def render(picture: Any, out: Path, name: str) -> Path | None:
    """Write a ``microgradrnn.viz`` picture as ``out/name`` (format from the extension)."""
    try:
        data = picture.pipe(Path(name).suffix.lstrip("."))
    except viz.EngineError as err:  # no Graphviz engine at all: say so, carry on
        print(f"no picture {name}: {err}")
        return None
    return write(out, name, data)
