"""A writer that keeps a core's inbound ring full never makes the core look stuck.

While Linux posts messages as fast as the core gives buffers back, the core's RX pass always
finds more in the ring. On the board the remote CPU just keeps consuming; here the pass runs
in the core's trio loop, and one that never returned to the loop would look like a firmware
stuck in one step: the watchdog crashed the core and the writer's next write timed out
(ETIMEDOUT, after ~14 000 messages with the default 2 s watchdog; found by the benchmark's
sink stream, whose client this test uses). The pass now lets the loop run every
remote_fw/device_transport.py MESSAGES_PER_CHECKPOINT messages.
"""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from rpmsg_ioctl import create_ept

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts" / "bench"))
from cbuild import compile_c  # noqa: E402

pytestmark = pytest.mark.timeout(120)

M4F = Path("sys/class/remoteproc/remoteproc0")
STREAM_S = 2.0


@pytest.mark.board(firmware={9: "sink"},
                   core={9: {"watchdog_ms": 250, "config": {"report_every": 100}}})
def test_a_writer_streaming_for_longer_than_the_watchdog_keeps_the_core_running(
        emu, tmp_path: Path) -> None:
    # The benchmark's client: 496-byte writes back to back, in batches of 64, for STREAM_S;
    # any failed write ends it with the errno and exit status 1.
    writer = compile_c("echo_client.c", tmp_path, with_fuse=False)
    node = create_ept(emu.root, "flood", dst=14)
    done = subprocess.run([str(writer), "send", str(emu.root / "dev" / node), "496", "64",
                           str(STREAM_S)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    wrote = int(done.stdout.split()[0].removeprefix("msgs="))
    assert (emu.root / M4F / "state").read_text() == "running\n"
    # The sink counts every message it took (its trace line every 100): all of them arrive.
    trace = emu.root / "sys/kernel/debug/remoteproc/remoteproc0/trace0"
    expected = f"sink: {wrote // 100 * 100} messages"
    deadline = time.monotonic() + 10
    while expected not in trace.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    text = trace.read_text()
    assert "watchdog expired" not in text
    assert expected in text
