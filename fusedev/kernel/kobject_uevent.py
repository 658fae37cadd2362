"""Synthetic uevents: what a write to a `uevent` attribute is checked against.

Writing an action to `/sys/.../uevent` (devices, drivers, buses, modules) makes the kernel send
that uevent again; udev's `udevadm trigger` does it for every device. lib/kobject_uevent.c
`kobject_synth_uevent` accepts only the kernel's actions (`kobject_action_type`), optionally
followed by a UUID and `KEY=VALUE` arguments (`kobject_action_args`); anything else is EINVAL.
The emulator has no netlink listener to deliver the event to, so an accepted write only logs it.
"""
from __future__ import annotations

import errno
import logging
import re

from fusedev.fuse.fileops import FsError
from fusedev.kernel.sysfs_input import PAGE_SIZE

log = logging.getLogger(__name__)

# lib/kobject_uevent.c `kobject_actions[]`, in `enum kobject_action` order.
KOBJECT_ACTIONS = ("add", "remove", "change", "move", "online", "offline", "bind", "unbind")
UUID_STRING_LEN = 36
_UUID = re.compile(rb"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                   rb"[0-9a-fA-F]{12}")


def _chop(buf: bytes) -> bytes:
    """Both parsers drop one trailing newline or NUL (the `count--` of the kernel)."""
    return buf[:-1] if buf[-1:] in (b"\n", b"\0") else buf


def synth_uevent(data: bytes, where: str) -> None:
    """`kobject_synth_uevent`: accept `ACTION [UUID [KEY=VALUE ...]]`, else raise EINVAL."""
    raw = data[:PAGE_SIZE]
    buf = _chop(raw)
    action, space, _ = buf.partition(b" ")
    args = raw[len(action) + 1:]  # kobject_action_args gets the original count again
    # strncmp over the first word, then the action must end exactly there: a NUL inside the
    # word makes it differ, so the word must equal an action byte for byte.
    if not buf or action.decode("latin-1") not in KOBJECT_ACTIONS:
        log.warning("synth uevent: %s: unknown uevent action string", where)
        raise FsError(errno.EINVAL)
    if space and not _valid_args(args):
        log.warning("synth uevent: %s: incorrect uevent action arguments", where)
        raise FsError(errno.EINVAL)
    log.info("synth uevent: %s: %s (no listener in the emulator)", where,
             action.decode("latin-1"))


def _valid_args(args: bytes) -> bool:
    """`kobject_action_args`: a UUID, then ` KEY=VALUE` pairs of alphanumerics."""
    args = _chop(args)
    if len(args) < UUID_STRING_LEN or not _UUID.match(args):
        return False
    rest = args[UUID_STRING_LEN:]
    while rest:
        if rest[:1] != b" ":
            return False
        pair, _, _ = rest[1:].partition(b" ")
        key, equal, value = pair.partition(b"=")
        if not (equal and key.isalnum() and value.isalnum()):
            return False
        rest = rest[1 + len(pair):]
    return True


def uevent_store(where: str):
    """The store callback of a `uevent` attribute of the object at `where`."""
    return lambda data: synth_uevent(data, where)
