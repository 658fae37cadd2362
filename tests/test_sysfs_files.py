"""sysfs attribute files as a program meets them on a board: what a store makes of the bytes
written (drivers/base/bus.c `bind_store`, drivers/base/driver.c `driver_set_override`), and
an open attribute read again after a seek (fs/kernfs/file.c, seq_file)."""
from __future__ import annotations

import errno
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from c_clients import compile_client
from sysfs_io import write_errno

CHANNEL = "virtio0.ti.ipc4.ping-pong.-1.13"  # the echo firmware's own channel; no driver
DEVICE = f"sys/bus/rpmsg/devices/{CHANNEL}"
CHRDEV = "sys/bus/rpmsg/drivers/rpmsg_chrdev"
STATE = "sys/class/remoteproc/remoteproc0/state"


@pytest.fixture(scope="module")
def clients(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("c")
    compile_client("bind_chrdev", out)
    compile_client("attr_rewind", out)
    return out


def run_client(exe: Path, *args: str) -> list[str]:
    result = subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.splitlines()


def store(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        assert os.write(fd, data) == len(data)
    finally:
        os.close(fd)


def test_power_control_compares_with_sysfs_streq(emu) -> None:
    control = emu.root / "sys/class/remoteproc/remoteproc0/power/control"
    store(control, b"on\0")
    assert control.read_text() == "on\n"
    store(control, b"auto\n")
    assert control.read_text() == "auto\n"
    assert write_errno(control, "on\n\n") == errno.EINVAL
    assert control.read_text() == "auto\n"


@pytest.mark.parametrize("terminator", ["nul", "newline"])
def test_c_helper_binds_rpmsg_chrdev_writing_strlen_plus_one_or_a_newline(
        emu, clients, terminator) -> None:
    lines = run_client(clients / "bind_chrdev", str(emu.root), CHANNEL, terminator)
    assert lines[0] == "override rpmsg_chrdev"
    assert lines[1].startswith("bound rpmsg")
    assert lines[2:] == ["echo ping", "unbound", "cleared (null)"]
    assert not (emu.root / DEVICE / "driver").exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="`rpmsg-emu run` mounts on / as root here")
def test_under_run_the_c_helper_binds_on_the_boards_own_paths(clients) -> None:
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    result = subprocess.run([sys.executable, "-m", "fusedev.cli", "run", "--",
                             str(clients / "bind_chrdev"), "", CHANNEL, "nul"],
                            capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[2:] == ["echo ping", "unbound", "cleared (null)"]


def test_bind_and_unbind_find_the_device_by_its_c_string(emu) -> None:
    store(emu.root / DEVICE / "driver_override", b"rpmsg_chrdev\n")
    # Only the C string counts: after the NUL the kernel never looks.
    store(emu.root / CHRDEV / "bind", CHANNEL.encode() + b"\0trailing garbage")
    assert os.readlink(emu.root / DEVICE / "driver").endswith("drivers/rpmsg_chrdev")
    # sysfs_streq ignores one trailing newline, no other whitespace.
    assert write_errno(emu.root / CHRDEV / "unbind", f" {CHANNEL}\n") == errno.ENODEV
    assert write_errno(emu.root / CHRDEV / "unbind", f"{CHANNEL}\n\n") == errno.ENODEV
    store(emu.root / CHRDEV / "unbind", CHANNEL.encode() + b"\n\0")
    assert not (emu.root / DEVICE / "driver").exists()


def test_bytes_that_are_not_utf8_find_no_device_and_log_no_traceback(emu, caplog) -> None:
    with caplog.at_level(logging.DEBUG):
        for attr in ("bind", "unbind"):
            with pytest.raises(OSError) as err:
                store(emu.root / CHRDEV / attr, b"virtio0.\xff\xfe.-1.13\n")
            assert err.value.errno == errno.ENODEV
        store(emu.root / DEVICE / "driver_override", b"\xffchrdev\n")
    assert (emu.root / DEVICE / "driver_override").read_bytes() == b"\xffchrdev\n"
    assert not [r for r in caplog.records if r.exc_info]


def test_driver_override_is_stored_as_driver_set_override_stores_it(emu) -> None:
    override = emu.root / DEVICE / "driver_override"
    store(override, b"rpmsg_chrdev\nsecond line")  # up to the first newline
    assert override.read_text() == "rpmsg_chrdev\n"
    store(override, b"\0rpmsg_chrdev")  # an empty C string clears
    assert override.read_text() == "(null)\n"
    store(override, b"x" * 4094)  # the longest: sysfs_emit must still fit it and a newline
    assert override.read_text() == "x" * 4094 + "\n"
    with pytest.raises(OSError) as err:
        store(override, b"x" * 4095)  # len >= PAGE_SIZE - 1
    assert err.value.errno == errno.EINVAL
    with pytest.raises(OSError) as err:
        store(override, b"x" * 4097)  # kernfs: more than a page at once
    assert err.value.errno == errno.E2BIG
    assert override.read_text() == "x" * 4094 + "\n"


def test_rewind_lseek_and_pread_read_an_attribute_afresh(emu, clients) -> None:
    lines = run_client(clients / "attr_rewind", str(emu.root))
    assert lines == [
        "fgets running",  # one line, then the end of the file
        "read running",
        "rewind offline",
        "lseek offline",
        "rewind running",
        "pread running",
        "pread@2 nning",
        "size 4096",  # SEEK_END: sysfs files are a page long
    ]


def test_python_seek_zero_rereads_the_value(emu) -> None:
    with open(emu.root / STATE) as state, open(emu.root / STATE, "w") as control:
        assert state.read() == "running\n"
        assert state.read() == ""
        control.write("stop")
        control.flush()
        state.seek(0)
        assert state.read() == "offline\n"
        assert state.tell() == len("offline\n")
