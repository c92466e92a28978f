"""Sequence layers: one generic ``Recurrent`` layer that unrolls any cell, and RNN, LSTM,
GRU built on it. (Truncated BPTT is in ``truncated.py``.)

There is no BPTT code here. The unroll is a plain Python loop over t; backpropagation
through time is what the engine's ordinary backward pass does to the graph it builds.
Every node made in step t of layer l is tagged ``t``, ``layer``, ``direction`` and
``role`` (see docs/contracts.md), so the renderer can place it.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from ..engine import Tensor, tags
from ..ops import concatenate, stack, unbind
from . import init
from .cells import GRUCell, LSTMCell, RNNCell, stamp_roles
from .module import Module, check_sizes

__all__ = ["Recurrent", "RNN", "LSTM", "GRU", "LAYERS", "detach_state"]

State = Any  # a Tensor, or a tuple of Tensors


def _elements(state: State) -> tuple[Tensor, ...]:
    return state if isinstance(state, tuple) else (state,)


CONTRACT = ("the cell contract: cell(x_t, state) returns a tuple (h_t, new_state), h_t a "
            "Tensor (batch, hidden_size); see nn.cells")


def _checked_step(cell: Module, result: Any) -> tuple[Tensor, State]:
    """A step's result, checked against the cell contract (a clear error, not a deep
    unpacking error, for a cell that returns h_t alone)."""
    if result.__class__ is not tuple or len(result) != 2 \
            or not isinstance(result[0], Tensor):
        raise TypeError(f"{type(cell).__name__} returned {type(result).__name__}, which "
                        f"breaks {CONTRACT}")
    return result


def _checked_unroll(cell: Module, result: Any, T: int) -> tuple[Tensor, State]:
    """What a cell's unroll returned, checked: (output, final_state), output a stack of
    the T h_t."""
    if result.__class__ is not tuple or len(result) != 2 \
            or not isinstance(result[0], Tensor) or result[0].op != "stack" \
            or result[0].shape[:1] != (T,):
        raise TypeError(f"{type(cell).__name__}.unroll must return (output, final_state), "
                        f"output the (T, B, H) stack of the {T} h_t (ops.stack), as the "
                        "plain loop of nn.Recurrent does")
    return result


def _steps_of(output: Tensor) -> list[Tensor]:
    """h_1..h_T of an unroll's output: the stack's parents, the very nodes the next layer
    must take. A node made without a graph (no_grad, nothing requiring grad) keeps no
    parents; then there is no graph to keep and the rows of its values serve."""
    if len(output.parents) == output.shape[0]:
        return list(output.parents)
    return [Tensor(row) for row in output._data]


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
    (and scales the rest by 1/(1-p)), drawn from a generator seeded at construction; with
    one layer it does nothing and warns, as PyTorch does.
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
        check_sizes(name, input_size=input_size, num_layers=num_layers)
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float, np.number)):
            raise TypeError(f"{name}: dropout must be a number in [0, 1), got "
                            f"{type(dropout).__name__} {dropout!r}")
        if not 0.0 <= dropout < 1.0:  # 1 would zero every input of the layers above
            raise ValueError(f"{name}: dropout must be in [0, 1) (the probability of "
                             f"zeroing an element), got {dropout!r}")
        if dropout > 0 and num_layers == 1:  # PyTorch's warning, in its words
            warnings.warn(f"{name}: dropout option adds dropout after all but last recurrent "
                          "layer, so non-zero dropout expects num_layers greater than 1, "
                          f"but got dropout={dropout} and num_layers={num_layers}",
                          UserWarning, stacklevel=3)
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
            first = self.cells[0].init_state(batch)
            template = _elements(first)
            if len(given) != len(template):
                raise ValueError(f"{name}: initial state has {len(given)} tensors, "
                                 f"expected {len(template)}")
            if isinstance(state, tuple) and not isinstance(first, tuple):
                raise TypeError(f"{name}: initial state must be one Tensor (num_layers * "
                                "num_directions, batch, hidden), not a tuple (only the "
                                "LSTM's state is a tuple (h_0, c_0))")
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
        for layer in range(1, self.num_layers + 1):
            outs = []
            for d in range(D):
                k = (layer - 1) * D + d
                with tags(layer=layer, direction="bwd" if d else "fwd"):
                    out, final = self._unroll(self.cells[k], inputs, states[k], bool(d))
                finals.append(final)
                outs.append(out)
            if layer < self.num_layers:
                inputs = self._next_inputs([_steps_of(o) for o in outs], layer + 1)
        for out in outs:  # the top layer's stacks are the layer's output, of no direction
            out.tags = {k: v for k, v in out.tags.items() if k != "direction"}
        with tags(layer=self.num_layers, role="output"):
            output = outs[0] if D == 1 else concatenate(outs, axis=-1)
            if self.batch_first:
                output = output.transpose(1, 0, 2)
            per_element = zip(*(_elements(s) for s in finals), strict=True)
            final = tuple(stack(list(es), axis=0) for es in per_element)
        return output, (final if isinstance(finals[0], tuple) else final[0])

    def _unroll(self, cell: Module, inputs: list[Tensor], state: State,
                reverse: bool) -> tuple[Tensor, State]:
        """One layer in one direction: the cell applied at t = 1..T (T..1 if reverse),
        each step inside its tags scope. Returns (the (T, B, H) stack of h_1..h_T, the
        final state). A cell with a fast path (``cell.unroll``) runs it instead: the same
        graph, faster (the fused cells have one)."""
        if hasattr(cell, "unroll"):
            result = cell.unroll(inputs, state, reverse)
            if result is not NotImplemented:
                return _checked_unroll(cell, result, len(inputs))
        hs: list[Any] = [None] * len(inputs)
        for t in (range(len(inputs), 0, -1) if reverse else range(1, len(inputs) + 1)):
            with tags(t=t):
                h, state = _checked_step(cell, cell(inputs[t - 1], state))
            stamp_roles(cell, h, state)
            hs[t - 1] = h
        with tags(role="output"):
            return stack(hs), state

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
