"""Sequence layers: one generic ``Recurrent`` layer that unrolls any cell, and RNN, LSTM,
GRU built on it. (Truncated BPTT is in ``truncated.py``.)

There is no BPTT code here. The unroll is a plain Python loop over t; backpropagation
through time is what the engine's ordinary backward pass does to the graph it builds.
Every node made in step t of layer l is tagged ``t``, ``layer``, ``direction`` and
``role`` (see docs/contracts.md), so the renderer can place it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..engine import Tensor, tags
from ..ops import concatenate, stack, stack_rows, unbind
from . import init
from .cells import GRUCell, LSTMCell, RNNCell
from .module import Module

__all__ = ["Recurrent", "RNN", "LSTM", "GRU", "LAYERS", "detach_state"]

State = Any  # a Tensor, or a tuple of Tensors


def _elements(state: State) -> tuple[Tensor, ...]:
    return state if isinstance(state, tuple) else (state,)


def _stamp(names: tuple[str, ...], h: Tensor, state: State) -> None:
    """Tag each state element with its role (``names``: the cell's ``state_names``)."""
    if state.__class__ is not tuple:  # one state tensor: h_t itself for RNN and GRU
        state.tags = {**state.tags, "role": names[0]}
        if h is not state:
            h.tags = {**h.tags, "role": "h"}
        return
    for i, e in enumerate(state):
        e.tags = {**e.tags, "role": names[i] if i < len(names) else f"state{i}"}
    if not any(h is e for e in state):
        h.tags = {**h.tags, "role": "h"}


_CHECKING_FORWARDS = (RNNCell.forward, LSTMCell.forward, GRUCell.forward)


def _later_steps(cell: Module) -> tuple[Callable, bool]:
    """What runs steps 2..T, and whether it takes ``out=`` and ``proj=``.

    A library cell's ``_step`` (its forward without the shape checks, which the first
    step did) if the cell's call still goes through that forward; a fused one also takes
    its step's row of ``_input_projections`` (proj=) and writes h_t into a row of the
    layer's output array (out=), so the output needs no stacking copy and no second copy
    of every h_t is held. Any other cell (yours, or a subclass that overrides forward) is
    called as is."""
    cls = type(cell)
    if cls.__call__ is Module.__call__ and cls.forward in _CHECKING_FORWARDS:
        return cell._step, getattr(cell, "fused", False)
    return cell, False


def detach_state(state: State) -> State:
    """The same state cut from its graph: a Tensor, or a tuple of detached Tensors."""
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return state.detach()


class Recurrent(Module):
    """Stack and unroll any cell that follows the cell contract (see ``cells.py``).

    make_cell(input_size, rng) -> cell is called once per layer and direction, in
    PyTorch's order (layer 0 forward, layer 0 reverse, layer 1 forward, ...); layer l > 0
    gets input_size = hidden_size * num_directions. hidden_size is read from the cell's
    ``init_state(1)`` (its first element is h).

    Parameters are named as PyTorch names them: the cell's own name plus ``_l{layer}``
    and ``_reverse`` for the backward direction (``weight_hh_l1_reverse``); a cell
    parameter ``W`` of a custom cell becomes ``W_l0``.

    ``layer(x, state=None) -> (output, final_state)``:
      x: (T, B, input_size), or (B, T, input_size) with batch_first;
      state: None (zeros from ``init_state``), or shaped as PyTorch's: a Tensor
        (num_layers * num_directions, B, H), or a tuple of them (LSTM's (h_0, c_0));
      output: (T, B, num_directions * H) (batch_first: (B, T, ...)), the top layer's h_t;
      final_state: like ``state``, the last state of every layer and direction.
    Between layers, in training mode, ``dropout`` zeroes inputs with that probability
    (and scales the rest by 1/(1-p)), drawn from a generator seeded at construction.
    """

    def __init__(
        self,
        make_cell: Callable[[int, np.random.Generator], Module],
        input_size: int,
        num_layers: int = 1,
        bidirectional: bool = False,
        batch_first: bool = False,
        dropout: float = 0.0,
        rng: np.random.Generator | int | None = None,
    ) -> None:
        name = type(self).__name__
        if not isinstance(num_layers, (int, np.integer)) or num_layers < 1:
            raise ValueError(f"{name}: num_layers must be a positive int, got {num_layers!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"{name}: dropout must be in [0, 1), got {dropout!r}")
        g = init.as_generator(rng)
        self.input_size, self.num_layers = int(input_size), int(num_layers)
        self.bidirectional, self.batch_first = bool(bidirectional), bool(batch_first)
        self.dropout = float(dropout)
        self.num_directions = 2 if bidirectional else 1
        self.cells: list[Module] = []
        self._suffixes: list[str] = []
        size = self.input_size
        for layer in range(self.num_layers):
            for d in range(self.num_directions):
                cell = make_cell(size, g)
                if not hasattr(cell, "init_state"):
                    raise TypeError(f"{name}: make_cell returned {type(cell).__name__}, "
                                    "which has no init_state(batch_size) (the cell contract)")
                suffix = f"_l{layer}" + ("_reverse" if d else "")
                for pname, p in cell._named_parameters(""):
                    p.label = pname + suffix
                self.cells.append(cell)
                self._suffixes.append(suffix)
            if layer == 0:
                h0 = _elements(self.cells[0].init_state(1))[0]
                self.hidden_size = int(h0.shape[-1])
            size = self.hidden_size * self.num_directions
        self._dropout_rng = np.random.default_rng(g.integers(2**63))

    def _named_parameters(self, prefix: str) -> Any:
        for cell, suffix in zip(self.cells, self._suffixes, strict=True):
            for pname, p in cell._named_parameters(""):
                yield prefix + pname + suffix, p

    def __getattr__(self, name: str) -> Any:
        """PyTorch-style access to parameters by name: ``lstm.weight_hh_l0``."""
        if name.startswith("_") or name == "cells":  # not built yet
            raise AttributeError(name)
        for pname, p in self._named_parameters(""):
            if pname == name:
                return p
        raise AttributeError(f"{type(self).__name__} has no attribute or parameter {name!r}")

    def extra_repr(self) -> str:
        return (f"{self.input_size}, {self.hidden_size}, num_layers={self.num_layers}, "
                f"bidirectional={self.bidirectional}, batch_first={self.batch_first}, "
                f"dropout={self.dropout}")

    # -- the unroll -----------------------------------------------------------------------

    def _initial_states(self, state: State, batch: int) -> list[State]:
        """One state per (layer, direction), made inside the t=0 tags scope."""
        name = type(self).__name__
        n = len(self.cells)
        out = []
        if isinstance(state, list):
            state = tuple(state)
        if state is not None:
            given = _elements(state)
            template = _elements(self.cells[0].init_state(batch))
            if len(given) != len(template):
                raise ValueError(f"{name}: initial state has {len(given)} tensors, "
                                 f"expected {len(template)}")
            given = tuple(s if isinstance(s, Tensor) else Tensor(s) for s in given)
            for s, tmp in zip(given, template, strict=True):
                if s.shape != (n, *tmp.shape):
                    raise ValueError(f"{name}: initial state of shape {s.shape}, expected "
                                     f"{(n, *tmp.shape)} (num_layers * num_directions, "
                                     "batch, hidden)")
        for k, cell in enumerate(self.cells):
            layer, d = divmod(k, self.num_directions)
            names = getattr(cell, "state_names", ("h",))
            with tags(t=0, layer=layer + 1, direction="bwd" if d else "fwd", role=names[0]):
                if state is None:
                    s = cell.init_state(batch)
                else:
                    parts = tuple(e[k] for e in given)
                    s = parts if isinstance(state, tuple) else parts[0]
            for i, e in enumerate(_elements(s)):
                e.tags = {**e.tags, "role": names[i] if i < len(names) else f"state{i}"}
            out.append(s)
        return out

    def forward(self, x: Any, state: State = None) -> tuple[Tensor, State]:
        name = type(self).__name__
        x = x if isinstance(x, Tensor) else Tensor(x)
        if x.ndim != 3:
            layout = "(batch, T, input_size)" if self.batch_first else "(T, batch, input_size)"
            raise ValueError(f"{name}: input of shape {x.shape}, expected 3 dims {layout}")
        if x.shape[2] != self.input_size:
            raise ValueError(f"{name}: input has {x.shape[2]} features, expected "
                             f"input_size={self.input_size}")
        if self.batch_first:
            with tags(role="input"):
                x = x.transpose(1, 0, 2)
        T, B = x.shape[0], x.shape[1]
        if T == 0:
            raise ValueError(f"{name}: input has no time steps (shape {x.shape})")
        states = self._initial_states(state, B)
        D = self.num_directions
        with tags(layer=1, direction="fwd", role="x"):
            inputs = list(unbind(x))  # x_t = x[t - 1], each a getitem node
        for t, x_t in enumerate(inputs, 1):
            x_t.tags = {**x_t.tags, "t": t}
        finals: list[State] = []
        xs = x._data  # the inputs' values as one (T, B, F) array, while there is one
        for layer in range(1, self.num_layers + 1):
            outs, out_rows = [], []
            for d in range(D):
                k = (layer - 1) * D + d
                hs, final, rows = self._unroll(self.cells[k], inputs, states[k], xs,
                                               layer, "bwd" if d else "fwd")
                finals.append(final)
                outs.append(hs)
                out_rows.append(rows)
            if layer < self.num_layers:
                inputs = self._next_inputs(outs, layer + 1)
                # the next layer's inputs are this layer's h_t themselves only with one
                # direction and no dropout; then their values are the rows just written
                dropout = self.training and self.dropout > 0
                xs = out_rows[0] if D == 1 and not dropout else None
        with tags(layer=self.num_layers, role="output"):
            stacked = [stack(hs) if rows is None else stack_rows(hs, rows)
                       for hs, rows in zip(outs, out_rows, strict=True)]
            output = stacked[0] if D == 1 else concatenate(stacked, axis=-1)
            if self.batch_first:
                output = output.transpose(1, 0, 2)
            per_element = zip(*(_elements(s) for s in finals), strict=True)
            final = tuple(stack(list(es), axis=0) for es in per_element)
        return output, (final if isinstance(finals[0], tuple) else final[0])

    def _unroll(self, cell: Module, inputs: list[Tensor], state: State, xs: Any,
                layer: int, direction: str) -> tuple[list[Tensor], State, Any]:
        """One layer in one direction: the cell applied at t = 1..T (or T..1), each step
        inside its tags scope. Returns (h_1..h_T, the final state, the (T, B, H) array
        that holds h_1..h_T, or None).

        A fused library cell gets two shortcuts (``_later_steps``): every step's input
        projection made at once from ``xs`` (the inputs' values, or None), and h_t written
        straight into a row of one output array. The graph is the same either way."""
        T = len(inputs)
        names = getattr(cell, "state_names", ("h",))
        hs: list[Any] = [None] * T
        later, in_place = _later_steps(cell)
        rows = None  # with in_place: the (T, B, H) output, h_t written to row t-1
        proj = cell._input_projections(xs) if in_place and xs is not None else None
        steps = range(T, 0, -1) if direction == "bwd" else range(1, T + 1)
        for i, t in enumerate(steps):
            with tags(t=t, layer=layer, direction=direction):
                if i == 0:  # the first step checks the shapes
                    h, state = cell(inputs[t - 1], state)
                elif rows is None:
                    h, state = later(inputs[t - 1], state)
                else:
                    h, state = later(inputs[t - 1], state, out=rows[t - 1],
                                     proj=None if proj is None else proj[t - 1])
            _stamp(names, h, state)
            hs[t - 1] = h
            if i == 0 and in_place:  # h_1 shows the output's shape and dtype
                rows = np.empty((T, *h.shape), h.dtype)
                rows[t - 1] = h._data
        return hs, state, rows

    def _next_inputs(self, outs: list[list[Tensor]], layer: int) -> list[Tensor]:
        """Layer ``layer``'s input at each step: both directions below, joined; dropout."""
        T = len(outs[0])
        p = self.dropout if self.training else 0.0
        inputs = []
        for t in range(1, T + 1):
            if len(outs) == 1 and not p:
                inputs.append(outs[0][t - 1])
                continue
            with tags(t=t, layer=layer, direction="fwd", role="input"):
                u = outs[0][t - 1]
                if len(outs) == 2:
                    u = concatenate([u, outs[1][t - 1]], axis=-1)
                if p:
                    keep = self._dropout_rng.random(u.shape) >= p
                    u = u * (keep / (1.0 - p)).astype(u.dtype)
            inputs.append(u)
        return inputs


class RNN(Recurrent):
    """Elman RNN (``RNNCell``, tanh or relu) stacked and unrolled; PyTorch's signature.

    x: (T, B, input_size) -> output (T, B, D*hidden_size), h_n (num_layers*D, B, hidden_size).
    fused=True: every step is one op (see ``RNNCell``), faster; the default composes it.
    """

    def __init__(
        self, input_size: int, hidden_size: int, num_layers: int = 1,
        nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
        dropout: float = 0.0, bidirectional: bool = False,
        rng: np.random.Generator | int | None = None, fused: bool = False,
    ) -> None:
        super().__init__(
            lambda n, g: RNNCell(n, hidden_size, bias, nonlinearity, rng=g, fused=fused),
            input_size, num_layers, bidirectional, batch_first, dropout, rng)


class _Gated(Recurrent):
    """A stacked layer of ``cell_type`` (a gated cell: no nonlinearity to choose), with
    PyTorch's signature; LSTM and GRU differ only in their cell."""

    cell_type: type[LSTMCell] | type[GRUCell]

    def __init__(
        self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
        batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
        rng: np.random.Generator | int | None = None, fused: bool = False,
    ) -> None:
        cell = self.cell_type
        super().__init__(
            lambda n, g: cell(n, hidden_size, bias, rng=g, fused=fused),
            input_size, num_layers, bidirectional, batch_first, dropout, rng)


class LSTM(_Gated):
    """LSTM (``LSTMCell``) stacked and unrolled; PyTorch's signature.

    x: (T, B, input_size) -> output (T, B, D*hidden_size), (h_n, c_n) each
    (num_layers*D, B, hidden_size). The initial state, if given, is (h_0, c_0).
    fused=True: every step is three ops (see ``LSTMCell``), faster; the default composes it.
    """

    cell_type = LSTMCell


class GRU(_Gated):
    """GRU (``GRUCell``) stacked and unrolled; PyTorch's signature.

    x: (T, B, input_size) -> output (T, B, D*hidden_size), h_n (num_layers*D, B, hidden_size).
    fused=True: every step is one op (see ``GRUCell``), faster; the default composes it.
    """

    cell_type = GRUCell


# The sequence layers by cell name, and how a picture or a report names them
LAYERS = {"rnn": RNN, "lstm": LSTM, "gru": GRU}
LAYER_NAMES = {"rnn": "tanh RNN", "lstm": "LSTM", "gru": "GRU"}
