"""Terminal output: a progress bar (tqdm when installed, otherwise a one-line bar, silent
off a terminal), and ``say``, which prints a line any terminal can show."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import TextIO

# What the command line's messages need where a terminal cannot show them (an ASCII or
# Latin-1 terminal, PYTHONIOENCODING=ascii): ‖∂L₂₄/∂hₜ‖ reads as ||dL_24/dh_t||.
_ASCII = str.maketrans({"‖": "||", "∂": "d", "→": "->", "←": "<-", "≤": "<=", "≥": ">=",
                        "−": "-", "…": "...", "Σ": "sum ", "ₜ": "t", "′": "'",
                        **{chr(0x2080 + d): str(d) for d in range(10)},
                        **{c: str(d) for d, c in enumerate("⁰¹²³⁴⁵⁶⁷⁸⁹")}})


def printable(text: str, stream: TextIO) -> str:
    """``text`` as ``stream`` can encode it: unchanged when it can, else with ASCII
    stand-ins for the symbols above and backslash escapes for anything else."""
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        text.encode(encoding)
        return text
    except (UnicodeEncodeError, LookupError):
        pass
    text = text.translate(_ASCII)
    try:
        return text.encode(encoding, "backslashreplace").decode(encoding)
    except LookupError:
        return text.encode("ascii", "backslashreplace").decode("ascii")


def say(text: str, file: TextIO | None = None) -> None:
    """Print one line to ``file`` (default stdout) in a form its encoding can show."""
    stream = sys.stdout if file is None else file
    print(printable(text, stream), file=stream)


class Progress:
    """``for step in Progress(n, "training"): ...; bar.show(loss=...)``; ``bar.write(line)``
    prints a log line without breaking the bar.

    Uses tqdm when it is installed; otherwise redraws one line on a terminal and prints
    nothing when output goes to a file or a pipe (CI logs stay clean).
    """

    def __init__(self, total: int, desc: str = "", enabled: bool | None = None) -> None:
        self.total, self.desc = total, desc
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self._bar = None
        self._postfix = ""
        self._step = 0
        if self.enabled:
            try:
                from tqdm import tqdm
            except ImportError:
                pass
            else:
                self._bar = tqdm(total=total, desc=desc, leave=True)

    def __iter__(self) -> Iterator[int]:
        for step in range(self.total):
            self._step = step
            yield step
            if self._bar is not None:
                self._bar.update(1)
            elif self.enabled:
                self._draw()
        self.close()

    def show(self, **values: float) -> None:
        """Show numbers (e.g. the current loss) next to the bar."""
        self._postfix = "  ".join(f"{k} {v:.4g}" for k, v in values.items())
        if self._bar is not None:
            self._bar.set_postfix_str(self._postfix, refresh=False)

    def write(self, line: str) -> None:
        """Print a line of text (a log line, a loss) to stdout without breaking the bar:
        on a terminal it appears above the bar, which is drawn again below it."""
        if self._bar is not None:
            self._bar.write(line)
        elif self.enabled:
            sys.stderr.write("\r\033[K")  # clear the bar's line, print, draw it again
            sys.stderr.flush()
            print(line, flush=True)
            self._draw()
        else:
            print(line)

    def _draw(self) -> None:
        done = self._step + 1
        filled = int(30 * done / max(self.total, 1))
        bar = "#" * filled + "-" * (30 - filled)
        sys.stderr.write(f"\r{self.desc} [{bar}] {done}/{self.total}  {self._postfix}")
        sys.stderr.flush()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        elif self.enabled:
            sys.stderr.write("\n")
            self.enabled = False
