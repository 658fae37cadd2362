"""Kernel profiles reproduce the version differences of linux-rpmsg-semantics.md §7."""

import errno

from kernel_cfg.kernel_profile import DEFAULT_PROFILE, PROFILES, profile_by_name


def test_profiles_and_default():
    assert set(PROFILES) == {"ti-6.x", "pre-6.1", "mainline"}
    assert DEFAULT_PROFILE == "ti-6.x"
    assert profile_by_name("mainline") is PROFILES["mainline"]


def test_ti_6x_is_what_tis_library_needs():
    p = PROFILES["ti-6.x"]
    assert p.virtio_parent == "rproc-virtio"
    assert not p.ctrl_under_channel
    assert p.eptdev_src_shows_address  # library reads src after open (§2.10)
    assert p.auto_eptdev_names == {"rpmsg-raw", "rpmsg_chrdev"}  # rpmsg0 on AM62x (T§4.8)
    assert p.ns_device and p.flow_control_ioctls and p.create_dev_ioctls
    assert not p.pollout
    assert p.open_after_destroy_errno == errno.ENETRESET
    assert p.start_while_running_errno is None
    assert p.kernel_release.startswith("6.6.") and "-ti" in p.kernel_release
    assert p.version == (6, 6)


def test_pre_61_layout():
    p = PROFILES["pre-6.1"]
    assert p.virtio_parent == "vdevbuffer"
    assert p.ctrl_under_channel
    assert p.eptdev_src_shows_address
    assert p.auto_eptdev_names == frozenset()
    assert not (p.ns_device or p.flow_control_ioctls or p.create_dev_ioctls or p.pollout)
    assert p.start_while_running_errno == errno.EBUSY
    assert p.chrdev_regions == ("rpmsg",)
    assert p.version < (6, 1)


def test_mainline_differs_from_ti_exactly_where_expected():
    ti, ml = PROFILES["ti-6.x"], PROFILES["mainline"]
    assert not ml.eptdev_src_shows_address
    assert ml.auto_eptdev_names == {"rpmsg-raw"}  # rpmsg_chrdev binds nothing before 6.18
    assert (6, 6) <= ml.version < (6, 18)
    same = ["virtio_parent", "ctrl_under_channel", "pollout", "flow_control_ioctls",
            "create_dev_ioctls", "open_after_destroy_errno", "start_while_running_errno",
            "ns_device", "chrdev_regions"]
    assert all(getattr(ti, f) == getattr(ml, f) for f in same)


def test_no_profile_has_pollout_before_7_0():
    assert all(p.pollout == (p.version >= (7, 0)) for p in PROFILES.values())
    assert all(p.flow_control_ioctls == (p.version >= (6, 6)) for p in PROFILES.values())
    assert all((p.virtio_parent == "rproc-virtio") == (p.version >= (6, 1))
               for p in PROFILES.values())
