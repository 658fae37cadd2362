"""TI's rproc ids and per-SoC core table, as a user looks them up."""

import errno

import pytest

from rpmsg_char import RPROC_ID_MAX, SOC_RPROCS, RProcId, RpmsgCharError
from rpmsg_char.soc_table import choose_family, platform_device, to_rproc_id


def test_rproc_ids_have_tis_values():
    assert [(i.name, int(i)) for i in RProcId][:3] == [("R5F_MCU0_0", 0), ("R5F_MCU0_1", 1), ("R5F_MAIN0_0", 2)]
    assert RProcId.DSP_C66_0 == 6 and RProcId.DSP_C71_0 == 8 and RProcId.M4F_MCU0_0 == 9
    assert RProcId.DSP_C71_1 == 10 and RProcId.R5F_MAIN2_0 == 11 and RProcId.DSP_C71_3 == 14
    assert RProcId.R5F_WKUP0_0 == 15 and RPROC_ID_MAX == 16 == len(RProcId)


def test_all_ten_families_that_k3_socinfo_reports():
    assert set(SOC_RPROCS) == {"AM65X", "J721E", "J7200", "AM64X", "J721S2", "AM62X", "J784S4", "AM62AX",
                               "AM62PX", "J722S"}
    assert sum(len(cores) for cores in SOC_RPROCS.values()) == 2 + 9 + 4 + 5 + 8 + 2 + 12 + 3 + 2 + 5


@pytest.mark.parametrize("family, rproc_id, device", [
    ("AM62X", RProcId.M4F_MCU0_0, "5000000.m4fss"),
    ("AM62X", RProcId.R5F_WKUP0_0, "78000000.r5f"),
    ("AM64X", RProcId.R5F_MAIN0_0, "78000000.r5f"),
    ("AM64X", RProcId.R5F_MAIN1_1, "78600000.r5f"),
    ("J721E", RProcId.DSP_C66_1, "4d81800000.dsp"),
    ("J784S4", RProcId.DSP_C71_3, "67800000.dsp"),
    ("J722S", RProcId.R5F_MAIN0_0, "78400000.r5f"),
    ("AM62AX", RProcId.R5F_MCU0_0, "79000000.r5f"),
])
def test_platform_devices(family, rproc_id, device):
    assert platform_device(family, rproc_id) == device


@pytest.mark.parametrize("family, rproc_id", [
    ("AM62X", RProcId.R5F_MCU0_0), ("AM62X", RProcId.R5F_MAIN0_0), ("AM64X", RProcId.R5F_MCU0_0),
    ("J721E", RProcId.DSP_C71_1), ("AM65X", RProcId.R5F_MAIN0_0),
])
def test_cores_a_soc_does_not_have(family, rproc_id):
    with pytest.raises(RpmsgCharError) as err:
        platform_device(family, rproc_id)
    assert err.value.errno == errno.EINVAL and f"SoC {family} has no rproc id {int(rproc_id)}" in str(err.value)


def test_numbers_outside_the_enum_are_refused():
    assert to_rproc_id(9) is RProcId.M4F_MCU0_0
    with pytest.raises(RpmsgCharError, match=r"16 is not an rproc id \(0..15\)"):
        to_rproc_id(16)


def test_family_comes_from_the_kernel_and_soc_name_is_the_fallback():
    assert choose_family("AM62X", "J721E") == "AM62X"
    assert choose_family("AM62LX", "am64x") == "AM64X"
    assert choose_family(None, "J7200") == "J7200"
    with pytest.raises(RpmsgCharError, match="SoC family not recognised") as err:
        choose_family("AM62", None)
    assert err.value.errno == errno.ENOENT

