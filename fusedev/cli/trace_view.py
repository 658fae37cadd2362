"""`rpmsg-emu trace`: the emulator's rpmsg traffic, one line per message, like candump.

Live, it reads DIR/sys/kernel/debug/rpmsg_emu/trace_pipe (fusedev/kernel/rpmsg_trace.py)
with plain blocking reads: a client of the mount like any other program. `-w FILE` stores
the records in a capture file, `-r FILE` shows one again (fusedev/kernel/trace_record.py), with the
same filters and views, and without a mount.
"""
from __future__ import annotations

import json
import os
import string
from pathlib import Path
from typing import Iterable, Iterator, TextIO

from kernel_cfg import BoardError, rproc_id_from_name, soc_by_family

from fusedev.kernel.trace_record import (BoardInfo, Event, Message, Record, dump_line, parse_line,
                                  read_header, read_records, write_header)

TRACE_PIPE = "sys/kernel/debug/rpmsg_emu/trace_pipe"
SOC_FAMILY = "sys/devices/soc0/family"
CLASS_REMOTEPROC = "sys/class/remoteproc"
PRINTABLE = set(string.printable.encode()) - set(b"\t\n\r\x0b\x0c")
SHORT_PAYLOAD = 32  # bytes shown without --full
TIMESTAMPS = ("a", "d", "z")  # candump -t: absolute, delta, zero-based
# include/linux/rpmsg.h: RPMSG_ADDR_ANY (0xffffffff) is "any", never an endpoint's address.
RPMSG_ADDR_ANY = 0xFFFFFFFF


def board_of(root: Path) -> BoardInfo:
    """The SoC (sys/devices/soc0/family) and the cores (platform devices of the remoteproc
    class devices) of the board mounted at root; OSError when nothing is mounted there."""
    family = (root / SOC_FAMILY).read_text().strip()
    cores = []
    for entry in sorted((root / CLASS_REMOTEPROC).iterdir()):
        # remoteprocN -> ../../devices/platform/…/<core device>/remoteproc/remoteprocN
        cores.append(Path(os.readlink(entry)).parent.parent.name)
    return BoardInfo(family, tuple(cores))


def resolve_core(board: BoardInfo, core: str) -> str:
    """The device name of a core given as rproc id, TI name or device name; BoardError when
    the board has no such core (a filter that could never match would wait forever)."""
    device = core
    if core.isdigit() or _is_ti_name(core):
        if board.soc is None:
            raise BoardError("--core", core, "the capture does not name its SoC; give the "
                             "core's device name: " + ", ".join(board.cores))
        try:
            rid = int(core) if core.isdigit() else rproc_id_from_name(core)
            device = soc_by_family(board.soc).rproc(rid).device
        except KeyError as exc:
            raise BoardError("--core", core, exc.args[0]) from None
    if device not in board.cores:
        raise BoardError("--core", core, "no such core on this board; its cores: "
                         + (", ".join(_describe(board, c) for c in board.cores) or "none"))
    return device


def _is_ti_name(core: str) -> bool:
    try:
        rproc_id_from_name(core)
    except KeyError:
        return False
    return True


def _describe(board: BoardInfo, device: str) -> str:
    try:
        soc = soc_by_family(board.soc) if board.soc else None
    except KeyError:
        soc = None
    for rp in soc.rprocs if soc else ():
        if rp.device == device:
            return f"{device} ({rp.rproc_id}, {rp.id_name})"
    return device


def parse_addr(text: str) -> int:
    """An rpmsg address (decimal or 0x hex): a u32 other than RPMSG_ADDR_ANY."""
    try:
        addr = int(text, 0)
    except ValueError:
        raise BoardError("--addr", text, "not a number") from None
    if not 0 <= addr < RPMSG_ADDR_ANY:
        raise BoardError("--addr", text, "an rpmsg address is 0 to 0xfffffffe "
                         "(32 bits; 0xffffffff is RPMSG_ADDR_ANY)")
    return addr


def select(records: Iterable[Record], core: str | None, addr: int | None) -> Iterator[Record]:
    for record in records:
        if core is not None and record.core != core:
            continue
        if addr is not None and addr not in record.addresses():
            continue
        yield record


class Clock:
    """The time column as candump's -t shows it: a (absolute), d (delta to the previous line,
    0 for the first), z (since the first line)."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.first: float | None = None
        self.previous: float | None = None

    def stamp(self, time: float) -> float:
        if self.first is None:
            self.first = time
        previous, self.previous = self.previous, time
        if self.mode == "d":
            return 0.0 if previous is None else time - previous
        if self.mode == "z":
            return time - self.first
        return time


def format_record(record: Record, stamp: float, full: bool = False) -> str:
    """`time  core  tx  src -> dst  [len]  hex  'text'`; a name-service message decoded."""
    head = f"{stamp:17.6f}  {record.core:<16} "
    if isinstance(record, Event):
        fields = " ".join(f"{k}={json.dumps(v)}" for k, v in record.fields.items())
        return f"{head}{record.kind}  {fields}".rstrip()
    ns = record.announcement()
    line = (f"{head}{record.direction}  {record.src:>5} -> {record.dst:<5} "
            f"[{len(record.payload)}]  ")
    if ns is not None:
        line += f"ns {'destroy' if ns.destroy else 'create'} '{ns.name}' addr {ns.addr}"
        return line + (f"  {record.payload.hex(' ')}" if full else "")
    shown = record.payload if full else record.payload[:SHORT_PAYLOAD]
    more = "" if len(shown) == len(record.payload) else f" …(+{len(record.payload) - len(shown)})"
    text = "".join(chr(b) if b in PRINTABLE else "." for b in shown)
    return f"{line}{shown.hex(' ')}{more}  '{text}'"


def json_record(record: Record, stamp: float) -> str:
    """The record as one JSON line, `time` as the -t mode shows it, name service decoded."""
    obj = record.to_dict()
    obj["time"] = round(stamp, 6)
    if isinstance(record, Message) and (ns := record.announcement()) is not None:
        obj["ns"] = ns.to_dict()
    return json.dumps(obj)


def read_pipe(root: Path) -> Iterator[Record]:
    """Records from now on, forever; blocks between them."""
    with open(root / TRACE_PIPE, encoding="utf-8", buffering=1) as pipe:
        for line in pipe:
            yield parse_line(line)


def show(records: Iterable[Record], out: TextIO, *, timestamps: str = "a", full: bool = False,
         as_json: bool = False) -> None:
    """Print each record as it comes (flushed: a pipe reader sees it at once)."""
    clock = Clock(timestamps)
    for record in records:
        stamp = clock.stamp(record.time)
        line = json_record(record, stamp) if as_json else format_record(record, stamp, full)
        print(line, file=out, flush=True)


def write_capture(records: Iterable[Record], out: TextIO, board: BoardInfo) -> None:
    """A capture file: the header, then each record as it comes, flushed per line so that
    Ctrl-C loses nothing."""
    write_header(out, board)
    out.flush()
    for record in records:
        out.write(dump_line(record))
        out.flush()


def trace(out: TextIO, *, mount: Path | None = None, read: Path | None = None,
          write: Path | None = None, core: str | None = None, addr: str | None = None,
          timestamps: str = "a", full: bool = False, as_json: bool = False) -> None:
    """`rpmsg-emu trace`: from the mount (live) or a capture (-r), to out or a capture (-w).
    Raises BoardError for a filter that names no core or address of this board, OSError and
    CaptureError for files."""
    address = parse_addr(addr) if addr is not None else None
    if read is not None:
        with open(read, encoding="utf-8") as stream:
            board = read_header(stream, str(read))
            device = resolve_core(board, core) if core is not None else None
            show(select(read_records(stream, str(read)), device, address), out,
                 timestamps=timestamps, full=full, as_json=as_json)
        return
    assert mount is not None
    board = board_of(mount)
    device = resolve_core(board, core) if core is not None else None
    records = select(read_pipe(mount), device, address)
    if write is None:
        show(records, out, timestamps=timestamps, full=full, as_json=as_json)
        return
    with open(write, "w", encoding="utf-8") as capture:
        write_capture(records, capture, board)
