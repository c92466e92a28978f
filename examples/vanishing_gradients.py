"""Vanishing and exploding gradients, measured against the classic bound.

Take h_t = f(z_t), z_t = W_xh x_t + W_hh h_{t-1} + b, and one loss term L_T at the last
step. Going one step back multiplies the gradient by a Jacobian transpose:

    dL_T/dh_{t-1} = W_hh^T diag(f'(z_t)) dL_T/dh_t,   so
    ||dL_T/dh_t|| <= (||W_hh|| * max f')^(T-t) * ||dL_T/dh_T||.

With a sigmoid, max f' = 1/4: if ||W_hh|| < 4 the gradient shrinks geometrically with the
distance T - t (it *vanishes*); a larger W_hh allows it to grow (*explode*). With tanh,
max f' = 1, so the line is ||W_hh|| = 1.

The script builds W_hh = c Q with Q orthogonal, so ||W_hh|| (the spectral norm) is exactly
c, for c = 1, 4, 8, with a sigmoid and with tanh, and then an LSTM (PyTorch's
initialisation, and with the forget-gate bias raised to 2, the classic remedy). Each
unit starts at f(0) and b = -W_hh f(0), so without input every unit sits where f' is
largest: the bound can then be tight, and the table shows the measurement meet it. The
inputs push the units off that point, f' drops and the gradient falls below the bound;
saturated units (large c) can even turn an allowed explosion into vanishing.

Nothing is re-run per measurement: the forward pass builds one graph, and
``gradient_flow(L_t)`` backpropagates each loss term alone on that retained graph,
giving ||dL_t/dh_k|| for every k. The T x T map of these norms is the picture of BPTT:
row t is how far back L_t reaches. ``viz.draw_cells`` draws L_T's flow on the unrolled
network, folded in the middle, and ``viz.explore`` writes a page in which every L_t's flow
can be picked and its backward pass walked step by step (a shorter unroll of the sigmoid
RNN with ||W_hh|| = 1, small enough to draw without folding: pick L_12 and the plot of
||dL_12/dh_k|| falls by about 0.24 per step back, six decades over the page).
"""

from __future__ import annotations

# isort: off
# _common comes first: it configures numpy before numpy loads.
from _common import Timer, parse_args, pyplot, reached, render, save_figure, write
# isort: on
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from microgradrnn import Tensor, gradient_flow, nn, viz
from microgradrnn import functional as F
from microgradrnn.app.explore import marked_html
from microgradrnn.engine import toposort

INPUTS, HIDDEN, BATCH = 4, 32, 16
OUTPUTS = (  # what it writes into --out
    "vanishing_gradients_map.png", "vanishing_gradients_decay.png",
    "vanishing_gradients_sigmoid_cells.svg", "vanishing_gradients_lstm_cells.svg",
    "vanishing_gradients_explorer.html")
EXPLORER_STEPS = 12  # the explorer page unrolls the sigmoid RNN, ||W_hh|| = 1, this far
MAX_SLOPE = {"sigmoid": 0.25, "tanh": 1.0}  # max f'(z), reached at z = 0


class CentredCell(nn.Module):
    """h_t = f(W_xh x_t + W_hh (h_{t-1} - f(0))), f = sigmoid or tanh; h_0 = f(0).

    A cell by the cell contract (``init_state``, ``__call__(x_t, h) -> (h_t, h_t)``). The
    bias b = -W_hh f(0) makes f(0) a fixed point when x = 0, where f' is largest.
    """

    def __init__(self, f: str, w_hh: np.ndarray, w_xh: np.ndarray) -> None:
        self.f = f
        self.rest = 0.5 if f == "sigmoid" else 0.0  # f(0)
        self.weight_ih = nn.Parameter(w_xh)
        self.weight_hh = nn.Parameter(w_hh)
        self.bias = nn.Parameter(-w_hh @ np.full(len(w_hh), self.rest))

    def init_state(self, batch_size: int) -> Tensor:
        return Tensor(np.full((batch_size, len(self.weight_hh)), self.rest))

    def forward(self, x: Tensor, h: Tensor) -> tuple[Tensor, Tensor]:
        z = F.linear(x, self.weight_ih) + F.linear(h, self.weight_hh, self.bias)
        h = z.sigmoid() if self.f == "sigmoid" else z.tanh()
        return h, h


@dataclass
class Case:
    """One network to measure: a name, its sequence layer, and the per-step bound."""

    name: str
    layer: nn.Module
    slope_bound: float | None  # ||W_hh|| * max f', or None (no such bound for an LSTM)


def cases(rng: np.random.Generator) -> list[Case]:
    """sigmoid and tanh with ||W_hh|| = 1, 4, 8; an LSTM as initialised, and with b_f = 2."""
    out = []
    for f in ("sigmoid", "tanh"):
        for c in (1, 4, 8):
            w_hh = nn.init.orthogonal((HIDDEN, HIDDEN), rng, gain=c)  # ||c Q|| = c exactly
            w_xh = nn.init.normal((HIDDEN, INPUTS), 0.5 / np.sqrt(INPUTS), rng)
            layer = nn.Recurrent(lambda n, g, f=f, w=w_hh, u=w_xh: CentredCell(f, w, u),
                                 INPUTS)
            out.append(Case(f"{f:7s} ||W_hh||={c}", layer, c * MAX_SLOPE[f]))
    for forget_bias in (None, 2.0):
        layer = nn.LSTM(INPUTS, HIDDEN, rng=rng)
        name = "LSTM (PyTorch)"
        if forget_bias is not None:
            cell = layer.cells[0]
            b = cell.bias_ih.numpy()
            b[HIDDEN:2 * HIDDEN] = forget_bias  # gate order i, f, g, o
            cell.bias_ih.data = b
            name = f"LSTM, b_f = {forget_bias:g}"
        out.append(Case(name, layer, None))
    return out


def unroll(layer: nn.Module, x: np.ndarray, targets: np.ndarray) -> tuple[Tensor, list[Tensor]]:
    """Run the layer; a linear head and a squared error per step. Returns L, [L_t]."""
    out, _ = layer(x)
    return F.per_step_loss(out, nn.Linear(HIDDEN, 1, rng=0), targets, F.mse_loss)


def hidden_states(root: Tensor, T: int) -> list[Tensor]:
    """h_1..h_T of layer 1, found by the tags the sequence layer writes."""
    found = {n.tags["t"]: n for n in toposort(root)
             if n.tags.get("role") == "h" and n.tags.get("layer") == 1 and n.tags.get("t")}
    return [found[t] for t in range(1, T + 1)]


def gradient_map(losses: list[Tensor], hs: list[Tensor]) -> np.ndarray:
    """M[t-1, k-1] = ||dL_t/dh_k|| for k <= t (NaN above the diagonal: L_t cannot see h_k)."""
    T = len(losses)
    M = np.full((T, T), np.nan)
    for t, L_t in enumerate(losses, start=1):
        flow = gradient_flow(L_t)  # this loss alone; .grad is left untouched
        for k in range(1, t + 1):
            g = flow.grad(hs[k - 1])
            M[t - 1, k - 1] = 0.0 if g is None else float(np.linalg.norm(g))
    return M


def print_table(names: list[str], bounds: list[float | None], maps: list[np.ndarray]) -> None:
    """||dL_T/dh_t|| / ||dL_T/dh_T|| at a few distances T - t, each with its bound."""
    T = len(maps[0])
    distances = sorted({d for d in (1, 5, 10, T - 1) if d < T})
    print(f"\n||dL_T/dh_t|| / ||dL_T/dh_T||, T = {T}: measured [bound (||W_hh|| max f')^(T-t)]")
    head = "".join(f"{'T-t = ' + str(d):>20s}" for d in distances)
    print(f"{'network':22s}{'per step':>16s}{head}")
    for name, bound, M in zip(names, bounds, maps, strict=True):
        last = M[-1] / M[-1, -1]
        rate = last[0] ** (1 / (T - 1))  # geometric mean factor per step back
        cols = "".join(
            f"{last[T - 1 - d]:>10.1e} [{'-' if bound is None else f'{bound ** d:.1e}':>7s}]"
            for d in distances)
        b = "-" if bound is None else f"{bound:g}"
        print(f"{name:22s}{rate:>9.3f} [{b:>4s}]{cols}")
    print("per step: the geometric mean of the factor by which one step back multiplies "
          "the norm [the bound ||W_hh|| max f']")


def plot(names: list[str], bounds: list[float | None], maps: list[np.ndarray], out: Path) -> None:
    """The T x T maps (log colour scale) and the decay curves with their bounds."""
    plt = pyplot()
    if plt is None:
        return
    from matplotlib.colors import LogNorm

    T = len(maps[0])
    # centred on the typical ||dL_t/dh_t||: white = kept, blue = vanished, red = exploded
    diagonal = np.median([np.median(np.diag(M)) for M in maps])
    norm = LogNorm(vmin=diagonal * 1e-8, vmax=diagonal * 1e8)
    fig, axes = plt.subplots(2, 4, figsize=(15, 7.5), constrained_layout=True)
    for ax, name, M in zip(axes.flat, names, maps, strict=True):
        im = ax.imshow(np.where(M > 0, M, np.nan), norm=norm, cmap="RdBu_r",
                       extent=(0.5, T + 0.5, T + 0.5, 0.5))
        ax.set_title(" ".join(name.split()), fontsize=10)
        ax.set_xlabel("k (the h_k reached)")
        ax.set_ylabel("t (the loss L_t)")
    fig.colorbar(im, ax=axes, shrink=0.8, extend="both", label="||dL_t / dh_k||")
    fig.suptitle("How far back each loss term reaches: ||dL_t/dh_k|| (log scale)")
    save_figure(fig, out, OUTPUTS[0])

    fig, ax = plt.subplots(figsize=(8, 5))
    d = np.arange(T)
    for i, (name, bound, M) in enumerate(zip(names, bounds, maps, strict=True)):
        colour = f"C{i}"
        ax.semilogy(d, M[-1, ::-1] / M[-1, -1], color=colour, label=" ".join(name.split()))
        if bound is not None:
            ax.semilogy(d, float(bound) ** d, ":", color=colour)
    ax.set_ylim(1e-20, 1e20)
    ax.set_xlabel("T - t (steps back)")
    ax.set_ylabel("||dL_T/dh_t|| / ||dL_T/dh_T||")
    ax.set_title("measured (solid) and the bound (||W_hh|| max f')^(T-t) (dotted)")
    ax.legend(fontsize=8, ncol=2)
    save_figure(fig, out, OUTPUTS[1])


def explorer(layer: nn.Module, x: np.ndarray, targets: np.ndarray, out: Path) -> Path:
    """The BPTT explorer page of the first ``EXPLORER_STEPS`` steps (batch of one)."""
    L, _ = unroll(layer, x[:EXPLORER_STEPS, :1], targets[:EXPLORER_STEPS, :1])
    page = viz.explore(L, title=f"sigmoid RNN, ‖Wₕₕ‖ = 1, T = {EXPLORER_STEPS}: the "
                       "gradient vanishes")
    return write(out, OUTPUTS[4], marked_html(page.html(), "example").encode("utf-8"))


def main(argv: Sequence[str] | None = None) -> dict:
    """Measure, print, plot and draw; return {"rates": {name: per-step factor}, ...}."""
    args = parse_args(__doc__, argv, OUTPUTS)
    T = 12 if args.fast else 30
    rng = np.random.default_rng(args.seed)
    x = rng.standard_normal((T, BATCH, INPUTS))
    targets = rng.standard_normal((T, BATCH, 1))
    print(f"vanishing gradients: {T} steps, hidden {HIDDEN}, batch {BATCH}")
    names, bounds, maps, roots = [], [], [], {}
    with Timer() as timer:
        for case in cases(rng):
            L, losses = unroll(case.layer, x, targets)
            maps.append(gradient_map(losses, hidden_states(L, T)))
            names.append(case.name)
            bounds.append(case.slope_bound)
            roots[case.name] = (L, losses[-1])
    print_table(names, bounds, maps)
    print(f"measured in {timer.seconds:.1f} s")
    plot(names, bounds, maps, args.out)
    for name, file in ((names[0], OUTPUTS[2]), (names[-2], OUTPUTS[3])):
        L, L_T = roots[name]
        picture = viz.draw_cells(L, flow=gradient_flow(L_T), fold=True, arrows="gradient",
                                 title=f"{' '.join(name.split())}: the flow of L_{T} alone")
        render(picture, args.out, file)
    explorer(cases(np.random.default_rng(args.seed))[0].layer, x, targets, args.out)
    rates = {n: float((M[-1, 0] / M[-1, -1]) ** (1 / (T - 1)))
             for n, M in zip(names, maps, strict=True)}
    bound_of = dict(zip(names, bounds, strict=True))
    ok = all(rates[n] <= b * (1 + 1e-9) for n, b in bound_of.items() if b is not None)
    line = reached("per-step factor, measured vs bound", "all within the bound" if ok else
                   "a bound is broken", "<= ||W_hh|| max f' for every f and c", ok)
    print(line)
    return {"rates": rates, "bounds": bound_of, "T": T,
            "maps": dict(zip(names, maps, strict=True)), "seconds": timer.seconds,
            "summary": line}


if __name__ == "__main__":
    main()
