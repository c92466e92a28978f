"""The least a step can cost while every op is a node with a Python rule and every node
keeps its data and its gradient: three measurements behind issue 15's unmet goals.

    python benchmarks/floor.py [--rounds 9] [--quick] [--save]

1. **W1, fused (goal 1: <= 3x numpy).** The training step, the same step with the
   gradient sums made free (``FreeSums``: an accumulator that adds nothing and hands
   every node zeros: wrong gradients, timing only; the weights' factor products are
   skipped too), and the layer's one-off work per call (its forward at 2T steps minus
   twice its forward at T: what does not grow with T). Free sums without that one-off
   work is a bound no accumulator and no layer setup can beat while each step stays one
   node with a Python rule.
2. **W3, default / fused (goal 2: <= 1.25).** The composed RNN step is four nodes where
   the fused one is one, with three more edges. A chain of nodes whose rule does no
   arithmetic (identity) costs per node, forward + backward + freeing, what any node
   costs at least; so default / fused >= 1 + 3 * that / (fused step per time step).
3. **W3 memory, default path (goal 2: <= 1.5x numpy).** After ``backward()`` every node
   holds its data and its ``.grad`` (the engine's contract: the pictures read both).
   The bytes those hold, by op, each buffer counted once, against the numpy reference's
   peak (``run.py``'s measure); the output stack's data is left out (it could share the
   h_t's memory, as the fused path's does), and so are the nodes themselves: a floor.

Timings are medians over rotated interleaved rounds (``timing.py``), as ``run.py``'s.
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import run  # noqa: E402
import workloads as W  # noqa: E402
from timing import block_size, rotated_rounds  # noqa: E402

from microgradrnn import Tensor, accumulate, engine  # noqa: E402


class FreeSums:
    """An accumulator that sums nothing: ``add`` drops the gradient, ``pop`` hands every
    node zeros of its shape (one read-only array per shape and dtype). The rules still
    run on every node; the gradients are wrong. For timing only."""

    def __init__(self, root, seed) -> None:
        self.zeros: dict = {}

    def add(self, key, g, like):
        return g

    def pop(self, key, like):
        shape, dtype = np.shape(like), np.result_type(like)
        z = self.zeros.get((shape, dtype))
        if z is None:
            z = self.zeros[(shape, dtype)] = np.zeros(shape, dtype)
            z.setflags(write=False)
        return z


def identity(x: Tensor) -> Tensor:
    """A node whose rule does no arithmetic: what a node costs the engine at least."""
    def backward(g):
        return (g,)
    return engine.from_op(x._data, (x,), backward, "identity")


def chain_step(n: int, shape: tuple[int, ...]):
    """n identity nodes on a leaf, then backward; the graph freed on return."""
    leaf = Tensor(np.ones(shape), requires_grad=True)
    seed = np.ones(shape)

    def step() -> None:
        y = leaf
        for _ in range(n):
            y = identity(y)
        y.backward(seed)
        leaf.zero_grad()
    return step


def medians(steps: dict, rounds: int, budget: float) -> dict[str, float]:
    """Seconds per call of each step: the median over rotated interleaved rounds."""
    clock = time.perf_counter
    number = {k: block_size(f, budget, clock) for k, f in steps.items()}
    times = rotated_rounds(steps, number, rounds, clock)
    return {k: statistics.median(v) for k, v in times.items()}


def with_free_sums(step):
    def free_sums_step() -> None:
        with accumulate.using(FreeSums):
            step()
    return free_sums_step


def w1_bound(w: W.Workload, rounds: int, budget: float) -> dict:
    c = W.contenders(w)
    ref, fused = c["numpy"](), c["microgradrnn_fused"]()
    X2 = Tensor(np.concatenate([fused.X.data, fused.X.data]))  # 2T steps, same sizes
    t = medians({
        "numpy": ref.step,
        "fused": fused.step,
        "fused, free sums": with_free_sums(fused.step),
        "layer forward, T": lambda: fused.rnn(fused.X),
        "layer forward, 2T": lambda: fused.rnn(X2),
    }, rounds, budget)
    setup = max(2 * t["layer forward, T"] - t["layer forward, 2T"], 0.0)
    return {"times": t, "layer one-off": setup,
            "fused / numpy": t["fused"] / t["numpy"],
            "free sums / numpy": t["fused, free sums"] / t["numpy"],
            "bound / numpy": (t["fused, free sums"] - setup) / t["numpy"]}


def w3_node_bound(w: W.Workload, rounds: int, budget: float) -> dict:
    fused = W.contenders(w)["microgradrnn_fused"]()
    t = medians({"fused step": fused.step,
                 f"{w.T} identity nodes": chain_step(w.T, (w.batch, w.hidden))},
                rounds, budget)
    node = t[f"{w.T} identity nodes"] / w.T
    per_step = t["fused step"] / w.T
    return {"times": t, "node": node, "fused per time step": per_step,
            "bound default / fused": 1 + 3 * node / per_step}


def contract_bytes(root: Tensor) -> dict[str, dict[str, int]]:
    """After backward: the bytes of every node's data and .grad under root, by op
    ("leaf" for leaves), each numpy buffer counted once (views count as their base)."""
    seen: set[int] = set()
    out: dict[str, dict[str, int]] = defaultdict(lambda: {"data": 0, "grad": 0})
    for node in engine.toposort(root):
        for kind, arr in (("data", node._data), ("grad", node._grad)):
            if isinstance(arr, np.generic):  # a numpy scalar (a 0-d op's data): its own
                out[node._op or "leaf"][kind] += arr.nbytes
            if not isinstance(arr, np.ndarray):
                continue
            while isinstance(arr.base, np.ndarray):
                arr = arr.base
            if id(arr) not in seen:
                seen.add(id(arr))
                out[node._op or "leaf"][kind] += arr.nbytes
    return dict(out)


def w3_memory_floor(w: W.Workload) -> dict:
    impl = W.contenders(w)["microgradrnn"]()
    impl.opt.zero_grad()
    loss = impl.loss()
    loss.backward()
    held = contract_bytes(loss)
    floor = sum(v["data"] + v["grad"] for v in held.values()) - held["stack"]["data"]
    peak = run.peak_memory(w, only=("numpy",))["numpy"]
    return {"held": held, "numpy peak": peak, "floor": floor,
            "floor / numpy": floor / peak}


def report(w1: dict, w3: dict, mem: dict, names: tuple[str, str]) -> str:
    mib = lambda b: f"{b / 2**20:.2f} MiB"
    us = lambda s: f"{s * 1e6:.1f} us"
    lines = [f"1. {names[0]}, fused: the step and a bound on it"]
    lines += [f"   {k:20s} {us(v)}" for k, v in w1["times"].items()]
    lines += [f"   layer one-off work   {us(w1['layer one-off'])}",
              f"   fused / numpy        {w1['fused / numpy']:.2f}",
              f"   free sums / numpy    {w1['free sums / numpy']:.2f}",
              f"   bound / numpy        {w1['bound / numpy']:.2f}   (free sums, no layer "
              "one-off work; goal 1 asks <= 3)",
              f"2. {names[1]}: one node's bookkeeping against the fused step"]
    lines += [f"   {k:20s} {us(v)}" for k, v in w3["times"].items()]
    lines += [f"   per identity node    {us(w3['node'])}",
              f"   fused, per time step {us(w3['fused per time step'])}",
              f"   bound default/fused  {w3['bound default / fused']:.2f}   (1 + 3 nodes; "
              "goal 2 asks <= 1.25)",
              f"3. {names[1]}, default path: what the nodes hold after backward()"]
    for op, v in sorted(mem["held"].items()):
        lines.append(f"   {op:14s} data {mib(v['data']):>11s}   grad {mib(v['grad']):>11s}")
    lines += [f"   floor (all but the stack's data) {mib(mem['floor'])}",
              f"   numpy reference's peak           {mib(mem['numpy peak'])}",
              f"   floor / numpy                    {mem['floor / numpy']:.2f}   (goal 2 "
              "asks <= 1.5)"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=9, help="interleaved rounds (default 9)")
    ap.add_argument("--budget", type=float, default=0.2, help="seconds per timed block")
    ap.add_argument("--quick", action="store_true", help="tiny sizes, 2 rounds (smoke test)")
    ap.add_argument("--save", action="store_true", help="also write results/floor.txt")
    args = ap.parse_args(argv)
    w1, w3 = W.WORKLOADS["W1"], W.WORKLOADS["W3"]
    rounds, budget = args.rounds, args.budget
    if args.quick:
        w1, w3, rounds, budget = W.shrink(w1), W.shrink(w3), 2, 0.01
    text = report(w1_bound(w1, rounds, budget), w3_node_bound(w3, rounds, budget),
                  w3_memory_floor(w3), (w1.name, w3.name))
    print(text)
    if args.save and not args.quick:
        out = HERE / "results" / "floor.txt"
        head = f"{run.machine()['cpu']}, numpy {np.__version__}, {time.strftime('%Y-%m-%d')}"
        out.write_text(f"{head}, {rounds} rounds\n{text}\n")
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
