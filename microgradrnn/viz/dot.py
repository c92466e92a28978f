"""DOT text: escaping user text, formatting numbers, and writing statements.

Every piece of user text (labels, parameter names, ops) goes through exactly one of two
escapers before it reaches the DOT source: ``quote`` for double-quoted attribute strings
and ``html`` for text inside HTML-like labels. Node ids are generated (``n12``), never
taken from user names, so a name can never become a port or an edge.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

_SUB = str.maketrans("0123456789+-()", "₀₁₂₃₄₅₆₇₈₉₊₋₍₎")
_SUP = str.maketrans("0123456789+-()", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁽⁾")
# C0/C1 controls and lone surrogates cannot appear in a label; keep tab as a space
_BAD = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def sub(text: Any) -> str:
    """Digits, signs and brackets as unicode subscripts: ``sub(12) == "₁₂"``."""
    return str(text).translate(_SUB)


def sup(text: Any) -> str:
    """Digits, signs and brackets as unicode superscripts: ``sup("(2)") == "⁽²⁾"``."""
    return str(text).translate(_SUP)


def _clean(text: Any) -> str:
    return _BAD.sub("\ufffd", str(text).replace("\t", " ").replace("\r\n", "\n"))


def quote(text: Any) -> str:
    """A DOT double-quoted string holding ``text`` literally (quotes included).

    Backslashes are doubled (DOT reads ``\\N``, ``\\G``, ``\\l``... as escapes), quotes
    are escaped, newlines become DOT's centred line break, control characters are
    replaced.
    """
    s = _clean(text).replace("\\", "\\\\").replace('"', '\\"')
    s = s.replace("\r", "\\n").replace("\n", "\\n")
    return f'"{s}"'


def html(text: Any, max_len: int | None = 60) -> str:
    """``text`` as content of an HTML-like label: entities escaped, newlines as <br/>.

    Long names are cut to ``max_len`` characters (with an ellipsis) so one odd label
    cannot stretch the picture.
    """
    s = _clean(text)
    if not s.strip():
        return " "  # graphviz rejects empty <b></b> and <font></font>
    if max_len is not None and len(s) > max_len:
        s = s[: max_len - 1] + "…"
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    s = s.replace('"', "&quot;")
    return s.replace("\r", "<br/>").replace("\n", "<br/>")


def num(x: float | None) -> str:
    """A number with 2 significant digits, fixed format: 0.83, 1.2e-04, 3.5e+02."""
    if x is None:
        return ""
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x == 0:
        return "0"
    a = abs(x)
    if 1e-3 <= a < 1e3:
        return f"{x:.2g}" if a < 100 else f"{x:.0f}"
    return f"{x:.1e}"


def scalar(x: float | None) -> str:
    """A scalar as micrograd's picture shows it: 4 decimals."""
    return "" if x is None else f"{float(x):.4f}"


def attrs(a: Mapping[str, Any]) -> str:
    """``[k=v, ...]`` from a mapping. Values that are already DOT (an HTML label ``<...>``
    made by this module, or a quoted string) are passed through; others are quoted."""
    parts = []
    for k, v in a.items():
        if v is None:
            continue
        if isinstance(v, Raw):
            parts.append(f"{k}={v.text}")
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            parts.append(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}")
        else:
            parts.append(f"{k}={quote(v)}")
    return f" [{', '.join(parts)}]" if parts else ""


class Raw:
    """An attribute value already in DOT syntax (an HTML label built with ``html``)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


def label(body: str) -> Raw:
    """An HTML-like label from a body whose user parts were escaped with ``html``."""
    return Raw(f"<{body}>")


def node(nid: str, a: Mapping[str, Any]) -> str:
    return f"{nid}{attrs(a)}"


def edge(tail: str, head: str, a: Mapping[str, Any]) -> str:
    return f"{tail} -> {head}{attrs(a)}"


def same_rank(ids: Iterable[str]) -> str:
    return "{rank=same; " + "; ".join(ids) + "}"
