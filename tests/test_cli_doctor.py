"""`rpmsg-emu doctor` on this machine's kernel and on the sample configs."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from fusedev.cli import main
from kernel_cfg import read_running_config

SAMPLES = Path(__file__).parent / "data" / "kconfig"


def test_good_k3_config_is_ok(capsys):
    assert main(["doctor", "--config", str(SAMPLES / "ti_k3_good.config")]) == 0
    assert "Result: OK, rpmsg_char can work with this kernel" in capsys.readouterr().out


def test_missing_rpmsg_ctrl_fails_and_says_what_to_add(capsys):
    code = main(["doctor", "--config", str(SAMPLES / "ti_k3_no_rpmsg_ctrl.config"),
                 "--soc", "am62x"])
    out = capsys.readouterr().out
    assert code == 1
    assert "the 5.18 upgrade trap" in out
    assert "  CONFIG_RPMSG_CTRL=m" in out


def test_pc_config_is_not_k3_and_says_that_is_expected(capsys):
    assert main(["doctor", "--config", str(SAMPLES / "x86_desktop.config")]) == 1
    out = capsys.readouterr().out
    assert "not a TI K3 kernel" in out
    assert "expected on a PC" in out


@pytest.mark.skipif(not read_running_config().found, reason="no config of the running kernel")
def test_this_machine(capsys):
    """On this x86 PC: exit 1, plainly no rpmsg, expected, FUSE available."""
    code = main(["doctor"])
    out = capsys.readouterr().out
    if Path("/sys/bus/rpmsg").is_dir():
        pytest.skip("this machine's kernel has rpmsg")
    assert code == 1
    assert "the running kernel has no rpmsg" in out
    assert "That is expected on a PC." in out
    assert "needs only FUSE" in out


def test_unknown_soc_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["doctor", "--soc", "am99x"])
    assert exc.value.code == 2
    assert "unknown SoC 'am99x'" in capsys.readouterr().err


def test_unreadable_config_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["doctor", "--config", str(tmp_path / "nope.config")])
    assert exc.value.code == 2
    assert "No such file or directory" in capsys.readouterr().err


def test_console_script_runs():
    result = subprocess.run([sys.executable, "-m", "fusedev.cli", "doctor", "--config",
                             str(SAMPLES / "ti_k3_good.config")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
