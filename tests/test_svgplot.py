import xml.etree.ElementTree as ET

from microgradrnn.app.svgplot import line_chart


def test_chart_is_valid_svg_with_one_line_per_series():
    svg = line_chart({"a <&>": ([1, 2, 3], [1e-3, 1e-2, 1e-1]), "b": ([1, 2], [1.0, 2.0])},
                     title="‖g‖ & <t>", logy=True)
    root = ET.fromstring(svg)  # parses: names and title are escaped
    ns = "{http://www.w3.org/2000/svg}"
    assert len(root.findall(f"{ns}polyline")) == 2
    labels = [t.text for t in root.iter(f"{ns}text")]
    assert "a <&>" in labels and "1e-3" in labels and "1e-1" in labels


def test_log_chart_drops_zeros_instead_of_failing():
    root = ET.fromstring(line_chart({"g": ([1, 2, 3], [0.0, 1e-2, 1.0])}))
    points = root.find("{http://www.w3.org/2000/svg}polyline").get("points").split()
    assert len(points) == 2
