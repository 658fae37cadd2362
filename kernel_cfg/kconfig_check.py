"""Does a kernel .config support rpmsg_char on a TI K3 SoC? The brain of `rpmsg-emu doctor`.

The symbols, their dependencies and the versions they appeared in come from the kernel's
Kconfig files (drivers/rpmsg/Kconfig, drivers/remoteproc/Kconfig, drivers/mailbox/Kconfig,
arch/arm64/Kconfig.platforms). A defconfig is read as Kconfig reads it: symbols turned on by
another one's `select` count as on (kconfig_facts.py). A PC kernel (x86_64, no rpmsg) is the
normal case for the emulator itself and is reported as such, not as a broken config.
"""

from __future__ import annotations

import gzip
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from .kconfig_facts import ARCH_OF_SYMBOL, Resolved, Version, resolve
from .soc import Soc, soc_by_family

_SET_RE = re.compile(r"CONFIG_([A-Za-z0-9_]+)=(.*)")
_UNSET_RE = re.compile(r"# CONFIG_([A-Za-z0-9_]+) is not set")
_HEADER_RE = re.compile(r"# Linux/(\S+) (\d+)\.(\d+)\S* Kernel Configuration")


class Severity(str, Enum):
    OK = "ok"
    MISSING_REQUIRED = "missing-required"
    MISSING_OPTIONAL = "missing-optional"
    WRONG_ARCH = "wrong-arch"


@dataclass(frozen=True)
class Finding:
    """One symbol: what the config has, what it needs, and the lines that fix it."""

    symbol: str
    found: str | None  # "y", "m", "n" (is not set), a string value, or None (absent)
    needs: str
    severity: Severity
    fragment: tuple[str, ...] = ()
    note: str = ""
    selected_by: str | None = None  # on because this symbol selects it ("RPMSG_VIRTIO=m")


@dataclass(frozen=True)
class Report:
    """Result of a check: findings in dependency order plus plain-language notes."""

    source: str
    arch: str
    version: tuple[int, int] | None
    findings: tuple[Finding, ...]
    notes: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """True when this kernel can run rpmsg_char on a TI K3 SoC."""
        return not any(f.severity in (Severity.MISSING_REQUIRED, Severity.WRONG_ARCH)
                       for f in self.findings)

    @property
    def is_k3(self) -> bool:
        return not any(f.severity is Severity.WRONG_ARCH for f in self.findings)

    def finding(self, symbol: str) -> Finding:
        for f in self.findings:
            if f.symbol == symbol:
                return f
        raise KeyError(symbol)

    def fragment(self, include_optional: bool = False) -> str:
        """The config lines to add, each once, in dependency order."""
        wanted = {Severity.MISSING_REQUIRED} | (
            {Severity.MISSING_OPTIONAL} if include_optional else set())
        lines: list[str] = []
        for f in self.findings:
            if f.severity in wanted:
                lines += [line for line in f.fragment if line not in lines]
        return "".join(line + "\n" for line in lines)

    def render(self) -> str:
        """Human-readable text for `rpmsg-emu doctor`."""
        ver = f"Linux {self.version[0]}.{self.version[1]}" if self.version else "version unknown"
        out = [f"rpmsg_char on TI K3: checking {self.source or 'kernel config'} "
               f"({self.arch}, {ver})"]
        label = {Severity.OK: "ok", Severity.MISSING_REQUIRED: "MISSING",
                 Severity.MISSING_OPTIONAL: "optional", Severity.WRONG_ARCH: "WRONG ARCH"}
        for f in self.findings:
            found = " absent" if f.found is None else (" is not set" if f.found == "n"
                                                       else f"={f.found}")
            if f.selected_by:  # a defconfig leaves selected symbols out
                found = (f" (selected by {f.selected_by})" if f.found is None
                         else f"{found}, but selected by {f.selected_by}")
            out.append(f"  {label[f.severity]:<10} CONFIG_{f.symbol}{found}")
            if f.severity is not Severity.OK:
                out.append(f"             needs: {f.needs}")
            if f.note:
                out.append(f"             {f.note}")
        if self.ok:
            out.append("Result: OK, rpmsg_char can work with this kernel")
        elif not self.is_k3:
            out.append(f"Result: not a TI K3 kernel ({self.arch}); rpmsg_char cannot work here "
                       "(expected on a PC: use the emulator)")
        else:
            out.append("Result: NOT OK for rpmsg_char on a TI K3 board")
        required, optional = self.fragment(), self.fragment(include_optional=True)
        if required:
            out += [("Add these lines to the kernel config (then make olddefconfig):"
                     if self.is_k3 else "An arm64 TI K3 kernel would also need:"),
                    *("  " + line for line in required.splitlines())]
        if optional != required:
            out += ["Optional extras:",
                    *("  " + line for line in optional.splitlines()
                      if line + "\n" not in required)]
        out += [f"Note: {n}" for n in self.notes]
        return "\n".join(out) + "\n"


@dataclass(frozen=True)
class RunningConfig:
    """The running kernel's config, or why it could not be found."""

    path: Path | None
    text: str | None
    reason: str = ""

    @property
    def found(self) -> bool:
        return self.text is not None


def parse_config(text: str) -> dict[str, str]:
    """Symbol (without CONFIG_) → value: y, m, n (for "is not set"), or the unquoted string."""
    values: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if m := _UNSET_RE.fullmatch(line):
            values[m.group(1)] = "n"
        elif m := _SET_RE.fullmatch(line):
            value = m.group(2)
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
            values[m.group(1)] = value
    return values


def parse_header(text: str) -> tuple[str | None, tuple[int, int] | None]:
    """(arch, (major, minor)) from the "# Linux/arm64 6.6.58 Kernel Configuration" line."""
    m = _HEADER_RE.search(text)
    return (m.group(1), (int(m.group(2)), int(m.group(3)))) if m else (None, None)


def config_arch(config: Mapping[str, str], header_arch: str | None = None) -> str:
    """The architecture a config is for, from its arch symbols (header as fallback)."""
    for symbol, arch in (("ARM64", "arm64"), ("X86_64", "x86_64"), ("X86", "x86"),
                         ("ARM", "arm"), ("RISCV", "riscv")):
        if config.get(symbol) == "y":
            return arch
    if header_arch:
        return header_arch
    for symbol, arch in ARCH_OF_SYMBOL.items():  # a defconfig never names ARM64 itself
        if symbol in config:
            return arch
    return "unknown"


def read_running_config(release: str | None = None,
                        proc_config: Path = Path("/proc/config.gz"),
                        boot_dir: Path = Path("/boot")) -> RunningConfig:
    """Find the running kernel's config: /proc/config.gz, then /boot/config-$(uname -r)."""
    release = release or os.uname().release
    boot_config = boot_dir / f"config-{release}"
    problems = []
    try:
        return RunningConfig(proc_config, gzip.decompress(proc_config.read_bytes()).decode(
            errors="replace"))
    except FileNotFoundError:
        problems.append(f"{proc_config} does not exist (kernel without CONFIG_IKCONFIG_PROC; "
                        "`modprobe configs` may add it)")
    except (OSError, EOFError, gzip.BadGzipFile) as e:
        problems.append(f"{proc_config} is unreadable: {e}")
    try:
        return RunningConfig(boot_config, boot_config.read_text(errors="replace"))
    except OSError as e:
        problems.append(f"{boot_config}: {e.strerror}")
    return RunningConfig(None, None, "kernel config not found: " + "; ".join(problems))


# Remoteproc driver per core kind (drivers/remoteproc/Kconfig: TI_K3_{R5,DSP,M4}_REMOTEPROC).
_RPROC_DRIVERS = {"R5F": "TI_K3_R5_REMOTEPROC", "C66": "TI_K3_DSP_REMOTEPROC",
                  "C71": "TI_K3_DSP_REMOTEPROC", "M4F": "TI_K3_M4_REMOTEPROC"}
_DRIVER_NEEDS = ("tristate; depends on ARCH_K3, TI_SCI_PROTOCOL and OMAP2PLUS_MBOX "
                 "(\"select\" before ≈6.12)")
# The core TI's rpmsg_char demo talks to on a SoC (`rpmsg_char_simple -r 9` in TI's AM62x
# docs): its driver is required, the other cores' drivers are extras.
_DEMO_RPROC_ID = {"AM62X": 9}
# Mainline has the M4F driver since 6.12 (commit ebcf9008a895, "remoteproc: k3-m4: Add a
# remoteproc driver for M4F subsystem"); TI's vendor trees (ti-linux-6.1.y, 6.6.y) carry it
# under the same symbol before that (ti_k3_m4_remoteproc.c, © 2021 TI).
_M4_MAINLINE = (6, 12)


def check_rpmsg_char(config: str | Mapping[str, str], *, soc: Soc | str | None = None,
                     source: str = "", version: Version | None = None) -> Report:
    """Check a .config or defconfig (text or parsed) for rpmsg_char on TI K3; `soc` narrows
    the remoteproc drivers to the core kinds that SoC has and requires the one of the core
    TI's demo uses; `version` overrides (or supplies) the header's kernel version."""
    if isinstance(config, str):
        header_arch, header_version = parse_header(config)
        values = parse_config(config)
    else:
        header_arch, header_version, values = None, None, dict(config)
    full_config = header_version is not None  # written by kconfig: every visible symbol listed
    version = version or header_version
    if isinstance(soc, str):
        soc = soc_by_family(soc)
    arch = config_arch(values, header_arch)
    checker = _Checker(values, version, full_config)
    notes = []

    if arch != "arm64":
        checker.add(Finding("ARCH_K3", values.get("ARCH_K3"), "an arm64 kernel (ARCH_K3 is an "
                            "ARM64 platform)", Severity.WRONG_ARCH,
                            note=f"this config is for {arch}"))
        fuse = values.get("FUSE_FS")
        notes.append(
            f"This kernel config is for {arch}, not for an arm64 TI K3 board: it has no K3 "
            "remote cores and (as expected) no rpmsg_char support. That is the normal case when rpmsg-emu runs "
            "on a PC: the emulator fabricates /dev/rpmsg* and /sys itself and needs only FUSE "
            f"(CONFIG_FUSE_FS is {'=' + fuse if fuse else 'absent'}). Run this check on your "
            "board's kernel config to see what the board needs.")
    else:
        checker.need("ARCH_K3", "y", "bool; the TI K3 platform (arm64)")
    checker.need("NET", "y", "bool; RPMSG_CHAR queues messages in sk_buffs")
    checker.need("VIRTIO", "y", "selected by RPMSG_VIRTIO and REMOTEPROC",
                 fix=("CONFIG_RPMSG_VIRTIO=m",))
    checker.need("RPMSG", "m", "tristate without prompt; selected by RPMSG_VIRTIO",
                 fix=("CONFIG_RPMSG_VIRTIO=m",))
    checker.need("RPMSG_VIRTIO", "m", "depends on HAS_DMA; selects RPMSG, RPMSG_NS, VIRTIO; "
                 "not selected by the K3 remoteproc drivers, so enable it explicitly")
    if version is None or version >= (5, 11):
        checker.need("RPMSG_NS", "m", "stand-alone name service since 5.11; selected by "
                     "RPMSG_VIRTIO", fix=("CONFIG_RPMSG_VIRTIO=m",))
    checker.need("RPMSG_CHAR", "m", "depends on RPMSG and NET; gives /dev/rpmsgN",
                 fix=("CONFIG_NET=y", "CONFIG_RPMSG_CHAR=m") if not checker.on("NET")
                 else ("CONFIG_RPMSG_CHAR=m",))
    if version is None or version >= (5, 18):
        checker.need("RPMSG_CTRL", "m", "split out of RPMSG_CHAR in 5.18 and NOT selected by "
                     "it: without it there is no /dev/rpmsg_ctrlN; depends on RPMSG && "
                     "(RPMSG_CHAR || RPMSG_CHAR=n)",
                     note=_ctrl_note(values))
    else:
        notes.append("Kernel before 5.18: /dev/rpmsg_ctrlN comes from RPMSG_CHAR itself "
                     "(RPMSG_CTRL does not exist yet). Remember to add CONFIG_RPMSG_CTRL when "
                     "upgrading to 5.18 or later.")
    checker.need("REMOTEPROC", "y", "bool; selects VIRTIO, FW_LOADER, CRC32")
    checker.need("REMOTEPROC_CDEV", "y", "bool inside REMOTEPROC (5.9+): /dev/remoteprocN",
                 required=False)
    checker.need("MAILBOX", "y", "bool; the mailbox framework")
    checker.need("OMAP2PLUS_MBOX", "m", "depends on MAILBOX and ARCH_OMAP2PLUS || ARCH_K3; "
                 "the K3 remoteproc drivers depend on it (≈6.12+) or select it")
    checker.need("TI_MESSAGE_MANAGER", "y", "TI_SCI_PROTOCOL depends on it")
    checker.need("TI_SCI_PROTOCOL", "y", "depends on TI_MESSAGE_MANAGER; boots the cores "
                 "through the system firmware", fix=("CONFIG_TI_MESSAGE_MANAGER=y",
                                                     "CONFIG_TI_SCI_PROTOCOL=y"))
    checker.remoteproc_drivers(soc)
    if version is None:
        notes.append("No kernel version in the config header; assumed 5.18 or later "
                     "(give it with --kernel-version).")
    return Report(source, arch, version, tuple(checker.findings), tuple(notes))


def _ctrl_note(values: Mapping[str, str]) -> str:
    if values.get("RPMSG_CTRL") == "y" and values.get("RPMSG_CHAR") == "m":
        return "RPMSG_CTRL cannot be =y while RPMSG_CHAR=m; olddefconfig lowers it to =m"
    if values.get("RPMSG_CHAR") in ("y", "m") and values.get("RPMSG_CTRL") not in ("y", "m"):
        return "the 5.18 upgrade trap: RPMSG_CHAR is set, RPMSG_CTRL is not"
    return ""


class _Checker:
    """Accumulates findings; knows whether a symbol counts as enabled (selects included)."""

    def __init__(self, values: Mapping[str, str], version: Version | None,
                 full_config: bool = False):
        self.values = values
        self.version = version
        self.full_config = full_config
        self.resolved = resolve(values, version)
        self.findings: list[Finding] = []

    def on(self, symbol: str) -> bool:
        return self._resolved(symbol).value in ("y", "m")

    def _resolved(self, symbol: str) -> Resolved:
        return self.resolved.get(symbol, Resolved(None))

    def add(self, finding: Finding) -> None:
        self.findings.append(finding)

    def need(self, symbol: str, value: str, needs: str, *, required: bool = True,
             fix: tuple[str, ...] | None = None, note: str = "") -> None:
        if self.on(symbol):
            severity = Severity.OK
        else:
            severity = Severity.MISSING_REQUIRED if required else Severity.MISSING_OPTIONAL
        self.add(Finding(symbol, self.values.get(symbol), needs, severity,
                         fix or (f"CONFIG_{symbol}={value}",), note,
                         self._resolved(symbol).selected_by))

    def remoteproc_drivers(self, soc: Soc | None) -> None:
        """With a SoC whose demo core is known (AM62x: the M4F), that core's driver is
        required and the others are extras; otherwise at least one K3 driver is."""
        cores: dict[str, list[str]] = {}
        for rp in (soc.rprocs if soc else ()):
            cores.setdefault(_RPROC_DRIVERS[rp.kind], []).append(rp.id_name)
        drivers = sorted(cores) if soc else sorted(set(_RPROC_DRIVERS.values()))
        demo = soc.rproc(_DEMO_RPROC_ID[soc.family]) if soc and soc.family in \
            _DEMO_RPROC_ID else None
        demo_driver = _RPROC_DRIVERS[demo.kind] if demo else None
        any_on = any(self.on(d) for d in drivers)
        where = f" on {soc.family}" if soc else ""
        for driver in drivers:
            used_by = f"for {', '.join(cores[driver])}{where}" if soc else "for its core kind"
            notes = []
            if self.on(driver):
                severity = Severity.OK
            elif driver == demo_driver:
                severity = Severity.MISSING_REQUIRED
                notes.append(f"{demo.id_name} ({demo.rproc_id}) is the core of TI's rpmsg_char "
                             f"demo on {soc.family} (rpmsg_char_simple -r {demo.rproc_id})")
            elif demo_driver is not None or any_on:
                severity = Severity.MISSING_OPTIONAL
            else:
                severity = Severity.MISSING_REQUIRED
                notes.append("at least one K3 remoteproc driver is required: "
                             + ", ".join(drivers))
            if driver == "TI_K3_M4_REMOTEPROC" and not self.on(driver):
                notes.append(self._m4_note())
            self.add(Finding(driver, self.values.get(driver), f"{_DRIVER_NEEDS}; {used_by}",
                             severity, (f"CONFIG_{driver}=m",), "; ".join(n for n in notes if n)))

    def _m4_note(self) -> str:
        """Where the M4F driver comes from, and whether this kernel has it at all."""
        absent = ("TI_K3_M4_REMOTEPROC" not in self.values and self.full_config
                  and any(d in self.values for d in ("TI_K3_R5_REMOTEPROC",
                                                     "TI_K3_DSP_REMOTEPROC")))
        if absent:  # its siblings are listed, it is not: the symbol does not exist here
            return ("this kernel has no TI_K3_M4_REMOTEPROC at all: mainline has the M4F "
                    "driver since 6.12, TI's vendor kernels (ti-linux-6.1.y, 6.6.y) before")
        if self.version and self.version < _M4_MAINLINE:
            return ("mainline has the M4F driver since 6.12; TI's vendor kernels "
                    "(ti-linux-6.1.y, 6.6.y) carry it before")
        return ""
