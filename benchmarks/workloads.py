"""The benchmark workloads and one implementation of each per framework.

Every implementation is a small object built from the same initial parameters and data,
with ``step()`` (one training step: forward over the whole sequence + loss + backward +
SGD update, returning the loss as a float) and, for the gradient tests,
``loss_and_grads()`` (forward + backward, no update; gradients as numpy arrays by the
PyTorch parameter names of ``numpy_bptt.PARAM_NAMES``).

All recurrent implementations compute the same thing: time-major input, h_0 = 0, the
output head applied once to the stacked hidden states (T, B, H), the loss over all
steps. torch is imported lazily, so this module works without it.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

import numpy as np

from microgradrnn import Tensor
from microgradrnn.ops import linear

try:  # the benchmarks directory is both a script folder and (in tests) a package
    from . import peers
    from .numpy_bptt import PARAM_NAMES, NumpyGRU, NumpyLSTM, NumpyRNN
except ImportError:
    import peers
    from numpy_bptt import PARAM_NAMES, NumpyGRU, NumpyLSTM, NumpyRNN

LR = 1e-3  # small: hundreds of timed steps must not change the work (no NaN, no blow-up)
GATES = {"rnn": 1, "lstm": 4, "gru": 3}  # blocks of H rows in weight_ih and weight_hh


@dataclass(frozen=True)
class Workload:
    name: str
    cell: str  # "rnn" (tanh), "lstm", "gru" or "mlp" (S1)
    batch: int = 0
    input: int = 0
    hidden: int = 0
    output: int = 0
    T: int = 0
    loss: str = "cross_entropy"  # or "mse"
    about: str = ""


WORKLOADS = {
    w.name: w for w in [
        Workload("W1", "rnn", 1, 8, 16, 8, 20, "mse", "tiny"),
        Workload("W2", "rnn", 32, 64, 128, 64, 50, "cross_entropy", "medium"),
        Workload("W3", "rnn", 8, 32, 64, 32, 1000, "cross_entropy", "long"),
        Workload("W4", "rnn", 64, 256, 512, 256, 100, "cross_entropy", "large"),
        Workload("L2", "lstm", 32, 64, 128, 64, 50, "cross_entropy", "lstm"),
        Workload("G2", "gru", 32, 64, 128, 64, 50, "cross_entropy", "gru"),
        Workload("S1", "mlp", batch=100, about="scalar MLP(2,[16,16,1]) on two moons"),
    ]
}


def shrink(w: Workload) -> Workload:
    """A tiny version of a workload (for --quick runs and tests)."""
    if w.cell == "mlp":
        return Workload(w.name, w.cell, batch=10, about=w.about)
    return Workload(w.name, w.cell, min(w.batch, 3), min(w.input, 5), min(w.hidden, 6),
                    min(w.output, 4), min(w.T, 7), w.loss, w.about)


# ----------------------------------------------------------------------------------------
# Parameters and data (numpy, seeded): every implementation starts from copies of these.


def make_params(w: Workload, dtype=np.float64, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    gates = GATES[w.cell]
    k = 1.0 / math.sqrt(w.hidden)  # PyTorch's init range
    shapes = {
        "weight_ih": (gates * w.hidden, w.input), "bias_ih": (gates * w.hidden,),
        "weight_hh": (gates * w.hidden, w.hidden), "bias_hh": (gates * w.hidden,),
        "head_weight": (w.output, w.hidden), "head_bias": (w.output,),
    }
    return {n: rng.uniform(-k, k, shapes[n]).astype(dtype) for n in PARAM_NAMES}


def make_data(w: Workload, dtype=np.float64, seed: int = 1):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((w.T, w.batch, w.input)).astype(dtype)
    if w.loss == "cross_entropy":
        target = rng.integers(0, w.output, (w.T, w.batch))
    else:
        target = rng.standard_normal((w.T, w.batch, w.output)).astype(dtype)
    return X, target


# ----------------------------------------------------------------------------------------
# numpy: the hand-written reference.


class NumpyImpl:
    def __init__(self, w: Workload, params, X, target) -> None:
        cls = {"rnn": NumpyRNN, "lstm": NumpyLSTM, "gru": NumpyGRU}[w.cell]
        self.model = cls({k: v.copy() for k, v in params.items()}, w.T, w.batch, w.loss)
        self.X, self.target = X.copy(), target  # its own copy, as the engine's Tensor(X)

    def step(self) -> float:
        return self.model.step(self.X, self.target, LR)

    def loss_and_grads(self):
        return self.model.loss_and_grads(self.X, self.target)

    def params(self) -> dict[str, np.ndarray]:
        return self.model.p


# ----------------------------------------------------------------------------------------
# microgradrnn, used the way a user would: nn.RNN / nn.LSTM / nn.GRU, nn.Linear,
# optim.SGD.


class _Trained:
    """One SGD step the same way for the engine and for PyTorch (their APIs agree here):
    subclasses set ``opt``, ``named`` and ``loss()``, and say how a gradient becomes numpy."""

    def step(self) -> float:
        self.opt.zero_grad()
        loss = self.loss()
        loss.backward()
        self.opt.step()
        return float(loss.item())

    def loss_and_grads(self):
        self.opt.zero_grad()
        loss = self.loss()
        loss.backward()
        return float(loss.item()), {k: self.as_numpy(q.grad) for k, q in self.named.items()}


class EngineImpl(_Trained):
    """microgradrnn's sequence layer (which tags every step for the renderer) + a head;
    the default composed cells, or with ``fused`` one op per step (``nn/fused.py``).
    mg: the package to use (default ``microgradrnn``; compare_engine.py passes another
    revision's copy)."""

    def __init__(self, w: Workload, params, X, target, fused: bool = False,
                 mg=None) -> None:
        if mg is None:
            import microgradrnn as mg
        nn, optim = mg.nn, mg.optim
        self.mg, self.w = mg, w
        self.rnn = nn.LAYERS[w.cell](w.input, w.hidden, fused=fused)
        self.head = nn.Linear(w.hidden, w.output)
        dt = X.dtype
        self.rnn.astype(dt)
        self.head.astype(dt)
        self.rnn.load_state_dict({k + "_l0": params[k] for k in PARAM_NAMES[:4]})
        self.head.load_state_dict({"weight": params["head_weight"],
                                   "bias": params["head_bias"]})
        self.named = {k: getattr(self.rnn, k + "_l0") for k in PARAM_NAMES[:4]}
        self.named.update(head_weight=self.head.weight, head_bias=self.head.bias)
        self.opt = optim.SGD(list(self.named.values()), lr=LR)
        self.X, self.target = mg.Tensor(X), target

    def loss(self) -> Tensor:
        w, F, tags = self.w, self.mg.functional, self.mg.tags
        out, _ = self.rnn(self.X)  # (T, B, H)
        with tags(role="y"):
            y = self.head(out)  # (T, B, O)
        with tags(role="loss"):
            if w.loss == "cross_entropy":
                return F.cross_entropy(y, self.target)
            # MSE: the per-step mean over (B, O), summed over the T steps
            return F.mse_loss(y, self.target, reduction="sum") * (1.0 / (w.batch * w.output))

    @staticmethod
    def as_numpy(grad) -> np.ndarray:
        return np.array(grad)

    def params(self) -> dict[str, np.ndarray]:
        return {k: q.data for k, q in self.named.items()}


# ----------------------------------------------------------------------------------------
# PyTorch: the fused layer (nn.RNN / nn.LSTM / nn.GRU) and a Python loop over the cell.


class TorchImpl(_Trained):
    def __init__(self, w: Workload, params, X, target, fused: bool) -> None:
        import torch

        self.torch, self.w, self.fused = torch, w, fused
        dt = torch.float64 if X.dtype == np.float64 else torch.float32
        nn = torch.nn
        layer, cell = {"rnn": (nn.RNN, nn.RNNCell), "lstm": (nn.LSTM, nn.LSTMCell),
                       "gru": (nn.GRU, nn.GRUCell)}[w.cell]
        rnn = (layer if fused else cell)(w.input, w.hidden)
        head = torch.nn.Linear(w.hidden, w.output)
        self.rnn, self.head = rnn.to(dt), head.to(dt)
        sfx = "_l0" if fused else ""
        self.named = {
            "weight_ih": getattr(rnn, "weight_ih" + sfx), "bias_ih": getattr(rnn, "bias_ih" + sfx),
            "weight_hh": getattr(rnn, "weight_hh" + sfx), "bias_hh": getattr(rnn, "bias_hh" + sfx),
            "head_weight": head.weight, "head_bias": head.bias,
        }
        with torch.no_grad():
            for k, q in self.named.items():
                q.copy_(torch.from_numpy(params[k]))
        self.X = torch.from_numpy(X)
        self.target = torch.from_numpy(target)
        self.opt = torch.optim.SGD(list(self.named.values()), lr=LR)

    def loss(self):
        torch, w = self.torch, self.w
        if self.fused:
            out, _ = self.rnn(self.X)  # (T, B, H)
        else:
            h = torch.zeros(w.batch, w.hidden, dtype=self.X.dtype)
            state = (h, torch.zeros_like(h)) if w.cell == "lstm" else h
            hs = []
            for t in range(w.T):
                state = self.rnn(self.X[t], state)
                hs.append(state[0] if w.cell == "lstm" else state)
            out = torch.stack(hs)
        y = self.head(out)
        if w.loss == "cross_entropy":
            return torch.nn.functional.cross_entropy(y.reshape(-1, w.output),
                                                     self.target.reshape(-1))
        return torch.nn.functional.mse_loss(y, self.target, reduction="sum") / (
            w.batch * w.output)

    @staticmethod
    def as_numpy(grad) -> np.ndarray:
        return grad.numpy().copy()

    def params(self) -> dict[str, np.ndarray]:
        return {k: q.detach().numpy() for k, q in self.named.items()}


# ----------------------------------------------------------------------------------------
# S1: micrograd's demo (MLP(2, [16, 16, 1]) on two moons, hinge loss + 1e-4 L2).


def make_moons(n: int = 100, noise: float = 0.1, seed: int = 1):
    """Two interleaving half circles (like sklearn's make_moons); labels -1 / +1."""
    rng = np.random.default_rng(seed)
    n_out = n // 2
    n_in = n - n_out
    a, b = np.linspace(0, np.pi, n_out), np.linspace(0, np.pi, n_in)
    X = np.concatenate([np.stack([np.cos(a), np.sin(a)], 1),
                        np.stack([1 - np.cos(b), 1 - np.sin(b) - 0.5], 1)])
    X += rng.normal(scale=noise, size=X.shape)
    y = np.concatenate([-np.ones(n_out), np.ones(n_in)])
    return X, y


def mlp_classes(Value):
    """micrograd's nn.py (Neuron, Layer, MLP), verbatim but for the Value class used."""

    class Module:
        def zero_grad(self):
            for p in self.parameters():
                p.grad = 0

        def parameters(self):
            return []

    class Neuron(Module):
        def __init__(self, nin, nonlin=True):
            self.w = [Value(random.uniform(-1, 1)) for _ in range(nin)]
            self.b = Value(0)
            self.nonlin = nonlin

        def __call__(self, x):
            act = sum((wi * xi for wi, xi in zip(self.w, x, strict=True)), self.b)
            return act.relu() if self.nonlin else act

        def parameters(self):
            return self.w + [self.b]

    class Layer(Module):
        def __init__(self, nin, nout, **kwargs):
            self.neurons = [Neuron(nin, **kwargs) for _ in range(nout)]

        def __call__(self, x):
            out = [n(x) for n in self.neurons]
            return out[0] if len(out) == 1 else out

        def parameters(self):
            return [p for n in self.neurons for p in n.parameters()]

    class MLP(Module):
        def __init__(self, nin, nouts):
            sz = [nin] + nouts
            self.layers = [Layer(sz[i], sz[i + 1], nonlin=i != len(nouts) - 1)
                           for i in range(len(nouts))]

        def __call__(self, x):
            for layer in self.layers:
                x = layer(x)
            return x

        def parameters(self):
            return [p for layer in self.layers for p in layer.parameters()]

    return MLP


class ScalarImpl:
    """micrograd's demo training step, with micrograd's Value or microgradrnn's."""

    def __init__(self, Value, n: int = 100, seed: int = 1337) -> None:
        random.seed(seed)
        self.Value = Value
        self.model = mlp_classes(Value)(2, [16, 16, 1])
        self.X, self.y = make_moons(n)
        self.lr = 0.1

    def loss(self):
        Value, model = self.Value, self.model
        inputs = [list(map(Value, xrow)) for xrow in self.X.tolist()]
        scores = list(map(model, inputs))
        ys = self.y.tolist()
        losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(ys, scores, strict=True)]
        data_loss = sum(losses) * (1.0 / len(losses))
        reg_loss = 1e-4 * sum(p * p for p in model.parameters())
        return data_loss + reg_loss

    def step(self) -> float:
        total = self.loss()
        self.model.zero_grad()
        total.backward()
        for p in self.model.parameters():
            p.data -= self.lr * p.grad
        return total.data

    def params(self) -> dict[str, np.ndarray]:
        return {"all": np.array([p.data for p in self.model.parameters()])}


class TensorMLPImpl:
    """The same model and loss written with microgradrnn's Tensor (PyTorch layout)."""

    def __init__(self, n: int = 100, seed: int = 1337, dtype=np.float64) -> None:
        random.seed(seed)  # the same weights as the scalar models
        sizes = [2, 16, 16, 1]
        self.p = []
        for nin, nout in zip(sizes[:-1], sizes[1:], strict=True):
            W = [[random.uniform(-1, 1) for _ in range(nin)] for _ in range(nout)]
            self.p += [Tensor(np.array(W, dtype), requires_grad=True),
                       Tensor(np.zeros(nout, dtype), requires_grad=True)]
        X, y = make_moons(n)
        self.X, self.y = Tensor(X.astype(dtype)), Tensor(y.astype(dtype)[:, None])
        self.lr = 0.1

    def loss(self) -> Tensor:
        W1, b1, W2, b2, W3, b3 = self.p
        h = linear(self.X, W1, b1).relu()
        h = linear(h, W2, b2).relu()
        score = linear(h, W3, b3)  # (100, 1)
        data_loss = (1 + -self.y * score).relu().mean()
        reg_loss = 1e-4 * sum((q * q).sum() for q in self.p)
        return data_loss + reg_loss

    def step(self) -> float:
        for q in self.p:
            q.zero_grad()
        total = self.loss()
        total.backward()
        for q in self.p:
            d = q.data
            d -= self.lr * q.grad
        return float(total.item())

    def params(self) -> dict[str, np.ndarray]:
        return {"all": np.concatenate([q.data.ravel() for q in self.p])}


# ----------------------------------------------------------------------------------------
# The contenders per workload: name -> factory(workload, dtype) (None when unavailable).


def have_torch() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def have_micrograd() -> bool:
    try:
        import micrograd.engine  # noqa: F401
    except ImportError:
        return False
    return True


def contenders(w: Workload, dtype=np.float64) -> dict:
    """name -> zero-argument factory of a fresh implementation, for this workload."""
    if w.cell == "mlp":
        from microgradrnn import Value

        n = w.batch
        out = {"microgradrnn": lambda: ScalarImpl(Value, n),
               "tensor": lambda: TensorMLPImpl(n, dtype=dtype)}
        if have_micrograd():
            from micrograd.engine import Value as MValue

            out["micrograd"] = lambda: ScalarImpl(MValue, n)
        return out
    params = make_params(w, dtype)
    X, target = make_data(w, dtype)
    out = {
        "microgradrnn": lambda: EngineImpl(w, params, X, target),
        "microgradrnn_fused": lambda: EngineImpl(w, params, X, target, fused=True),
        "numpy": lambda: NumpyImpl(w, params, X, target),
    }
    if have_torch():
        out["torch_fused"] = lambda: TorchImpl(w, params, X, target, fused=True)
        out["torch_cell"] = lambda: TorchImpl(w, params, X, target, fused=False)
    if np.dtype(dtype) == np.float64:  # the peers run float64 only
        if peers.have_autograd():
            out["autograd"] = lambda: peers.AutogradImpl(w, params, X, target, LR)
        if peers.have_jax():
            out["jax_jit"] = lambda: peers.JaxImpl(w, params, X, target, LR)
    return out


# Optional references: contender name -> (is it installed, what installs it)
OPTIONAL = {
    "torch_fused": (have_torch, 'pip install ".[torch]"'),
    "torch_cell": (have_torch, 'pip install ".[torch]"'),
    "micrograd": (have_micrograd, "pip install micrograd"),
    "autograd": (peers.have_autograd, 'pip install ".[bench]"'),
    "jax_jit": (peers.have_jax, 'pip install ".[bench]"'),
}


def missing(w: Workload) -> dict[str, str]:
    """The optional references of workload ``w`` that are not installed -> how to
    install them."""
    names = ("micrograd",) if w.cell == "mlp" else (
        "torch_fused", "torch_cell", "autograd", "jax_jit")
    return {n: OPTIONAL[n][1] for n in names if not OPTIONAL[n][0]()}
