"""The README section on recurrent layers runs as written."""

import pathlib
import re

import pytest

DOC = pathlib.Path(__file__).resolve().parent.parent / "docs" / "readme" / "recurrent.md"


def _blocks():
    if not DOC.exists():
        return []
    return re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)


@pytest.mark.parametrize("code", _blocks())
def test_readme_snippet_runs(code, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the save/load snippet writes a file
    exec(compile(code, str(DOC), "exec"), {"__name__": "__doc_snippet__"})
