"""A small sequence model tagged for the pictures: a stacked recurrent layer (RNN, LSTM or
GRU from ``nn``) and a linear head applied at every step, with one loss per step.

The demo trains one; ``microgradrnn render`` draws one. ``functional.per_step_loss`` runs
the head and the loss at every step and tags them as docs/contracts.md asks of user code:
``tags(t=t, role="y")`` and ``tags(t=t, role="loss")``; the total loss L = Σ_t L_t is
labelled "L".
"""

from __future__ import annotations

import numpy as np

from .. import nn
from ..engine import Tensor, tags
from ..functional import mse_loss, per_step_loss

LAYERS = nn.LAYERS


class PerStepModel(nn.Module):
    """x: (T, B, inputs) -> y: (T, B, outputs): ``cell`` layers and a linear head per step.

    cell: "rnn" (tanh), "lstm" or "gru". The recurrent layer is built first, then the head,
    both from one generator seeded with ``seed``. fused: the layer's steps are fused ops
    (see ``nn/fused.py``): the same numbers, fewer nodes in the ops view.
    """

    def __init__(self, cell: str = "rnn", inputs: int = 1, hidden: int = 16,
                 layers: int = 1, outputs: int = 1, bidirectional: bool = False,
                 seed: int = 0, fused: bool = False) -> None:
        if cell not in LAYERS:
            raise ValueError(f"PerStepModel: cell must be one of {', '.join(LAYERS)}, "
                             f"got {cell!r}")
        rng = np.random.default_rng(seed)
        self.rnn = LAYERS[cell](inputs, hidden, num_layers=layers,
                                bidirectional=bidirectional, rng=rng, fused=fused)
        self.head = nn.Linear(hidden * (2 if bidirectional else 1), outputs, rng=rng)

    def losses(self, x: np.ndarray, y: np.ndarray, learn_start: bool = False
               ) -> tuple[Tensor, list[Tensor]]:
        """The total loss L = Σ_t L_t (mean squared error per step) and the per-step
        losses, each tagged with its step. x: (T, B, inputs), y: (T, B, outputs).
        learn_start: start from ``start_state`` (zeros that take a gradient) instead of
        the layer's constant zeros; the same numbers, and h_0 gets its gradient."""
        state = self.start_state(np.shape(x)[1]) if learn_start else None
        output, _ = self.rnn(x, state)
        return per_step_loss(output, self.head, y, mse_loss)

    def start_state(self, batch: int) -> Tensor | tuple[Tensor, ...]:
        """Zeros for the layer's initial state (h_0; h_0 and c_0 for an LSTM), each
        (layers * directions, batch, hidden), as tensors that require grad: the pictures
        then show the gradient that reaches h_0 (a constant gets none). Made inside
        ``tags(role="input")``: the renderer draws each layer's h_0, the slice the layer
        takes of it (tagged t=0), and passes over the stacked tensor."""
        rnn = self.rnn
        n = rnn.num_layers * rnn.num_directions
        cell = rnn.cells[0]
        template = cell.init_state(batch)
        count = len(template) if isinstance(template, tuple) else 1
        names = getattr(cell, "state_names", ("h",))
        with tags(role="input"):
            parts = tuple(Tensor(np.zeros((n, batch, rnn.hidden_size)), requires_grad=True,
                                 label=f"{names[i] if i < len(names) else 'state'}_0")
                          for i in range(count))
        return parts if count > 1 else parts[0]
