"""``microgradrnn explore``: build the same seeded model as ``render`` and write the BPTT
explorer page (``viz.explore``) of its graph: one self-contained .html file."""

from __future__ import annotations

import sys
from pathlib import Path

from ..files import write_whole
from .outfiles import TOKEN, check_targets
from .render import seeded_loss


def page(**model):
    """The ``viz.Explorer`` of ``render.seeded_loss(**model)`` (the model render draws)."""
    from .. import viz

    loss, title = seeded_loss(**model)
    return viz.explore(loss, title=title)


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
    write_whole(path, marked_html(text))
    print(f"wrote the BPTT explorer to {path} (open it in a browser)")
    return 0
