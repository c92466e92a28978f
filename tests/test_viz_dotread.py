"""``dotread``: the statements of DOT text as this package writes it and Graphviz prints
it, with the span of every value (``place`` rewrites label positions in place)."""

import pytest

from microgradrnn.viz import dotread

TEXT = '''digraph cells {
	rankdir=BT
	label=<<b>L &lt; 2</b><br/>>
	subgraph cluster_t1 {
		graph [bb="8,48,218,497", style="rounded,filled"];
		n1 [label="a \\"b\\"];\\
c", tooltip=h₀⁽²⁾]
		{rank=same; n2; n3}
	}
	n1:e -> n2:w [taillabel=<<table><tr><td>0.5</td></tr></table>>, penwidth=-1.5]
	n2 -> n3
}
'''


def test_statements_with_their_kinds_places_and_values():
    got = [(s.kind, s.ids, s.within, s.ports, s.attrs.values) for s in dotread.statements(TEXT)]
    assert got == [
        ("graph", (), (), ("", ""), {"rankdir": "BT"}),
        ("graph", (), (), ("", ""), {"label": "<<b>L &lt; 2</b><br/>>"}),
        ("graph", (), ("cluster_t1",), ("", ""), {"bb": "8,48,218,497",
                                                  "style": "rounded,filled"}),
        ("node", ("n1",), ("cluster_t1",), ("", ""), {"label": 'a "b"];c',
                                                      "tooltip": "h₀⁽²⁾"}),
        ("graph", (), ("cluster_t1", ""), ("", ""), {"rank": "same"}),
        ("node", ("n2",), ("cluster_t1", ""), ("", ""), {}),
        ("node", ("n3",), ("cluster_t1", ""), ("", ""), {}),
        ("edge", ("n1", "n2"), (), ("e", "w"), {
            "taillabel": "<<table><tr><td>0.5</td></tr></table>>", "penwidth": "-1.5"}),
        ("edge", ("n2", "n3"), (), ("", ""), {}),
    ]


def test_a_values_span_is_where_it_stands_in_the_text():
    for s in dotread.statements(TEXT):
        for key in ("bb", "penwidth", "tooltip"):
            if key in s.attrs:
                start, end = s.attrs.spans[key]
                assert TEXT[start:end] == s.attrs.values[key]


def test_what_cannot_be_read_is_named():
    with pytest.raises(ValueError, match="unbalanced HTML label"):
        dotread.statements("digraph { a [label=<<b>x</b>] }")
    with pytest.raises(ValueError, match="cannot read the attribute 'oops'"):
        dotread.statements("digraph { a [oops] }")
