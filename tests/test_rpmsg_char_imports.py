"""rpmsg_char runs on a real board with nothing else installed: its modules and examples import
only the standard library and rpmsg_char itself (docs/architecture.md)."""

import ast
import sys
from pathlib import Path

import rpmsg_char


def test_standard_library_only():
    offenders = []
    for path in Path(rpmsg_char.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            offenders += [f"{path.name}: {name}" for name in names
                          if name.split(".")[0] not in sys.stdlib_module_names
                          and name.split(".")[0] not in ("__future__", "rpmsg_char")]
    assert offenders == []
