"""``microgradrnn explore``: build the same seeded model as ``render`` and write the BPTT
explorer page (``viz.explore``) of its graph: one self-contained .html file."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from .. import nn
from .outfiles import TOKEN, check_targets
from .seqmodel import PerStepModel


def page(cell: str = "rnn", layers: int = 1, steps: int = 4, seed: int = 0,
         bidirectional: bool = False, hidden: int = 3, inputs: int = 2, batch: int = 1,
         fused: bool = False):
    """The ``viz.Explorer`` of a seeded ``PerStepModel`` on random data (as ``render``
    draws it)."""
    from .. import viz

    model = PerStepModel(cell, inputs=inputs, hidden=hidden, layers=layers,
                         bidirectional=bidirectional, seed=seed, fused=fused)
    rng = np.random.default_rng(seed + 1)
    x = rng.normal(size=(steps, batch, inputs))
    y = rng.normal(size=(steps, batch, 1))
    loss, _ = model.losses(x, y)
    kind = ("bidirectional " if bidirectional else "") + nn.LAYER_NAMES[cell] + (
        " (fused)" if fused else "")
    return viz.explore(loss, title=f"{layers}-layer {kind} unrolled over T = {steps}")


def marked_html(text: str, who: str = "explore") -> str:
    """The page with the mark ``made by microgradrnn who`` (an HTML comment after the
    doctype), so a later run may replace it without --force."""
    head, rest = text.split("\n", 1)
    return f"{head}\n<!-- {TOKEN} {who} -->\n{rest}"


def main(out: str, force: bool, **options) -> int:
    """Write the explorer page to ``out``; report it. Returns the exit code."""
    from ..viz import EngineError

    path = Path(out)
    try:
        check_targets([path], force, who="explore", elsewhere="choose another -o FILE")
        text = page(**options).html()
    except (FileExistsError, EngineError) as e:
        print(str(e).splitlines()[0], file=sys.stderr)
        return 1
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(marked_html(text), encoding="utf-8")
    print(f"wrote the BPTT explorer to {path} (open it in a browser)")
    return 0
