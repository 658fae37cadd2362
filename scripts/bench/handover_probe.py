"""Where a `--timing fast` round trip spends its time between Linux's thread and a core's.

In one process, without FUSE: Linux's side sends a 16-byte message to the echo firmware of a
core started as the emulator starts it (own thread, own trio loop) and waits for the reply in
its ISR. Each hand-over is stamped where it happens (Mailbox.try_send: a kick posted;
Mailbox.take: the receiver's ISR has it; DeviceTransport.take_received: the core's RX pass
runs, in its ISR's step since f18176b, in an RX task before), and the medians of every stage
are printed. Run it pinned (`taskset -c 1`) and not, e.g.

    taskset -c 1 .venv/bin/python scripts/bench/handover_probe.py 2000

docs/benchmarks.md ("Issue 14: the thread hand-over") has what it showed.
"""

from __future__ import annotations

import argparse
import statistics
import time

import trio

import remote_fw.device_transport as device_transport
import remote_fw.mailbox as mailbox
from remote_fw.core import RemoteCore
from remote_fw.timing import CoreTiming

WARMUP = 200
STAGES = ("kick -> core ISR", "core ISR -> RX pass", "RX pass -> reply kick",
          "reply kick -> Linux ISR", "Linux ISR -> on_receive", "round trip")

_stamps: dict[str, float] = {}


def _stamped(name: str, method):  # first stamp of each kind per round trip
    def wrapper(self, *args):
        result = method(self, *args)
        if name != "take" or result is not None:
            _stamps.setdefault(f"{name} {getattr(self, 'name', '')}", time.perf_counter())
        return result
    return wrapper


mailbox.Mailbox.try_send = _stamped("post", mailbox.Mailbox.try_send)
mailbox.Mailbox.take = _stamped("take", mailbox.Mailbox.take)
device_transport.DeviceTransport.take_received = _stamped(
    "rx", device_transport.DeviceTransport.take_received)


async def probe(rounds: int) -> list[list[float]]:
    """Per stage, the µs of every measured round trip."""
    async with trio.open_nursery() as nursery:
        core = RemoteCore("r5f0", timing=CoreTiming())
        core.start(nursery, "echo")
        nursery.start_soon(core.host.run)
        await core.settled()
        arrived = trio.lowlevel.ParkingLot()
        got: list[float] = []

        def on_receive(_src: int, _dst: int, _data: bytes) -> None:
            got.append(time.perf_counter())
            arrived.unpark_all()

        core.host.on_receive = on_receive
        rows: list[list[float]] = []
        for n in range(WARMUP + rounds):
            got.clear()
            _stamps.clear()
            t0 = time.perf_counter()
            core.host.send(1024, 14, bytes(16))
            while not got:
                await arrived.park()
            s = _stamps
            points = [t0, s.get("take r5f0 mbox rx"), s.get("rx "), s.get("post r5f0 mbox tx"),
                      s.get("take r5f0 mbox tx"), got[0]]
            if n >= WARMUP and None not in points:
                rows.append([(b - a) * 1e6 for a, b in zip(points, points[1:])]
                            + [(got[0] - t0) * 1e6])
            await trio.sleep(0)  # a client's gap between two round trips
        core.stop()
        nursery.cancel_scope.cancel()
    return [list(column) for column in zip(*rows)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rounds", type=int, nargs="?", default=2000)
    columns = trio.run(probe, parser.parse_args().rounds)
    for name, column in zip(STAGES, columns):
        print(f"{name:26} median {statistics.median(column):7.1f} µs")


if __name__ == "__main__":
    main()
