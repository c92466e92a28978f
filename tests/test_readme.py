"""Every ```python block of the README runs as written (```py blocks are illustrations
that need a model in scope; ```bash blocks are commands)."""

import pathlib
import re

import pytest

README = pathlib.Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def test_readme_has_the_two_quick_start_commands():
    text = README.read_text(encoding="utf-8")
    start = text.index("## Quick start")
    commands = re.search(r"```bash\n(.*?)```", text[start:], flags=re.S).group(1).split("\n")
    assert [c for c in commands if c] == [
        "pip install . && microgradrnn demo", 'pip install ".[test]" && pytest']


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_block_runs(code, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # blocks that save files write here
    exec(compile(code, str(README), "exec"), {"__name__": "__readme__"})
