"""The doctor's kconfig check on the sample configs and on this machine's running kernel."""

import gzip
import platform
from pathlib import Path

import pytest

from kernel_cfg.kconfig_check import (Severity, check_rpmsg_char, parse_config, parse_header,
                                      read_running_config)

DATA = Path(__file__).parent / "data" / "kconfig"


def sample(name: str) -> str:
    return (DATA / name).read_text()


def test_parse_config():
    values = parse_config('CONFIG_A=y\nCONFIG_B=m\n# CONFIG_C is not set\n'
                          'CONFIG_D="a \\"q\\" b"\nCONFIG_E=0x10\n# comment\n\n')
    assert values == {"A": "y", "B": "m", "C": "n", "D": 'a "q" b', "E": "0x10"}
    assert parse_header(sample("ti_k3_good.config")) == ("arm64", (6, 6))
    assert parse_header("CONFIG_A=y") == (None, None)


def test_good_ti_k3_config():
    report = check_rpmsg_char(sample("ti_k3_good.config"), source="good")
    assert report.ok and report.is_k3
    assert report.arch == "arm64" and report.version == (6, 6)
    assert all(f.severity is Severity.OK for f in report.findings)
    symbols = {f.symbol for f in report.findings}
    assert symbols >= {"RPMSG_VIRTIO", "RPMSG", "RPMSG_NS", "RPMSG_CHAR", "NET", "RPMSG_CTRL",
                       "REMOTEPROC", "REMOTEPROC_CDEV", "TI_K3_R5_REMOTEPROC",
                       "TI_K3_DSP_REMOTEPROC", "TI_K3_M4_REMOTEPROC", "OMAP2PLUS_MBOX",
                       "MAILBOX", "TI_SCI_PROTOCOL", "VIRTIO", "ARCH_K3"}
    assert report.finding("RPMSG_CHAR").found == "m"
    assert report.fragment() == ""
    assert "Result: OK" in report.render()


def test_rpmsg_ctrl_upgrade_trap():
    report = check_rpmsg_char(sample("ti_k3_no_rpmsg_ctrl.config"))
    assert not report.ok and report.is_k3
    ctrl = report.finding("RPMSG_CTRL")
    assert ctrl.severity is Severity.MISSING_REQUIRED and ctrl.found == "n"
    assert "5.18" in ctrl.needs and "upgrade trap" in ctrl.note
    assert report.fragment() == "CONFIG_RPMSG_CTRL=m\n"
    assert report.finding("REMOTEPROC_CDEV").severity is Severity.MISSING_OPTIONAL
    assert report.finding("TI_K3_M4_REMOTEPROC").severity is Severity.MISSING_OPTIONAL
    assert "CONFIG_REMOTEPROC_CDEV=y" in report.fragment(include_optional=True)
    text = report.render()
    assert "MISSING    CONFIG_RPMSG_CTRL is not set" in text
    assert "  CONFIG_RPMSG_CTRL=m" in text and "NOT OK" in text


def test_x86_desktop_is_the_pc_case():
    report = check_rpmsg_char(sample("x86_desktop.config"))
    assert not report.ok and not report.is_k3
    assert report.arch == "x86_64"
    assert report.finding("ARCH_K3").severity is Severity.WRONG_ARCH
    assert report.finding("RPMSG_VIRTIO").severity is Severity.MISSING_REQUIRED
    text = report.render()
    assert "not a TI K3 kernel (x86_64)" in text
    assert "normal case when rpmsg-emu runs on a PC" in text
    assert "CONFIG_FUSE_FS is =y" in text


def test_soc_narrows_remoteproc_drivers():
    good = sample("ti_k3_good.config")
    am62 = check_rpmsg_char(good, soc="am62x")
    drivers = [f.symbol for f in am62.findings if f.symbol.startswith("TI_K3_")]
    assert drivers == ["TI_K3_M4_REMOTEPROC", "TI_K3_R5_REMOTEPROC"]
    j7 = check_rpmsg_char({**parse_config(good), "TI_K3_DSP_REMOTEPROC": "n"}, soc="J721E")
    dsp = j7.finding("TI_K3_DSP_REMOTEPROC")
    assert dsp.severity is Severity.MISSING_OPTIONAL  # R5F driver present: not fatal
    assert "DSP_C66_0" in dsp.needs and "J721E" in dsp.needs


def test_no_remoteproc_driver_at_all():
    values = {k: v for k, v in parse_config(sample("ti_k3_good.config")).items()
              if not k.startswith("TI_K3_")}
    report = check_rpmsg_char(values, soc="AM64X")
    assert not report.ok
    assert report.fragment().splitlines() == ["CONFIG_TI_K3_M4_REMOTEPROC=m",
                                              "CONFIG_TI_K3_R5_REMOTEPROC=m"]
    assert "assumed 5.18 or later" in report.render()  # a mapping carries no header


def test_missing_net_is_in_rpmsg_char_fix():
    values = parse_config(sample("ti_k3_good.config"))
    values.pop("NET")
    values.pop("RPMSG_CHAR")
    lines = check_rpmsg_char(values).fragment().splitlines()
    assert lines == ["CONFIG_NET=y", "CONFIG_RPMSG_CHAR=m"]


def test_selected_symbols_fixed_by_their_selector():
    values = parse_config(sample("ti_k3_good.config"))
    for s in ("RPMSG", "RPMSG_NS", "RPMSG_VIRTIO"):
        values.pop(s)
    assert check_rpmsg_char(values).fragment() == "CONFIG_RPMSG_VIRTIO=m\n"


def test_old_kernel_needs_no_rpmsg_ctrl_or_ns():
    text = sample("ti_k3_no_rpmsg_ctrl.config").replace("6.1.83", "5.15.120")
    report = check_rpmsg_char(text)
    assert report.ok
    symbols = {f.symbol for f in report.findings}
    assert "RPMSG_CTRL" not in symbols and "RPMSG_NS" in symbols
    assert "upgrading to 5.18" in report.render()
    report = check_rpmsg_char(text.replace("5.15.120", "5.10.168"))
    assert "RPMSG_NS" not in {f.symbol for f in report.findings}


def test_arm64_without_k3():
    text = sample("ti_k3_good.config").replace("CONFIG_ARCH_K3=y", "# CONFIG_ARCH_K3 is not set")
    report = check_rpmsg_char(text)
    assert report.is_k3 is True  # right architecture, just the platform missing
    assert report.finding("ARCH_K3").severity is Severity.MISSING_REQUIRED
    assert report.fragment() == "CONFIG_ARCH_K3=y\n"


def test_read_running_config_sources(tmp_path):
    proc = tmp_path / "config.gz"
    proc.write_bytes(gzip.compress(b"CONFIG_A=y\n"))
    found = read_running_config("1.2.3", proc, tmp_path)
    assert found.found and found.path == proc and found.text == "CONFIG_A=y\n"
    (tmp_path / "config-1.2.3").write_text("CONFIG_B=m\n")
    proc.unlink()
    found = read_running_config("1.2.3", proc, tmp_path)
    assert found.path == tmp_path / "config-1.2.3" and found.text == "CONFIG_B=m\n"
    missing = read_running_config("9.9.9", proc, tmp_path)
    assert not missing.found and missing.path is None
    assert "kernel config not found" in missing.reason
    assert "CONFIG_IKCONFIG_PROC" in missing.reason and "config-9.9.9" in missing.reason
    proc.write_bytes(b"not gzip")
    assert "unreadable" in read_running_config("9.9.9", proc, tmp_path).reason


def test_this_machines_running_config():
    running = read_running_config()
    if not running.found:
        pytest.skip(running.reason)
    report = check_rpmsg_char(running.text, source=str(running.path))
    assert report.render()
    if platform.machine() == "x86_64":
        # A PC: no K3, no rpmsg — the case the emulator exists for.
        assert not report.ok and not report.is_k3
        assert report.arch == "x86_64"
        assert "normal case when rpmsg-emu runs on a PC" in report.render()


def test_selects_follow_the_kernel_version():
    """drivers/rpmsg/Kconfig: RPMSG_VIRTIO selects RPMSG_NS only since 5.11;
    drivers/remoteproc/Kconfig: the K3 drivers select OMAP2PLUS_MBOX only before 6.12."""
    from kernel_cfg.kconfig_facts import resolve

    defconfig = {"ARCH_K3": "y", "RPMSG_VIRTIO": "m", "TI_K3_R5_REMOTEPROC": "m"}
    old = resolve(defconfig, (5, 10))
    assert old["RPMSG"].value == "m" and "RPMSG_NS" not in old
    assert old["OMAP2PLUS_MBOX"].selected_by == "TI_K3_R5_REMOTEPROC=m"
    new = resolve(defconfig, (6, 12))
    assert new["RPMSG_NS"].value == "m" and "OMAP2PLUS_MBOX" not in new
    assert new["MAILBOX"].value == "y" and new["MAILBOX"].selected_by == "ARCH_K3=y"
    assert new["VIRTIO"].selected_by == "RPMSG_VIRTIO=m"


def test_defconfig_is_arm64_by_its_platform_symbol():
    report = check_rpmsg_char("CONFIG_ARCH_K3=y\nCONFIG_NET=y\n")
    assert report.arch == "arm64" and report.is_k3
