"""Which platform device plays which remote processor, per SoC family (TI's src/soc.c maps).

The family names are what the kernel's k3-socinfo driver writes to /sys/devices/soc0/family.
A missing id means the SoC has no such core.
"""

import errno

from .errors import RpmsgCharError
from .rproc_id import RProcId

_R = RProcId

SOC_RPROCS: dict[str, dict[RProcId, str]] = {
    "AM65X": {
        _R.R5F_MCU0_0: "41000000.r5f",
        _R.R5F_MCU0_1: "41400000.r5f",
    },
    "J721E": {
        _R.R5F_MCU0_0: "41000000.r5f",
        _R.R5F_MCU0_1: "41400000.r5f",
        _R.R5F_MAIN0_0: "5c00000.r5f",
        _R.R5F_MAIN0_1: "5d00000.r5f",
        _R.R5F_MAIN1_0: "5e00000.r5f",
        _R.R5F_MAIN1_1: "5f00000.r5f",
        _R.DSP_C66_0: "4d80800000.dsp",
        _R.DSP_C66_1: "4d81800000.dsp",
        _R.DSP_C71_0: "64800000.dsp",
    },
    "J7200": {
        _R.R5F_MCU0_0: "41000000.r5f",
        _R.R5F_MCU0_1: "41400000.r5f",
        _R.R5F_MAIN0_0: "5c00000.r5f",
        _R.R5F_MAIN0_1: "5d00000.r5f",
    },
    "AM64X": {
        _R.R5F_MAIN0_0: "78000000.r5f",
        _R.R5F_MAIN0_1: "78200000.r5f",
        _R.R5F_MAIN1_0: "78400000.r5f",
        _R.R5F_MAIN1_1: "78600000.r5f",
        _R.M4F_MCU0_0: "5000000.m4fss",
    },
    "J721S2": {
        _R.R5F_MCU0_0: "41000000.r5f",
        _R.R5F_MCU0_1: "41400000.r5f",
        _R.R5F_MAIN0_0: "5c00000.r5f",
        _R.R5F_MAIN0_1: "5d00000.r5f",
        _R.R5F_MAIN1_0: "5e00000.r5f",
        _R.R5F_MAIN1_1: "5f00000.r5f",
        _R.DSP_C71_0: "64800000.dsp",
        _R.DSP_C71_1: "65800000.dsp",
    },
    "AM62X": {
        _R.M4F_MCU0_0: "5000000.m4fss",
        _R.R5F_WKUP0_0: "78000000.r5f",
    },
    "J784S4": {
        _R.R5F_MCU0_0: "41000000.r5f",
        _R.R5F_MCU0_1: "41400000.r5f",
        _R.R5F_MAIN0_0: "5c00000.r5f",
        _R.R5F_MAIN0_1: "5d00000.r5f",
        _R.R5F_MAIN1_0: "5e00000.r5f",
        _R.R5F_MAIN1_1: "5f00000.r5f",
        _R.DSP_C71_0: "64800000.dsp",
        _R.DSP_C71_1: "65800000.dsp",
        _R.R5F_MAIN2_0: "5900000.r5f",
        _R.R5F_MAIN2_1: "5a00000.r5f",
        _R.DSP_C71_2: "66800000.dsp",
        _R.DSP_C71_3: "67800000.dsp",
    },
    "AM62AX": {
        _R.R5F_MCU0_0: "79000000.r5f",
        _R.DSP_C71_0: "7e000000.dsp",
        _R.R5F_WKUP0_0: "78000000.r5f",
    },
    "AM62PX": {
        _R.R5F_MCU0_0: "79000000.r5f",
        _R.R5F_WKUP0_0: "78000000.r5f",
    },
    "J722S": {
        _R.R5F_MCU0_0: "79000000.r5f",
        _R.R5F_MAIN0_0: "78400000.r5f",
        _R.DSP_C71_0: "7e000000.dsp",
        _R.DSP_C71_1: "7e200000.dsp",
        _R.R5F_WKUP0_0: "78000000.r5f",
    },
}


def choose_family(detected: str | None, soc_name: str | None) -> str:
    """Pick the SoC family: the kernel's answer if known, else the caller's `soc_name` (any case)."""
    if detected in SOC_RPROCS:
        return detected
    fallback = soc_name.upper() if soc_name else None
    if fallback in SOC_RPROCS:
        return fallback
    known = ", ".join(SOC_RPROCS)
    raise RpmsgCharError(
        errno.ENOENT,
        f"SoC family not recognised (soc0/family: {detected!r}, soc_name: {soc_name!r}); known: {known}",
        step="detect SoC",
    )


def to_rproc_id(rproc_id: int | str) -> RProcId:
    """Accept an `RProcId`, its number (C callers pass plain ints) or TI's name (`"M4F_MCU0_0"`,
    any case)."""
    if isinstance(rproc_id, str):
        try:
            return RProcId[rproc_id.strip().upper()]
        except KeyError:
            names = ", ".join(i.name for i in RProcId)
            raise RpmsgCharError(errno.EINVAL, f"{rproc_id!r} is not a TI rproc name; known: {names}",
                                 step="map rproc id") from None
    try:
        return RProcId(rproc_id)
    except ValueError:
        raise RpmsgCharError(errno.EINVAL, f"{rproc_id!r} is not an rproc id (0..{len(RProcId) - 1})",
                             step="map rproc id") from None


def platform_device(family: str, rproc_id: RProcId) -> str:
    """The platform device name (e.g. `5000000.m4fss`) of `rproc_id` on `family`."""
    cores = SOC_RPROCS[family]
    try:
        return cores[rproc_id]
    except KeyError:
        valid = ", ".join(f"{int(i)} {i.name}" for i in sorted(cores))
        raise RpmsgCharError(errno.EINVAL, f"SoC {family} has no rproc id {int(rproc_id)} ({rproc_id.name}); "
                             f"valid: {valid}", step="map rproc id") from None
