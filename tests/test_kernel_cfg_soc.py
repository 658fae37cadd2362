"""The SoC table must be exactly TI's (ti-rpmsg-char.md §2, §3.2): the library fails otherwise."""

import pytest

from kernel_cfg.soc import RPROC_ID_NAMES, SOCS, rproc_id_from_name, soc_by_family

# Typed from reference/ti-rpmsg-char.md §3.2, one SoC per line: {rproc id: platform device}.
REFERENCE_TABLE = {
    "AM65X": {0: "41000000.r5f", 1: "41400000.r5f"},
    "J721E": {0: "41000000.r5f", 1: "41400000.r5f", 2: "5c00000.r5f", 3: "5d00000.r5f",
              4: "5e00000.r5f", 5: "5f00000.r5f", 6: "4d80800000.dsp", 7: "4d81800000.dsp",
              8: "64800000.dsp"},
    "J7200": {0: "41000000.r5f", 1: "41400000.r5f", 2: "5c00000.r5f", 3: "5d00000.r5f"},
    "AM64X": {2: "78000000.r5f", 3: "78200000.r5f", 4: "78400000.r5f", 5: "78600000.r5f",
              9: "5000000.m4fss"},
    "J721S2": {0: "41000000.r5f", 1: "41400000.r5f", 2: "5c00000.r5f", 3: "5d00000.r5f",
               4: "5e00000.r5f", 5: "5f00000.r5f", 8: "64800000.dsp", 10: "65800000.dsp"},
    "AM62X": {9: "5000000.m4fss", 15: "78000000.r5f"},
    "J784S4": {0: "41000000.r5f", 1: "41400000.r5f", 2: "5c00000.r5f", 3: "5d00000.r5f",
               4: "5e00000.r5f", 5: "5f00000.r5f", 8: "64800000.dsp", 10: "65800000.dsp",
               11: "5900000.r5f", 12: "5a00000.r5f", 13: "66800000.dsp", 14: "67800000.dsp"},
    "AM62AX": {0: "79000000.r5f", 8: "7e000000.dsp", 15: "78000000.r5f"},
    "AM62PX": {0: "79000000.r5f", 15: "78000000.r5f"},
    "J722S": {0: "79000000.r5f", 2: "78400000.r5f", 8: "7e000000.dsp", 10: "7e200000.dsp",
              15: "78000000.r5f"},
}

# reference §2, `enum rproc_id`
REFERENCE_ENUM = ["R5F_MCU0_0", "R5F_MCU0_1", "R5F_MAIN0_0", "R5F_MAIN0_1", "R5F_MAIN1_0",
                  "R5F_MAIN1_1", "DSP_C66_0", "DSP_C66_1", "DSP_C71_0", "M4F_MCU0_0",
                  "DSP_C71_1", "R5F_MAIN2_0", "R5F_MAIN2_1", "DSP_C71_2", "DSP_C71_3",
                  "R5F_WKUP0_0"]


def test_enum_names():
    assert RPROC_ID_NAMES == dict(enumerate(REFERENCE_ENUM))


def test_all_ten_families_in_tis_order():
    assert list(SOCS) == ["AM65X", "J721E", "J7200", "AM64X", "J721S2", "AM62X", "J784S4",
                          "AM62AX", "AM62PX", "J722S"]


@pytest.mark.parametrize("family", REFERENCE_TABLE)
def test_table_matches_reference(family):
    soc = SOCS[family]
    assert soc.family == family
    assert {rp.rproc_id: rp.device for rp in soc.rprocs} == REFERENCE_TABLE[family]
    assert list(soc.rproc_ids) == sorted(soc.rproc_ids)
    for rp in soc.rprocs:
        assert rp.id_name == RPROC_ID_NAMES[rp.rproc_id]
        assert rp.kind in rp.id_name and rp.kind in ("R5F", "M4F", "C66", "C71")
        assert rp.parent_path.startswith("platform/bus@")
        assert not rp.parent_path.endswith("/")
        assert rp.default_firmware.endswith("-fw")
        assert soc.rproc(rp.rproc_id) is rp
        assert rp.device_path == f"{rp.parent_path}/{rp.device}"


def test_j784s4_has_twelve_cores():
    assert len(SOCS["J784S4"].rprocs) == 12


def test_am62x_real_paths_and_firmware():
    """Real AM62x SK paths (ti-rpmsg-char.md §4.8, §5.2)."""
    am62 = SOCS["AM62X"]
    m4 = am62.rproc(9)
    assert m4.device_path == "platform/bus@f0000/bus@f0000:bus@4000000/5000000.m4fss"
    assert m4.default_firmware == "am62-mcu-m4f0_0-fw"
    assert m4.kind == "M4F"
    r5 = am62.rproc(15)
    assert r5.device_path == ("platform/bus@f0000/bus@f0000:bus@b00000/"
                              "bus@f0000:bus@b00000:r5fss@78000000/78000000.r5f")
    assert r5.default_firmware == "am62-wkup-r5f0_0-fw"
    assert am62.machine == "Texas Instruments AM625 SK"


def test_firmware_names_follow_ti_packages():
    assert SOCS["J721E"].rproc(2).default_firmware == "j7-main-r5f0_0-fw"
    assert SOCS["J721E"].rproc(6).default_firmware == "j7-c66_0-fw"
    assert SOCS["AM64X"].rproc(5).default_firmware == "am64-main-r5f1_1-fw"
    assert SOCS["J784S4"].rproc(12).default_firmware == "j784s4-main-r5f2_1-fw"
    assert SOCS["AM62AX"].rproc(8).default_firmware == "am62a-c71_0-fw"


def test_dsp_kinds():
    assert SOCS["J721E"].rproc(7).kind == "C66"
    assert SOCS["J784S4"].rproc(14).kind == "C71"


def test_invalid_id_is_keyerror_listing_valid_ones():
    with pytest.raises(KeyError, match=r"AM62X has no rproc id 2; valid: 9 \(M4F_MCU0_0\), "
                                       r"15 \(R5F_WKUP0_0\)"):
        SOCS["AM62X"].rproc(2)


def test_soc_by_family_is_case_insensitive():
    assert soc_by_family("am62x") is SOCS["AM62X"]
    assert soc_by_family(" J721s2 ") is SOCS["J721S2"]
    with pytest.raises(KeyError, match="unknown SoC 'am62lx'"):
        soc_by_family("am62lx")  # newer kernels know it, TI's library does not (§3.1)


def test_rproc_id_from_name():
    assert rproc_id_from_name("m4f_mcu0_0") == 9
    with pytest.raises(KeyError):
        rproc_id_from_name("RPROC_ID_MAX")
