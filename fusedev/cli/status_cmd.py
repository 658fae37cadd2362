"""`rpmsg-emu status DIR [--json]`: what a mounted board shows, read as a user would read it.

Everything comes from the mounted tree, the way one inspects a real board: the cores from
`/sys/class/remoteproc/*/{name,state,firmware}`, the channels from `/sys/bus/rpmsg/devices`,
the eptdevs and control devices from `/sys/class/rpmsg`; a device's core is the
`remoteprocN` in its resolved sysfs path. TI's rproc id and core name come from the SoC table
(`kernel_cfg`), as TI's library finds them. The daemon's pid and board name come from our own
`/sys/kernel/debug/rpmsg_emu/daemon` (fusedev/kernel/emu_debugfs.py).

Who holds a device open is found as fuser(1) and lsof find it: every process's descriptors in
`/proc/PID/fd` that point into `DIR/dev`. That is who holds it now — also after a fork, a dup
or a descriptor passed over a socket — rather than who once opened it. As with fuser, an
ordinary user sees only their own processes; `hidden_processes` counts the others.
"""
from __future__ import annotations

import errno
import os
import re
from pathlib import Path
from typing import Any

from kernel_cfg import soc_by_family

from fusedev.fuse import mountpoint
from fusedev.kernel.emu_debugfs import DAEMON_FILE, parse_daemon_file

DELETED = " (deleted)"


def board_status(path: Path) -> dict[str, Any]:
    """The status of the board mounted at `path`, as plain data (the `--json` output)."""
    root = Path(mountpoint.rpmsg_emu_mount(path))
    if mountpoint.is_stale(root):
        raise OSError(errno.ENOTCONN, "its daemon is gone (rpmsg-emu umount clears it)",
                      str(root))
    sys_dir = root / "sys"
    daemon = parse_daemon_file(_read(root / DAEMON_FILE) or "")
    family = _read(sys_dir / "devices/soc0/family")
    ids = _rproc_ids(family)
    cores = []
    for rproc in _listdir(sys_dir / "class/remoteproc"):
        attrs = sys_dir / "class/remoteproc" / rproc
        device = _read(attrs / "name")
        rproc_id, ti_name = ids.get(device, (None, None))
        cores.append({"remoteproc": rproc, "device": device, "rproc_id": rproc_id,
                      "ti_name": ti_name, "state": _read(attrs / "state"),
                      "firmware": _read(attrs / "firmware")})
    channels = []
    for name in _listdir(sys_dir / "bus/rpmsg/devices"):
        attrs = sys_dir / "bus/rpmsg/devices" / name
        channels.append({"device": name, "name": _read(attrs / "name"),
                         "src": _number(_read(attrs / "src")),
                         "dst": _number(_read(attrs / "dst")),
                         "remoteproc": _remoteproc_of(attrs)})
    holders, hidden = _holders(root / "dev")
    eptdevs, ctrls = [], []
    for name in _listdir(sys_dir / "class/rpmsg"):
        attrs = sys_dir / "class/rpmsg" / name
        entry: dict[str, Any] = {"dev": name, "node": str(root / "dev" / name),
                                 "remoteproc": _remoteproc_of(attrs)}
        if name.startswith("rpmsg_ctrl"):
            ctrls.append(entry)
        else:
            entry.update(name=_read(attrs / "name"), src=_number(_read(attrs / "src")),
                         dst=_number(_read(attrs / "dst")))
            eptdevs.append(entry)
        entry["holders"] = holders.get(name, [])
    return {"root": str(root),
            "daemon": {"pid": _number(daemon.get("pid")), "board": daemon.get("board")},
            "soc": {"family": family, "machine": _read(sys_dir / "devices/soc0/machine")},
            "cores": cores, "channels": channels, "eptdevs": eptdevs, "ctrls": ctrls,
            "hidden_processes": hidden}


def format_text(status: dict[str, Any]) -> str:
    """The human-readable form: one line per core, channel and device."""
    daemon, soc = status["daemon"], status["soc"]
    lines = [f"board {daemon['board'] or '?'} ({soc['family']}, {soc['machine']}) at "
             f"{status['root']}, daemon pid {daemon['pid'] or '?'}", "cores:"]
    for core in status["cores"]:
        rid = ("" if core["rproc_id"] is None
               else f"rproc id {core['rproc_id']:2d} {core['ti_name']}")
        lines.append(f"  {core['remoteproc']:<12} {core['device']:<16} {core['state']:<9} "
                     f"{rid:<24} firmware {core['firmware']}")
    lines.append("channels:")
    for ch in status["channels"]:
        lines.append(f"  {ch['remoteproc'] or '-':<12} {ch['name']:<24} src {ch['src']!s:<6} "
                     f"dst {ch['dst']}")
    lines.append("devices:")
    for dev in status["ctrls"] + status["eptdevs"]:
        what = (f"{dev['name']} src {dev['src']} dst {dev['dst']}" if "name" in dev
                else "control")
        held = ", ".join(f"{h['pid']} ({h['command']})" for h in dev["holders"]) or "nobody"
        lines.append(f"  {dev['node']:<24} {dev['remoteproc'] or '-':<12} {what:<32} "
                     f"held by {held}")
    if status["hidden_processes"]:
        lines.append(f"({status['hidden_processes']} processes of other users not inspected; "
                     "run as root to see their holders)")
    return "\n".join(lines)


def _holders(dev_dir: Path) -> tuple[dict[str, list[dict[str, Any]]], int]:
    """Device name → the processes with a descriptor open on DIR/dev/NAME; and how many
    processes could not be inspected (another user's, when we are not root)."""
    prefix = f"{dev_dir}/"
    found: dict[str, list[dict[str, Any]]] = {}
    hidden = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            fds = os.listdir(f"/proc/{entry}/fd")
        except PermissionError:
            hidden += 1
            continue
        except OSError:  # gone meanwhile
            continue
        names = set()
        for fd in fds:
            try:
                target = os.readlink(f"/proc/{entry}/fd/{fd}")
            except OSError:
                continue
            if target.startswith(prefix):
                names.add(target[len(prefix):].removesuffix(DELETED))
        for name in sorted(names):
            found.setdefault(name, []).append({"pid": int(entry), "command": _comm(entry)})
    return found, hidden


def _comm(pid: str) -> str:
    try:
        with open(f"/proc/{pid}/comm", encoding="utf-8", errors="replace") as file:
            return file.read().strip()
    except OSError:
        return "?"


def _rproc_ids(family: str | None) -> dict[str, tuple[int, str]]:
    """Platform device name → (TI rproc id, TI name) on this SoC."""
    try:
        soc = soc_by_family(family or "")
    except KeyError:
        return {}
    return {rp.device: (rp.rproc_id, rp.id_name) for rp in soc.rprocs}


def _remoteproc_of(sysfs_dir: Path) -> str | None:
    """The remoteprocN a device hangs under, from its resolved sysfs path."""
    match = re.search(r"/(remoteproc\d+)/", os.path.realpath(sysfs_dir) + "/")
    return match.group(1) if match else None


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _listdir(path: Path) -> list[str]:
    try:
        names = os.listdir(path)
    except FileNotFoundError:
        return []
    return sorted(names, key=lambda n: [int(t) if t.isdigit() else t
                                        for t in re.split(r"(\d+)", n)])


def _number(text: str | None) -> int | str | None:
    try:
        return int(text, 0) if text is not None else None  # bus attrs are hex (0x%x)
    except ValueError:
        return text
