"""docs/architecture.md's rule for remote_fw: the other CPU knows nothing of FUSE, Linux or our other packages."""

import ast
from pathlib import Path

import remote_fw

FORBIDDEN = {"fusedev", "kernel_cfg", "rpmsg_char", "pyfuse3", "cffi"}


def test_remote_fw_imports_none_of_the_linux_side():
    offenders = []
    for source in Path(remote_fw.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(), str(source))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            offenders += [f"{source.name}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    assert offenders == []
