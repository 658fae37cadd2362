"""The package as someone installing it meets it: its version, its licence, its type
information, and one clear line when the libfuse3 it needs cannot be loaded.

The wheel itself (manylinux, libfuse3 bundled, installed into a clean venv) is checked by
scripts/check_wheel.sh, which CI runs: building it takes too long for this suite.
"""
from __future__ import annotations

import configparser
import importlib.metadata
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("rpmsg_char", "fusedev", "remote_fw", "kernel_cfg")


def rpmsg_emu(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "fusedev.cli", *argv], capture_output=True, text=True,
                          timeout=120, env=env)


def test_version_is_the_installed_distributions() -> None:
    result = rpmsg_emu("--version")
    assert result.returncode == 0
    assert result.stdout == f"rpmsg-emu {importlib.metadata.version('rpmsg-emu')}\n"


def test_the_licence_file_is_the_declared_licence() -> None:
    config = configparser.ConfigParser()
    config.read(REPO / "setup.cfg")
    declared = config["metadata"]["license"]
    assert declared == "MIT"
    text = (REPO / "LICENSE").read_text()
    assert text.startswith("MIT License\n")
    assert "Permission is hereby granted, free of charge" in text


@pytest.mark.parametrize("package", PACKAGES)
def test_every_package_says_it_is_typed(package: str) -> None:
    module = __import__(package)
    assert (Path(module.__file__).parent / "py.typed").is_file()


@pytest.mark.parametrize("command", [["mount", "{tmp}"], ["run", "--", "true"]])
def test_a_libfuse3_that_cannot_be_loaded_is_one_line_naming_the_package(tmp_path, command) -> None:
    """As on a machine without the fuse3 package: the dynamic loader finds a broken library."""
    broken = tmp_path / "lib"
    broken.mkdir()
    (broken / "libfuse3.so.3").write_bytes(b"")  # not an ELF file: dlopen fails
    (tmp_path / "mnt").mkdir()
    env = {**os.environ, "LD_LIBRARY_PATH": str(broken)}
    if subprocess.run([sys.executable, "-c", "import fusedev.fuse._fuse_cffi"], env=env).returncode == 0:
        pytest.skip("this binding loads the libfuse3 bundled in its wheel, not the loader's choice")
    argv = [a.replace("{tmp}", str(tmp_path / "mnt")) for a in command]
    result = rpmsg_emu(*argv, env=env)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("rpmsg-emu: error: cannot load libfuse3 (")
    assert "install the fuse3 package" in lines[0] and "apt-get install fuse3" in lines[0]
    assert "Traceback" not in result.stderr
