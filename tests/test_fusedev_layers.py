"""docs/architecture.md's rule inside fusedev: the FUSE engine imports neither the kernel models
nor the application, and the kernel models do not import the application."""

import ast
from pathlib import Path

import pytest

import fusedev

PACKAGE = Path(fusedev.__file__).parent
FORBIDDEN = {"fuse": {"fusedev.kernel", "fusedev.cli"}, "kernel": {"fusedev.cli"}}


def imported_modules(source: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(source.read_text(), str(source))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
            names += [f"{node.module}.{alias.name}" for alias in node.names]
    return names


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_a_lower_layer_imports_no_higher_one(layer):
    offenders = [f"{source.name}: {name}"
                 for source in (PACKAGE / layer).rglob("*.py")
                 for name in imported_modules(source)
                 if any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN[layer])]
    assert offenders == []


def test_every_module_belongs_to_a_layer():
    assert sorted(p.name for p in PACKAGE.glob("*.py")) == ["__init__.py"]
