"""Finding a Graphviz engine and running it on DOT source.

System Graphviz ``dot`` is used when it is on PATH (best typography, pdf). Otherwise the
``graphviz-pure`` binary that pip installs with the package (svg, png, json, dot, plain; no
pdf): next to the Python executable, on PATH, or wherever the installed distribution's
files say it is (``pip install --user`` puts it in a scripts folder that is often not on
PATH, e.g. ~/.local/bin, which a notebook's kernel does not see).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

PURE_FORMATS = frozenset({"svg", "png", "json", "dot", "plain", "xdot", "canon", "gv"})
DOT_FORMATS = frozenset({"svg", "png", "pdf", "json", "dot", "plain", "xdot", "canon", "gv",
                         "jpg", "jpeg", "gif", "ps", "eps"})


_ROUTING = b"Pshortestpath failed"  # graphviz-pure could not route an edge


class EngineError(RuntimeError):
    """No Graphviz engine can produce the requested format, or the engine failed."""


def find_dot() -> str | None:
    """System Graphviz ``dot`` on PATH, or None."""
    return shutil.which("dot")


def find_pure() -> str | None:
    """The ``graphviz-pure`` binary, or None: next to the Python executable, on PATH, or
    among the files the installed ``graphviz-pure`` distribution recorded."""
    name = "graphviz-pure.exe" if os.name == "nt" else "graphviz-pure"
    here = Path(sys.executable).parent / name
    if here.is_file():
        return str(here)
    return shutil.which("graphviz-pure") or _installed_pure(name)


def _installed_pure(name: str) -> str | None:
    """The binary as pip recorded it in the distribution's RECORD (its scripts folder)."""
    try:
        files = metadata.distribution("graphviz-pure").files or []
    except metadata.PackageNotFoundError:
        return None
    for file in files:
        if file.name == name:
            path = Path(file.locate()).resolve()
            if path.is_file() and os.access(path, os.X_OK):
                return str(path)
    return None


def choose(fmt: str, engine: str | None = None) -> list[str]:
    """The command line of an engine able to write ``fmt``.

    engine: None picks system ``dot`` when present, else graphviz-pure; "dot" or "pure"
    insists on one.
    """
    dot, pure = find_dot(), find_pure()
    if engine not in (None, "dot", "pure"):
        raise ValueError(f"render: engine must be None, 'dot' or 'pure', got {engine!r}")
    if engine != "pure" and dot and fmt in DOT_FORMATS:
        return [dot]
    if engine != "dot" and pure and fmt in PURE_FORMATS:
        return [pure, "-q"]
    have = ", ".join(n for n, p in (("dot", dot), ("graphviz-pure", pure)) if p) or "none"
    hint = ""
    if fmt == "pdf" and pure and not dot:
        hint = "; graphviz-pure has no pdf: render svg or png, or install system Graphviz"
    raise EngineError(
        f"render: no Graphviz engine can write format {fmt!r} (engines found: {have}){hint}"
    )


def run(source: str, fmt: str, engine: str | None = None, positioned: bool = False
        ) -> bytes:
    """Lay out and draw DOT ``source`` in format ``fmt``; return the bytes.
    positioned: ``source`` is laid out already (``-Tdot``'s output): draw it as it is."""
    if fmt in ("dot", "gv") and engine is None and not find_dot() and not find_pure():
        return source.encode("utf-8")
    cmd = choose(fmt, engine) + [f"-T{fmt}"] + (["-Kneato", "-n2"] if positioned else [])
    proc = subprocess.run(cmd, input=source.encode("utf-8"), capture_output=True)
    if proc.returncode != 0 and _ROUTING in proc.stderr:
        # graphviz-pure's spline router gives up on a few large graphs (a bidirectional
        # stack of GRUs in the ops view); those are drawn with straight edges instead
        straight = source.replace("{", "{\n\tsplines=line", 1)
        proc = subprocess.run(cmd, input=straight.encode("utf-8"), capture_output=True)
    if proc.returncode != 0:
        msg = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise EngineError(f"render: {Path(cmd[0]).name} failed: {' '.join(msg[-3:])}")
    return proc.stdout
