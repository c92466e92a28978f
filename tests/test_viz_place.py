"""``place.labels``: edge labels moved after the layout, read from the engine's
positioned DOT (``-Tdot``) and written back as positions only."""

import re

import pytest

from microgradrnn.viz import engines, place

needs_engine = pytest.mark.skipif(
    not (engines.find_pure() or engines.find_dot()), reason="no graphviz engine")

LABEL = ('<<table border="0" cellborder="0" cellspacing="0" cellpadding="0" '
         'fixedsize="true" width="20" height="12"><tr><td>0.5</td></tr></table>>')


def positioned(tail_lp: str, extra: str = "") -> str:
    """Two boxes 200 pt apart, one edge between them labelled at ``tail_lp``."""
    return f'''digraph {{
	graph [bb="0,0,254,36"];
	node [label="\\N"];
	a	[height=0.5, pos="27,18", shape=box, width=0.75];
	b	[height=0.5, pos="227,18", shape=box, width=0.75];
	a -> b	[pos="e,199,18 54,18 100,18 150,18 188,18", penwidth=2,
		tail_lp="{tail_lp}", {extra}taillabel={LABEL}];
}}
'''


def label_box(text: str) -> tuple[float, float, float, float]:
    x, y = map(float, re.search(r'tail_lp="([^"]+)"', text).group(1).split(","))
    return x - 10, y - 6, x + 10, y + 6


def test_a_label_sitting_well_is_left_where_the_engine_put_it():
    text = positioned("70,29")  # above the line, clear of it (pen 2: 17..19), by a
    assert place.labels(text) == text


@pytest.mark.parametrize("where", ["215,18", "120,18", "120,80"],
                         ids=["on-node-b", "on-the-line", "far-from-the-line"])
def test_a_label_sitting_badly_moves_beside_its_own_line(where):
    moved = place.labels(positioned(where))
    x0, y0, x1, y1 = label_box(moved)
    assert x1 < 200 and x0 > 54  # off both nodes (a: 0..54, b: 200..254)
    assert y0 > 19 or y1 < 17  # off the line (y = 18, pen 2)
    assert min(abs(y0 - 19), abs(y1 - 17)) <= place.NEAR  # beside it, not far off
    # only the label's position changed (and the graph's box, grown to hold it)
    def rest(text):
        return re.sub(r'(tail_lp|bb)="[^"]+"', "", text)
    assert rest(moved) == rest(positioned(where))


def test_the_graph_box_grows_to_hold_a_moved_label():
    moved = place.labels(positioned("120,18").replace('bb="0,0,254,36"', 'bb="0,0,254,20"'))
    top = float(re.search(r'bb="[^"]*,([\d.]+)"', moved).group(1))
    assert top >= label_box(moved)[3]


def test_reading_survives_names_that_look_like_dot():
    # a tooltip holding "];", quotes and a continued line; a label with "<" inside
    extra = 'tooltip="W];\\" x", comment="a\\\n b", '
    text = positioned("120,18", extra).replace(">0.5<", ">0.5 &lt;];<")
    moved = place.labels(text)
    assert 'tooltip="W];\\" x"' in moved and label_box(moved) != (110, 12, 130, 24)


@needs_engine
def test_a_picture_is_drawn_where_its_layout_put_it():
    # the second pass (neato -n2) draws the nodes where the first pass put them
    source = 'digraph { rankdir=LR; a -> b [taillabel=<x>]; a -> c; b -> c }'
    laid = engines.run(source, "dot").decode()
    svg = engines.run(place.labels(laid), "svg", positioned=True).decode()
    assert svg.count("<g id=\"node") == 3 and svg.count("<g id=\"edge") == 3


BOWED = '''digraph {
	graph [bb="0,0,254,80"];
	a	[height=0.5, pos="27,18", shape=box, width=0.75];
	b	[height=0.5, pos="127,58", shape=box, width=0.75];
	c	[height=0.5, pos="227,18", shape=box, width=0.75];
	a%s -> c%s	[pos="e,199,18 54,18 100,90 150,90 188,18", penwidth=2];
}
'''


def test_an_edge_cut_through_a_node_is_drawn_straight_when_that_clears_it():
    # dot bowed a -> c through b; straight from a's side to c's, with its arrowhead
    moved = place.reroute(BOWED % ("", ""))
    pos = re.search(r'pos="(e,[^"]+)"', moved).group(1).split()
    assert pos[0] == "e,200.00,18.00"  # the tip on c's side (c: 200..254)
    ys = {float(p.split(",")[1]) for p in pos[1:]}
    assert ys == {18.0}  # a straight line at the height of both centres
    assert float(pos[1].split(",")[0]) == 54.0 and float(pos[-1].split(",")[0]) == 189.0
    assert moved.replace(re.search(r'pos="e,[^"]+"', moved).group(0), "") == \
        (BOWED % ("", "")).replace('pos="e,199,18 54,18 100,90 150,90 188,18"', "")


def test_an_edge_with_ports_or_clear_of_nodes_keeps_its_route():
    assert place.reroute(BOWED % (":e", ":w")) == BOWED % (":e", ":w")
    clear = (BOWED % ("", "")).replace('pos="127,58"', 'pos="127,158"')
    assert place.reroute(clear) == clear
