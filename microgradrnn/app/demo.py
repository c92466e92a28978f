"""``microgradrnn demo``: train a 2-layer tanh RNN to turn a sine wave into its cosine, then
draw the unrolled graph with the two roads of the gradient, and plot how the last step's
loss fades as it travels back in time.

The task needs memory: from sin(θ) alone the sign of cos(θ) is unknown, so the network
must read the direction of travel from earlier steps. The loss is L = Σ_t L_t with
L_t = mean squared error of y_t; BPTT runs over the whole sequence. The test error is
reported after a warm-up of two steps: at t = 1 the sign of the cosine is a coin toss.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import datasets, optim
from ..engine import Tensor, gradient_flow, no_grad, toposort
from ..files import write_whole
from .outfiles import check_targets, marked_svg
from .progress import Progress, say
from .seqmodel import PerStepModel
from .svgplot import line_chart

WARMUP = 2  # steps left out of the test error: the first sample cannot tell cos's sign


class SineToCosine(PerStepModel):
    """x: (T, B, 1) -> y: (T, B, 1), a stacked tanh RNN and a linear head per step."""

    def __init__(self, hidden: int = 16, layers: int = 2, seed: int = 0) -> None:
        super().__init__("rnn", inputs=1, hidden=hidden, layers=layers, seed=seed)


@dataclass
class DemoResult:
    test_mse: float
    first_loss: float
    final_loss: float
    seconds: float
    files: dict[str, Path] = field(default_factory=dict)
    gradient_norms: dict[int, list[float]] = field(default_factory=dict)


def hidden_gradient_norms(loss: Tensor, root: Tensor) -> dict[int, list[float]]:
    """||dloss/dh_t^l|| for every layer l and step t >= 1 of the graph under root."""
    flow = gradient_flow(loss)
    norms: dict[int, dict[int, float]] = {}
    for node in toposort(root):
        tg = node.tags
        if tg.get("role") == "h" and tg.get("t", 0) >= 1:
            g = flow.grad(node)
            value = 0.0 if g is None else float(np.linalg.norm(g))
            norms.setdefault(tg["layer"], {})[tg["t"]] = value
    return {layer: [by_t[t] for t in sorted(by_t)] for layer, by_t in sorted(norms.items())}


def run(
    out: str | Path = ".",
    force: bool = False,
    iterations: int = 600,
    steps: int = 24,
    seed: int = 0,
    progress: bool | None = None,
) -> DemoResult:
    """Train, evaluate, draw. Writes demo-cells.svg and demo-gradients.svg into ``out``
    (created if missing).

    Raises, before training, FileExistsError for a file microgradrnn did not write (unless
    ``force``), NotADirectoryError if ``out`` is a file, IsADirectoryError if one of the
    two names is a folder.
    """
    from .. import viz  # graphviz loads only when drawing

    start = time.perf_counter()
    out = Path(out)
    files = {"cells view": out / "demo-cells.svg",
             "gradient plot": out / "demo-gradients.svg"}
    check_targets(list(files.values()), force, elsewhere="choose another --out DIR")

    model = SineToCosine(seed=seed)
    opt = optim.Adam(model.parameters(), lr=0.01)
    rng = np.random.default_rng(seed)
    x_test, y_test = datasets.sine_to_cosine(batch=100, steps=steps, seed=rng)
    losses = []
    bar = Progress(iterations, "training", enabled=progress)
    for _ in bar:
        x, y = datasets.sine_to_cosine(batch=32, steps=steps, seed=rng)
        loss, _ = model.losses(x, y)
        opt.zero_grad()
        loss.backward()
        optim.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item() / steps)
        bar.show(loss=losses[-1])
    with no_grad():
        _, test_losses = model.losses(x_test, y_test)
    test_mse = float(np.mean([loss.item() for loss in test_losses[WARMUP:]]))

    # One test sequence, backpropagated with the flow recorded on every edge.
    loss, step_losses = model.losses(x_test[:, :1], y_test[:, :1])
    loss.backward(retain_graph=True, record_flow=True)
    norms = hidden_gradient_norms(step_losses[-1], loss)
    graph = viz.draw_cells(
        loss, title=f"2-layer tanh RNN, sine -> cosine, unrolled over T = {steps}")
    out.mkdir(parents=True, exist_ok=True)
    write_whole(files["cells view"], marked_svg(viz.to_svg(graph)))
    t = list(range(1, steps + 1))
    chart = line_chart(
        {f"layer {layer}": (t, values) for layer, values in norms.items()},
        title=f"How far back the last loss reaches: ‖∂L_{steps}/∂h_t‖",
        xlabel="t (time step)", ylabel="gradient norm (log scale)")
    write_whole(files["gradient plot"], marked_svg(chart))
    return DemoResult(test_mse, losses[0], losses[-1], time.perf_counter() - start,
                      files, norms)


def main(out: str, force: bool, iterations: int, seed: int) -> int:
    """Run the demo and report where it wrote what. Errors (a file it may not overwrite,
    --out not a folder) are raised for the command line to report before any training."""
    result = run(out, force=force, iterations=iterations, seed=seed)
    say(f"trained in {result.seconds:.1f} s: loss per step {result.first_loss:.3f} -> "
        f"{result.final_loss:.4f}; test mean squared error {result.test_mse:.2e} "
        f"(steps {WARMUP + 1}..T)")
    for layer, values in result.gradient_norms.items():
        say(f"layer {layer}: ‖∂L_T/∂h_t‖ is {values[-1]:.2g} at t = T and "
            f"{values[0]:.2g} at t = 1")
    for what, path in result.files.items():
        say(f"wrote the {what} to {path}")
    return 0
