"""The ``microgradrnn`` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="microgradrnn",
        description="A small autograd engine, recurrent networks built from its ops, and "
        "pictures of backpropagation through time.",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_demo(commands)
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
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.set_defaults(run=_run_demo)


def _run_demo(args: argparse.Namespace) -> int:
    from .demo import main

    return main(args.out, args.force, args.iterations, args.seed)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        from . import __version__

        print(__version__)
        return 0
    if args.command is None:
        parser.print_help()
        return 0
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
