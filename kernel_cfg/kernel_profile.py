"""Kernel profiles: the rpmsg/remoteproc details that differ between the kernels users run.

Each field is one behaviour the emulator reproduces. Values are traced to
reference/linux-rpmsg-semantics.md (§ numbers below, "L§") and reference/ti-rpmsg-char.md ("T§").
"""

from __future__ import annotations

import errno
from dataclasses import dataclass


@dataclass(frozen=True)
class KernelProfile:
    """What one kernel (version + vendor patches) looks like from user space."""

    name: str
    description: str
    # Parent of virtioN: "rproc-virtio" → remoteprocN/rproc-virtio.K.auto/ (v6.1+);
    # "vdevbuffer" → remoteprocN/remoteprocN#vdev0buffer/ (≤ v6.0). L§5.2, L§7, T§5.5.
    virtio_parent: str
    # rpmsg_ctrlN under the virtioV.rpmsg_chrdev.-1.14/rpmsg/ channel dir, no
    # virtioV.rpmsg_ctrl.0.0 device (TI 5.10 layout). T§5.5, L§3.1.
    ctrl_under_channel: bool
    # eptdev `src` shows the allocated address after open (TI) or stays -1 (mainline). L§2.10.
    eptdev_src_shows_address: bool
    # Channel names that get an automatic (default-endpoint) /dev/rpmsgN. L§2.1, T§4.8.
    auto_eptdev_names: frozenset[str]
    # /dev/rpmsgN reports POLLOUT (virtio .poll, v7.0+). L§2.6, L§8.14.
    pollout: bool
    # RPMSG_{GET_OUTGOING,SET_INCOMING}_FLOWCONTROL exist (v6.6+). L§2.7, L§7.
    flow_control_ioctls: bool
    # RPMSG_{CREATE,RELEASE}_DEV_IOCTL exist on the ctrl device (v5.18+). L§3.2, L§7.
    create_dev_ioctls: bool
    # errno of open() on an eptdev whose parent is gone: ENETRESET v6.3+ (L§2.3, L§8.2);
    # before, the destroyed cdev is gone, so a stale node gives ENXIO (L§8.2).
    open_after_destroy_errno: int
    # remoteproc `state` ← "start" while running: None = success (v5.19+), else errno. L§5.3.
    start_while_running_errno: int | None
    # virtioN.rpmsg_ns.53.53 bus device exists (stand-alone rpmsg_ns, v5.11+). L§4.4.
    ns_device: bool
    # An eptdev write goes to the destination of the ctrl device's channel, whatever the
    # eptdev's own dst (`rpmsg_send`/`rpmsg_trysend` before v5.13), instead of to the eptdev's
    # dst (`rpmsg_sendto(eptdev->chinfo.dst)`, v5.13+). drivers/rpmsg/rpmsg_char.c
    # `rpmsg_eptdev_write_iter`; virtio_rpmsg_bus.c `virtio_rpmsg_send` (dst = rpdev->dst).
    eptdev_sends_to_channel: bool
    # Names of the char-device regions in /proc/devices. L§2.2, L§7.
    chrdev_regions: tuple[str, ...]
    # What `uname -r` says on such a board.
    kernel_release: str
    # What `uname -v` says (the build's UTS_VERSION: build number, SMP/PREEMPT, date).
    kernel_version: str

    @property
    def version(self) -> tuple[int, int]:
        """(major, minor) of kernel_release, for "since vX.Y" comparisons."""
        major, minor = self.kernel_release.split(".")[:2]
        return int(major), int(minor)


PROFILES: dict[str, KernelProfile] = {
    p.name: p
    for p in (
        KernelProfile(
            name="ti-6.x",
            description="TI Processor SDK vendor kernel 6.6 (ti-linux-6.6.y): what TI boards ship",
            virtio_parent="rproc-virtio",  # ≥ 6.1, L§7; real AM62x log T§4.8
            ctrl_under_channel=False,  # virtio0.rpmsg_ctrl.0.0 present, T§4.8
            eptdev_src_shows_address=True,  # TI patch, L§2.10 [S11]
            # TI binds legacy `rpmsg_chrdev` channels too: rpmsg0 under
            # virtio0.rpmsg_chrdev.-1.14 on a real AM62x, T§4.8
            auto_eptdev_names=frozenset({"rpmsg-raw", "rpmsg_chrdev"}),
            pollout=False,  # < 7.0, L§2.6
            flow_control_ioctls=True,  # ≥ 6.6, L§2.7
            create_dev_ioctls=True,  # ≥ 5.18, L§3.2
            open_after_destroy_errno=errno.ENETRESET,  # ≥ 6.3, L§2.3
            start_while_running_errno=None,  # ≥ 5.19, L§5.3
            ns_device=True,  # ≥ 5.11, L§4.4; virtio0.rpmsg_ns.53.53 in T§4.8
            eptdev_sends_to_channel=False,  # ≥ 5.13: rpmsg_sendto(chinfo.dst)
            chrdev_regions=("rpmsg_char", "rpmsg_ctrl"),  # ≥ 5.18, L§2.2
            kernel_release="6.6.58-ti-g05aa3ff8e1e6",
            kernel_version="#1 SMP PREEMPT Thu Mar  6 16:04:32 UTC 2025",
        ),
        KernelProfile(
            name="pre-6.1",
            description="TI Processor SDK 8.x vendor kernel 5.10: #vdev0buffer parent, "
            "rpmsg_ctrl under the rpmsg_chrdev channel",
            virtio_parent="vdevbuffer",  # ≤ 6.0, L§7, T§5.5
            ctrl_under_channel=True,  # T§5.5
            eptdev_src_shows_address=True,  # TI vendor kernel, L§2.10
            auto_eptdev_names=frozenset(),  # default-endpoint eptdevs arrived in 5.18, L§2.1
            pollout=False,  # L§2.6
            flow_control_ioctls=False,  # < 6.6, L§7
            create_dev_ioctls=False,  # < 5.18, L§7
            open_after_destroy_errno=errno.ENXIO,  # < 6.3: cdev gone, L§8.2
            start_while_running_errno=errno.EBUSY,  # 5.10–5.18, L§5.3
            ns_device=False,  # < 5.11, L§4.4
            eptdev_sends_to_channel=True,  # 5.10 rpmsg_eptdev_write_iter: rpmsg_send
            chrdev_regions=("rpmsg",),  # one shared region before 5.18, L§2.2
            kernel_release="5.10.168-g2c23e6c538",
            kernel_version="#1 SMP PREEMPT Thu Jun 29 13:41:05 UTC 2023",
        ),
        KernelProfile(
            name="mainline",
            description="Mainline Linux 6.12 (models 6.6–6.17): eptdev src stays -1, "
            "rpmsg_chrdev channels bind nothing; TI's library cannot open endpoints here",
            virtio_parent="rproc-virtio",  # ≥ 6.1, L§7
            ctrl_under_channel=False,  # ≥ 5.18, L§3.1
            eptdev_src_shows_address=False,  # L§2.10
            auto_eptdev_names=frozenset({"rpmsg-raw"}),  # until 6.17, L§2.1
            pollout=False,  # < 7.0, L§2.6
            flow_control_ioctls=True,  # ≥ 6.6, L§2.7
            create_dev_ioctls=True,  # ≥ 5.18, L§3.2
            open_after_destroy_errno=errno.ENETRESET,  # ≥ 6.3, L§2.3
            start_while_running_errno=None,  # ≥ 5.19, L§5.3
            ns_device=True,  # ≥ 5.11, L§4.4
            eptdev_sends_to_channel=False,  # ≥ 5.13
            chrdev_regions=("rpmsg_char", "rpmsg_ctrl"),  # L§2.2
            # 6.12: the first mainline with the K3 M4F driver (L§6, TI_K3_M4_REMOTEPROC)
            kernel_release="6.12.0",
            kernel_version="#1 SMP PREEMPT Sun Nov 17 23:04:59 UTC 2024",
        ),
    )
}

DEFAULT_PROFILE = "ti-6.x"


def profile_by_name(name: str) -> KernelProfile:
    """The profile called `name`; KeyError listing the known ones otherwise."""
    try:
        return PROFILES[name.strip()]
    except KeyError:
        raise KeyError(f"unknown kernel profile {name!r}; known: {', '.join(PROFILES)}") from None
