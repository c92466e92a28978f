"""Truncated backpropagation through time, both classic forms: by chunks (min-char-rnn)
and by windows (the numpy tutorial's ``bptt_truncate``). Each is generic backprop with a
``detach()`` where the graph is cut; there is no special gradient code.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..engine import Tensor, no_grad, tags
from .cells import stamp_roles
from .module import Module
from .recurrent import State, detach_state

__all__ = ["chunked_bptt", "truncated_window"]

def _checked_loss(loss: Any, where: str) -> Tensor:
    if not isinstance(loss, Tensor):  # a float has no backward()
        raise TypeError(f"{where}: loss_fn must return a Tensor (the loss, built from the "
                        f"output), got {type(loss).__name__}")
    return loss


def chunked_bptt(
    layer: Callable[[Any, State], tuple[Tensor, State]],
    x: Any,
    k: int,
    loss_fn: Callable[[Tensor, int], Tensor],
    state: State = None,
    after_chunk: Callable[[], Any] | None = None,
) -> tuple[float, State]:
    """Truncated BPTT by chunks, as min-char-rnn does: run k steps, backpropagate, cut.

    x: (T, B, F) (or (B, T, F) if ``layer.batch_first``); the sequence is cut into chunks
    of k steps (the last may be shorter). For each chunk: ``out, state = layer(chunk,
    state)``; ``loss = loss_fn(out, start)`` (start: index of the chunk's first step);
    ``loss.backward()``; ``after_chunk()`` (e.g. an optimizer step and zero_grad); then
    the state is detached, so the next chunk starts from its values but no gradient
    crosses the cut. Gradients accumulate if ``after_chunk`` does not zero them.

    Returns (sum of the chunk losses, final state detached).
    """
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"chunked_bptt: k must be a positive int, got {k!r}")
    axis = 1 if getattr(layer, "batch_first", False) else 0
    T = np.shape(x._data if isinstance(x, Tensor) else x)[axis]
    total = 0.0
    for start in range(0, T, k):
        index = (slice(None),) * axis + (slice(start, start + k),)
        out, state = layer(x[index], state)
        loss = _checked_loss(loss_fn(out, start), "chunked_bptt")
        loss.backward()
        total += loss.item()
        if after_chunk is not None:
            after_chunk()
        state = detach_state(state)
    return total, state


def truncated_window(
    cell: Module,
    x: Any,
    loss_fn: Callable[[int, Tensor], Tensor],
    k: int,
    state: State = None,
) -> tuple[float, State]:
    """Truncated BPTT by windows: each step's loss L_t reaches back at most k steps.

    The semantics are those of ``bptt_truncate`` in the WildML numpy RNN tutorial: the
    gradient of L_t flows into the steps t, t-1, ..., t-k (k+1 applications of the cell,
    fewer near the start) and stops there: h_{t-k-1} counts as a constant. The head that
    maps h_t to L_t gets L_t's gradient as usual. With k >= T-1 this is full BPTT.

    How it comes out of generic backprop, with no special gradient code: first the whole
    sequence runs once without a graph (``no_grad``) to get every state s_0..s_T. Then for
    each t the cell is re-run from the *detached* state s_{t-k-1} over steps t-k..t, L_t =
    loss_fn(t, h_t) is computed and ``L_t.backward()`` adds its gradient into the
    parameters. Detaching is what cuts the window; the engine does all the rest, and the
    gradients of the T losses simply accumulate. It costs T*(k+1) cell steps instead of T.

    cell: any cell (the cell contract); x: (T, B, input_size); loss_fn(t, h_t) -> a
    one-element Tensor, t 1-based; state: the initial state (default ``init_state(B)``).
    Returns (sum of the L_t values, final state s_T without a graph). Nodes are tagged
    t, layer=1, direction="fwd" like the sequence layers' (re-run steps repeat a t).
    """
    if not isinstance(k, (int, np.integer)) or k < 0:
        raise ValueError(f"truncated_window: k must be an int >= 0, got {k!r}")
    x = x if isinstance(x, Tensor) else Tensor(x)
    if x.ndim != 3:
        raise ValueError(f"truncated_window: input of shape {x.shape}, expected "
                         "(T, batch, input_size)")
    T, B = x.shape[0], x.shape[1]
    if state is None:
        with tags(t=0, layer=1, direction="fwd"):
            state = cell.init_state(B)
    states = [detach_state(state)]
    with no_grad():
        for t in range(1, T + 1):
            _, s = cell(x[t - 1], states[-1])
            states.append(detach_state(s))
    total = 0.0
    for t in range(1, T + 1):
        start = max(1, t - k)
        s = states[start - 1]
        for u in range(start, t + 1):
            with tags(t=u, layer=1, direction="fwd"):
                with tags(role="x"):
                    xu = x[u - 1]
                h, s = cell(xu, s)
            stamp_roles(cell, h, s)
        loss = _checked_loss(loss_fn(t, h), "truncated_window")
        if loss.requires_grad:
            loss.backward()
        total += loss.item()
    return total, states[-1]
