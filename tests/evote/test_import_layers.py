"""The packages import each other only downward (docs/architecture.md):
evote.cli → ballot_server / terminal / tally / firmware_sim → evote → crypto."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ALLOWED: dict[str, set[str]] = {
    "crypto": set(),
    "evote": {"crypto"},
    "firmware_sim": {"crypto"},
    "ballot_server": {"evote", "crypto"},
    "terminal": {"evote", "crypto"},
    "tally": {"evote", "crypto"},
    "evote.cli": {"ballot_server", "terminal", "tally", "firmware_sim", "evote", "crypto"},
}


def layer_of(module: str) -> str:
    """The layer a dotted module name belongs to: `evote.cli` is a layer of its
    own above everything, the rest of `evote` is the model below."""
    if module == "evote.cli" or module.startswith("evote.cli."):
        return "evote.cli"
    return module.split(".")[0]


def imported_packages(path: Path) -> set[str]:
    """Layers of every absolute import in the file, also inside functions."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(layer_of(alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(layer_of(node.module))
    return names & set(ALLOWED)


def files_of(package: str) -> list[Path]:
    """The package's own files; the model `evote` leaves out its `cli` layer."""
    root = ROOT.joinpath(*package.split("."))
    files = root.rglob("*.py")
    if package == "evote":
        return [path for path in files if (root / "cli") not in path.parents]
    return list(files)


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_packages_below_it(package: str) -> None:
    wrong = {
        f"{path.relative_to(ROOT)} imports {name}"
        for path in files_of(package)
        for name in imported_packages(path) - ALLOWED[package] - {package}
    }
    assert not wrong, sorted(wrong)


def test_flask_blueprints_do_not_import_the_app_factory() -> None:
    for path in (ROOT / "ballot_server" / "blueprints").glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        modules = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert "ballot_server.app" not in modules, path.name
