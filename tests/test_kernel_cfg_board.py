"""Board files: the examples load, and every mistake is named with file, key and what is allowed."""

import re
from pathlib import Path

import pytest

from kernel_cfg.board import (Board, BoardError, CoreConfig, board_from_dict, builtin_board,
                              default_board, list_builtin_boards, load_board)
from kernel_cfg.kernel_profile import PROFILES
from kernel_cfg.soc import SOCS


def test_default_board():
    b = default_board()
    assert b.soc is SOCS["AM62X"] and b.profile is PROFILES["ti-6.x"]
    # The wakeup R5F runs TI's DM firmware: IPC-only mode (k3_r5_rproc_configure_mode).
    assert b.cores == {9: CoreConfig(9), 15: CoreConfig(15, ipc_only=True)}
    assert all(c.firmware == "echo" and c.autostart for c in b.cores.values())
    assert (b.dev_uid, b.dev_gid, b.dev_mode) == (0, 0, 0o600)
    assert [rp.device for rp in b.rprocs()] == ["5000000.m4fss", "78000000.r5f"]


def test_ipc_only_defaults_to_the_dm_core_of_the_am62_family_and_a_board_may_choose():
    def core(soc: str, rid: int, **keys) -> CoreConfig:
        return board_from_dict({"soc": soc, "cores": {str(rid): keys}}, ".").cores[rid]

    assert core("AM62X", 15).ipc_only and core("J722S", 15).ipc_only
    assert core("J721E", 0).ipc_only and not core("J721E", 1).ipc_only
    assert not core("AM62X", 9).ipc_only and not core("AM64X", 2).ipc_only
    assert not core("AM62X", 15, ipc_only=False).ipc_only
    assert core("AM64X", 2, ipc_only=True).ipc_only
    with pytest.raises(BoardError, match="cores.15.ipc_only: must be true or false"):
        core("AM62X", 15, ipc_only="yes")


def test_builtin_boards_load():
    assert list_builtin_boards() == ["am62x", "am64x", "j721e"]
    am62 = builtin_board("am62x")
    assert am62.cores == default_board().cores and am62.soc is SOCS["AM62X"]
    am64 = builtin_board("am64x")
    assert sorted(am64.cores) == [2, 3, 4, 5, 9] and not am64.cores[9].autostart
    j7 = builtin_board("j721e")
    assert sorted(j7.cores) == [2, 3, 6, 7] and j7.cores[7].num_bufs == 128
    for name in list_builtin_boards():
        assert isinstance(builtin_board(name), Board)


def test_unknown_builtin_board():
    with pytest.raises(BoardError, match="available: am62x, am64x, j721e"):
        builtin_board("am62y")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "my.toml"
    path.write_text(text)
    return path


def test_full_file(tmp_path):
    path = write(tmp_path, """
        soc = "am62x"
        profile = "pre-6.1"
        firmware_dirs = ["fw", "/opt/fw", "~/fw"]
        [dev]
        uid = 1000
        gid = 1000
        mode = 0o660
        [cores.9]
        firmware = "vendor/my-fw.elf"
        autostart = false
        num_bufs = 64
        buf_size = 1024
        [cores.9.config]
        delay_ms = 5
    """)
    b = load_board(path)
    assert b.name == "my"  # the file name when no name key
    assert b.profile is PROFILES["pre-6.1"]
    assert b.cores == {9: CoreConfig(9, "vendor/my-fw.elf", False, 64, 1024, {"delay_ms": 5})}
    assert (b.dev_uid, b.dev_gid, b.dev_mode) == (1000, 1000, 0o660)
    assert b.firmware_dirs == [(tmp_path / "fw").resolve(), Path("/opt/fw"),
                               Path("~/fw").expanduser()]


def test_defaults_from_dict(tmp_path):
    b = board_from_dict({"soc": "J784S4", "cores": {"R5F_MAIN2_1": {}}}, tmp_path)
    assert b.name == "j784s4" and b.profile is PROFILES["ti-6.x"]
    assert b.cores == {12: CoreConfig(12)}
    assert b.firmware_dirs == []


@pytest.mark.parametrize("mode, expected", [("0600", 0o600), ("644", 0o644), ("0o640", 0o640),
                                            (0o666, 0o666)])
def test_mode_forms(tmp_path, mode, expected):
    assert board_from_dict({"soc": "AM62X", "dev": {"mode": mode}, "cores": {"9": {}}},
                           tmp_path).dev_mode == expected


ERRORS = [
    ('soc = "AM62Y"\n[cores.9]',
     "soc", "unknown SoC 'AM62Y'; allowed: AM65X, J721E, J7200, AM64X, J721S2, AM62X, J784S4, "
     "AM62AX, AM62PX, J722S"),
    ('[cores.9]', "soc", "required string"),
    ('soc = "AM62X"\nprofile = "ti-5.x"\n[cores.9]',
     "profile", "unknown kernel profile 'ti-5.x'; allowed: ti-6.x, pre-6.1, mainline"),
    ('soc = "AM62X"\n[cores.2]',
     "cores.2", "rproc id 2 (R5F_MAIN0_0) is not valid on AM62X; allowed: 9 (M4F_MCU0_0), "
     "15 (R5F_WKUP0_0)"),
    ('soc = "AM62X"\n[cores.R5F_MCU0_0]',
     "cores.R5F_MCU0_0", "rproc id 0 (R5F_MCU0_0) is not valid on AM62X"),
    ('soc = "AM62X"\n[cores.M4F]', "cores.M4F", "'M4F' is not valid on AM62X"),
    ('soc = "AM62X"\n[cores.16]', "cores.16", "'16' is not valid on AM62X"),
    ('soc = "AM62X"\n[cores.9]\n[cores.M4F_MCU0_0]', "cores.M4F_MCU0_0", "configured twice"),
    ('soc = "AM62X"', "cores", "at least one [cores.<id>] table is required"),
    ('soc = "AM62X"\ncores = 9', "cores", "must be a table"),
    ('soc = "AM62X"\ncores = {9 = 1}', "cores.9", "must be a table"),
    ('soc = "AM62X"\n[cores.9]\nbuf_size = 500', "cores.9.buf_size",
     "500 is not allowed; a power of two from 64"),
    ('soc = "AM62X"\n[cores.9]\nbuf_size = 16', "cores.9.buf_size", "16 is not allowed"),
    ('soc = "AM62X"\n[cores.9]\nbuf_size = "512"', "cores.9.buf_size", "must be an integer"),
    ('soc = "AM62X"\n[cores.9]\nnum_bufs = 512', "cores.9.num_bufs",
     "512 is not allowed; a power of two from 1 to 256"),
    ('soc = "AM62X"\n[cores.9]\nnum_bufs = 0', "cores.9.num_bufs", "0 is not allowed"),
    ('soc = "AM62X"\n[cores.9]\nnum_bufs = 100', "cores.9.num_bufs", "100 is not allowed"),
    ('soc = "AM62X"\n[cores.9]\nautostart = "yes"', "cores.9.autostart", "must be true or false"),
    ('soc = "AM62X"\n[cores.9]\nfirmware = ""', "cores.9.firmware", "firmware name is empty"),
    ('soc = "AM62X"\n[cores.9]\nfirmware = "../../etc/passwd"', "cores.9.firmware",
     "must be relative and must not contain '..'"),
    ('soc = "AM62X"\n[cores.9]\nfirmware = "/lib/firmware/x"', "cores.9.firmware",
     "must be relative"),
    ('soc = "AM62X"\n[cores.9]\nfirmwre = "echo"', "cores.9.firmwre",
     "unknown key; allowed: autostart, buf_size, config, faults, firmware, ipc_only, "
     "irq_latency_us, num_bufs, per_byte_ns, processing_us, watchdog_ms"),
    ('soc = "AM62X"\nboard = "x"\n[cores.9]', "board", "unknown key; allowed:"),
    ('soc = "AM62X"\n[dev]\nmode = "rw-------"\n[cores.9]', "dev.mode",
     "'rw-------' is not a permission mode"),
    ('soc = "AM62X"\n[dev]\nmode = 0o4755\n[cores.9]', "dev.mode", "is not a permission mode"),
    ('soc = "AM62X"\n[dev]\nmode = "0800"\n[cores.9]', "dev.mode", "is not a permission mode"),
    ('soc = "AM62X"\n[dev]\nuid = -1\n[cores.9]', "dev.uid", "a numeric id"),
    ('soc = "AM62X"\n[dev]\ngid = "root"\n[cores.9]', "dev.gid", "a numeric id"),
    ('soc = "AM62X"\n[dev]\nowner = 0\n[cores.9]', "dev.owner", "allowed: gid, mode, uid"),
    ('soc = "AM62X"\nfirmware_dirs = "fw"\n[cores.9]', "firmware_dirs", "must be an array"),
    ('soc = "AM62X"\nfirmware_dirs = ["a", ""]\n[cores.9]', "firmware_dirs[1]",
     "non-empty path string"),
]


@pytest.mark.parametrize("text, key, message", ERRORS)
def test_errors_name_file_key_and_allowed(tmp_path, text, key, message):
    path = write(tmp_path, text + "\n")
    with pytest.raises(BoardError) as info:
        load_board(path)
    err = info.value
    assert (err.source, err.key) == (str(path), key)
    assert message in err.message
    assert str(err).startswith(f"{path}: {key}: ")
    assert isinstance(err, ValueError)


def test_bad_toml_and_missing_file(tmp_path):
    path = write(tmp_path, "soc = AM62X\n")
    with pytest.raises(BoardError, match=re.escape(f"{path}: not valid TOML")):
        load_board(path)
    with pytest.raises(BoardError, match="cannot read board file"):
        load_board(tmp_path / "none.toml")


def test_from_dict_names_its_source(tmp_path):
    with pytest.raises(BoardError, match=r"^<board>: soc: "):
        board_from_dict({}, tmp_path)


def test_core_timing_is_read_in_microseconds_and_checked():
    board = board_from_dict({"soc": "am62x", "cores": {"9": {"processing_us": 250,
                                                             "irq_latency_us": 12.5}}}, ".")
    assert board.cores[9].processing_us == 250.0
    assert board.cores[9].irq_latency_us == 12.5
    with pytest.raises(BoardError, match="cores.9.processing_us"):
        board_from_dict({"soc": "am62x", "cores": {"9": {"processing_us": -1}}}, ".")


@pytest.mark.parametrize("key, value, message", [
    ("irq_latency_us", "nan", "nan is not a finite number"),
    ("processing_us", "inf", "inf is not a finite number"),
    ("per_byte_ns", "-inf", "-inf is not a finite number"),
    ("per_byte_ns", "-0.5", "-0.5 must be ≥ 0"),
    ("watchdog_ms", "0", "0 must be > 0"),
    ("processing_us", '"fast"', "'fast' is not a number"),
])
def test_timing_keys_that_can_never_work_are_refused(tmp_path, key, value, message):
    path = write(tmp_path, f'soc = "AM62X"\n[cores.9]\n{key} = {value}\n')  # TOML has nan, inf
    with pytest.raises(BoardError) as info:
        load_board(path)
    assert info.value.key == f"cores.9.{key}" and message in info.value.message


def test_a_buffer_too_small_for_a_name_service_message_is_refused(tmp_path):
    # 40-byte rpmsg_ns_msg + 16-byte rpmsg_hdr = 56: 32 can never announce a channel
    with pytest.raises(BoardError, match="cores.9.buf_size: 32 is not allowed.*40-byte name-service"):
        load_board(write(tmp_path, 'soc = "AM62X"\n[cores.9]\nbuf_size = 32\n'))
    assert load_board(write(tmp_path, 'soc = "AM62X"\n[cores.9]\nbuf_size = 64\n')
                      ).cores[9].buf_size == 64


def test_timing_mode_and_per_kind_defaults():
    from kernel_cfg.core_timing import KIND_TIMING, core_timing
    board = board_from_dict({"soc": "am64x", "timing": "fast",
                             "cores": {"2": {"watchdog_ms": 300}}}, ".")
    assert board.timing == "fast"
    fast = core_timing("R5F", board.cores[2], board.timing)
    assert (fast.irq_latency_us, fast.processing_us, fast.per_byte_ns) == (0, 0, 0)
    assert fast.watchdog_ms == 300
    r5f = core_timing("R5F", board.cores[2], "board")
    assert r5f.irq_latency_us == KIND_TIMING["R5F"].irq_latency_us
    assert r5f.round_trip_us(490) > r5f.round_trip_us(1) > 0
    assert core_timing("M4F", None).processing_us > r5f.processing_us  # half the clock
    with pytest.raises(BoardError, match="timing: 'slow' is not allowed; board or fast"):
        board_from_dict({"soc": "am62x", "timing": "slow", "cores": {"9": {}}}, ".")


def test_fault_injection_table_is_checked_key_by_key(tmp_path):
    board = load_board(write(tmp_path, 'soc = "AM62X"\n[cores.9.faults]\ndrop_tx = 2\n'
                                       'delay_us = 150.5\nstall = true\n'))
    assert board.cores[9].faults == {"drop_tx": 2, "delay_us": 150.5, "stall": True}
    for line, message in (("drop = 1", "unknown key; allowed: crash_after_ms"),
                          ("drop_rx_fraction = 1.5", "is not a fraction from 0 to 1"),
                          ("delay_us = nan", "nan is not a finite number"),
                          ("drop_rx = -1", "-1 is not an integer ≥ 0"),
                          ("stall = 1", "1 is not true or false")):
        with pytest.raises(BoardError) as info:
            load_board(write(tmp_path, f'soc = "AM62X"\n[cores.9.faults]\n{line}\n'))
        assert info.value.key == f"cores.9.faults.{line.split()[0]}"
        assert message in info.value.message
