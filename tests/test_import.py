"""`import microgradrnn` loads numpy and nothing heavy."""

import subprocess
import sys


def test_import_loads_no_torch_and_no_graphviz():
    code = (
        "import sys, microgradrnn\n"
        "heavy = sorted(m for m in ('torch', 'graphviz', 'matplotlib', 'scipy', 'pandas')\n"
        "               if m in sys.modules)\n"
        "print('numpy' in sys.modules, heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.split("\n")[0] == "True []"
