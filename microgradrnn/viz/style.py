"""Colours, pen widths and the legend: how the pictures look.

The palette is Okabe and Ito's, safe for the common kinds of colour blindness.
"""

from __future__ import annotations

import math

FONT = "Helvetica"  # graphviz-pure renders Helvetica/Arial/Times/Courier in PNG

# edge classes -> colour, legend text
TEMPORAL = "temporal"
SPATIAL = "spatial"
INPUT = "input"
CELL = "cell-state"
OTHER = "other"

COLOR = {
    TEMPORAL: "#D55E00",  # vermillion
    SPATIAL: "#0072B2",  # blue
    INPUT: "#009E73",  # bluish green
    CELL: "#CC79A7",  # reddish purple
    OTHER: "#777777",
}
WEIGHTS = "#9A7400"  # dark ochre for the shared-weight table
NOTE = "#555555"

LEGEND = {
    TEMPORAL: "temporal: hₜ₋₁ → hₜ in one layer (through Wₕₕ); "
    "∂L/∂h flows back along it to the previous step",
    SPATIAL: "spatial (vertical): x/layer l−1 → layer l → yₜ → Lₜ "
    "(through Wₓₕ, Wₕᵧ); the same-step road",
    INPUT: "input: xₜ → first layer",
    CELL: "cell state: cₜ₋₁ → cₜ, the additive carousel of the LSTM",
    OTHER: "other dependencies",
}

# node fills by role
FILL = {
    "x": ("#E8F5EE", "#2E7D4F"),
    "input": ("#EEF3EA", "#5B7F4A"),
    "h": ("#DCE9FB", "#4A5A70"),
    "c": ("#F6E3EF", "#8E4A74"),
    "state": ("#EEE8FA", "#5E4F80"),
    "y": ("#EFE8FB", "#6B5A8E"),
    "loss": ("#FCDEDE", "#B22222"),
    "root": ("#F9C6C6", "#B22222"),
    "init": ("#EEEEEE", "#777777"),
    "fold": ("#FFFFFF", "#999999"),
    "op": ("#FAFAF7", "#777777"),
    "leaf": ("#F3F3F3", "#888888"),
}
CLUSTER_FILL = "#F5F6FB"
CLUSTER_PEN = "#A3A9C4"

MIN_PEN, MAX_PEN = 0.7, 6.5
DECADES = 6.0  # flows more than this many decades below the largest get the thinnest pen


def pen_width(norm: float | None, largest: float) -> float:
    """Pen width log-scaled on a flow's norm: the largest flow gets MAX_PEN, flows
    DECADES decades smaller (or zero) get MIN_PEN."""
    if not norm or not largest or not math.isfinite(norm) or not math.isfinite(largest):
        return MIN_PEN
    frac = 1.0 + (math.log10(norm) - math.log10(largest)) / DECADES
    frac = min(1.0, max(0.0, frac))
    return round(MIN_PEN + (MAX_PEN - MIN_PEN) * frac, 2)


def swatch(color: str) -> str:
    """A short thick line in the legend."""
    return f'<font color="{color}" point-size="14">▬▬</font>  '
