"""The ten TI K3 SoCs that TI's ti-rpmsg-char knows, and their remote processors.

The rproc ids and platform-device names are exactly TI's library table
(reference/ti-rpmsg-char.md §2 and §3.2): the emulator must show the same names, or the
unmodified library fails to find the core. Parent paths follow the kernel's device naming of
DT nodes without a `reg` (`bus@f0000:bus@4000000`, §4.8); where the reference gives no real
path they are modelled on the upstream device trees. Firmware names are the DT `firmware-name`
values that TI's firmware packages install.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

# `enum rproc_id` of include/rproc_id.h (ti-rpmsg-char.md §2).
RPROC_ID_NAMES: dict[int, str] = {
    0: "R5F_MCU0_0",
    1: "R5F_MCU0_1",
    2: "R5F_MAIN0_0",
    3: "R5F_MAIN0_1",
    4: "R5F_MAIN1_0",
    5: "R5F_MAIN1_1",
    6: "DSP_C66_0",
    7: "DSP_C66_1",
    8: "DSP_C71_0",
    9: "M4F_MCU0_0",
    10: "DSP_C71_1",
    11: "R5F_MAIN2_0",
    12: "R5F_MAIN2_1",
    13: "DSP_C71_2",
    14: "DSP_C71_3",
    15: "R5F_WKUP0_0",
}


@dataclass(frozen=True)
class RemoteProc:
    """One remote core: what the kernel names it and where it hangs in /sys/devices."""

    rproc_id: int
    id_name: str
    device: str
    kind: str
    parent_path: str
    default_firmware: str

    @property
    def device_path(self) -> str:
        """Path of the platform device below /sys/devices (what remoteproc's `name` reports)."""
        return f"{self.parent_path}/{self.device}"


@dataclass(frozen=True)
class PlatformNode:
    """A device-tree platform device of the SoC besides the remote cores (the mailbox)."""

    device: str
    parent_path: str
    compatible: tuple[str, ...]
    driver: str


@dataclass(frozen=True)
class Soc:
    """A SoC as `/sys/devices/soc0` shows it plus the cores TI's library may open on it."""

    family: str
    machine: str
    rprocs: tuple[RemoteProc, ...]
    revision: str = "SR1.0"
    # rproc ids in the order the board probes its remote cores (device-tree order): it gives
    # remoteprocN, and with a sequential boot virtioN, rpmsg_ctrlN and rpmsgN too.
    boot_order: tuple[int, ...] = ()
    # Automatic platform-device ids (`PLATFORM_DEVID_AUTO`) other devices of the board hold
    # before the first remote core boots: the first `rproc-virtio.N.auto` gets this N.
    platform_auto_ids: int = 0
    mailboxes: tuple[PlatformNode, ...] = ()
    # "ti,<prefix>-r5f", "ti,<prefix>-r5fss": the SoC's device-tree compatible prefix.
    compatible_prefix: str = ""
    # Remote cores the kernel registers after the ones above that TI's library cannot open
    # (no rproc id, rproc_id -1): the PRU cores of the PRU-ICSS, offline at boot.
    prus: tuple[RemoteProc, ...] = ()

    def rproc(self, rproc_id: int) -> RemoteProc:
        """The core with that TI rproc id; KeyError when the id is not valid on this SoC."""
        for rp in self.rprocs:
            if rp.rproc_id == rproc_id:
                return rp
        raise KeyError(
            f"{self.family} has no rproc id {rproc_id}; valid: "
            + ", ".join(f"{rp.rproc_id} ({rp.id_name})" for rp in self.rprocs)
        )

    @property
    def rproc_ids(self) -> tuple[int, ...]:
        return tuple(rp.rproc_id for rp in self.rprocs)


def _kind(id_name: str) -> str:
    for kind in ("R5F", "M4F", "C66", "C71"):
        if kind in id_name:
            return kind
    raise ValueError(id_name)


def _soc(family: str, machine: str, *cores: tuple[int, str, str, str], auto_ids: int = 0,
         mailbox: str = "", prefix: str = "") -> Soc:
    """Build a Soc from (rproc_id, device, parent_path, firmware) rows, sorted by id.

    The rows are written in the board's probe order, which becomes `boot_order`. `mailbox` is
    the parent path of the IPC mailbox cluster, named as the upstream device trees name it.
    """
    rprocs = tuple(
        RemoteProc(rid, RPROC_ID_NAMES[rid], dev, _kind(RPROC_ID_NAMES[rid]), parent, fw)
        for rid, dev, parent, fw in sorted(cores)
    )
    mailboxes = ()
    if mailbox:
        name = "29000000.mailbox" if "bus@f" in mailbox else "31f80000.mailbox"
        compatible = "ti,am64-mailbox" if "bus@f" in mailbox else "ti,am654-mailbox"
        mailboxes = (PlatformNode(name, mailbox, (compatible,), "omap-mailbox"),)
    return Soc(family, machine, rprocs, boot_order=tuple(row[0] for row in cores),
               platform_auto_ids=auto_ids, mailboxes=mailboxes, compatible_prefix=prefix)


def of_compatible(soc: Soc, rp: RemoteProc) -> tuple[str, ...]:
    """The `compatible` of a core's device-tree node, as the upstream device trees give it."""
    if rp.kind == "M4F":
        return ("ti,am64-m4fss",)  # AM62x reuses the AM64x binding
    if rp.kind == "R5F":
        return (f"ti,{soc.compatible_prefix}-r5f",)
    if rp.kind == "C66":
        return ("ti,j721e-c66-dsp",)
    if rp.kind == "PRU":
        return ("ti,am625-pru",)
    if soc.compatible_prefix.startswith(("am62", "j722s")):
        return ("ti,am62a-c7xv-dsp",)
    return (f"ti,{soc.compatible_prefix}-c71-dsp",)


def of_parent_compatible(soc: Soc, node: str) -> tuple[str, ...]:
    """The `compatible` of a parent node on a core's path: an R5F cluster or a simple bus."""
    if node.startswith("r5fss@"):
        return (f"ti,{soc.compatible_prefix}-r5fss",)
    if node.startswith("pruss@"):
        return ("ti,am625-pruss",)
    return ("simple-bus",)


# Bus paths per SoC generation. AM65x/J7 put MCU island under main (bus@100000/bus@28380000);
# AM6x use bus@f0000 (AM64x: bus@f4000) with bus@4000000 (MCU) and bus@b00000 (wakeup).
_J7_MAIN = "platform/bus@100000"
_J7_MCU = "platform/bus@100000/bus@100000:bus@28380000"
_AM6_MAIN = "platform/bus@f0000"
_AM6_MCU = "platform/bus@f0000/bus@f0000:bus@4000000"
_AM6_WKUP = "platform/bus@f0000/bus@f0000:bus@b00000"
_AM64_MAIN = "platform/bus@f4000"


def _j7_mcu_r5(prefix: str) -> list[tuple[int, str, str, str]]:
    parent = f"{_J7_MCU}/bus@100000:bus@28380000:r5fss@41000000"
    return [
        (0, "41000000.r5f", parent, f"{prefix}-mcu-r5f0_0-fw"),
        (1, "41400000.r5f", parent, f"{prefix}-mcu-r5f0_1-fw"),
    ]


def _j7_main_r5(prefix: str, clusters: int) -> list[tuple[int, str, str, str]]:
    # main_r5fss0 @5c00000 (ids 2,3), main_r5fss1 @5e00000 (4,5), main_r5fss2 @5900000 (11,12)
    layout = [((2, 3), "5c00000", "5d00000"), ((4, 5), "5e00000", "5f00000"),
              ((11, 12), "5900000", "5a00000")]
    rows = []
    for n, ((id0, id1), addr0, addr1) in enumerate(layout[:clusters]):
        parent = f"{_J7_MAIN}/bus@100000:r5fss@{addr0}"
        rows.append((id0, f"{addr0}.r5f", parent, f"{prefix}-main-r5f{n}_0-fw"))
        rows.append((id1, f"{addr1}.r5f", parent, f"{prefix}-main-r5f{n}_1-fw"))
    return rows


def _am6_wkup_r5(prefix: str) -> tuple[int, str, str, str]:
    return (15, "78000000.r5f", f"{_AM6_WKUP}/bus@f0000:bus@b00000:r5fss@78000000",
            f"{prefix}-wkup-r5f0_0-fw")


def _am6_mcu_r5(prefix: str) -> tuple[int, str, str, str]:
    return (0, "79000000.r5f", f"{_AM6_MCU}/bus@f0000:bus@4000000:r5fss@79000000",
            f"{prefix}-mcu-r5f0_0-fw")


def _am64_main_r5() -> list[tuple[int, str, str, str]]:
    fss0 = f"{_AM64_MAIN}/bus@f4000:r5fss@78000000"
    fss1 = f"{_AM64_MAIN}/bus@f4000:r5fss@78400000"
    return [
        (2, "78000000.r5f", fss0, "am64-main-r5f0_0-fw"),
        (3, "78200000.r5f", fss0, "am64-main-r5f0_1-fw"),
        (4, "78400000.r5f", fss1, "am64-main-r5f1_0-fw"),
        (5, "78600000.r5f", fss1, "am64-main-r5f1_1-fw"),
    ]


SOCS: dict[str, Soc] = {
    s.family: s
    for s in (
        _soc("AM65X", "Texas Instruments AM654 Base Board", *_j7_mcu_r5("am65x"),
             mailbox=_J7_MAIN, prefix="am654"),
        _soc(
            "J721E", "Texas Instruments J721e EVM",
            *_j7_mcu_r5("j7"), *_j7_main_r5("j7", 2),
            (6, "4d80800000.dsp", _J7_MAIN, "j7-c66_0-fw"),
            (7, "4d81800000.dsp", _J7_MAIN, "j7-c66_1-fw"),
            (8, "64800000.dsp", _J7_MAIN, "j7-c71_0-fw"),
            mailbox=_J7_MAIN, prefix="j721e",
        ),
        _soc("J7200", "Texas Instruments J7200 EVM",
             *_j7_mcu_r5("j7200"), *_j7_main_r5("j7200", 1), mailbox=_J7_MAIN, prefix="j7200"),
        _soc(
            "AM64X", "Texas Instruments AM642 SK",
            *_am64_main_r5(),
            (9, "5000000.m4fss", f"{_AM64_MAIN}/bus@f4000:bus@4000000", "am64-mcu-m4f0_0-fw"),
            mailbox=_AM64_MAIN, prefix="am64",
        ),
        _soc(
            "J721S2", "Texas Instruments J721S2 EVM",
            *_j7_mcu_r5("j721s2"), *_j7_main_r5("j721s2", 2),
            (8, "64800000.dsp", _J7_MAIN, "j721s2-c71_0-fw"),
            (10, "65800000.dsp", _J7_MAIN, "j721s2-c71_1-fw"),
            mailbox=_J7_MAIN, prefix="j721s2",
        ),
        _soc(
            "AM62X", "Texas Instruments AM625 SK",
            (9, "5000000.m4fss", _AM6_MCU, "am62-mcu-m4f0_0-fw"),
            _am6_wkup_r5("am62"),
            # Real AM62x SK log: rproc-virtio.2.auto (M4F) and .3.auto (R5F).
            auto_ids=2, mailbox=_AM6_MAIN, prefix="am62",
        ),
        _soc(
            "J784S4", "Texas Instruments J784S4 EVM",
            *_j7_mcu_r5("j784s4"), *_j7_main_r5("j784s4", 3),
            (8, "64800000.dsp", _J7_MAIN, "j784s4-c71_0-fw"),
            (10, "65800000.dsp", _J7_MAIN, "j784s4-c71_1-fw"),
            (13, "66800000.dsp", _J7_MAIN, "j784s4-c71_2-fw"),
            (14, "67800000.dsp", _J7_MAIN, "j784s4-c71_3-fw"),
            mailbox=_J7_MAIN, prefix="j784s4",
        ),
        _soc(
            "AM62AX", "Texas Instruments AM62A7 SK",
            _am6_mcu_r5("am62a"), _am6_wkup_r5("am62a"),
            (8, "7e000000.dsp", _AM6_MAIN, "am62a-c71_0-fw"),
            mailbox=_AM6_MAIN, prefix="am62a",
        ),
        _soc("AM62PX", "Texas Instruments AM62P5 SK", _am6_mcu_r5("am62p"), _am6_wkup_r5("am62p"),
             mailbox=_AM6_MAIN, prefix="am62p"),
        _soc(
            "J722S", "Texas Instruments J722S EVM",
            _am6_mcu_r5("j722s"), _am6_wkup_r5("j722s"),
            (2, "78400000.r5f", f"{_AM6_MAIN}/bus@f0000:r5fss@78400000", "j722s-main-r5f0_0-fw"),
            (8, "7e000000.dsp", _AM6_MAIN, "j722s-c71_0-fw"),
            (10, "7e200000.dsp", _AM6_MAIN, "j722s-c71_1-fw"),
            mailbox=_AM6_MAIN, prefix="j722s",
        ),
    )
}


def soc_by_family(name: str) -> Soc:
    """Look a SoC up by family, case-insensitively ("am62x" → AM62X), as users type it."""
    try:
        return SOCS[name.strip().upper()]
    except KeyError:
        raise KeyError(f"unknown SoC {name!r}; known: {', '.join(SOCS)}") from None


def rproc_id_from_name(name: str) -> int:
    """TI enum name ("M4F_MCU0_0", case-insensitive) → rproc id; KeyError if unknown."""
    for rid, enum_name in RPROC_ID_NAMES.items():
        if enum_name == name.strip().upper():
            return rid
    raise KeyError(f"unknown rproc name {name!r}; known: {', '.join(RPROC_ID_NAMES.values())}")


def _with_prus(family: str, pruss: str, *cores: tuple[str, str]) -> None:
    """Add the PRU cores (device, firmware) under the PRUSS platform device `pruss`."""
    SOCS[family] = dataclasses.replace(SOCS[family], prus=tuple(
        RemoteProc(-1, f"PRU{i}", device, "PRU", pruss, firmware)
        for i, (device, firmware) in enumerate(cores)))


# AM62x PRUSS-M (k3-am62-main.dtsi pruss@30040000, pru@34000 and pru@38000): pru-rproc
# registers them as remoteproc2 and remoteproc3 on a real AM62x SK, offline, firmware
# am62x-pru0-fw / am62x-pru1-fw (not installed there by default).
_with_prus("AM62X", f"{_AM6_MAIN}/30040000.pruss", ("30074000.pru", "am62x-pru0-fw"),
           ("30078000.pru", "am62x-pru1-fw"))
