"""Recurrent cells: one time step. PyTorch's equations, parameter names, shapes, gate order.

The cell contract (what the sequence layers need, and all they need):

- a cell is a ``Module`` with ``init_state(batch_size)``, returning the state before the
  first step: a Tensor, or a tuple of Tensors, each (batch_size, ...); the first one is h;
- ``cell(x_t, state)`` returns ``(h_t, new_state)``; x_t: (B, input_size), h_t: (B, H);
- optionally a class attribute ``state_names`` naming the state's elements for the
  renderer's tags (default ``("h",)``; LSTM has ``("h", "c")``);
- optionally ``unroll(inputs, state, reverse=False) -> (output, final_state)``, a fast
  path for a whole sequence: inputs is the list x_1..x_T, output the (T, B, H) ``stack``
  (or ``stack_rows``) of h_1..h_T, and the graph, tags and numbers must be those of the
  plain loop in ``nn.Recurrent``: step t inside ``tags(t=t)``, then
  ``stamp_roles(cell, h_t, state)``, the stack inside ``tags(role="output")``. It may
  return NotImplemented to ask for the plain loop. The cells here have one, composed
  and fused (``_Cell.unroll``).

Every cell here takes ``rng`` (a Generator or a seed) and initialises all its weights
uniform ±1/sqrt(hidden_size), as PyTorch does.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..engine import Tensor, current_tags, tags
from ..ops import linear, linear_each, stack, stack_rows
from . import init
from .fused import gru_cell, gru_input_bias, lstm_c, lstm_gates, lstm_h, rnn_cell
from .module import Module, Parameter, check_sizes

__all__ = ["RNNCell", "LSTMCell", "GRUCell", "stamp_roles"]


def stamp_roles(cell: Any, h: Tensor, state: Any) -> None:
    """Tag each element of a step's new state with its role, ``cell.state_names[i]``
    (default ``("h",)``), and h_t with "h" if it is not one of them. The unroll calls it
    after every step; tags are replaced, never mutated (the dict is shared)."""
    names = getattr(cell, "state_names", ("h",))
    if state.__class__ is not tuple:  # one state tensor: h_t itself for RNN and GRU
        state.tags = {**state.tags, "role": names[0]}
        if h is not state:
            h.tags = {**h.tags, "role": "h"}
        return
    for i, e in enumerate(state):
        e.tags = {**e.tags, "role": names[i] if i < len(names) else f"state{i}"}
    if not any(h is e for e in state):
        h.tags = {**h.tags, "role": "h"}


def _x_side(cell: _Cell, x: Tensor, proj: Tensor | None) -> Tensor:
    """A composed step's linear(x, weight_ih, bias_ih): ``proj`` if the unroll made it
    ahead (``ops.linear_each``: the same node), given the tags it would get here."""
    if proj is None:
        return linear(x, cell.weight_ih, cell.bias_ih)
    proj.tags = current_tags()
    return proj


class _Cell(Module):
    """Shared construction: weight_ih (G*H, I), weight_hh (G*H, H), bias_ih, bias_hh (G*H,),
    and ``fused`` (make each step with the ops of ``fused.py``; see each cell)."""

    gates = 1
    state_names: tuple[str, ...] = ("h",)

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True,
        rng: np.random.Generator | int | None = None, fused: bool = False,
    ) -> None:
        check_sizes(type(self).__name__, input_size=input_size, hidden_size=hidden_size)
        g = init.as_generator(rng)
        self.input_size, self.hidden_size = int(input_size), int(hidden_size)
        gh = self.gates * hidden_size
        u = lambda *shape: Parameter(init.pytorch_default(shape, hidden_size, g))
        self.weight_ih = u(gh, input_size)
        self.weight_hh = u(gh, hidden_size)
        self.bias_ih = u(gh) if bias else None
        self.bias_hh = u(gh) if bias else None
        self.fused = bool(fused)

    def _zeros(self, batch_size: int) -> Tensor:
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
                or batch_size < 0:
            raise ValueError(f"{type(self).__name__}.init_state: batch_size must be an int "
                             f">= 0, got {batch_size!r}")
        return Tensor(np.zeros((batch_size, self.hidden_size), dtype=self.weight_hh.dtype))

    def init_state(self, batch_size: int) -> Any:
        """Zeros: h_0 of shape (batch_size, hidden_size)."""
        return self._zeros(batch_size)

    def forward(self, x: Any, state: Any = None) -> tuple[Tensor, Any]:
        """One step: (h_t, new_state) from x_t (B, input_size) and the state (zeros from
        ``init_state`` if None, as PyTorch's cells start). Checks the shapes, then runs
        ``_step``."""
        x = x if isinstance(x, Tensor) else Tensor(x)
        self._check_input(x)
        if state is None:
            return self._step(x, self.init_state(x.shape[0]))
        return self._step(x, self._checked_state(x, state))

    def unroll(self, inputs: list[Tensor], state: Any,
               reverse: bool = False) -> tuple[Tensor, Any]:
        """The optional fast path of the cell contract: the cell applied to x_1..x_T
        (x_T..x_1 if reverse) from ``state``, the same graph, tags and numbers as the
        plain loop of ``nn.Recurrent``. Returns (output (T, B, H), the stack of h_1..h_T;
        the final state). NotImplemented (use the plain loop) for a subclass that changes
        forward or __call__ (its code then runs at every step).

        One shortcut for both the composed and the fused step: every step's input
        projection in one matrix product. The composed step gets it as the linear node
        the step would make (``ops.linear_each``: the same node, rule and tags), the fused
        one as an array (``_input_projections``), and writes h_t straight into a row of
        the output array (``ops.stack_rows``: no stacking copy). The first step goes
        through forward, which checks the shapes; the others go straight to ``_step``."""
        cls = type(self)
        if cls.forward is not _Cell.forward or cls.__call__ is not Module.__call__:
            return NotImplemented
        T = len(inputs)
        if T == 0:
            raise ValueError(f"{cls.__name__}.unroll: no inputs (an empty sequence)")
        order = range(T, 0, -1) if reverse else range(1, T + 1)
        first, later = order[0], order[1:]
        if self.fused:  # per-step views made once
            proj: Any = list(self._input_projections(np.array([x._data for x in inputs])))
        else:  # the first step makes its own, after forward has checked the shapes
            proj = [None] * T
            made = linear_each([inputs[t - 1] for t in later], self.weight_ih, self.bias_ih)
            for t, p in zip(later, made, strict=True):
                proj[t - 1] = p
        hs: list[Any] = [None] * T
        with tags(t=first):
            h, state = self(inputs[first - 1], state)
        stamp_roles(self, h, state)
        hs[first - 1] = h
        rows, outs = None, [None] * T  # fused: the (T, B, H) output, h's shape and dtype
        if self.fused:
            rows = np.empty((T, *h.shape), h.dtype)
            rows[first - 1] = h._data
            outs = list(rows)
        step = self._step
        for t in later:
            with tags(t=t):
                h, state = step(inputs[t - 1], state, outs[t - 1], proj[t - 1])
            stamp_roles(self, h, state)
            hs[t - 1] = h
        with tags(role="output"):
            return (stack(hs) if rows is None else stack_rows(hs, rows)), state

    def _input_projections(self, xs: np.ndarray) -> np.ndarray:
        """x_t W_ih^T + bias for all T steps in one matrix product, (T, B, G*H), from the
        inputs' data xs (T, B, input_size): what a fused _step takes as proj=. The bias
        is ``_projection_bias()``."""
        if xs.ndim != 3 or xs.shape[2] != self.input_size:
            raise ValueError(f"{type(self).__name__}.unroll: inputs of shape "
                             f"{xs.shape[1:]}, expected (batch, input_size={self.input_size})")
        T, B, n_in = xs.shape
        p = np.dot(xs.reshape(T * B, n_in), self.weight_ih._data.T)
        if self.bias_ih is not None:
            p += self._projection_bias()
        return p.reshape(T, B, self.gates * self.hidden_size)

    def _projection_bias(self) -> np.ndarray:
        """The part of the biases that goes into the input projection: b_ih + b_hh (all
        of both, for a cell whose biases are simply added to the preactivation)."""
        return self.bias_ih._data + self.bias_hh._data

    def _check_input(self, x: Tensor) -> None:
        if x.ndim != 2 or x.shape[1] != self.input_size:
            raise ValueError(f"{type(self).__name__}: input of shape {x.shape}, expected "
                             f"(batch, input_size={self.input_size})")

    def _checked_state(self, x: Tensor, state: Any) -> Any:
        """The state as ``_step`` takes it, checked: one Tensor h, or a tuple of one per
        ``state_names`` (the LSTM's (h, c)), each (batch, hidden_size). Arrays become
        Tensors and a list a tuple, as the layers take them. A single Tensor given to
        the LSTM would unpack into its first two rows, so it is refused."""
        name, names = type(self).__name__, self.state_names
        if isinstance(state, list):
            state = tuple(state)
        if isinstance(state, tuple) != (len(names) > 1) or (
                isinstance(state, tuple) and len(state) != len(names)):
            shape = f"(batch, hidden_size={self.hidden_size})"
            want = f"one Tensor h {shape}" if len(names) == 1 else \
                f"a tuple ({', '.join(names)}) of {len(names)} Tensors, each {shape}"
            got = f"a tuple of {len(state)}" if isinstance(state, tuple) else \
                type(state).__name__
            raise TypeError(f"{name}: state must be {want}; got {got}")
        parts = tuple(s if isinstance(s, Tensor) else Tensor(s)
                      for s in (state if isinstance(state, tuple) else (state,)))
        for which, s in zip(names, parts, strict=True):
            if s.shape != (x.shape[0], self.hidden_size):
                of = f" for {which}" if len(names) > 1 else ""
                raise ValueError(f"{name}: state of shape {s.shape}, expected "
                                 f"({x.shape[0]}, hidden_size={self.hidden_size}){of}")
        return parts if isinstance(state, tuple) else parts[0]

    def extra_repr(self) -> str:
        fused = ", fused=True" if self.fused else ""
        return f"{self.input_size}, {self.hidden_size}, bias={self.bias_ih is not None}{fused}"


class RNNCell(_Cell):
    """h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh), act = tanh or relu.

    x_t: (B, input_size), state h: (B, hidden_size) -> (h_t, h_t).
    fused=True makes the step one op ("rnn_tanh_cell", see ``fused.py``) instead of four:
    the same numbers, faster; the ops view then shows one box per step.
    """

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True,
        nonlinearity: str = "tanh", rng: np.random.Generator | int | None = None,
        fused: bool = False,
    ) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: nonlinearity must be 'tanh' or 'relu', "
                             f"got {nonlinearity!r}")
        super().__init__(input_size, hidden_size, bias, rng, fused)
        self.nonlinearity = nonlinearity

    def _step(self, x: Tensor, h: Tensor, out: Any = None,
              proj: Any = None) -> tuple[Tensor, Tensor]:
        if self.fused:
            h = rnn_cell(x, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh,
                         self.nonlinearity, out, proj)
            return h, h
        z = _x_side(self, x, proj) + linear(h, self.weight_hh, self.bias_hh)
        h = z.tanh() if self.nonlinearity == "tanh" else z.relu()
        return h, h

    def extra_repr(self) -> str:
        return super().extra_repr() + f", nonlinearity={self.nonlinearity!r}"


class LSTMCell(_Cell):
    """Long short-term memory, gates in PyTorch's order i, f, g, o:

        i, f, o = sigmoid(.), g = tanh(.) of x_t W_ih^T + b_ih + h W_hh^T + b_hh (sliced)
        c_t = f * c + i * g,   h_t = o * tanh(c_t)

    x_t: (B, input_size), state (h, c): both (B, hidden_size) -> (h_t, (h_t, c_t)).
    fused=True makes the step three ops instead of about a dozen ("lstm_gates", "lstm_c",
    "lstm_h", see ``fused.py``): the same numbers, faster, and the same h_t and c_t nodes
    and edges for the renderer.
    """

    gates = 4
    state_names = ("h", "c")

    def init_state(self, batch_size: int) -> tuple[Tensor, Tensor]:
        """Zeros: (h_0, c_0), each (batch_size, hidden_size)."""
        return self._zeros(batch_size), self._zeros(batch_size)

    def _step(
        self, x: Tensor, state: tuple[Tensor, Tensor], out: Any = None, proj: Any = None
    ) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        h, c = state
        H = self.hidden_size
        if self.fused:  # three ops: gates (all the weights), c_t, h_t (see fused.py)
            with tags(role="gate"):
                a = lstm_gates(x, h, self.weight_ih, self.weight_hh, self.bias_ih,
                               self.bias_hh, proj)
            c = lstm_c(a, c)
            h = lstm_h(a, c, out)
            return h, (h, c)
        with tags(role="gate"):
            z = _x_side(self, x, proj) + linear(h, self.weight_hh, self.bias_hh)
            s = z.sigmoid()  # one op for i, f and o; g's slice is unused
            i, f, o = s[:, :H], s[:, H:2 * H], s[:, 3 * H:]
            g = z[:, 2 * H:3 * H].tanh()
        c = f * c + i * g
        h = o * c.tanh()
        return h, (h, c)


class GRUCell(_Cell):
    """Gated recurrent unit, gates in PyTorch's order r, z, n:

        r = sigmoid(x W_ir^T + b_ir + h W_hr^T + b_hr),  z likewise,
        n = tanh(x W_in^T + b_in + r * (h W_hn^T + b_hn)),  h_t = (1 - z) * n + z * h

    x_t: (B, input_size), state h: (B, hidden_size) -> (h_t, h_t).
    fused=True makes the step one op instead of about a dozen ("gru_cell", see
    ``fused.py``): the same numbers, faster; the ops view then shows one box per step.
    """

    gates = 3

    def _projection_bias(self) -> np.ndarray:
        """b_ih + [b_hr, b_hz, 0]: b_hn is multiplied by r, so it stays in the step."""
        return gru_input_bias(self.bias_ih._data, self.bias_hh._data)

    def _step(self, x: Tensor, h: Tensor, out: Any = None,
              proj: Any = None) -> tuple[Tensor, Tensor]:
        if self.fused:  # h_t outside the gate scope, as the composed h_t below
            h = gru_cell(x, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh,
                         out, proj)
            return h, h
        H = self.hidden_size
        with tags(role="gate"):
            gi = _x_side(self, x, proj)
            gh = linear(h, self.weight_hh, self.bias_hh)
            rz = (gi[:, :2 * H] + gh[:, :2 * H]).sigmoid()
            r, z = rz[:, :H], rz[:, H:]
            n = (gi[:, 2 * H:] + r * gh[:, 2 * H:]).tanh()
        h = n + z * (h - n)  # = (1 - z) n + z h, one op fewer
        return h, h
