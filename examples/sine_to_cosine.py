"""Regression over time: an RNN reads sin(phase + t dt) and outputs cos(phase + t dt).

    h_t = tanh(W_xh x_t + W_hh h_{t-1} + b),   y_t = W_hy h_t + c,   L = (1/T) sum_t L_t,
    L_t = mean over the batch of (y_t - cos(phase + t dt))^2.

Why it needs memory: one sample x_t = sin(a) fixes cos(a) only up to its sign. The network
must read the direction the sine is moving in, i.e. remember x_{t-1} in h_{t-1}; so the
gradient that trains W_hh arrives through BPTT. At t = 1 nothing is known yet (the best
guess for cos is 0, costing E[cos^2] = 1/2), so the test MSE is measured from step
``WARMUP + 1`` on; the all-steps MSE is printed as well.

Each training step draws a fresh batch of random phases; the test set is 200 sequences
from another seed. Plots the test predictions when matplotlib is installed.
"""

from __future__ import annotations

# isort: off
# _common comes first: it configures numpy before numpy loads.
from _common import Timer, parse_args, pyplot, reached, save_figure, train
# isort: on
from collections.abc import Sequence
from typing import Any

import numpy as np

from microgradrnn import Tensor, nn, no_grad, optim
from microgradrnn import functional as F
from microgradrnn.datasets import sine_to_cosine

TARGET = 1e-2  # the test MSE this example promises
OUTPUTS = ("sine_to_cosine.png",)  # what it writes into --out
WARMUP = 2  # steps not scored: at t = 1 the sign of cos is unknowable
STEPS = 40  # sequence length


def fit(
    layer: nn.Module, steps: int, seed: int, batch: int = 32, lr: float = 0.05
) -> tuple[nn.Linear, list[float]]:
    """Train ``layer`` (any sequence layer with hidden_size) plus a linear head with Adam.

    Returns the head and the loss of every step.
    """
    rng = np.random.default_rng(seed)
    head = nn.Linear(layer.hidden_size, 1, rng=rng)
    opt = optim.Adam(layer.parameters() + head.parameters(), lr=lr)

    def step() -> float:
        x, y = sine_to_cosine(batch, STEPS, seed=rng)
        out, _ = layer(x)
        loss = F.mse_loss(head(out), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    return head, train(step, steps, "sine -> cosine")


def predict(layer: nn.Module, head: nn.Module, x: np.ndarray) -> np.ndarray:
    """y for x of shape (T, B, 1), without building a graph."""
    with no_grad():
        return head(layer(Tensor(x))[0]).numpy()


def test_mse(layer: nn.Module, head: nn.Module, seed: int) -> tuple[float, float]:
    """(MSE from step WARMUP + 1 on, MSE over all steps) on 200 sequences from ``seed``."""
    x, y = sine_to_cosine(200, STEPS, seed=seed)
    err = (predict(layer, head, x) - y) ** 2
    return float(err[WARMUP:].mean()), float(err.mean())


def plot(layer: nn.Module, head: nn.Module, out: Any, seed: int) -> None:
    """Three test sequences: input, target and prediction."""
    plt = pyplot()
    if plt is None:
        return
    x, y = sine_to_cosine(3, STEPS, seed=seed)
    pred = predict(layer, head, x)
    fig, axes = plt.subplots(1, 3, figsize=(12, 3), sharey=True)
    for i, ax in enumerate(axes):
        ax.plot(x[:, i, 0], ":", label="x = sin")
        ax.plot(y[:, i, 0], label="target cos")
        ax.plot(pred[:, i, 0], "--", label="RNN")
        ax.set_xlabel("t")
    axes[0].legend(fontsize=8)
    fig.suptitle("sine -> cosine: test sequences")
    save_figure(fig, out, OUTPUTS[0])


def fit_and_test(layer: nn.Module, steps: int, seed: int, name: str) -> tuple[nn.Linear, dict]:
    """Train ``layer`` and a head, test them; return the head and the numbers reached."""
    with Timer() as timer:
        head, losses = fit(layer, steps, seed)
        mse, mse_all = test_mse(layer, head, seed=10_000 + seed)
    print(f"training loss {losses[0]:.3g} -> {np.mean(losses[-10:]):.3g} in "
          f"{timer.seconds:.1f} s; test MSE over all {STEPS} steps {mse_all:.3g}")
    line = reached(f"{name} test MSE (steps {WARMUP + 1}..{STEPS})", f"{mse:.2g}",
                   f"< {TARGET:g}", mse < TARGET)
    return head, {"test_mse": mse, "test_mse_all": mse_all, "first_loss": losses[0],
                  "final_loss": float(np.mean(losses[-10:])), "seconds": timer.seconds,
                  "summary": line}


def main(argv: Sequence[str] | None = None) -> dict:
    """Train, test, plot; return {"test_mse", "test_mse_all", "first_loss", ...}."""
    args = parse_args(__doc__, argv, OUTPUTS)
    steps = 400 if args.fast else 1000
    print(f"sine -> cosine: tanh RNN, hidden 16, {steps} Adam steps, batches of 32 "
          f"sequences of {STEPS} steps")
    layer = nn.RNN(1, 16, rng=args.seed)
    head, result = fit_and_test(layer, steps, args.seed, "RNN")
    plot(layer, head, args.out, seed=10_000 + args.seed)
    print(result["summary"])
    return result


if __name__ == "__main__":
    main()
