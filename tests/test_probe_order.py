"""The same board always numbers its devices the same way (issue 11 item 3).

A real AM62x SK probes the M4F first: it is remoteproc0, its vdev parent rproc-virtio.2.auto,
virtio0, rpmsg_ctrl0, and its rpmsg_chrdev channel's eptdev is /dev/rpmsg0; the wakeup R5F
follows with .3.auto, virtio1, rpmsg_ctrl1, rpmsg1. Programs hard-code these names, so they
must not depend on scheduling or load. `--probe-order shuffle:SEED` permutes the order on
purpose, reproducibly, to catch such programs.
"""
from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from c_clients import compile_client
from daemon_process import DaemonProcess, make_mount_dir
from emulator_thread import EmulatorThread, make_board
from fusedev.cli.main import main
from fusedev.kernel.kernel import probe_order
from kernel_cfg import default_board

M4F = "devices/platform/bus@f0000/bus@f0000:bus@4000000/5000000.m4fss"
R5F = ("devices/platform/bus@f0000/bus@f0000:bus@b00000/bus@f0000:bus@b00000:r5fss@78000000/"
       "78000000.r5f")
MOUNTS = 20


def numbering(root: Path) -> dict[str, object]:
    """What a program sees of the numbering: names, link targets and listing order."""
    sys_ = root / "sys"
    seen: dict[str, object] = {}
    for listing in ("class/remoteproc", "class/rpmsg", "bus/virtio/devices",
                    "bus/platform/drivers/rproc-virtio", "bus/rpmsg/devices"):
        seen[listing] = [(name, os.readlink(sys_ / listing / name))
                         for name in os.listdir(sys_ / listing)
                         if os.path.islink(sys_ / listing / name)]
    seen["names"] = {name: (sys_ / "class/remoteproc" / name / "name").read_text()
                     for name in os.listdir(sys_ / "class/remoteproc")}
    seen["dev"] = sorted(os.listdir(root / "dev"))
    return seen


def mount_once(tmp: Path, board=None) -> dict[str, object]:
    root = Path(tempfile.mkdtemp(dir=tmp))
    emu = EmulatorThread(board or make_board(), root)
    try:
        return numbering(root)
    finally:
        emu.stop()


def test_twenty_mounts_number_the_board_the_same_way_under_load(tmp_path):
    stop = threading.Event()

    def hog() -> None:  # a busy Python thread competes with the emulator for the GIL
        while not stop.is_set():
            sum(range(10000))

    hogs = [threading.Thread(target=hog, daemon=True) for _ in range(2)]
    for thread in hogs:
        thread.start()
    try:
        results = [mount_once(tmp_path) for _ in range(MOUNTS)]
    finally:
        stop.set()
    first = results[0]
    assert all(result == first for result in results)
    assert first["names"]["remoteproc0"] == "5000000.m4fss\n"
    assert first["names"]["remoteproc1"] == "78000000.r5f\n"
    rpmsg = dict(first["class/rpmsg"])  # type: ignore[arg-type]
    chrdev0 = "/remoteproc/remoteproc0/rproc-virtio.2.auto/virtio0/virtio0.rpmsg_chrdev.-1.14"
    assert rpmsg["rpmsg0"] == f"../../{M4F}{chrdev0}/rpmsg/rpmsg0"
    assert rpmsg["rpmsg_ctrl0"] == (f"../../{M4F}/remoteproc/remoteproc0/rproc-virtio.2.auto"
                                    "/virtio0/virtio0.rpmsg_ctrl.0.0/rpmsg/rpmsg_ctrl0")
    assert rpmsg["rpmsg1"].startswith(f"../../{R5F}/remoteproc/remoteproc1/rproc-virtio.3.auto"
                                      "/virtio1/virtio1.rpmsg_chrdev.-1.14/")
    assert rpmsg["rpmsg_ctrl1"].startswith(f"../../{R5F}/remoteproc/remoteproc1/"
                                           "rproc-virtio.3.auto/virtio1/")
    # The board's order: everything of the M4F before anything of the R5F.
    assert [name for name, _ in first["bus/virtio/devices"]] == ["virtio0", "virtio1"]
    assert [name for name, _ in first["bus/platform/drivers/rproc-virtio"]] == \
        ["rproc-virtio.2.auto", "rproc-virtio.3.auto"]


def test_a_restarted_core_gets_its_numbers_back(emu):
    state = emu.root / "sys/class/remoteproc/remoteproc0/state"
    state.write_text("stop")
    assert not os.path.exists(emu.root / "dev/rpmsg0")
    state.write_text("start")
    virtio0 = os.readlink(emu.root / "sys/bus/virtio/devices/virtio0")
    assert virtio0 == f"../../../{M4F}/remoteproc/remoteproc0/rproc-virtio.2.auto/virtio0"
    assert os.path.realpath(emu.root / "sys/class/rpmsg/rpmsg_ctrl0").startswith(
        str(emu.root / "sys" / M4F))


def r5f_first_seed() -> int:
    """A seed whose permutation probes the R5F before the M4F."""
    board = default_board()
    for seed in range(100):
        order = [spec.rproc_id for spec in probe_order(
            dataclasses.replace(board, probe_order="shuffle", probe_seed=seed))]
        if order.index(15) < order.index(9):
            return seed
    raise AssertionError("no seed puts the R5F first")


def test_shuffled_probe_order_is_reproducible_and_moves_rpmsg0(tmp_path):
    seed = r5f_first_seed()
    board = make_board(probe_order=f"shuffle:{seed}")
    first, again = mount_once(tmp_path, board), mount_once(tmp_path, board)
    assert first == again
    rpmsg = dict(first["class/rpmsg"])  # type: ignore[arg-type]
    assert "78000000.r5f" in rpmsg["rpmsg0"] and "78000000.r5f" in rpmsg["rpmsg_ctrl0"]
    assert first != mount_once(tmp_path)  # the board's own order differs


def test_probe_order_option_errors_are_one_line_exit_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["mount", str(tmp_path), "--probe-order", "random"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("rpmsg-emu: error: --probe-order: 'random' is not allowed")
    assert "Traceback" not in err and err.count("\n") == 1


@pytest.mark.skipif(os.geteuid() != 0, reason="rpmsg-emu run as root; the user variant is "
                    "covered by test_cli_run_user")
def test_c_client_on_hard_coded_rpmsg0_reaches_the_m4f_echo(tmp_path):
    client = compile_client("rpmsg0_echo", tmp_path)
    run = [sys.executable, "-m", "fusedev.cli", "run", "--firmware", "15=sink"]
    # The R5F runs a sink (no answer): only the M4F's echo can answer on /dev/rpmsg0.
    result = subprocess.run([*run, "--", str(client)], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == (f"OK /sys/{M4F}/remoteproc/remoteproc0/rproc-virtio.2.auto/virtio0"
                             "/virtio0.rpmsg_chrdev.-1.14/rpmsg/rpmsg0\n")
    # Shuffled so that the R5F probes first, the same program talks to the sink and hears
    # nothing: what the option is for.
    shuffled = subprocess.run([*run, "--probe-order", f"shuffle:{r5f_first_seed()}", "--",
                               str(client), "1"], capture_output=True, text=True, timeout=120)
    assert (shuffled.returncode, shuffled.stdout) == (3, "TIMEOUT\n"), shuffled.stderr


def test_board_files_take_probe_order_and_refuse_anything_else(tmp_path):
    from kernel_cfg import BoardError, load_board

    path = tmp_path / "b.toml"
    path.write_text('soc = "AM62X"\nprobe_order = "shuffle:7"\n[cores.9]\n')
    board = load_board(path)
    assert (board.probe_order, board.probe_seed) == ("shuffle", 7)
    path.write_text('soc = "AM62X"\nprobe_order = "reverse"\n[cores.9]\n')
    with pytest.raises(BoardError) as info:
        load_board(path)
    assert info.value.key == "probe_order"
    assert "board, shuffle or shuffle:SEED" in info.value.message


def test_the_am62x_probes_m4f_r5f_then_the_prus():
    assert [spec.device for spec in probe_order(default_board())] == \
        ["5000000.m4fss", "78000000.r5f", "30074000.pru", "30078000.pru"]


def test_a_program_watching_dev_does_not_hold_up_the_boot(tmp_path):
    """A J784S4 boots its twelve cores one after another, each once the previous one's
    start-up is over (RemoteCore.settled). A program that lists /dev every 2 ms while waiting
    for the devices (as a udev-like watcher or the benchmark does) keeps Linux's loop busy
    with FUSE requests; that must not look like a core still starting up, or each core's boot
    waits out the 2 s limit ("firmware start-up not over … booting on")."""
    root = tmp_path / "board"
    make_mount_dir(root)
    daemon = DaemonProcess([sys.executable, "-m", "fusedev.cli", "mount", str(root),
                            "--soc", "j784s4"], root, "dev")
    try:
        deadline = time.monotonic() + 90
        ctrls: list[str] = []
        while len(ctrls) < 12 and time.monotonic() < deadline:
            ctrls = [name for name in os.listdir(root / "dev") if name.startswith("rpmsg_ctrl")]
            time.sleep(0.002)
        assert sorted(ctrls) == sorted(f"rpmsg_ctrl{n}" for n in range(12))
        assert "start-up not over" not in daemon.log()
    finally:
        daemon.cleanup()
