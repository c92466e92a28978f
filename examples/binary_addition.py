"""An RNN learns to add two 8-bit numbers, one bit per step, least significant bit first.

At step t it reads x_t = (a_t, b_t), the t-th bits of a and b, and outputs logits y_t for
the t-th bit of a + b:

    h_t = tanh(W_xh x_t + W_hh h_{t-1} + b),   y_t = W_hy h_t + c,
    L = (1/T) sum_t L_t,   L_t = cross-entropy(y_t, bit t of a + b).

The carry is the whole point: bit t of the sum depends on a_t, b_t *and* the carry out of
step t-1, which the network must keep in h_{t-1}. The error for a wrong carry reaches the
step that should have produced it through W_hh, one step back: the shortest possible BPTT.

Scored on 200 held-out pairs (never seen in training): a pair counts as correct only if
all 8 bits are right.
"""

from __future__ import annotations

# isort: off
# _common comes first: it configures numpy before numpy loads.
from _common import Timer, parse_args, reached, train
# isort: on
from collections.abc import Sequence

import numpy as np

from microgradrnn import Tensor, nn, no_grad, optim
from microgradrnn import functional as F
from microgradrnn.datasets import binary_addition, bits_to_int

BITS = 8
TEST_PAIRS = 200


def held_out_mask(pairs: tuple[np.ndarray, np.ndarray], test: set[tuple[int, int]]) -> np.ndarray:
    """True for the pairs (a, b) that are not in the test set."""
    return np.array([(int(a), int(b)) not in test for a, b in zip(*pairs, strict=True)])


def main(argv: Sequence[str] | None = None) -> dict:
    """Train, then add the 200 held-out pairs; return {"accuracy", "first_loss", ...}."""
    args = parse_args(__doc__, argv)
    steps = 150 if args.fast else 500
    rng = np.random.default_rng(args.seed)
    x_test, y_test, test_pairs = binary_addition(TEST_PAIRS, BITS, seed=10_000 + args.seed)
    test = set(zip(test_pairs[0].tolist(), test_pairs[1].tolist(), strict=True))
    rnn = nn.RNN(2, 16, rng=rng)
    head = nn.Linear(16, 2, rng=rng)
    opt = optim.Adam(rnn.parameters() + head.parameters(), lr=0.03)
    print(f"binary addition: tanh RNN, hidden 16, {steps} Adam steps on batches of 64 "
          f"pairs (the {TEST_PAIRS} test pairs are held out)")

    def step() -> float:
        x, y, pairs = binary_addition(64, BITS, seed=rng)
        keep = held_out_mask(pairs, test)
        out, _ = rnn(x[:, keep])
        loss = F.cross_entropy(head(out), y[:, keep])
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    with Timer() as timer:
        losses = train(step, steps, "binary addition")
    with no_grad():
        bits = head(rnn(Tensor(x_test))[0]).numpy().argmax(axis=-1)  # (BITS, TEST_PAIRS)
    sums = bits_to_int(bits)
    correct = sums == test_pairs[0] + test_pairs[1]
    accuracy = float(correct.mean())
    for a, b, s in list(zip(*test_pairs, sums, strict=True))[:3]:
        print(f"  {a:3d} + {b:3d} = {s:3d}   ({np.binary_repr(a, BITS)} + "
              f"{np.binary_repr(b, BITS)} = {np.binary_repr(s, BITS)})")
    print(f"training loss {losses[0]:.3g} -> {np.mean(losses[-10:]):.3g} in {timer.seconds:.1f} s")
    line = reached(f"accuracy on {TEST_PAIRS} held-out pairs", f"{accuracy:.1%}", "100%",
                   accuracy == 1.0)
    print(line)
    return {"accuracy": accuracy, "first_loss": losses[0],
            "final_loss": float(np.mean(losses[-10:])), "seconds": timer.seconds,
            "summary": line}


if __name__ == "__main__":
    main()
