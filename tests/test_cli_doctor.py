"""`rpmsg-emu doctor` on this machine's kernel, on the sample configs, on TI's defconfig with
its fragments, on gzip configs; `doctor --self` on this machine."""
from __future__ import annotations

import gzip
import io
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from fusedev.cli.main import main
from kernel_cfg import read_running_config

SAMPLES = Path(__file__).parent / "data" / "kconfig"
REPO = Path(__file__).resolve().parent.parent


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


# ---- defconfigs and fragments, as TI builds its kernels -----------------------------------

TI_DEFCONFIG = SAMPLES / "ti_arm64_defconfig"
TI_FRAGMENTS = [SAMPLES / "ti_arm64_prune.config", SAMPLES / "ti_rt.config"]


def doctor_run(*args: str) -> tuple[int, str]:
    result = subprocess.run([sys.executable, "-m", "fusedev.cli", "doctor", *args],
                            capture_output=True, text=True, timeout=60)
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode, result.stdout + result.stderr


def configs(*paths: Path) -> list[str]:
    return [arg for path in paths for arg in ("--config", str(path))]


@pytest.mark.parametrize("version", ["6.1", "6.6", "6.12"])
@pytest.mark.parametrize("fragments", [[], TI_FRAGMENTS[:1], TI_FRAGMENTS],
                         ids=["defconfig", "+prune", "+prune+rt"])
def test_ti_arm64_defconfig_is_ok_for_the_am62x_m4f(version, fragments):
    """make defconfig ti_arm64_prune.config [ti_rt.config]: RPMSG, RPMSG_NS and VIRTIO are
    selected by RPMSG_VIRTIO/REMOTEPROC, MAILBOX and TI_SCI_PROTOCOL by ARCH_K3, and the file
    never says arm64 — none of that is missing."""
    code, out = doctor_run(*configs(TI_DEFCONFIG, *fragments), "--soc", "am62x",
                           "--kernel-version", version)
    assert code == 0, out
    assert f"(arm64, Linux {version})" in out
    assert "Result: OK, rpmsg_char can work with this kernel" in out
    assert "CONFIG_RPMSG (selected by RPMSG_VIRTIO=m)" in out
    assert "CONFIG_TI_SCI_PROTOCOL (selected by ARCH_K3=y)" in out
    assert "ok         CONFIG_TI_K3_M4_REMOTEPROC=m" in out
    assert "Add these lines" not in out  # before: "add CONFIG_RPMSG_VIRTIO=m", already set


def test_a_fragment_that_turns_a_needed_symbol_off_is_seen(tmp_path):
    fragment = tmp_path / "my.config"
    fragment.write_text("CONFIG_RPMSG_CTRL=n\n# CONFIG_RPMSG_VIRTIO is not set\n")
    code, out = doctor_run(*configs(TI_DEFCONFIG, fragment), "--kernel-version", "6.6")
    assert code == 1
    assert "MISSING    CONFIG_RPMSG_CTRL is not set" in out
    assert "MISSING    CONFIG_RPMSG absent" in out  # nothing selects it any more
    add = out.split("Add these lines to the kernel config (then make olddefconfig):\n")[1]
    assert add.splitlines()[:2] == ["  CONFIG_RPMSG_VIRTIO=m", "  CONFIG_RPMSG_CTRL=m"]


def test_a_select_wins_over_not_set(tmp_path):
    """Kconfig raises a selected symbol whatever the file says (reverse dependency)."""
    fragment = tmp_path / "my.config"
    fragment.write_text("# CONFIG_RPMSG is not set\n")
    code, out = doctor_run(*configs(TI_DEFCONFIG, fragment), "--kernel-version", "6.12")
    assert code == 0, out
    assert "CONFIG_RPMSG is not set, but selected by RPMSG_VIRTIO=m" in out


def test_am62x_needs_the_m4f_driver_of_tis_demo(tmp_path):
    defconfig = tmp_path / "defconfig"
    defconfig.write_text(TI_DEFCONFIG.read_text().replace("CONFIG_TI_K3_M4_REMOTEPROC=m\n", ""))
    code, out = doctor_run(*configs(defconfig), "--soc", "am62x", "--kernel-version", "6.6")
    assert code == 1
    assert "MISSING    CONFIG_TI_K3_M4_REMOTEPROC absent" in out
    assert "rpmsg_char_simple -r 9" in out
    assert "TI's vendor kernels (ti-linux-6.1.y, 6.6.y) carry it" in out
    assert "  CONFIG_TI_K3_M4_REMOTEPROC=m" in out
    # without a SoC any one K3 remoteproc driver will do
    code, out = doctor_run(*configs(defconfig), "--kernel-version", "6.6")
    assert code == 0, out


def test_mainline_6_6_config_has_no_m4f_driver(tmp_path):
    """A full .config lists every symbol the kernel has: the R5F driver but no M4F one means
    the kernel does not have it (mainline before 6.12)."""
    text = (SAMPLES / "ti_k3_good.config").read_text()
    config = tmp_path / ".config"
    config.write_text(text.replace("CONFIG_TI_K3_M4_REMOTEPROC=m\n", ""))
    code, out = doctor_run("--config", str(config), "--soc", "am62x")
    assert code == 1
    assert "this kernel has no TI_K3_M4_REMOTEPROC at all" in out


def test_gzip_config_is_read_by_its_magic_not_its_name(tmp_path):
    """/proc/config.gz copied from a board, saved under any name."""
    copied = tmp_path / "board-config"
    copied.write_bytes(gzip.compress((SAMPLES / "ti_k3_good.config").read_bytes()))
    code, out = doctor_run("--config", str(copied), "--soc", "am62x")
    assert code == 0, out
    assert "(arm64, Linux 6.6)" in out and "Result: OK" in out
    plain = tmp_path / "config.gz"  # the name says gzip, the content is plain text
    plain.write_text((SAMPLES / "ti_k3_no_rpmsg_ctrl.config").read_text())
    code, out = doctor_run("--config", str(plain))
    assert code == 1 and "the 5.18 upgrade trap" in out


def test_damaged_gzip_is_a_one_line_usage_error(tmp_path):
    broken = tmp_path / "config.gz"
    broken.write_bytes(gzip.compress(b"CONFIG_ARCH_K3=y\n" * 100)[:40])
    code, out = doctor_run("--config", str(broken))
    assert code == 2
    assert "damaged gzip data" in out and out.strip().splitlines()[-1].count("error") == 1


def test_bad_kernel_version_is_a_usage_error():
    code, out = doctor_run("--config", str(TI_DEFCONFIG), "--kernel-version", "six")
    assert code == 2 and "expected X.Y" in out


# ---- doctor --self: what rpmsg-emu itself needs ---------------------------------------------

def test_self_check_on_this_machine():
    """A PC is no board, and that is no failure of --self: only FUSE and namespaces count."""
    code, out = doctor_run("--self")
    lines = out.splitlines()
    checks = [line for line in lines if line.startswith("  ")]
    assert [line.split()[1] for line in checks] == ["libfuse3", "/dev/fuse", "fusermount3",
                                                     "user"]
    failed = [line for line in checks if line.split()[0] == "FAILED"]
    assert code == (1 if failed else 0), out
    assert lines[-1] == ("Result: OK, rpmsg-emu mount and run can work here" if not failed
                         else lines[-1])
    assert "rpmsg" not in " ".join(checks).replace("rpmsg-emu", "")  # nothing about a board


def test_self_check_fails_when_dev_fuse_cannot_be_opened(tmp_path):
    from fusedev.cli.doctor_self import check_dev_fuse, report

    out = io.StringIO()
    assert report([check_dev_fuse(tmp_path / "fuse")], out) == 1
    text = out.getvalue()
    assert "FAILED" in text and "cannot be opened read-write: No such file or directory" in text
    assert "Result: NOT OK: " in text and "needed for mount, run" in text


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to become another user")
def test_self_check_as_an_ordinary_user():
    """uid 65534: fusermount3 and an unprivileged user namespace are tried for real, and the
    exit status says whether everything needed works."""
    site = sysconfig.get_paths()["purelib"]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), site]), HOME="/tmp")

    def become_nobody() -> None:
        os.setgroups([])
        os.setgid(65534)
        os.setuid(65534)

    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    for python in (os.path.realpath(sys.executable), f"/usr/bin/python{version}"):
        try:
            result = subprocess.run([python, "-m", "fusedev.cli", "doctor", "--self"],
                                    capture_output=True, text=True, timeout=60, env=env,
                                    cwd="/", preexec_fn=become_nobody)
        except OSError:  # not there, or in a directory closed to others
            continue
        if "No module named" not in result.stderr:
            break
    else:
        pytest.skip(f"no Python {version} with rpmsg-emu's modules that uid 65534 may run")
    assert "Traceback" not in result.stderr, result.stderr
    userns = [line for line in result.stdout.splitlines() if "user namespaces" in line]
    assert userns and "not needed" not in userns[0]
    assert result.returncode == (1 if "FAILED" in result.stdout else 0), result.stdout


def test_self_takes_no_config():
    code, out = doctor_run("--self", "--config", str(TI_DEFCONFIG))
    assert code == 2 and "--self checks this machine" in out
