"""Draw the pictures in docs/images from the library's own layers (run from the repository
root: ``PYTHONPATH=. python docs/make_images.py``; ``... make_images.py explorer`` takes
only the explorer's screenshot, which needs selenium and Debian's chromium and
chromium-driver).

Every model is what a user gets: ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU`` (or ``nn.Recurrent``
over a cell written against the cell contract) with an ``nn.Linear`` head at every step and
a squared-error loss per step, as ``microgradrnn.app.seqmodel.PerStepModel`` builds it.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from microgradrnn import Tensor, Value, concatenate, nn, viz
from microgradrnn import functional as F
from microgradrnn.app.seqmodel import PerStepModel

OUT = Path(__file__).parent / "images"


def per_step_loss(model: PerStepModel, steps: int, inputs: int, seed: int = 0) -> Tensor:
    """L = Σ_t L_t on seeded random data (batch 1), backward run with the flow recorded.
    The initial state is zeros that take a gradient (``learn_start``), so h_0 shows its."""
    rng = np.random.default_rng(seed)
    loss, _ = model.losses(rng.normal(size=(steps, 1, inputs)),
                           rng.normal(size=(steps, 1, 1)), learn_start=True)
    loss.backward(retain_graph=True, record_flow=True)
    return loss


def layer_model(cell: str, layers: int, steps: int, hidden: int = 3, inputs: int = 2,
                bidirectional: bool = False, seed: int = 0) -> Tensor:
    model = PerStepModel(cell, inputs=inputs, hidden=hidden, layers=layers,
                         bidirectional=bidirectional, seed=seed)
    return per_step_loss(model, steps, inputs, seed)


class MGUCell(nn.Module):
    """The minimal gated unit, written against the cell contract (README, "The cell contract"):
    f = sigmoid(W_f [x, h] + b_f), n = tanh(W_n [x, f*h] + b_n), h' = h + f (n - h)."""

    def __init__(self, input_size: int, hidden_size: int, rng: np.random.Generator) -> None:
        shape = (hidden_size, input_size + hidden_size)
        self.hidden_size = hidden_size
        self.W_f = nn.Parameter(nn.init.xavier_uniform(shape, rng))
        self.b_f = nn.Parameter(np.zeros(hidden_size))
        self.W_n = nn.Parameter(nn.init.xavier_uniform(shape, rng))
        self.b_n = nn.Parameter(np.zeros(hidden_size))

    def init_state(self, batch_size: int) -> Tensor:
        return Tensor(np.zeros((batch_size, self.hidden_size)))

    def __call__(self, x: Tensor, h: Tensor) -> tuple[Tensor, Tensor]:
        f = (concatenate([x, h], axis=1) @ self.W_f.T + self.b_f).sigmoid()
        n = (concatenate([x, f * h], axis=1) @ self.W_n.T + self.b_n).tanh()
        h = h + f * (n - h)
        return h, h


def custom_model(steps: int, hidden: int = 3, inputs: int = 2) -> Tensor:
    """nn.Recurrent over MGUCell, a linear head and a loss per step (F.per_step_loss)."""
    rng = np.random.default_rng(0)
    layer = nn.Recurrent(lambda n, g: MGUCell(n, hidden, g), inputs, rng=rng)
    head = nn.Linear(hidden, 1, rng=rng)
    x, y = rng.normal(size=(steps, 1, inputs)), rng.normal(size=(steps, 1, 1))
    out, _ = layer(x)
    total, _ = F.per_step_loss(out, head, y, F.mse_loss)
    total.backward(retain_graph=True, record_flow=True)
    return total


def value_expression() -> Value:
    a, b, c, f = Value(2.0, label="a"), Value(-3.0, label="b"), Value(10.0, label="c"), \
        Value(-2.0, label="f")
    e = a * b
    e.label = "e"
    d = e + c
    d.label = "d"
    loss = d * f
    loss.label = "L"
    loss.backward(record_flow=True)
    return loss


def main() -> None:
    L = layer_model("rnn", layers=2, steps=4)
    viz.draw_cells(L, arrows="gradient", title="2-layer tanh RNN (nn.RNN) unrolled over "
                   "T = 4").render(OUT / "rnn-cells.png")
    L = layer_model("rnn", layers=2, steps=4, hidden=2)
    viz.draw_ops(L, title="2-layer tanh RNN (nn.RNN), T = 4: every op").render(
        OUT / "rnn-ops.png")
    L = layer_model("lstm", layers=1, steps=5)
    viz.draw_cells(L, title="LSTM (nn.LSTM) unrolled over T = 5: hₜ₋₁ reaches cₜ (gates i, f, "
                   "g) and hₜ (gate o)").render(OUT / "lstm-cells.png")
    L = layer_model("gru", layers=1, steps=4)
    viz.draw_cells(L, title="GRU (nn.GRU), T = 4: the carry z·hₜ₋₁ beside the road through "
                   "Wₕₕ").render(OUT / "gru-cells.png")
    L = layer_model("rnn", layers=2, steps=40, hidden=4, inputs=1, seed=1)
    viz.draw_cells(L, loss_at=40, title="40-step tanh RNN: the gradient of L₄₀ alone"
                   ).render(OUT / "rnn40-folded.png")
    L = layer_model("gru", layers=2, steps=4, bidirectional=True)
    viz.draw_cells(L, title="bidirectional 2-layer GRU (nn.GRU), T = 4").render(
        OUT / "bigru-cells.png")
    L = custom_model(steps=4)
    viz.draw_cells(L, title="a custom cell (minimal gated unit) unrolled by nn.Recurrent"
                   ).render(OUT / "custom-cells.png")
    viz.draw_ops(value_expression()).render(OUT / "value.png")
    explorer_image()


def explorer_image() -> None:
    """docs/images/explorer.png: the page of ``microgradrnn explore --cell lstm --layers 2
    --steps 5`` in headless Chromium, walked with → to the first step at which two roads
    arrive at a node that already holds one (a sum of three shares)."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.options import Options
        from selenium.webdriver.chrome.service import Service
        from selenium.webdriver.common.by import By
        from selenium.webdriver.common.keys import Keys
    except ImportError:
        print("explorer.png: skipped (pip install selenium)")
        return
    chromium, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver_path):
        print("explorer.png: skipped (apt-get install chromium chromium-driver)")
        return
    from microgradrnn.app.explore import page

    ex = page(cell="lstm", layers=2, steps=5)
    walk = ex.data["roots"][0]["walk"]
    n = next(p for p, s in enumerate(walk, 1) if len(s[1]) > 1 and len(s[5][1]) > 2)
    with tempfile.TemporaryDirectory() as tmp:
        path = ex.save(Path(tmp) / "bptt.html")
        options = Options()
        options.binary_location = chromium
        for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                     "--no-first-run", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync",
                     f"--user-data-dir={tmp}/profile", "--window-size=1440,1040"):
            options.add_argument(flag)
        driver = webdriver.Chrome(service=Service(driver_path), options=options)
        try:
            driver.get(path.as_uri())
            body = driver.find_element(By.TAG_NAME, "body")
            body.send_keys("-")  # one step out: the whole column fits
            for _ in range(n):
                body.send_keys(Keys.ARROW_RIGHT)
            time.sleep(0.5)  # the fading has a 0.2 s transition
            driver.save_screenshot(str(OUT / "explorer.png"))
        finally:
            driver.quit()
    print(f"explorer.png: step {n} of {len(walk)}")


if __name__ == "__main__":
    explorer_image() if sys.argv[1:] == ["explorer"] else main()
