"""Zero-copy large data: DMA-buf heaps, TI's remoteproc dma-buf attach, shared firmware buffers.

A program allocates from /dev/dma_heap/linux,cma, maps, fills and syncs the buffer, attaches
it to the M4F with RPROC_IOC_DMA_BUF_ATTACH on /dev/remoteproc0 and sends the device address
to the dmabuf_checksum firmware, which reads the same pages (issue 16). Under `rpmsg-emu run`
the allocation is answered by the syscall supervisor (drivers/dma-buf/dma-heap.c
`dma_heap_ioctl_allocate` semantics), DMA_BUF_IOCTL_SYNC as dma-buf.c `dma_buf_ioctl`, and
the attach as TI's remoteproc_cdev.c `rproc_device_ioctl`. Under `mount` the heap says why
it needs `run`.
"""
from __future__ import annotations

import errno
import fcntl
import logging
import os
import subprocess
import sys
import tempfile
import textwrap
import zlib
from pathlib import Path

import pytest

from c_clients import compile_client

VENV_BIN = Path(sys.executable).parent
RUN = [sys.executable, "-m", "fusedev.cli", "run"]
CHECKSUM_ON_M4F = ("--firmware", "9=dmabuf_checksum")  # the AM62x M4F, remoteproc0
DMA_HEAP_IOCTL_ALLOC = 0xC0184800

root_only = pytest.mark.skipif(os.geteuid() != 0, reason="rpmsg-emu run as root")


@pytest.fixture(scope="module")
def client() -> Path:
    out = Path(tempfile.mkdtemp(prefix="rpmsg-emu-dmabuf-"))
    exe = compile_client("dmabuf_checksum", out)
    yield exe
    exe.unlink()
    out.rmdir()


def run(*argv: str, board: tuple[str, ...] = CHECKSUM_ON_M4F,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full_env = dict(os.environ, PATH=f"{VENV_BIN}:{os.environ['PATH']}")
    full_env.pop("RPMSG_EMU_DMA_DEBUG", None)
    full_env.update(env or {})
    return subprocess.run([*RUN, *board, *argv], capture_output=True, text=True, timeout=120,
                          env=full_env)


def run_python(script: str, board: tuple[str, ...] = CHECKSUM_ON_M4F):
    return run("--", sys.executable, "-c", textwrap.dedent(script), board=board)


def pattern_crc(size: int) -> int:
    """The C client's fill: byte i is i*7 + (i >> 12)."""
    data = bytes((i * 7 + (i >> 12)) & 0xFF for i in range(size))
    return zlib.crc32(data)


# ---- end to end ------------------------------------------------------------------------------

@root_only
@pytest.mark.parametrize("size", [1 << 20, 16 << 20])
def test_c_client_moves_megabytes_through_an_attached_buffer(client, size):
    result = run("--", str(client), str(size))
    assert result.returncode == 0, result.stdout + result.stderr
    ok, got, crc, da = result.stdout.split()
    assert (ok, int(got)) == ("OK", size)
    if size == 1 << 20:  # our own CRC, independently of the C one (16 MiB is slow in Python)
        assert int(crc, 16) == pattern_crc(size)
    assert 0xC000_0000 <= int(da, 16) < 0xE000_0000  # linux,cma's window on the AM62x


@root_only
def test_python_helper_does_the_same():
    result = run("--", sys.executable, "-m", "rpmsg_char.examples.dmabuf", "-r", "9", "-s", "8")
    assert result.returncode == 0, result.stdout + result.stderr
    ok, size, _, da, _ = result.stdout.split()
    assert (ok, int(size), int(da, 16)) == ("OK", 8 << 20, 0xC000_0000)


@root_only
def test_heaps_are_the_socs_character_devices():
    result = run_python("""
        import os, stat
        for name in sorted(os.listdir("/dev/dma_heap")):
            st = os.stat("/dev/dma_heap/" + name)
            dev = open(f"/sys/class/dma_heap/{name}/dev").read().strip()
            uevent = open(f"/sys/class/dma_heap/{name}/uevent").read().split()
            numbers = f"{os.major(st.st_rdev)}:{os.minor(st.st_rdev)}"
            print(name, stat.S_ISCHR(st.st_mode), numbers == dev,
                  f"DEVNAME=dma_heap/{name}" in uevent)
        print(os.path.realpath("/sys/class/dma_heap/system"))
    """, board=("--soc", "j721e"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "carveout_vision_apps_shared-memories True True True",
        "linux,cma True True True",
        "system True True True",
        "/sys/devices/virtual/dma_heap/system",
    ]


# ---- errors ----------------------------------------------------------------------------------

@root_only
def test_allocation_and_sync_errors_are_the_kernels():
    result = run_python("""
        import errno, fcntl, mmap, os, struct
        try:
            os.open("/dev/dma_heap/ion", os.O_RDONLY)
        except OSError as e:
            print("unknown heap", errno.errorcode[e.errno])
        heap = os.open("/dev/dma_heap/linux,cma", os.O_RDONLY)
        def alloc(length, fd=0, fd_flags=os.O_RDWR, heap_flags=0):
            data = bytearray(struct.pack("=QIIQ", length, fd, fd_flags, heap_flags))
            try:
                fcntl.ioctl(heap, 0xC0184800, data)
            except OSError as e:
                return errno.errorcode[e.errno]
            return struct.unpack("=QIIQ", data)[1]
        print("fd set", alloc(4096, fd=3))
        print("O_NONBLOCK", alloc(4096, fd_flags=os.O_RDWR | os.O_NONBLOCK))
        print("heap flag", alloc(4096, heap_flags=1))
        print("zero", alloc(0))
        print("wraps to zero", alloc(2**64 - 1))
        print("too big", alloc(1 << 40))
        try:
            fcntl.ioctl(heap, 0xC0184801, bytearray(24))
        except OSError as e:
            print("nr 1", errno.errorcode[e.errno])
        ro = alloc(5000, fd_flags=os.O_RDONLY)
        print("size", os.fstat(ro).st_size, "cloexec", bool(fcntl.fcntl(ro, fcntl.F_GETFD) & 1))
        try:
            mmap.mmap(ro, 8192)
        except OSError as e:
            print("read-only buffer mapped for writing", errno.errorcode[e.errno])
        rw = alloc(4096, fd_flags=os.O_RDWR | os.O_CLOEXEC)
        print("cloexec", bool(fcntl.fcntl(rw, fcntl.F_GETFD) & 1))
        for flags in (0, 4, 8, 1 | 8):
            try:
                fcntl.ioctl(rw, 0x40086200, struct.pack("=Q", flags)); print("sync", flags, 0)
            except OSError as e:
                print("sync", flags, errno.errorcode[e.errno])
        for flags in (1, 2, 3 | 4):
            print("sync", flags, fcntl.ioctl(rw, 0x40086200, struct.pack("=Q", flags)) and 0)
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "unknown heap ENOENT", "fd set EINVAL", "O_NONBLOCK EINVAL", "heap flag EINVAL", "zero EINVAL",
        "wraps to zero EINVAL", "too big ENOMEM", "nr 1 EINVAL",
        "size 8192 cloexec False", "read-only buffer mapped for writing EACCES", "cloexec True",
        "sync 0 EINVAL", "sync 4 EINVAL", "sync 8 EINVAL", "sync 9 EINVAL",
        "sync 1 0", "sync 2 0", "sync 7 0",
    ]


@root_only
def test_attach_errors_and_addresses():
    result = run_python("""
        import errno, fcntl, os, struct
        from rpmsg_char import dma_buf
        rproc = os.open("/dev/remoteproc0", os.O_RDWR)
        def attach(fd):
            data = bytearray(struct.pack("=I4xQ", fd, 0))
            try:
                fcntl.ioctl(rproc, 0xC010B700, data)
            except OSError as e:
                return errno.errorcode[e.errno]
            return hex(struct.unpack("=I4xQ", data)[1])
        print("not a dma-buf", attach(os.open("/dev/null", os.O_RDONLY)))
        print("no such fd", attach(999))
        print("system heap", attach(dma_buf.alloc(1 << 20, "system").fileno()))
        a, b = dma_buf.alloc(1 << 20), dma_buf.alloc(3 << 20)
        print("a", attach(a.fileno()), "again", attach(a.fileno()), "b", attach(b.fileno()))
        os.close(rproc)
        rproc = os.open("/dev/remoteproc0", os.O_RDWR)
        print("after close, b", attach(b.fileno()))
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "not a dma-buf EINVAL", "no such fd EBADF", "system heap EINVAL",
        "a 0xc0000000 again 0xc0000000 b 0xc0100000",
        "after close, b 0xc0000000",  # closing the file detached both: the window is free
    ]


@root_only
def test_firmware_asked_for_an_unattached_address_answers_efault():
    result = run_python("""
        import struct
        from rpmsg_char import RpmsgChar
        with RpmsgChar() as rc, rc.open(9, 14) as ep:
            for _ in range(2):  # the core survives its bus fault
                ep.send(struct.pack("<IIQQ", 1, 0, 0xC0000000, 4096))
                print(struct.unpack("<iI", ep.recv(timeout=10)))
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"({-errno.EFAULT}, 0)"] * 2


# ---- lifetime --------------------------------------------------------------------------------

@root_only
def test_a_client_that_exits_without_freeing_leaks_nothing_in_the_daemon(client):
    """The daemon maps an attached buffer (seen below while attached); when the client exits
    without unmapping, detaching, closing or freeing, the kernel releases its files and the
    daemon's mapping and any fd of the buffer are gone."""
    script = textwrap.dedent(f"""
        count() {{ echo $(grep -c rpmsg-emu-dmabuf /proc/$PPID/maps) \\
                       $(ls -l /proc/$PPID/fd | grep -c rpmsg-emu-dmabuf); }}
        {sys.executable} -c '
        import os, sys
        from rpmsg_char import dma_buf
        buf = dma_buf.alloc(1 << 20); buf.attach("/dev/remoteproc0")
        maps = open(f"/proc/{{sys.argv[1]}}/maps").read()  # the daemon: rpmsg-emu run
        print("while attached", maps.count("rpmsg-emu-dmabuf"))
        os._exit(0)' $PPID
        for i in 1 2 3; do {client} 4194304 linux,cma leak || exit 1; done
        for t in $(seq 100); do [ "$(count)" = "0 0" ] && break; sleep 0.1; done
        echo after $(count)
    """)
    result = run("--", "sh", "-c", script)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "while attached 1"
    assert [line.split()[0] for line in lines[1:4]] == ["OK"] * 3
    assert lines[-1] == "after 0 0"


# ---- the debug mode --------------------------------------------------------------------------

@root_only
@pytest.mark.parametrize("mode, finding", [
    ("", None),
    ("nosync", "changed after its last DMA_BUF_SYNC_END|WRITE"),
    ("noread", "never began to read with DMA_BUF_SYNC_START|READ"),
])
def test_debug_mode_flags_a_read_without_the_sync_that_makes_it_coherent(client, mode, finding):
    result = run("--", str(client), "65536", "linux,cma", mode,
                 env={"RPMSG_EMU_DMA_DEBUG": "1"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("OK 65536 ")
    flagged = [line for line in result.stderr.splitlines() if "dma-buf debug:" in line]
    if finding is None:
        assert flagged == []
    else:
        assert any(finding in line for line in flagged), result.stderr


# ---- without the supervisor ------------------------------------------------------------------

def test_under_mount_the_heap_explains_why_it_needs_run(emu, caplog):
    heap = emu.root / "dev/dma_heap/linux,cma"
    fd = os.open(heap, os.O_RDWR)
    try:
        with caplog.at_level(logging.WARNING), pytest.raises(OSError) as failed:
            fcntl.ioctl(fd, DMA_HEAP_IOCTL_ALLOC, bytearray(24))
    finally:
        os.close(fd)
    assert failed.value.errno == errno.EOPNOTSUPP
    assert "rpmsg-emu run" in caplog.text and "file descriptor" in caplog.text
    from rpmsg_char import dma_buf
    with pytest.raises(OSError, match="need `rpmsg-emu run`") as helper:
        dma_buf.alloc(4096, root=emu.root)
    assert helper.value.errno == errno.EOPNOTSUPP


# ---- heaps a board declares ------------------------------------------------------------------

@root_only
def test_a_board_declares_its_own_heaps(client, tmp_path):
    """TI's zero-copy example adds a carve-out `apps-shared-memory` at 0xa6000000 (32 MiB) to
    the AM64x device tree; the board file says the same, and buffers get its addresses."""
    board = tmp_path / "am64x-carveout.toml"
    board.write_text(textwrap.dedent("""
        soc = "am64x"
        [[dma_heaps]]
        name = "linux,cma"
        base = 0xa0000000
        size = 0x4000000
        [[dma_heaps]]
        name = "carveout_apps-shared-memory"
        kind = "carveout"
        base = 0xa6000000
        size = 0x2000000
        [cores.2]
        firmware = "dmabuf_checksum"
    """))
    result = run("--", "sh", "-c", f"ls /dev/dma_heap; {client} 1048576 "
                 "carveout_apps-shared-memory", board=("--board", str(board)))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[:2] == ["carveout_apps-shared-memory", "linux,cma"]
    assert result.stdout.splitlines()[2].endswith(" 0xa6000000")


@pytest.mark.parametrize("heaps, key, message", [
    ([{"name": "a/b"}], "dma_heaps[0].name", "not a heap name"),
    ([{"name": "x", "size": 4096}, {"name": "x", "size": 4096}], "dma_heaps[1].name", "twice"),
    ([{"name": "x", "kind": "ion", "size": 4096}], "dma_heaps[0].kind", "not allowed"),
    ([{"name": "x", "size": 1000}], "dma_heaps[0].size", "multiple of 4096"),
    ([{"name": "x", "base": 0x1000, "size": 0x2000},
      {"name": "y", "base": 0x2000, "size": 0x1000}], "dma_heaps[1].base", "overlaps heap 'x'"),
    ([{"name": "x", "size": 4096, "sizes": 1}], "dma_heaps[0].sizes", "unknown key"),
])
def test_a_bad_heap_declaration_is_one_error_naming_the_key(heaps, key, message):
    from kernel_cfg import BoardError, board_from_dict
    with pytest.raises(BoardError) as failed:
        board_from_dict({"soc": "am62x", "cores": {"9": {}}, "dma_heaps": heaps}, ".")
    assert key in str(failed.value) and message in str(failed.value)


@root_only
def test_an_ordinary_user_moves_a_buffer_too():
    """As uid 65534 `run` works in its own user namespace: the supervisor still installs the
    buffer in the client and the daemon still takes it with pidfd_getfd."""
    from test_cli_run_user import run_as_user
    shared = Path(tempfile.mkdtemp(prefix="rpmsg-emu-dmabuf-user-"))
    shared.chmod(0o755)
    (shared / "fuse").mkdir()
    exe = compile_client("dmabuf_checksum", shared)
    try:
        result = run_as_user(shared, *CHECKSUM_ON_M4F, "--", str(exe), "1048576")
    finally:
        exe.unlink()
        (shared / "fuse").rmdir()
        shared.rmdir()
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("OK 1048576 70e9b807 0xc0000000")
