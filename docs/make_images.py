"""Draw the pictures in docs/images (run from the repository root).

Until the recurrent layers land, the unrolled models come from tests/unroll.py, tagged
exactly as the layers tag them.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from unroll import unroll  # noqa: E402

from microgradrnn import Value, viz  # noqa: E402

out = Path(__file__).parent / "images"
L, _ = unroll("rnn", layers=2, steps=4)
viz.draw_cells(L, arrows="gradient", title="2-layer tanh RNN unrolled over T = 4").render(
    out / "rnn-cells.png")
L, _ = unroll("rnn", layers=2, steps=3, hidden=2, batch=1)
viz.draw_ops(L, title="2-layer tanh RNN, T = 3: every op").render(out / "rnn-ops.png")
L, _ = unroll("lstm", layers=1, steps=6)
viz.draw_cells(L, title="LSTM unrolled over T = 6: the cell-state path").render(
    out / "lstm-cells.png")
L, _ = unroll("rnn", layers=2, steps=40, hidden=4, seed=1)
viz.draw_cells(L, loss_at=40, title="40-step tanh RNN: the gradient of L₄₀ alone").render(
    out / "rnn40-folded.png")
L, _ = unroll("gru", layers=2, steps=3, bidirectional=True)
viz.draw_cells(L, title="bidirectional 2-layer GRU, T = 3").render(out / "bigru-cells.png")
L, _ = unroll("custom", layers=1, steps=4)
viz.draw_cells(L, title="a custom cell: h = ½ relu(W[x; h]) + ½ h").render(
    out / "custom-cells.png")
a, b, c, f = Value(2.0, label="a"), Value(-3.0, label="b"), Value(10.0, label="c"), \
    Value(-2.0, label="f")
e = a * b
e.label = "e"
d = e + c
d.label = "d"
loss = d * f
loss.label = "L"
loss.backward(record_flow=True)
viz.draw_ops(loss).render(out / "value.png")
