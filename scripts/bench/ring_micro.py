"""In-process cost of the ring + header path per message, without FUSE, threads or the model.

One round = Linux's send() (header, payload, descriptor, avail ring), the core's
take_received() and try_send() of the reply, and Linux's RX bottom half (_drain_rx) handing it
to on_receive: two messages through both vrings, as in one echo. Kicks are not posted (each
side's kick is a no-op here: the mailbox is not ring work). Prints the median and the best
over --repeats of the mean ns per round for each payload size.

    .venv/bin/python scripts/bench/ring_micro.py [--tree DIR] [--rounds N] [--repeats R]

--tree DIR puts DIR first on sys.path, to time another revision's remote_fw (a `git archive`,
with its compiled module if it has one) in the same way: the transports' API is the same.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time


def one_size(size: int, rounds: int) -> float:
    from remote_fw import Mailbox, SharedMemory
    from remote_fw.device_transport import DeviceTransport
    from remote_fw.host_transport import HostTransport

    shm = SharedMemory()
    host = HostTransport(shm, Mailbox("rx"), Mailbox("tx"))
    device = DeviceTransport(shm, Mailbox("rx"), Mailbox("tx"))
    host._kicks.kick = device._kicks.kick = lambda *_args: None
    got: list[bytes] = []
    host.on_receive = lambda _s, _d, p: got.append(p)
    payload = bytes(range(256)) * 2
    payload = payload[:size]
    send, take, reply, drain = host.send, device.take_received, device.try_send, host._drain_rx
    start = time.perf_counter_ns()
    for _ in range(rounds):
        send(1024, 14, payload)
        for src, dst, data in take():
            reply(dst, src, data)
        drain()
    elapsed = time.perf_counter_ns() - start
    assert len(got) == rounds and got[-1] == payload
    return elapsed / rounds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tree", help="time the remote_fw of this directory instead")
    parser.add_argument("--rounds", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    if args.tree:
        sys.path.insert(0, args.tree)
    import remote_fw

    print(f"remote_fw from {remote_fw.__file__}")
    for size in (16, 64, 496):
        runs = [one_size(size, args.rounds) for _ in range(args.repeats)]
        print(f"{size:4d} B: median {statistics.median(runs):6.0f} ns per echo (2 messages), "
              f"best {min(runs):.0f}")


if __name__ == "__main__":
    main()
