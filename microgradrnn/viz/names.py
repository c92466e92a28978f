"""How nodes and shared weights are named in the pictures (unicode sub/superscripts,
which render the same in SVG and in graphviz-pure's PNG)."""

from __future__ import annotations

import re

from .dot import html, sub, sup

_PARAM = re.compile(r"^(weight|bias)_(ih|hh)_l(\d+)(_reverse)?$")
BWD = "′"  # marks the backward direction of a bidirectional layer
# the head's weight and bias, W_hy and b_y: unicode has no subscript y (ᵧ is a Greek
# gamma) and graphviz-pure's png has no <sub>, so the y stands on the line
HEAD_WEIGHT = "Wₕy"
HEAD_BIAS = "by"


def weight_name(label: str, head: bool = False) -> str:
    """PyTorch-style parameter names in math notation, HTML-escaped.

    weight_ih_l0 -> Wₓₕ⁽¹⁾, weight_hh_l1_reverse -> Wₕₕ⁽²⁾′; other labels are shown as
    they are.

    The head rule: a weight used by an op that makes a node tagged role="y" is the
    head's (``graph.head_params``; the caller passes ``head=True``). Its name is W_hy
    (``HEAD_WEIGHT``; b_y, ``HEAD_BIAS``, for a bias) whatever its label, unless the
    label is already a recurrent parameter's name. So nn.Linear's plain "weight" reads
    W_hy however the head's input was sliced or tagged.
    """
    m = _PARAM.match(label)
    if m:
        kind, which, layer, rev = m.groups()
        base = ("W" if kind == "weight" else "b") + ("ₓₕ" if which == "ih" else "ₕₕ")
        return base + sup(f"({int(layer) + 1})") + (BWD if rev else "")
    if head:
        return HEAD_BIAS if "bias" in label.lower() else HEAD_WEIGHT
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
