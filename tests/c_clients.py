"""Compile the C test clients in tests/c with the system compiler, once per session."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

C_DIR = Path(__file__).resolve().parent / "c"


def compile_client(name: str, out_dir: Path) -> Path:
    """Build tests/c/NAME.c into out_dir/NAME (warnings are errors)."""
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        raise RuntimeError("no C compiler: apt-get install gcc (scripts/setup.sh does)")
    exe = out_dir / name
    subprocess.run([cc, "-Wall", "-Wextra", "-Werror", "-Wno-format-truncation", "-O2", "-o", str(exe),
                    str(C_DIR / f"{name}.c")], check=True)
    return exe
