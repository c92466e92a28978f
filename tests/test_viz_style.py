"""The palette: text contrast (WCAG AA) and road colours that stay apart under the three
kinds of dichromacy, simulated with Machado, Oliveira and Fernandes' (2009) matrices at
full severity, in linear RGB."""

import itertools

import numpy as np
import pytest

from microgradrnn.viz import style

# Machado et al. 2009, severity 1.0
MACHADO = {
    "protanopia": [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216],
                   [-0.003882, -0.048116, 1.051998]],
    "deuteranopia": [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
                     [-0.011820, 0.042940, 0.968881]],
    "tritanopia": [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602],
                   [0.004733, 0.691367, 0.303900]],
}
ROADS = (style.TEMPORAL, style.SPATIAL, style.INPUT, style.CELL)


def _linear(hex_color):
    c = np.array([int(hex_color[i:i + 2], 16) for i in (1, 3, 5)]) / 255.0
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _luminance(hex_color):
    return float(np.dot([0.2126, 0.7152, 0.0722], _linear(hex_color)))


def _contrast(a, b):
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def _lab(rgb_linear):
    """CIE L*a*b* (D65) of a linear RGB colour."""
    m = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722],
                  [0.0193, 0.1192, 0.9505]])
    xyz = m @ np.clip(rgb_linear, 0, 1) / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


@pytest.mark.parametrize("cls", sorted(style.TEXT))
@pytest.mark.parametrize("fill", [style.CLUSTER_FILL, "#FFFFFF", style.HALO])
def test_road_text_meets_wcag_aa_on_the_fills(cls, fill):
    assert _contrast(style.TEXT[cls], fill) >= 4.5


@pytest.mark.parametrize("color", [style.WEIGHTS, style.NOTE])
def test_header_text_meets_wcag_aa(color):
    assert _contrast(color, "#FFFFFF") >= 4.5


@pytest.mark.parametrize("vision", [None, *MACHADO])
def test_road_colours_stay_apart_from_each_other_and_from_grey(vision):
    def seen(cls):
        rgb = _linear(style.COLOR[cls])
        return _lab(rgb if vision is None else np.array(MACHADO[vision]) @ rgb)

    # ΔE*ab > 15: far apart (a just-noticeable difference is about 2.3); the closest
    # pairs are input/cell state under deuteranopia (17.9), spatial/input under
    # tritanopia (17.0)
    for a, b in itertools.combinations(ROADS, 2):
        assert np.linalg.norm(seen(a) - seen(b)) > 15, (vision, a, b)
    for a in ROADS:  # the grey of the in-cell edges ("other"); closest: the cell
        # state's pink under deuteranopia, 14.8
        assert np.linalg.norm(seen(a) - seen(style.OTHER)) > 12, (vision, a)
