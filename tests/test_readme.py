"""Every ```python / ```py block of the README runs as a reader would paste it, and prints
what its comments say.

Each block runs on its own, in a fresh namespace and a temporary folder (blocks that save
files write there), unless SETUP below names the block it continues from. A line that
calls ``print(...)`` and ends in a comment claims that the comment is exactly what it
prints: ``print(W.grad.shape, h.grad.shape)  # (2, 3) (4, 2)``. The ```bash blocks are
commands: tests/test_cli.py runs the README's ``microgradrnn render`` lines, and the Quick
start's two commands are what .ci/run runs, in a fresh venv.
"""

from __future__ import annotations

import io
import pathlib
import re
import sys
import tokenize

import pytest

README = pathlib.Path(__file__).resolve().parent.parent / "README.md"
TEXT = README.read_text(encoding="utf-8")


def _blocks() -> list[tuple[str, str]]:
    """(the heading above it, the code) for every python block, in order."""
    blocks, heading = [], ""
    fence = r"^(#+ [^\n]*)$|^```(\w*)\n(.*?)^```$"  # a heading, or a whole fenced block
    for match in re.finditer(fence, TEXT, re.M | re.S):
        if match.group(1):
            heading = match.group(1).lstrip("# ").strip()
        elif match.group(2) in ("python", "py"):
            blocks.append((heading, match.group(3)))
    return blocks


BLOCKS = _blocks()

# A block that continues from another: {its first line: the first line of the block it
# needs run first}. Every block stands alone today; a new one that does not must say so
# in the README and here.
SETUP: dict[str, str] = {}


def _first_line(code: str) -> str:
    return code.strip().splitlines()[0]


def _claimed_prints(code: str) -> dict[int, str]:
    """{line number: the comment} for each line that calls print and ends in a comment."""
    claims = {}
    for tok in tokenize.generate_tokens(io.StringIO(code).readline):
        if tok.type == tokenize.COMMENT:
            line = tok.line[:tok.start[1]]
            if re.match(r"\s*print\(", line):
                claims[tok.start[0]] = tok.string.lstrip("#").strip()
    return claims


def _run(code: str, name: str, namespace: dict) -> dict[int, list[str]]:
    """Run ``code``; return what each of its lines printed, by line number."""
    printed: dict[int, list[str]] = {}

    def recording_print(*args, sep=" ", end="\n", file=None, flush=False):
        caller = sys._getframe(1)
        if file is None and caller.f_code.co_filename == name:
            printed.setdefault(caller.f_lineno, []).append(sep.join(map(str, args)))
        else:
            print(*args, sep=sep, end=end, file=file, flush=flush)

    namespace["print"] = recording_print
    exec(compile(code, name, "exec"), namespace)
    return printed


def test_readme_has_the_two_quick_start_commands():
    start = TEXT.index("## Quick start")
    commands = re.search(r"```bash\n(.*?)```", TEXT[start:], flags=re.S).group(1).split("\n")
    assert [c for c in commands if c] == [
        "pip install . && microgradrnn demo", 'pip install ".[test]" && pytest']


def test_the_blocks_are_found():
    assert len(BLOCKS) >= 10
    headings = {heading for heading, _ in BLOCKS}
    assert {"The engine in five minutes", "Pictures of backpropagation through time"} <= headings
    firsts = [_first_line(code) for _, code in BLOCKS]
    for block, setup in SETUP.items():  # a declared setup names blocks that exist
        assert block in firsts and setup in firsts


@pytest.mark.parametrize("index", range(len(BLOCKS)),
                         ids=[f"{i}-{h[:30]}" for i, (h, _) in enumerate(BLOCKS)])
def test_readme_block_runs_and_prints_what_it_says(index, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    heading, code = BLOCKS[index]
    namespace: dict = {"__name__": "__readme__"}
    setup = SETUP.get(_first_line(code))
    if setup is not None:
        setup_code = next(c for _, c in BLOCKS if _first_line(c) == setup)
        _run(setup_code, f"README.md setup of block {index}", namespace)
    name = f"README.md block {index} ({heading})"
    printed = _run(code, name, namespace)
    for line, claim in _claimed_prints(code).items():
        assert printed.get(line) == [claim], (
            f"{name}, line {line} prints {printed.get(line)}, its comment says {claim!r}")


def test_the_pictures_block_writes_its_pictures(tmp_path, monkeypatch):
    """The pictures block (a 40-step model) writes the three files it names."""
    monkeypatch.chdir(tmp_path)
    code = next(c for h, c in BLOCKS if h == "Pictures of backpropagation through time")
    _run(code, "README.md pictures block", {"__name__": "__readme__"})
    assert (tmp_path / "cells.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "l40.png").read_bytes()[:4] == b"\x89PNG"
    assert "<svg" in (tmp_path / "ops.svg").read_text(encoding="utf-8")


def test_claimed_prints_are_read_from_comments():
    code = "x = 1  # not a print\nprint(x)  # 1\nprint('# no')\n"
    assert _claimed_prints(code) == {2: "1"}
