"""kernel_cfg is data and pure functions: it imports only the standard library (docs/architecture.md)."""

import ast
import sys
from pathlib import Path

import kernel_cfg


def test_stdlib_only():
    for path in Path(kernel_cfg.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                assert top in sys.stdlib_module_names or top == "__future__", (path, name)
