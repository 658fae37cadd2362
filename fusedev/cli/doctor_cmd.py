"""`rpmsg-emu doctor`: can this kernel (or a board's .config) run rpmsg_char? Can FUSE run here?

The check itself is kernel_cfg.kconfig_check; this adds what only the live system can tell:
whether the running kernel has an rpmsg bus at all, and whether the emulator can mount.
`--self` (fusedev/cli/doctor_self.py) checks the emulator's own needs instead.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence, TextIO

from kernel_cfg import check_rpmsg_char, read_running_config
from kernel_cfg.kconfig_file import merge_config_texts, read_config_text


def doctor(configs: Sequence[Path], soc: str | None, out: TextIO,
           version: tuple[int, int] | None = None) -> int:
    """Print the report; 0 when rpmsg_char can work with that kernel, 1 when not.
    Several configs are merged in order (a defconfig, then its fragments)."""
    if configs:
        text = merge_config_texts([read_config_text(path) for path in configs])
        report = check_rpmsg_char(text, soc=soc, source=" + ".join(map(str, configs)),
                                  version=version)
        out.write(report.render())
        return 0 if report.ok else 1
    running = read_running_config()
    if running.found:
        report = check_rpmsg_char(running.text, soc=soc, source=str(running.path),
                                  version=version)
        out.write(report.render())
        ok = report.ok
    else:
        out.write(f"{running.reason}\n")
        ok = False
    out.write(live_summary())
    return 0 if ok else 1


def live_summary() -> str:
    """Plain words about the running kernel: rpmsg present? FUSE usable for the emulator?"""
    has_rpmsg = Path("/sys/bus/rpmsg").is_dir()
    fuse = _fuse_state()
    lines = ["", f"This machine ({os.uname().machine}, Linux {os.uname().release}):"]
    if has_rpmsg:
        lines.append("  the running kernel has an rpmsg bus (/sys/bus/rpmsg).")
    else:
        lines.append("  the running kernel has no rpmsg (no /sys/bus/rpmsg): rpmsg_char cannot "
                     "work on it directly. That is expected on a PC.")
    lines.append(f"  rpmsg-emu needs only FUSE to fabricate /dev/rpmsg* and /sys: {fuse}")
    return "\n".join(lines) + "\n"


def _fuse_state() -> str:
    try:
        filesystems = Path("/proc/filesystems").read_text()
    except OSError:
        filesystems = ""
    if "\tfuse\n" not in filesystems and not Path("/dev/fuse").exists():
        return "NOT available (modprobe fuse; apt-get install fuse3)"
    if not os.access("/dev/fuse", os.R_OK | os.W_OK):
        return "available to root only (/dev/fuse is not rw for you)"
    return "available."
