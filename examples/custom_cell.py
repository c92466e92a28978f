"""A new recurrent cell in twenty lines: the minimal gated unit (MGU, Zhou et al. 2016).

One gate f decides, per unit, how much of the state to overwrite:

    f_t = sigmoid(W_f x_t + U_f h_{t-1} + b_f)
    n_t = tanh(W_n x_t + U_n (f_t * h_{t-1}) + b_n)
    h_t = (1 - f_t) * h_{t-1} + f_t * n_t

Where f_t is near 0, h_t = h_{t-1}: the gradient passes back unchanged, as along an LSTM's
cell state. It is a GRU with one gate instead of two.

The cell only follows the cell contract (a Module with ``init_state(batch_size)`` and
``cell(x_t, state) -> (h_t, new_state)``) and uses the engine's public ops. Everything
else comes for free: ``nn.Recurrent`` unrolls and stacks it, training uses the
sine -> cosine task of ``sine_to_cosine.py`` unchanged, ``gradcheck`` compares its
backward pass (through 3 unrolled steps) with finite differences, and ``viz`` draws it.
"""

from __future__ import annotations

# isort: off
# _common comes first: it configures numpy before numpy loads.
from _common import parse_args, render
# isort: on
from collections.abc import Sequence

import numpy as np
from sine_to_cosine import fit_and_test

from microgradrnn import Tensor, gradcheck, nn, viz
from microgradrnn import functional as F
from microgradrnn.datasets import sine_to_cosine

OUTPUTS = ("custom_cell_cells.svg", "custom_cell_ops.svg")  # what it writes into --out


class MGUCell(nn.Module):
    """Minimal gated unit. x_t: (B, input_size), state h: (B, hidden_size) -> (h_t, h_t)."""

    def __init__(self, input_size: int, hidden_size: int, rng: np.random.Generator) -> None:
        H, n_in = hidden_size, input_size
        u = lambda *shape: nn.Parameter(nn.init.uniform(shape, H ** -0.5, rng))
        self.hidden_size = H
        self.weight_f, self.recur_f, self.bias_f = u(H, n_in), u(H, H), u(H)  # the gate
        self.weight_n, self.recur_n, self.bias_n = u(H, n_in), u(H, H), u(H)  # the new state

    def init_state(self, batch_size: int) -> Tensor:
        return Tensor(np.zeros((batch_size, self.hidden_size)))

    def forward(self, x: Tensor, h: Tensor) -> tuple[Tensor, Tensor]:
        f = (F.linear(x, self.weight_f, self.bias_f) + F.linear(h, self.recur_f)).sigmoid()
        n = (F.linear(x, self.weight_n, self.bias_n) + F.linear(f * h, self.recur_n)).tanh()
        h = h + f * (n - h)  # = (1 - f) h + f n, one op fewer
        return h, h


def mgu(input_size: int, hidden_size: int, rng: int | np.random.Generator) -> nn.Recurrent:
    """A one-layer sequence layer of MGU cells: x (T, B, input_size) -> (T, B, hidden)."""
    return nn.Recurrent(lambda n, g: MGUCell(n, hidden_size, g), input_size, rng=rng)


def check_gradients(cell: MGUCell, seed: int, steps: int = 3) -> bool:
    """gradcheck the cell's parameters through ``steps`` unrolled steps (float64)."""
    x = np.random.default_rng(seed).standard_normal((steps, 2, 1))

    def unrolled() -> Tensor:
        state = cell.init_state(2)
        for t in range(steps):
            h, state = cell(Tensor(x[t]), state)
        return h

    return gradcheck(unrolled, params=cell.parameters())


def main(argv: Sequence[str] | None = None) -> dict:
    """Gradcheck, train on sine -> cosine, draw; return {"gradcheck", "test_mse", ...}."""
    args = parse_args(__doc__, argv, OUTPUTS)
    steps = 200 if args.fast else 800
    layer = mgu(1, 16, args.seed)
    ok = check_gradients(layer.cells[0], args.seed)
    print(f"gradcheck of the MGU cell through 3 steps (float64, every parameter element): "
          f"{'passed' if ok else 'FAILED'}")
    print(f"training it on sine -> cosine: hidden 16, {steps} Adam steps")
    head, result = fit_and_test(layer, steps, args.seed, "MGU")
    for T, view, name, file in ((4, viz.draw_cells, "cells", OUTPUTS[0]),
                                (2, viz.draw_ops, "ops", OUTPUTS[1])):
        x, y = sine_to_cosine(1, T, seed=args.seed)
        L, _ = F.per_step_loss(layer(x)[0], head, y, F.mse_loss)
        L.backward(record_flow=True)  # the flow the picture draws
        render(view(L, title=f"MGU cell, {T} steps, {name} view: the gradient of L"),
               args.out, file)
    print(result["summary"])
    return {**result, "gradcheck": ok}


if __name__ == "__main__":
    main()
