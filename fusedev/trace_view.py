"""`rpmsg-emu trace DIR`: the emulator's rpmsg traffic, one line per message, like candump.

Reads DIR/sys/kernel/debug/rpmsg_emu/trace_pipe (see fusedev/kernel/rpmsg_trace.py for its
format) with plain blocking reads: this is a client of the mount like any other program.
"""
from __future__ import annotations

import string
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, TextIO

from kernel_cfg import BoardError, rproc_id_from_name, soc_by_family

TRACE_PIPE = "sys/kernel/debug/rpmsg_emu/trace_pipe"
SOC_FAMILY = "sys/devices/soc0/family"
PRINTABLE = set(string.printable.encode()) - set(b"\t\n\r\x0b\x0c")


@dataclass(frozen=True)
class Message:
    """One line of the trace pipe."""

    time: float
    core: str
    direction: str  # "tx": Linux → remote, "rx": remote → Linux
    src: int
    dst: int
    payload: bytes

    @classmethod
    def parse(cls, line: str) -> "Message":
        time, core, direction, src, dst, _length, payload = line.rstrip("\n").split("\t")
        return cls(float(time), core, direction, int(src), int(dst), bytes.fromhex(payload))


def format_message(msg: Message) -> str:
    """`  time  core  tx  src -> dst  [len]  hex  'text'` (dots for unprintable bytes)."""
    text = "".join(chr(b) if b in PRINTABLE else "." for b in msg.payload)
    return (f"{msg.time:14.6f}  {msg.core:<16} {msg.direction}  {msg.src:>5} -> {msg.dst:<5} "
            f"[{len(msg.payload)}]  {msg.payload.hex(' ')}  '{text}'")


def core_name(root: Path, core: str) -> str:
    """A core as the trace names it (its platform device), given that name, an rproc id or a
    TI name; ids and names are looked up in the emulated SoC (sys/devices/soc0/family)."""
    try:
        rid = int(core) if core.isdigit() else rproc_id_from_name(core)
    except KeyError:
        return core  # a device name such as 5000000.m4fss
    try:
        family = (root / SOC_FAMILY).read_text().strip()
        return soc_by_family(family).rproc(rid).device
    except OSError as exc:
        raise BoardError("--core", core, f"cannot read the SoC of {root}: {exc.strerror}") from None
    except KeyError as exc:
        raise BoardError("--core", core, exc.args[0]) from None


def select(messages: Iterable[Message], core: str | None, addr: int | None) -> Iterator[Message]:
    for msg in messages:
        if core is not None and msg.core != core:
            continue
        if addr is not None and addr not in (msg.src, msg.dst):
            continue
        yield msg


def read_pipe(root: Path) -> Iterator[Message]:
    """Messages from now on, forever; blocks between them."""
    with open(root / TRACE_PIPE, encoding="ascii", buffering=1) as pipe:
        for line in pipe:
            yield Message.parse(line)


def show(root: Path, out: TextIO, core: str | None = None, addr: int | None = None) -> None:
    for msg in select(read_pipe(root), core, addr):
        print(format_message(msg), file=out, flush=True)
