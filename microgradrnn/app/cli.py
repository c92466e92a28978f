"""The ``microgradrnn`` command line.

Errors never end in a traceback: a usage error (a bad argument) is one line on stderr and
exit status 2; a runtime error (a file that may not be overwritten, a folder that is a
file, no Graphviz engine, out of memory) one line on stderr and status 1. Set
MICROGRADRNN_TRACEBACK=1 to see the traceback of an unexpected error.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

# The sizes ``microgradrnn render`` accepts. It draws a picture: the hidden size changes
# the numbers, not the boxes, and the gradient recorded on every edge into a weight is
# weight-sized (H x H, per step and layer), so these keep the largest model within about
# 1 GB and a minute.
MAX_HIDDEN = 32
MAX_STEPS = 500
MAX_LAYERS = 8
MAX_DPI = 2400  # what Picture.render takes (viz/picture.py)
# the explorer draws every step (no folding) and keeps one walk per L_t, so its page grows
# with T²: about 1.3 MB at T = 20 (2-layer LSTM), 3.8 MB at T = 40
MAX_EXPLORE_STEPS = 40


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr (exit status 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="microgradrnn",
        description="A small autograd engine, recurrent networks built from its ops, and "
        "pictures of backpropagation through time.",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_demo(commands)
    _add_render(commands)
    _add_explore(commands)
    return parser


def _add_demo(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "demo",
        help="train a 2-layer RNN (sine -> cosine) and draw its gradient flow",
        description="Train a 2-layer tanh RNN to map a sine wave to its cosine (BPTT over "
        "the whole sequence), print the test error, and write the cells view of the "
        "unrolled graph with both gradient paths (demo-cells.svg) and a plot of "
        "||dL_T/dh_t|| against t (demo-gradients.svg). Files the demo did not write are "
        "never overwritten without --force.",
    )
    p.add_argument("--out", default=".", metavar="DIR",
                   help="folder for the pictures (default: the current folder)")
    p.add_argument("--force", action="store_true",
                   help="overwrite existing files of the same names")
    p.add_argument("--iterations", type=_positive_int, default=600, metavar="N",
                   help="training iterations (default: 600)")
    p.add_argument("--seed", type=_seed, default=0,
                   help="random seed, a non-negative integer (default: 0)")
    p.set_defaults(run=_run_demo)


def _run_demo(args: argparse.Namespace) -> int:
    from .demo import main

    return main(args.out, args.force, args.iterations, args.seed)


def _add_render(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "render",
        help="draw the unrolled graph of a small seeded RNN, LSTM or GRU",
        description="Build a small seeded model (a stacked RNN, LSTM or GRU and a linear "
        "head applied at every step, one squared-error loss per step), run one backward "
        "pass on random data with the gradient flow recorded, and draw the unrolled graph: "
        "the cells view (x_t, h_t, c_t, y_t, L_t; both roads of the gradient) or the ops "
        "view (every op). The format comes from the file's extension: svg, png, dot, or "
        "pdf when system Graphviz is installed. An existing file that microgradrnn did not "
        "write is never overwritten without --force.",
        epilog="example: microgradrnn render --cell lstm --layers 2 --steps 5 -o lstm.svg",
    )
    _add_model_options(p)
    p.add_argument("--view", choices=("cells", "ops"), default="cells",
                   help="cells: one node per state and step; ops: every op (default: cells)")
    p.add_argument("--loss-at", type=int, metavar="t",
                   help="draw the gradient of the loss of step t alone (1..T; default: "
                   "the gradient of the total loss L)")
    p.add_argument("-o", "--output", required=True, metavar="FILE",
                   help="the picture to write (.svg, .png, .dot, or .pdf with system dot)")
    p.add_argument("--dpi", type=_bounded(MAX_DPI), metavar="N",
                   help=f"resolution of a .png, 1..{MAX_DPI} (default 96; 300 for print)")
    p.add_argument("--force", action="store_true",
                   help="overwrite FILE even if microgradrnn did not write it")
    p.set_defaults(run=_run_render, parser=p)


def _run_render(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..viz import engines
    from . import render

    if args.loss_at is not None and not 1 <= args.loss_at <= args.steps:
        args.parser.error(f"--loss-at must be within 1..{args.steps} (the steps), "
                          f"got {args.loss_at}")
    fmt = render.format_of(Path(args.output))
    if fmt not in render.FORMATS:
        args.parser.error(f"cannot tell the format of {args.output!r} from its extension; "
                          f"use one of {', '.join('.' + f for f in render.FORMATS)}")
    if fmt == "pdf" and not engines.find_dot():
        args.parser.error("pdf needs system Graphviz dot, which is not installed; "
                          "write .svg or .png instead")
    return render.main(args.output, args.force, cell=args.cell, layers=args.layers,
                       steps=args.steps, view=args.view, loss_at=args.loss_at,
                       seed=args.seed, bidirectional=args.bidirectional, hidden=args.hidden,
                       fused=args.fused, dpi=args.dpi)


def _add_explore(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "explore",
        help="write an interactive page that walks the backward pass (BPTT explorer)",
        description="Build the same small seeded model as render and write one "
        "self-contained HTML page: the cells view of its unrolled graph, where you pick "
        "the loss to follow (L or any L_t), step through the backward pass in the "
        "engine's order, and inspect nodes and shared weights. It needs no network.",
        epilog="example: microgradrnn explore --cell lstm --layers 2 --steps 8 -o bptt.html",
    )
    _add_model_options(p, max_steps=MAX_EXPLORE_STEPS)
    p.add_argument("-o", "--output", required=True, metavar="FILE",
                   help="the page to write (.html)")
    p.add_argument("--force", action="store_true",
                   help="overwrite FILE even if microgradrnn did not write it")
    p.set_defaults(run=_run_explore, parser=p)


def _run_explore(args: argparse.Namespace) -> int:
    from . import explore

    if not args.output.lower().endswith((".html", ".htm")):
        args.parser.error(f"the page is HTML: -o must end in .html, got {args.output!r}")
    if args.steps > MAX_EXPLORE_STEPS:
        args.parser.error(f"--steps {args.steps} is too many for the explorer: at most "
                          f"{MAX_EXPLORE_STEPS} (it draws every step and keeps each L_t; "
                          "render draws long sequences folded)")
    return explore.main(args.output, args.force, cell=args.cell, layers=args.layers,
                        steps=args.steps, seed=args.seed, bidirectional=args.bidirectional,
                        hidden=args.hidden, fused=args.fused)


def _add_model_options(p: argparse.ArgumentParser, max_steps: int = MAX_STEPS) -> None:
    """The options of the seeded model that render and explore build (app/render.py);
    max_steps is the bound --steps's help states (explore checks its own after parsing)."""
    p.add_argument("--cell", choices=("rnn", "lstm", "gru"), default="rnn",
                   help="the recurrent cell (default: rnn, a tanh RNN)")
    p.add_argument("--layers", type=_bounded(MAX_LAYERS), default=1, metavar="N",
                   help=f"stacked layers, 1..{MAX_LAYERS} (default: 1)")
    p.add_argument("--steps", type=_bounded(MAX_STEPS), default=4, metavar="T",
                   help=f"time steps to unroll, 1..{max_steps} (default: 4)")
    p.add_argument("--seed", type=_seed, default=0,
                   help="random seed, a non-negative integer (default: 0)")
    p.add_argument("--bidirectional", action="store_true",
                   help="bidirectional layers (a forward and a backward direction)")
    p.add_argument("--hidden", type=_bounded(MAX_HIDDEN), default=3, metavar="H",
                   help=f"hidden size, 1..{MAX_HIDDEN} (default: 3)")
    p.add_argument("--fused", action="store_true",
                   help="fused steps (fused=True): each step one op with a hand-derived "
                   "rule (three for the LSTM), as the ops view shows; the same numbers")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _bounded(limit: int) -> Callable[[str], int]:
    """An argparse type: an integer in 1..limit, checked before anything is allocated."""

    def parse(text: str) -> int:
        value = _positive_int(text)
        if value > limit:
            raise argparse.ArgumentTypeError(f"{value} is too large: at most {limit}")
        return value

    return parse


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a non-negative integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer, got {text}")
    return value


def _fail(message: str, code: int) -> int:
    """Print ``microgradrnn <message>`` as one line on stderr; return ``code``."""
    from .progress import say

    say(f"microgradrnn {message}", file=sys.stderr)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return its exit status (0, 1 runtime error, 2 usage error)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.version:
            from .. import __version__

            print(__version__)
            return 0
        if args.command is None:
            parser.print_help()
            return 0
        return args.run(args)
    except SystemExit as e:  # argparse: --help (0) or a usage error (2)
        return e.code if isinstance(e.code, int) else 1
    except KeyboardInterrupt:
        return _fail(": interrupted", 130)
    except MemoryError:
        return _fail(": out of memory; try smaller sizes", 1)
    except OSError as e:
        if e.filename is not None:  # the system's, about a file
            return _fail(f": cannot write {e.filename}: {e.strerror}", 1)
        return _fail(_first_line(e), 1)  # ours: "render: ...", "demo: ..."
    except Exception as e:
        from ..viz import EngineError

        if isinstance(e, EngineError):
            return _fail(_first_line(e), 1)
        if os.environ.get("MICROGRADRNN_TRACEBACK"):
            raise
        return _fail(f": unexpected {type(e).__name__}: {_first_line(e)} (a bug; "
                     "MICROGRADRNN_TRACEBACK=1 shows where)", 1)


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__

if __name__ == "__main__":
    sys.exit(main())
