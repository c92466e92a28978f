"""A two-unit RNN made of scalars, as micrograd would write it, trained by BPTT over 3 steps.

No tensors, no layers: every weight is a ``Value`` and every multiply-add is written out.
Unit i of the hidden state is

    h_t[i] = tanh(w_xh[i] x_t + w_hh[i][0] h_{t-1}[0] + w_hh[i][1] h_{t-1}[1] + b[i]),
    y_t = w_hy[0] h_t[0] + w_hy[1] h_t[1] + c,   L = sum_t (y_t - x_{t-1})^2.

The task is to echo the previous input (y_1 should be 0): y_t can only get x_{t-1} from
h_{t-1}, so the error at y_t must travel one step back through w_hh to reach the weights
that stored it. ``L.backward()`` does that: the same backward loop as for tensors, on a
graph of a few hundred scalars. Training is plain gradient descent, micrograd's
``p.data -= lr * p.grad``.

At the end the ops view draws one sequence's graph with every scalar's data and grad;
each step's nodes are tagged with ``t`` so the picture reads left to right in time.
"""

from __future__ import annotations

# isort: off
# _common comes first: it configures numpy before numpy loads.
from _common import Timer, parse_args, reached, render, total_loss, train
# isort: on
from collections.abc import Sequence

import numpy as np

from microgradrnn import Value, tags, viz

STEPS, UNITS = 3, 2
OUTPUTS = ("scalar_rnn_ops.svg",)  # what it writes into --out
FACTOR = 20.0  # the loss must fall at least this many times


class ScalarRNN:
    """Weights as lists of Values; ``loss(xs)`` unrolls over the sequence xs (floats)."""

    def __init__(self, rng: np.random.Generator) -> None:
        r = lambda name: Value(float(rng.uniform(-1, 1)), label=name)
        self.w_xh = [r(f"w_xh[{i}]") for i in range(UNITS)]
        self.w_hh = [[r(f"w_hh[{i}][{j}]") for j in range(UNITS)] for i in range(UNITS)]
        self.b = [r(f"b[{i}]") for i in range(UNITS)]
        self.w_hy = [r(f"w_hy[{i}]") for i in range(UNITS)]
        self.c = r("c")

    def parameters(self) -> list[Value]:
        return [*self.w_xh, *sum(self.w_hh, []), *self.b, *self.w_hy, self.c]

    def step(self, x: Value, h: list[Value]) -> list[Value]:
        """h_t from x_t and h_{t-1}, unit by unit."""
        return [(self.w_xh[i] * x + sum((self.w_hh[i][j] * h[j] for j in range(UNITS)),
                                        self.b[i])).tanh() for i in range(UNITS)]

    def loss(self, xs: Sequence[float]) -> Value:
        """L = sum_t (y_t - x_{t-1})^2 over one sequence, with x_0 = 0; every node tagged."""
        with tags(t=0, layer=1, direction="fwd", role="h"):
            h = [Value(0.0, label=f"h_0[{i}]") for i in range(UNITS)]
        losses, previous = [], 0.0
        for t, x_t in enumerate(xs, start=1):
            with tags(t=t, layer=1, direction="fwd"):
                with tags(role="x"):
                    x = Value(x_t, label=f"x_{t}")
                h = self.step(x, h)
            for i, h_i in enumerate(h):
                h_i.tags, h_i.label = {**h_i.tags, "role": "h"}, f"h_{t}[{i}]"
            with tags(t=t, role="y"):
                y = sum((w * h_i for w, h_i in zip(self.w_hy, h, strict=True)), self.c)
            with tags(t=t, role="loss"):
                losses.append((y - previous) ** 2)
            previous = x_t
        return total_loss(losses)


def main(argv: Sequence[str] | None = None) -> dict:
    """Train by gradient descent, draw one sequence; return {"first_loss", "final_loss"}."""
    args = parse_args(__doc__, argv, OUTPUTS)
    rng = np.random.default_rng(args.seed)
    data = rng.uniform(-1, 1, size=(16, STEPS)).tolist()
    model = ScalarRNN(rng)
    params = model.parameters()
    epochs, lr = (150 if args.fast else 600), 0.1
    print(f"scalar RNN: {UNITS} units, {len(params)} scalar weights, {len(data)} sequences "
          f"of {STEPS} steps; {epochs} steps of gradient descent, lr {lr}")

    def step() -> float:
        L = total_loss([model.loss(xs) for xs in data]) / len(data)
        for p in params:
            p.grad = 0.0
        L.backward()
        for p in params:
            p.data -= lr * p.grad
        return L.data

    with Timer() as timer:
        losses = train(step, epochs, "scalar RNN")
    final = float(np.mean(losses[-5:]))
    print(f"loss {losses[0]:.4f} -> {final:.4f} in {timer.seconds:.1f} s")
    xs = data[0]
    L = model.loss(xs)
    for p in params:
        p.grad = 0.0
    L.backward(record_flow=True)
    print(f"one sequence, x = {[round(x, 2) for x in xs]}: L = {L.data:.4f}. "
          "Each weight is used at every step; its grad is the sum over the steps:")
    for p in params:
        print(f"  {p.label:11s} data {p.data:+.4f}   grad {p.grad:+.6f}")
    render(viz.draw_ops(L, title=f"a 2-unit RNN of Values, {STEPS} steps: data and grad"),
           args.out, OUTPUTS[0])
    factor = losses[0] / final
    line = reached("loss fell", f"{factor:.1f} times", f">= {FACTOR:g}", factor >= FACTOR)
    print(line)
    return {"first_loss": losses[0], "final_loss": final, "factor": factor,
            "seconds": timer.seconds, "summary": line}


if __name__ == "__main__":
    main()
