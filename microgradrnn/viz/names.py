"""How nodes and shared weights are named in the pictures (unicode sub/superscripts,
which render the same in SVG and in graphviz-pure's PNG)."""

from __future__ import annotations

import re

from .dot import html, sub, sup

_PARAM = re.compile(r"^(weight|bias)_(ih|hh)_l(\d+)(_reverse)?$")
BWD = "′"  # marks the backward direction of a bidirectional layer


def weight_name(label: str, head: bool = False) -> str:
    """PyTorch-style parameter names in math notation, HTML-escaped.

    weight_ih_l0 -> Wₓₕ⁽¹⁾, weight_hh_l1_reverse -> Wₕₕ⁽²⁾′, a head's "weight" -> Wₕᵧ;
    other labels are shown as they are.
    """
    m = _PARAM.match(label)
    if m:
        kind, which, layer, rev = m.groups()
        base = ("W" if kind == "weight" else "b") + ("ₓₕ" if which == "ih" else "ₕₕ")
        return base + sup(f"({int(layer) + 1})") + (BWD if rev else "")
    if head and label == "weight":
        return "Wₕᵧ"
    if head and label == "bias":
        return "bᵧ"
    return html(label or "W", max_len=24)


def state_name(role: str, t: int | None, layer: int | None, direction: str | None,
               layers: int) -> str:
    """h₃⁽²⁾ for role h, step 3, layer 2 (the layer is left out for one-layer models)."""
    name = {"input": "in", "loss": "L"}.get(role, role)
    s = html(name, max_len=16)
    if t is not None:
        s += sub(t)
    if layer is not None and role not in ("x", "y", "loss") and (layers > 1 or role == "input"):
        s += sup(f"({layer})")
    if direction == "bwd":
        s += BWD
    return s
