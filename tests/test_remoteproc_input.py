"""What the remoteproc stores make of a write, as the kernel reads it: sysfs `state`,
`firmware`, `recovery`, `coredump` (a C string, sysfs_streq or strcspn) and debugfs `crash`,
`recovery`, `coredump` (the raw buffer: kstrtouint, strncmp). Bytes that are not UTF-8 get the
kernel's errno and never a traceback.
"""
from __future__ import annotations

import errno
import logging
import os
from pathlib import Path

import pytest

M4F = "sys/class/remoteproc/remoteproc0"
M4F_DEBUG = "sys/kernel/debug/remoteproc/remoteproc0"


def put(path: Path, data: bytes) -> int:
    """One write() of exactly `data`; 0 or the errno."""
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, data)
        return 0
    except OSError as exc:
        return exc.errno
    finally:
        os.close(fd)


def text(path: Path) -> str:
    return path.read_text()


def test_state_is_a_c_string_compared_with_sysfs_streq(emu) -> None:
    state = emu.root / M4F / "state"
    assert put(state, b"stop\0") == 0  # strlen(s) + 1, as C helpers write
    assert text(state) == "offline\n"
    assert put(state, b"start\0garbage") == 0  # the value ends at the NUL
    assert text(state) == "running\n"
    assert put(state, b"stop\n\n") == errno.EINVAL  # only one newline is ignored
    assert put(state, b"st\xffop") == errno.EINVAL
    assert put(state, b"\xff\xfe") == errno.EINVAL
    assert text(state) == "running\n"


def test_firmware_takes_the_name_up_to_a_newline_or_nul(emu) -> None:
    rproc = emu.root / M4F
    put(rproc / "state", b"stop")
    assert put(rproc / "firmware", b"echo\0junk") == 0
    assert text(rproc / "firmware") == "echo\n"
    assert put(rproc / "firmware", b"sink\nsecond line") == 0  # strcspn(buf, "\n")
    assert text(rproc / "firmware") == "sink\n"
    assert put(rproc / "firmware", b"\0echo") == errno.EINVAL  # empty
    assert put(rproc / "firmware", b"\n") == errno.EINVAL
    assert put(rproc / "firmware", b"fw-\xff") == 0  # the kernel keeps any byte
    assert (rproc / "firmware").read_bytes() == b"fw-\xff\n"
    assert put(rproc / "state", b"start") == errno.ENOENT  # request_firmware finds none
    put(rproc / "firmware", b"echo\n")
    assert put(rproc / "state", b"start") == 0


def test_recovery_and_coredump_words(emu) -> None:
    rproc = emu.root / M4F
    assert put(rproc / "recovery", b"enabled\0") == 0
    assert text(rproc / "recovery") == "enabled\n"
    assert put(rproc / "recovery", b"disabled\n") == 0
    assert put(rproc / "recovery", b"enable") == errno.EINVAL  # sysfs_streq: whole words
    assert put(rproc / "recovery", b"\xffenabled") == errno.EINVAL
    assert put(rproc / "coredump", b"inline\0") == 0
    assert text(rproc / "coredump") == "inline\n"
    assert put(rproc / "coredump", b"inl") == errno.EINVAL
    assert put(rproc / "coredump", b"\xff") == errno.EINVAL


def test_debugfs_recovery_and_coredump_accept_the_kernels_prefixes(emu) -> None:
    debug = emu.root / M4F_DEBUG
    assert put(debug / "recovery", b"en") == 0  # strncmp(buf, "enabled", count)
    assert text(debug / "recovery") == "enabled\n"
    assert put(debug / "recovery", b"d") == 0
    assert text(debug / "recovery") == "disabled\n"
    # The final newline becomes NUL and is compared too: a prefix then ends too early.
    assert put(debug / "recovery", b"en\n") == errno.EINVAL
    assert put(debug / "recovery", b"enabled\n") == 0
    assert put(debug / "recovery", b"r") == 0  # recover: nothing to do while running
    assert put(debug / "recovery", b"enabled\0") == 0
    assert put(debug / "recovery", b"enabledX") == errno.EINVAL
    assert put(debug / "recovery", b"disabled\n\n") == errno.EINVAL  # 10 bytes, then junk
    assert put(debug / "recovery", b"recover it!") == errno.EINVAL  # more than 10 bytes
    assert put(debug / "recovery", b"\n") == errno.EINVAL
    assert put(debug / "recovery", b"\xff") == errno.EINVAL
    assert put(debug / "coredump", b"i") == 0
    assert text(debug / "coredump") == "inline\n"
    assert text(emu.root / M4F / "coredump") == "inline\n"  # one setting, two files
    assert put(debug / "coredump", b"enabled\n") == 0
    assert text(debug / "coredump") == "enabled\n"
    assert put(debug / "coredump", b"e\n") == errno.EINVAL
    assert put(debug / "coredump", b"x" * 21) == errno.EINVAL


@pytest.mark.parametrize("data", [b"0", b"1\n", b"0x2", b"+1", b"2\0junk", b"017"])
def test_debugfs_crash_takes_an_unsigned_integer(emu, data: bytes) -> None:
    assert put(emu.root / M4F_DEBUG / "crash", data) == 0
    assert text(emu.root / M4F / "state") == "crashed\n"


@pytest.mark.parametrize("data, err", [(b"watchdog", errno.EINVAL), (b"-1", errno.EINVAL),
                                       (b" 1", errno.EINVAL), (b"1\n\n", errno.EINVAL),
                                       (b"0x", errno.EINVAL), (b"\xff", errno.EINVAL),
                                       (b"4294967296", errno.ERANGE)])
def test_debugfs_crash_refuses_what_kstrtouint_refuses(emu, data: bytes, err: int) -> None:
    assert put(emu.root / M4F_DEBUG / "crash", data) == err
    assert text(emu.root / M4F / "state") == "running\n"


def test_bad_bytes_leave_no_traceback_in_the_log(emu, caplog) -> None:
    with caplog.at_level(logging.DEBUG):
        for name in ("state", "firmware", "recovery", "coredump"):
            put(emu.root / M4F / name, b"\xff\xfe\xfd")
        for name in ("crash", "recovery", "coredump"):
            put(emu.root / M4F_DEBUG / name, b"\xff\xfe\xfd")
    assert not [r for r in caplog.records if r.exc_info]
    assert "Traceback" not in caplog.text
