"""What `rpmsg-emu trace` shows and stores: trace records, their JSON form, capture files.

One record per JSON line, with an event `kind`. The trace pipe
(fusedev/kernel/rpmsg_trace.py) writes `message` records; other kinds (fault injection,
core state) carry their own fields and are shown generically, so a newer emulator's records
stay readable by an older viewer. A capture file (`trace -w`) is a header line followed by
records exactly as the pipe gives them (docs/cli.md, "Capture files").
"""
from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from typing import Any, Iterator, TextIO, Union

CAPTURE_FORMAT = "rpmsg-emu-trace"
CAPTURE_VERSION = 1

# include/linux/rpmsg/ns.h: struct rpmsg_ns_msg { char name[RPMSG_NAME_SIZE]; __rpmsg32 addr;
# __rpmsg32 flags; } sent to RPMSG_NS_ADDR; rpmsg_ns.c `rpmsg_ns_cb` takes only messages of
# exactly that size, forces name[31] to NUL and tests flags & RPMSG_NS_DESTROY.
RPMSG_NS_ADDR = 53
NS_MSG = struct.Struct("<32sII")
RPMSG_NS_DESTROY = 1


class CaptureError(ValueError):
    """A file that is not an rpmsg-emu capture, or a damaged record in one."""


@dataclass(frozen=True)
class Announcement:
    """A decoded name-service message."""

    name: str
    addr: int
    destroy: bool

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "addr": self.addr,
                "flags": "destroy" if self.destroy else "create"}


@dataclass(frozen=True)
class Message:
    """One rpmsg message; direction "tx" is Linux → remote, "rx" remote → Linux."""

    time: float
    core: str
    direction: str
    src: int
    dst: int
    payload: bytes
    kind: str = field(default="message", init=False)

    def announcement(self) -> Announcement | None:
        """The name-service message this is, decoded as rpmsg_ns_cb reads it; else None."""
        if self.dst != RPMSG_NS_ADDR or len(self.payload) != NS_MSG.size:
            return None
        raw, addr, flags = NS_MSG.unpack(self.payload)
        name = raw[:31].split(b"\0", 1)[0].decode("utf-8", errors="replace")
        return Announcement(name, addr, bool(flags & RPMSG_NS_DESTROY))

    def addresses(self) -> tuple[int, ...]:
        return (self.src, self.dst)

    def to_dict(self) -> dict[str, Any]:
        return {"time": self.time, "kind": self.kind, "core": self.core,
                "dir": self.direction, "src": self.src, "dst": self.dst,
                "len": len(self.payload), "data": self.payload.hex()}


@dataclass(frozen=True)
class Event:
    """A record of any other kind; its fields are kept as they came."""

    time: float
    core: str
    kind: str
    fields: dict[str, Any]

    def addresses(self) -> tuple[int, ...]:
        return tuple(v for k, v in self.fields.items()
                     if k in ("addr", "src", "dst") and isinstance(v, int))

    def to_dict(self) -> dict[str, Any]:
        return {"time": self.time, "kind": self.kind, "core": self.core, **self.fields}


Record = Union[Message, Event]


def record_from_dict(obj: Any) -> Record:
    """A record from its JSON object; ValueError/KeyError/TypeError when malformed."""
    if not isinstance(obj, dict):
        raise TypeError("not a JSON object")
    time, kind, core = float(obj["time"]), str(obj["kind"]), str(obj["core"])
    if kind == "message":
        direction = str(obj["dir"])
        if direction not in ("tx", "rx"):
            raise ValueError(f"direction {direction!r}")
        return Message(time, core, direction, int(obj["src"]), int(obj["dst"]),
                       bytes.fromhex(obj["data"]))
    rest = {k: v for k, v in obj.items() if k not in ("time", "kind", "core")}
    return Event(time, core, kind, rest)


def parse_line(line: str) -> Record:
    """One JSON line of the trace pipe or of a capture file."""
    try:
        return record_from_dict(json.loads(line))
    except (ValueError, KeyError, TypeError) as exc:
        raise CaptureError(f"not a trace record ({exc})") from None


def dump_line(record: Record) -> str:
    return json.dumps(record.to_dict(), separators=(",", ":")) + "\n"


@dataclass(frozen=True)
class BoardInfo:
    """What a trace needs to know of the board: its SoC and the cores it has (device names)."""

    soc: str | None
    cores: tuple[str, ...]


def write_header(out: TextIO, board: BoardInfo) -> None:
    header = {"format": CAPTURE_FORMAT, "version": CAPTURE_VERSION, "soc": board.soc,
              "cores": list(board.cores)}
    out.write(json.dumps(header, separators=(",", ":")) + "\n")


def read_header(stream: TextIO, name: str) -> BoardInfo:
    """The capture's header line; CaptureError when the file is not a capture we can read."""
    first = stream.readline()
    try:
        header = json.loads(first)
        ok = isinstance(header, dict) and header.get("format") == CAPTURE_FORMAT
    except ValueError:
        ok = False
    if not ok:
        raise CaptureError(f"{name}: not an rpmsg-emu capture (written by `rpmsg-emu trace -w`)")
    if header.get("version") != CAPTURE_VERSION:
        raise CaptureError(f"{name}: capture format version {header.get('version')!r}; "
                           f"this rpmsg-emu reads version {CAPTURE_VERSION}")
    soc = header.get("soc")
    return BoardInfo(soc if isinstance(soc, str) else None,
                     tuple(str(c) for c in header.get("cores") or ()))


def read_records(stream: TextIO, name: str) -> Iterator[Record]:
    """The records after the header. A last line cut short (the writer was killed mid-line)
    is skipped; any other damaged line is an error naming the line."""
    for number, line in enumerate(stream, start=2):
        if not line.strip():
            continue
        try:
            yield parse_line(line)
        except CaptureError as exc:
            if not line.endswith("\n"):
                return
            raise CaptureError(f"{name}:{number}: {exc}") from None
