"""Colours, pen widths and the legend: how the pictures look.

The lines use Okabe and Ito's palette, which stays distinct under the common kinds of
colour blindness (tests/test_viz_style.py simulates them); text in those hues uses a
darker shade of each (``TEXT``) so that it meets WCAG AA contrast (4.5:1) on the fills.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

FONT = "Helvetica"  # graphviz-pure renders Helvetica/Arial/Times/Courier in PNG

# edge classes -> colour, legend text
TEMPORAL = "temporal"
SPATIAL = "spatial"
INPUT = "input"
CELL = "cell-state"
CARRY = "carry"
OTHER = "other"

COLOR = {
    TEMPORAL: "#D55E00",  # vermillion
    SPATIAL: "#0072B2",  # blue
    INPUT: "#00B36B",  # green (Okabe-Ito's #009E73 is too near grey under deuteranopia)
    CELL: "#CC79A7",  # reddish purple
    CARRY: "#CC79A7",  # the same idea as the cell state: a road with no weight on it
    OTHER: "#777777",
}
# the same hues, dark enough for text on white and on the clusters' fill
TEXT = {
    TEMPORAL: "#B23C00",
    SPATIAL: "#00679E",
    INPUT: "#007A5A",
    CELL: "#A44F86",
    CARRY: "#A44F86",
    OTHER: "#595959",
}
WEIGHTS = "#7A5C00"  # dark ochre for the shared-weight table
NOTE = "#4A4A4A"

LEGEND = {
    TEMPORAL: "temporal: hₜ₋₁ → hₜ in one layer (through Wₕₕ); "
    "∂L/∂h flows back along it to the previous step",
    SPATIAL: "spatial (vertical): x/layer l−1 → layer l → yₜ → Lₜ "
    "(through Wₓₕ, Wₕy); the same-step road",
    INPUT: "input: xₜ → first layer",
    CELL: "cell state: cₜ₋₁ → cₜ, the additive carousel of the LSTM",
    CARRY: "carry: hₜ₋₁ → hₜ with no weight on the way (in a GRU, z·hₜ₋₁), "
    "the additive shortcut",
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
HALO = "#FBFBFD"  # the background behind an edge's number

MIN_PEN, MAX_PEN = 0.7, 6.5
DECADES = 6.0  # flows more than this many decades below the largest get the thinnest pen


class PenScale:
    """Pen widths log-scaled over the flows one picture actually draws: its smallest
    flow gets MIN_PEN, its largest MAX_PEN (at most DECADES decades are spread; flows
    further below the largest get MIN_PEN). ``key`` gives the legend's width key."""

    def __init__(self, flows: Iterable[float | None]) -> None:
        good = [f for f in flows if f and math.isfinite(f) and f > 0]
        self.high = max(good, default=0.0)
        self.low = max(min(good, default=0.0), self.high * 10.0 ** -DECADES)

    def width(self, norm: float | None) -> float:
        """The pen width of an edge that carried a gradient of this norm."""
        if not norm or not self.high or not math.isfinite(norm):
            return MIN_PEN
        span = math.log10(self.high) - math.log10(self.low)
        if span <= 0:
            return round((MIN_PEN + MAX_PEN) / 2, 2)
        frac = (math.log10(max(norm, self.low)) - math.log10(self.low)) / span
        return round(MIN_PEN + (MAX_PEN - MIN_PEN) * min(1.0, max(0.0, frac)), 2)

    def key(self) -> list[float]:
        """The flows the legend's width key shows: smallest, middle (geometric), largest;
        empty when nothing carries a number, one when all flows are equal."""
        if not self.high:
            return []
        if self.low >= self.high:
            return [self.high]
        return [self.low, math.sqrt(self.low * self.high), self.high]


def swatch(color: str) -> str:
    """A short thick line in the legend."""
    return f'<font color="{color}" point-size="14">▬▬</font>  '
