"""Names with sub- and superscripts a reader can read at 100 %: h₁⁽²⁾ drawn as an "h" with
a "1" below and a "(2)" above it, each in a font about two thirds the size of the "h".

The names are made as unicode text (``names.state_name`` gives "h₁⁽²⁾"), which reads the
same everywhere but whose sub/superscript glyphs are about 4 px high at 100 % in a PNG;
graphviz-pure's PNG has no ``<sub>``. ``line`` turns such text into an HTML-like table
that stacks each name's superscript over its subscript beside the base letter, which
every Graphviz engine draws the same way. Only names go through it (node titles, weight
names on edges, op texts), never prose: a legend's "hₜ₋₁" stays unicode.

A table in a cell of a larger table is stretched to the cell's width, which would pull a
name's letters apart, so each line is a table of a fixed size estimated from Helvetica's
widths (the metrics Graphviz lays text out with).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# unicode sub/superscripts -> the plain characters they stand for
_SUBS = dict(zip("₀₁₂₃₄₅₆₇₈₉₊₋₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ", "0123456789+-()aehijklmnoprstuvx",
                 strict=True))
_SUPS = dict(zip("⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁽⁾′", "0123456789+-()′", strict=True))
_TOKEN = re.compile(r"&#?\w+;|.", re.S)
SCRIPT = 0.68  # a script's font size, as a fraction of its base letter's

# Helvetica's advance widths (1/1000 em) for printable ASCII; other characters count as
# graphviz-pure counts them (a space per UTF-8 byte), so the tables are never too small
_WIDTHS = [278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278,
           *[556] * 10, 278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667, 611,
           778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667,
           944, 667, 667, 611, 278, 278, 278, 469, 556, 333, 556, 556, 500, 556, 556, 278,
           556, 556, 222, 222, 500, 222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500,
           722, 500, 500, 500, 334, 260, 334, 584]
_ENTITIES = {"&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&#160;": " "}


def _tokens(text: str) -> list[str]:
    """HTML-escaped ``text`` as characters and entities; a line break (``dot.html``
    writes a name's newline as <br/>) is a space: a name here is one line."""
    return _TOKEN.findall(text.replace("<br/>", " "))


def width(text: str, size: float, bold: bool = False) -> float:
    """The width in points of HTML-escaped ``text`` in Helvetica of ``size`` points
    (bold about 8 % wider)."""
    total = 0.0
    for tok in _tokens(text):
        ch = _ENTITIES.get(tok, tok)
        code = ord(ch) if len(ch) == 1 else 0x2022
        total += _WIDTHS[code - 32] if 32 <= code < 127 else 278 * len(ch.encode("utf-8"))
    return total * size / 1000.0 * (1.08 if bold else 1.0)


@dataclass
class _Name:
    base: str
    sub: str = ""
    sup: str = ""


def segments(text: str) -> list[str | _Name]:
    """``text`` (HTML-escaped, no tags) as plain runs and names: "Wₕₕ⁽¹⁾ h₀" ->
    [_Name("W", "hh", "(1)"), " ", _Name("h", "0")]. A run of sub/superscripts belongs
    to the character before it; a line break is a space (``_tokens``). The head's names
    (``names.HEAD_WEIGHT``, "Wₕy", and ``names.HEAD_BIAS``, "by" as a whole word) read W
    with "hy" below, b with "y" below."""
    out: list[str | _Name] = []
    plain: list[str] = []  # tokens: a character or an entity (&amp;)
    tokens = _tokens(text)
    k = 0

    def flush() -> None:
        if plain:
            out.append("".join(plain))
            plain.clear()

    while k < len(tokens):
        tok = tokens[k]
        word_start = not plain or plain[-1] == " "
        if tok == "b" and word_start and tokens[k + 1:k + 2] == ["y"] and (
                k + 2 == len(tokens) or tokens[k + 2] == " "):
            flush()
            out.append(_Name("b", "y"))
            k += 2
            continue
        if tok in _SUBS or tok in _SUPS:
            name = _Name(plain.pop() if plain else "")
            while k < len(tokens) and (tokens[k] in _SUBS or tokens[k] in _SUPS):
                if tokens[k] in _SUBS:
                    name.sub += _SUBS[tokens[k]]
                else:
                    name.sup += _SUPS[tokens[k]]
                k += 1
            # W_hy: unicode has no subscript y, so the head's weight is written "Wₕy"
            if name.sub == "h" and tokens[k:k + 1] == ["y"] and (
                    k + 1 == len(tokens) or not tokens[k + 1].isalnum()):
                name.sub, k = "hy", k + 1
            flush()
            out.append(name)
            continue
        plain.append(tok)
        k += 1
    flush()
    return out


def _font(text: str, size: float, bold: bool, color: str | None) -> str:
    if not text:
        return ""
    body = f"<b>{text}</b>" if bold else text
    attrs = f' point-size="{size:g}"' + (f' color="{color}"' if color else "")
    return f"<font{attrs}>{body}</font>"


Piece = tuple[str, bool, "str | None"]  # (text, bold, colour)


def line(pieces: list[Piece] | str, size: float, *, bold: bool = False,
         color: str | None = None, pad: float = 0.0, bgcolor: str | None = None) -> str:
    """One line of a label: ``pieces`` ((text, bold, colour) each, or one text) with
    every name's scripts stacked beside its base letter, as an HTML-like table of the
    size ``extent`` estimates (so that a larger cell around it does not stretch it).

    size: the base font size; pad: empty points before the text (an edge's label keeps
    clear of the line it labels); bgcolor: the table's background (a halo)."""
    if isinstance(pieces, str):
        pieces = [(pieces, bold, color)]
    small = _small(size)
    top, bottom = [], []
    if pad:
        top.append(f'<td rowspan="2" width="{pad:g}"></td>')
    for text, b, c in pieces:
        for seg in segments(text):
            if isinstance(seg, str):
                # graphviz-pure takes a non-ASCII character (‖, −) to be wider than it is;
                # the first cell is set flush right, so the spare room is not a gap
                align = ' align="right"' if len(top) == bool(pad) else ""
                top.append(f'<td rowspan="2"{align}>{_font(seg, size, b, c)}</td>')
                continue
            # an empty script holds its row's height with a space
            sup, sub = seg.sup or "&#160;", seg.sub or "&#160;"
            top.append(f'<td rowspan="2">{_font(seg.base, size, b, c)}</td>')
            top.append(f'<td align="left" valign="bottom">{_font(sup, small, b, c)}</td>')
            bottom.append(f'<td align="left" valign="top">{_font(sub, small, b, c)}</td>')
    if not bottom:  # no scripts: one row
        top = [t.replace(' rowspan="2"', "", 1) for t in top]
    w, h = extent(pieces, size, pad)
    attrs = ('border="0" cellborder="0" cellspacing="0" cellpadding="0" fixedsize="true" '
             f'width="{w:.0f}" height="{h:.0f}"')
    if bgcolor:
        attrs += f' bgcolor="{bgcolor}"'
    rows = f"<tr>{''.join(top)}</tr>" + (f"<tr>{''.join(bottom)}</tr>" if bottom else "")
    return f"<table {attrs}>{rows}</table>"


def _small(size: float) -> float:
    """The font size of a script beside a base letter of ``size`` points."""
    return round(size * SCRIPT * 2) / 2


def extent(pieces: list[Piece] | str, size: float, pad: float = 0.0) -> tuple[float, float]:
    """The (width, height) in points ``line`` gives ``pieces``."""
    if isinstance(pieces, str):
        pieces = [(pieces, False, None)]
    small = _small(size)
    total, scripts = pad, False
    for text, b, _ in pieces:
        for seg in segments(text):
            if isinstance(seg, str):
                total += width(seg, size, b)
            else:
                scripts = True
                total += width(seg.base, size, b) + max(
                    width(seg.sup or " ", small, b), width(seg.sub or " ", small, b))
    height = max(size * 1.2, 2 * small * 1.15) if scripts else size * 1.2
    return float(round(total + 2)), float(round(height + 1))


def label(rows: list[str], bgcolor: str | None = None, cellpadding: int = 0) -> str:
    """A label of several lines, each a ``line`` table or plain HTML text, centred."""
    attrs = f'border="0" cellborder="0" cellspacing="0" cellpadding="{cellpadding}"'
    if bgcolor:
        attrs += f' bgcolor="{bgcolor}"'
    return f"<table {attrs}>" + "".join(f"<tr><td>{r}</td></tr>" for r in rows) + "</table>"
