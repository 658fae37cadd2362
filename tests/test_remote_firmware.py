"""Firmware as its author and its user see it: found by name like request_firmware, written
against the SDK, and the built-ins behaving as documented."""

import errno
import shutil
import struct

import pytest
import trio

import remote_fw.builtin.sample
from remote_fw import (
    FirmwareImageError,
    FirmwareNameError,
    FirmwareNotFoundError,
    NsFlags,
    NsMessage,
    RemoteCore,
    load_firmware,
)
from test_remote_core import boot, eventually


@pytest.mark.parametrize("name", ["", "..", "../echo", "fw/../../etc/passwd", "sub/echo", "/lib/firmware/echo", "a\0b"])
async def test_bad_firmware_names_are_refused_with_einval(name, tmp_path, nursery):
    with pytest.raises(FirmwareNameError) as info:
        load_firmware(name, [tmp_path])
    assert info.value.errno == errno.EINVAL and isinstance(info.value, OSError)

    core = RemoteCore("r5f0", firmware_dirs=[tmp_path])
    with pytest.raises(OSError) as info:
        core.start(nursery, name)
    assert info.value.errno == errno.EINVAL
    assert core.state == "offline" and core.host is None


async def test_missing_firmware_is_enoent(tmp_path, nursery):
    core = RemoteCore("r5f0", firmware_dirs=[tmp_path])
    with pytest.raises(FileNotFoundError) as info:
        core.start(nursery, "am62-mcu-m4f0_0-fw")
    assert info.value.errno == errno.ENOENT
    assert isinstance(info.value, FirmwareNotFoundError)
    assert core.state == "offline"


def test_a_symlink_leading_out_of_the_firmware_directory_is_never_loaded(tmp_path):
    board, outside = tmp_path / "board", tmp_path / "outside"
    board.mkdir()
    outside.mkdir()
    marker = tmp_path / "executed"
    (outside / "evil.py").write_text(
        f"open({str(marker)!r}, 'w').close()\nasync def main(ctx):\n    pass\n"
    )
    (board / "evil").symlink_to(outside / "evil.py")
    with pytest.raises(FirmwareNotFoundError):
        load_firmware("evil", [board])
    assert not marker.exists()


def test_a_file_that_is_not_a_firmware_is_einval(tmp_path):
    (tmp_path / "notes.py").write_text("print('no main here')\n")
    (tmp_path / "broken-fw").write_text("async def main(ctx)\n")
    for name in ("notes", "broken-fw"):
        with pytest.raises(FirmwareImageError) as info:
            load_firmware(name, [tmp_path])
        assert info.value.errno == errno.EINVAL


def test_built_ins_come_before_board_files_and_board_dirs_are_searched_in_order(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    (second / "echo.py").write_text("async def main(ctx):\n    pass\n")
    (first / "mine.py").write_text("async def main(ctx):\n    pass\n")
    (second / "mine.py").write_text("async def main(ctx):\n    pass\n")
    assert load_firmware("echo", [first, second]).origin == "builtin"
    assert load_firmware("mine", [first, second]).origin == str(first / "mine.py")


USER_FIRMWARE = '''
"""A user's motor-control firmware, as it would sit in the board's firmware directory."""

async def main(ctx):
    gain = ctx.config.get("gain", 1)

    async def control(ep, src, data):
        (setpoint,) = struct.unpack("<i", data)
        await ep.send(src, struct.pack("<i", setpoint * gain))

    ep = ctx.create_endpoint(callback=control)
    await ep.announce("motor.ctrl")
    ctx.log(f"motor control at {ep.addr}, gain {gain}")

import struct
'''


async def test_a_user_firmware_from_the_board_directory_runs(tmp_path, nursery):
    (tmp_path / "am62-mcu-m4f0_0-fw").write_text(USER_FIRMWARE)  # TI's default name, no suffix
    core = RemoteCore("m4f0", firmware_dirs=[tmp_path])
    linux = await boot(nursery, core, "am62-mcu-m4f0_0-fw", {"gain": 3})
    await linux.wait_for(lambda: "motor.ctrl" in linux.services)
    addr = linux.services["motor.ctrl"]
    assert addr == 1024  # ADDR_ANY: lowest free dynamic address
    await linux.send(1024, addr, struct.pack("<i", -7))
    assert await linux.wait_messages(1) == [(1024, 1024, struct.pack("<i", -21))]
    assert "motor control at 1024, gain 3" in core.trace_text()
    core.stop()


async def test_an_installed_plugin_is_found_through_its_entry_point(tmp_path, monkeypatch, nursery):
    (tmp_path / "acme_fw.py").write_text(
        "async def main(ctx):\n    ctx.log('acme plugin up')\n"
    )
    dist = tmp_path / "acme_fw-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-fw\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[rpmsg_emu.firmware]\nacme-dsp = acme_fw\n")
    monkeypatch.syspath_prepend(str(tmp_path))

    assert load_firmware("acme-dsp").origin == "plugin acme-fw"
    core = RemoteCore("c7x0")
    core.start(nursery, "acme-dsp")
    await eventually(lambda: "acme plugin up" in core.trace_text())
    core.stop()


SDK_CHECKS = '''
from remote_fw import AddressInUseError, PayloadTooLargeError

async def main(ctx):
    a = ctx.create_endpoint()
    b = ctx.create_endpoint()
    ctx.log(f"dynamic addresses {a.addr} {b.addr}")
    fixed = ctx.create_endpoint(14)
    for addr in (14, 53):
        try:
            ctx.create_endpoint(addr)
        except AddressInUseError as exc:
            ctx.log(f"refused {addr}: errno {exc.errno}")
    try:
        await fixed.send(1024, bytes(ctx.mtu + 1))
    except PayloadTooLargeError as exc:
        ctx.log(f"refused: {exc}")
    try:
        await fixed.announce("x" * 32)
    except ValueError as exc:
        ctx.log(f"refused name: {exc}")
    with_callback = ctx.create_endpoint(callback=lambda ep, src, data: None)
    try:
        await with_callback.recv()
    except RuntimeError as exc:
        ctx.log(f"refused recv: {exc}")
    a.close()
    ctx.log(f"reused {ctx.create_endpoint().addr}")
    await fixed.send(1024, bytes(ctx.mtu))
'''


async def test_sdk_misuse_gets_clear_errors(tmp_path, nursery):
    (tmp_path / "checks.py").write_text(SDK_CHECKS)
    core = RemoteCore("r5f0", buf_size=256, firmware_dirs=[tmp_path])
    linux = await boot(nursery, core, "checks")
    assert await linux.wait_messages(1) == [(14, 1024, bytes(240))]  # a full-MTU message is fine
    trace = core.trace_text()
    assert "dynamic addresses 1024 1025" in trace
    assert "refused 14: errno 98" in trace and "refused 53: errno 98" in trace
    assert "refused: payload of 241 bytes exceeds the rpmsg MTU of 240 bytes" in trace
    assert "refused name: service name" in trace
    assert "refused recv: endpoint 1026 delivers to its callback" in trace
    assert "reused 1024" in trace
    assert core.state == "running"
    core.stop()


async def test_linux_announcements_reach_the_core_name_service(nursery):
    core = RemoteCore("r5f0")
    linux = await boot(nursery, core, "echo")
    await linux.wait_for(lambda: len(linux.services) == 2)
    linux.host.send(1024, 53, NsMessage("linux.svc", 1024, NsFlags.CREATE).pack())
    linux.host.send(1024, 77, b"nobody home")
    await eventually(lambda: "no endpoint at 77" in core.trace_text())
    trace = core.trace_text()
    assert "name service: Linux create 'linux.svc' at 1024" in trace
    assert "no endpoint at 77: dropped 11 bytes from 1024" in trace
    core.stop()


async def test_sink_consumes_and_counts(nursery):
    core = RemoteCore("r5f0")
    linux = await boot(nursery, core, "sink", {"report_every": 10})
    await linux.wait_for(lambda: linux.services == {"rpmsg_chrdev": 14})
    for n in range(25):
        await linux.send(1024, 14, bytes(100))
    await eventually(lambda: "sink: 20 messages" in core.trace_text())
    await trio.sleep(0.05)
    trace = core.trace_text()
    assert "sink: 20 messages, 2000 bytes" in trace and "sink: 30" not in trace
    assert linux.messages == []
    core.stop()


async def test_source_streams_to_whoever_speaks_first(nursery):
    core = RemoteCore("r5f0")
    linux = await boot(nursery, core, "source", {"count": 600, "size": 32})
    await linux.wait_for(lambda: "rpmsg_chrdev" in linux.services)
    await linux.send(1030, linux.services["rpmsg_chrdev"], b"hello")
    messages = await linux.wait_messages(600)
    assert [struct.unpack_from("<I", p)[0] for _s, _d, p in messages] == list(range(600))
    assert messages[300] == (14, 1030, struct.pack("<I", 300) + bytes([300 & 0xFF]) * 28)
    core.stop()


async def test_the_sample_firmware_copied_into_a_board_directory_works(tmp_path, nursery):
    shutil.copy(remote_fw.builtin.sample.__file__, tmp_path / "my-upper-fw.py")
    core = RemoteCore("r5f0", firmware_dirs=[tmp_path])
    linux = await boot(nursery, core, "my-upper-fw", {"greeting": "welcome"})
    await linux.wait_for(lambda: "sample.upper" in linux.services)
    addr = linux.services["sample.upper"]
    for text in (b"hello", b"rpmsg", b"stats"):
        await linux.send(1024, addr, text)
    replies = await linux.wait_messages(4)
    assert [p for _s, _d, p in replies] == [b"welcome", b"HELLO", b"RPMSG", b"served 2"]
    await linux.send(1024, addr, b"bye")
    await linux.wait_for(lambda: "sample.upper" not in linux.services)  # NS destroy arrived
    await eventually(lambda: "sample: service withdrawn" in core.trace_text())
    core.stop()
