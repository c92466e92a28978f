"""Imports run one way (README, "How the code is laid out"): engine <- ops, functional,
gradcheck, scalar <- nn <- optim; viz reads only the engine's graph; the app sits on top
and nothing in the library or in the benchmarks imports it. Read from the source, so an
import against the flow fails here before anyone has to draw the house."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "microgradrnn"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """The microgradrnn modules a file imports (relative imports resolved)."""
    return _imports_of(path.read_text(encoding="utf-8"), _module_name(path),
                       path.name == "__init__.py")


def _imports_of(source: str, name: str, is_package: bool) -> set[str]:
    package = name if is_package else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{a.name}" for a in node.names)
    return {m for m in found if m == "microgradrnn" or m.startswith("microgradrnn.")}


def _area(module: str) -> str:
    """The room a module lives in: 'nn', 'viz', 'app', or the module's own name."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "microgradrnn"


# area -> the areas it must never import
_ABOVE_ENGINE = {"ops", "scalar", "functional", "gradcheck", "nn", "optim", "viz", "app"}
FORBIDDEN = {
    "accumulate": {"engine", "readonly"} | _ABOVE_ENGINE,
    "readonly": {"engine", "accumulate"} | _ABOVE_ENGINE,
    "kernels": {"engine", "accumulate", "readonly"} | _ABOVE_ENGINE,
    "files": {"engine", "accumulate", "readonly", "kernels"} | _ABOVE_ENGINE,
    "engine": _ABOVE_ENGINE,
    "ops": {"functional", "gradcheck", "scalar", "nn", "optim", "viz", "app"},
    "functional": {"nn", "optim", "viz", "app"},
    "gradcheck": {"nn", "optim", "viz", "app"},
    "scalar": {"nn", "optim", "viz", "app"},
    "datasets": {"nn", "optim", "viz", "app"},
    "nn": {"optim", "viz", "app"},
    "optim": {"viz", "app"},
    "viz": {"nn", "optim", "app", "datasets"},
}

LIBRARY = sorted(p for p in PACKAGE.rglob("*.py") if "app" not in p.relative_to(PACKAGE).parts
                 and p.name != "__main__.py")


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_library_imports_only_downwards(path):
    area = _area(_module_name(path))
    wrong = {m for m in _imports(path) if _area(m) in FORBIDDEN.get(area, {"app"})}
    assert not wrong, f"{path.relative_to(ROOT)} ({area}) imports {sorted(wrong)}"


def test_the_benchmarks_do_not_import_the_app():
    for path in (ROOT / "benchmarks").glob("*.py"):
        wrong = {m for m in _imports(path) if _area(m) == "app"}
        assert not wrong, f"{path.relative_to(ROOT)} imports {sorted(wrong)}"


def test_the_check_sees_a_wrong_import():
    """The checker itself can fail: an nn file importing viz is caught."""
    found = _imports_of("from ..viz import draw_cells\n", "microgradrnn.nn.fake", False)
    assert {m for m in found if _area(m) in FORBIDDEN["nn"]} == {
        "microgradrnn.viz", "microgradrnn.viz.draw_cells"}


def test_mg_gives_its_subpackages_as_torch_does():
    import microgradrnn as mg

    assert mg.nn.LSTM and mg.optim.Adam and mg.functional.mse_loss
    assert mg.viz.draw_cells
