"""docs/architecture.md's rule for remote_fw: the other CPU knows nothing of FUSE, Linux or our other packages."""

import ast
from pathlib import Path

import remote_fw

FORBIDDEN = {"fusedev", "kernel_cfg", "rpmsg_char", "pyfuse3", "cffi"}
BUILD_SCRIPT = "vring_build.py"
"""Builds remote_fw's own C ring module at install time with cffi; nothing imports it at run time."""


def test_remote_fw_imports_none_of_the_linux_side():
    offenders = []
    for source in Path(remote_fw.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(), str(source))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):  # relative ones too: "from .vring_build"
                names = [node.module or ""]
            else:
                continue
            allowed = {"cffi"} if source.name == BUILD_SCRIPT else set()
            offenders += [f"{source.name}: {n}" for n in names if n.split(".")[0] in FORBIDDEN - allowed]
            if source.name != BUILD_SCRIPT:
                offenders += [f"{source.name}: {n}" for n in names if n.endswith("vring_build")]
    assert offenders == []
