"""Reading DOT text back: its statements, each with its attributes and where their values
lie in the text. Two readers need it: the explorer reads the labels of the cells view's
own DOT (``relabel``), and the label placer reads the engine's laid-out DOT (``-Tdot``,
``place``) and writes positions back into it.

What is read is the DOT this package writes and Graphviz prints: statements of nodes,
edges (one ``->`` each), ``graph``/``node``/``edge`` attribute lists, bare ``key=value``
graph attributes and subgraphs; values are words, quoted strings (with ``\\"`` escapes
and ``\\``-newline continuations) or HTML-like labels ``<...>``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_WORD = re.compile(r"-?[\w.\x80-\U0010ffff]+")  # DOT's IDs: any non-ASCII character too


_SKIP = re.compile(r"(?:\s+|//[^\n]*|#[^\n]*|/\*.*?\*/)+", re.S)  # space, comments
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"', re.S)
_ANGLE = re.compile(r"[<>]")


def tokens(text: str) -> list[tuple[str, int, int]]:
    """DOT's tokens as (text, start, end): words, quoted strings (unquoted, their span
    the inside of the quotes), HTML strings (with their brackets), ``->`` and single
    punctuation; space and comments skipped."""
    out, i, n = [], 0, len(text)
    while i < n:
        if m := _SKIP.match(text, i):
            i = m.end()
            continue
        ch = text[i]
        if ch == '"':
            m = _QUOTED.match(text, i)
            if m is None:
                raise ValueError(f"DOT: unterminated string at {text[i:i + 60]!r}")
            value = m.group(1).replace("\\\n", "").replace('\\"', '"')
            out.append((value, i + 1, m.end() - 1))
            i = m.end()
        elif ch == "<":
            depth = 0
            for m in _ANGLE.finditer(text, i):
                depth += 1 if m.group() == "<" else -1
                if depth == 0:
                    break
            if depth:
                raise ValueError(f"DOT: unbalanced HTML label at {text[i:i + 60]!r}")
            out.append((text[i:m.end()], i, m.end()))
            i = m.end()
        elif text.startswith(("->", "--"), i):
            out.append((text[i:i + 2], i, i + 2))
            i += 2
        elif m := _WORD.match(text, i):
            out.append((m.group(), i, m.end()))
            i = m.end()
        else:
            out.append((ch, i, i + 1))
            i += 1
    return out


@dataclass
class Attrs:
    """One statement's attributes: each value, and its span in the text (to rewrite it)."""

    values: dict[str, str] = field(default_factory=dict)
    spans: dict[str, tuple[int, int]] = field(default_factory=dict)

    def get(self, key: str, default: str | None = None) -> str | None:
        return self.values.get(key, default)

    def __contains__(self, key: str) -> bool:
        return key in self.values


@dataclass
class Statement:
    """kind: "node", "edge", "graph" (a graph's or subgraph's own attributes, from
    ``graph [...]`` or ``key=value``) or "defaults" (``node [...]``, ``edge [...]``).
    ids: (node,) or (tail, head); ports: an edge's (tailport, headport) as written in
    ``a:p -> b:q`` ("" for none); within: the subgraphs it stands in, outermost first
    ("" for an anonymous ``{...}``)."""

    kind: str
    ids: tuple[str, ...]
    attrs: Attrs
    within: tuple[str, ...]
    ports: tuple[str, str] = ("", "")


def statements(text: str) -> list[Statement]:
    """The statements of the DOT graph ``text``, in order."""
    toks = tokens(text)
    out: list[Statement] = []
    within: list[str] = []
    k = next(i for i, t in enumerate(toks) if t[0] == "{") + 1  # past "digraph name {"
    while k < len(toks):
        tok = toks[k][0]
        if tok == "subgraph":
            named = toks[k + 1][0] != "{"
            within.append(toks[k + 1][0] if named else "")
            k += 3 if named else 2
        elif tok == "{":
            within.append("")
            k += 1
        elif tok == "}":
            if within:
                within.pop()
            k += 1
        elif tok in (";", ","):
            k += 1
        elif tok in ("graph", "node", "edge") and k + 1 < len(toks) and toks[k + 1][0] == "[":
            attrs, k = _attrs(toks, k + 1)
            out.append(Statement("graph" if tok == "graph" else "defaults", (tok,) if
                                 tok != "graph" else (), attrs, tuple(within)))
        elif k + 2 < len(toks) and toks[k + 1][0] == "=":
            value, start, end = toks[k + 2]
            out.append(Statement("graph", (), Attrs({tok: value}, {tok: (start, end)}),
                                 tuple(within)))
            k += 3
        else:
            k = _node_or_edge(toks, k, within, out)
    return out


def _node_or_edge(toks: list[tuple[str, int, int]], k: int, within: list[str],
                  out: list[Statement]) -> int:
    ends: list[tuple[str, str]] = []
    while True:
        name, port = toks[k][0], ""
        k += 1
        while k < len(toks) and toks[k][0] == ":":  # a:port or a:port:compass
            port += (":" if port else "") + toks[k + 1][0]
            k += 2
        ends.append((name, port))
        if k < len(toks) and toks[k][0] in ("->", "--"):
            k += 1
            continue
        break
    attrs = Attrs()
    if k < len(toks) and toks[k][0] == "[":
        attrs, k = _attrs(toks, k)
    if len(ends) == 1:
        out.append(Statement("node", (ends[0][0],), attrs, tuple(within)))
    for (a, pa), (b, pb) in zip(ends, ends[1:], strict=False):
        out.append(Statement("edge", (a, b), attrs, tuple(within), (pa, pb)))
    return k


def _attrs(toks: list[tuple[str, int, int]], k: int) -> tuple[Attrs, int]:
    """The attribute lists opening at toks[k] ('[', and any that follow), merged; and
    the index after them."""
    a = Attrs()
    while k < len(toks) and toks[k][0] == "[":
        k += 1
        while toks[k][0] != "]":
            if toks[k][0] in (",", ";"):
                k += 1
                continue
            name = toks[k][0]
            if toks[k + 1][0] != "=":
                raise ValueError(f"DOT: cannot read the attribute {name!r}")
            value, start, end = toks[k + 2]
            a.values[name], a.spans[name] = value, (start, end)
            k += 3
        k += 1
    return a, k
