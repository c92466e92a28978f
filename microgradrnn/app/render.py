"""``microgradrnn render``: build a small seeded model, run one backward pass with the
gradient flow recorded, and draw its unrolled graph (cells view or ops view) to a file."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import nn
from ..files import write_whole
from .outfiles import check_targets, marked
from .progress import say
from .seqmodel import PerStepModel

FORMATS = ("svg", "png", "dot", "pdf")


def format_of(path: Path) -> str:
    """The output format from the file's extension ("gv" counts as dot); "" if none."""
    fmt = path.suffix.lstrip(".").lower()
    return "dot" if fmt == "gv" else fmt


def seeded_loss(cell: str = "rnn", layers: int = 1, steps: int = 4, seed: int = 0,
                bidirectional: bool = False, hidden: int = 3, inputs: int = 2,
                batch: int = 1, fused: bool = False):
    """The total loss L of a seeded ``PerStepModel`` on random data, and a title naming
    the model. What ``microgradrnn render`` draws and ``microgradrnn explore`` walks.
    The initial state is zeros that take a gradient (``PerStepModel.start_state``), so
    the pictures show how much gradient reaches h_0."""
    model = PerStepModel(cell, inputs=inputs, hidden=hidden, layers=layers,
                         bidirectional=bidirectional, seed=seed, fused=fused)
    rng = np.random.default_rng(seed + 1)
    x = rng.normal(size=(steps, batch, inputs))
    y = rng.normal(size=(steps, batch, 1))
    loss, _ = model.losses(x, y, learn_start=True)
    kind = ("bidirectional " if bidirectional else "") + nn.LAYER_NAMES[cell] + (
        " (fused)" if fused else "")
    return loss, f"{layers}-layer {kind} unrolled over T = {steps}"


def draw(view: str = "cells", loss_at: int | None = None, **model):
    """The picture (a ``viz.Picture``) of ``seeded_loss(**model)``.

    The backward pass keeps the graph (``retain_graph=True``) so ``loss_at`` can draw the
    gradient of one step's loss L_t alone. fused: each step is a fused op (one box per
    step in the ops view; three for the LSTM).
    """
    from .. import viz  # graphviz loads only when drawing

    loss, title = seeded_loss(**model)
    loss.backward(retain_graph=True, record_flow=True)
    if view == "ops":
        return viz.draw_ops(loss, loss_at=loss_at, title=title + ": every op")
    return viz.draw_cells(loss, loss_at=loss_at, title=title)


def main(out: str, force: bool, dpi: int | None = None, **options) -> int:
    """Draw and write ``out`` (a png at ``dpi``); report what was written. Returns the
    exit code.

    Raises, before drawing, FileExistsError for a file microgradrnn did not write (unless
    ``force``), IsADirectoryError if ``out`` is a folder, NotADirectoryError if it lies
    under a file; ``viz.EngineError`` if no Graphviz engine can draw it. Nothing is
    written unless the drawing succeeded.
    """
    path = Path(out)
    fmt = format_of(path)
    check_targets([path], force, who="render", elsewhere="choose another -o FILE")
    data = draw(**options).pipe(fmt, dpi=dpi)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_whole(path, marked(data, fmt, "render"))  # type: ignore[arg-type]
    say(f"wrote the {options.get('view', 'cells')} view to {path}")
    return 0
