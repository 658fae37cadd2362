"""The sysfs walk of TI's library, read-only: rproc → virtio → channel → rpmsg_ctrl → eptdev.

It only reads directories, links and attribute files (no ioctls, no /dev), so it can be checked
against a static tree. Each lookup follows TI's rules so the same device is found on a board:
directories count only when readdir calls them directories (symlinks are skipped), links are
resolved as `realpath(dir + "/" + readlink)`, and the platform device must lie under
ROOT/sys/devices/.
"""

import dataclasses
import errno
import logging
import os
import re

from .errors import RpmsgCharError
from .rproc_id import RProcId

log = logging.getLogger(__name__)

_REMOTEPROC = re.compile(r"remoteproc(\d+)")
_VIRTIO = re.compile(r"virtio(\d+)")
_RPMSG_CTRL = re.compile(r"rpmsg_ctrl(\d+)")
_EPTDEV = re.compile(r"rpmsg(\d+)")
_FRAMEWORKS = {
    "sys/class/remoteproc": "remoteproc framework",
    "sys/bus/virtio": "virtio bus",
    "sys/bus/rpmsg": "rpmsg bus",
    "sys/class/rpmsg": "rpmsg class (rpmsg_char/rpmsg_ctrl)",
}


@dataclasses.dataclass(frozen=True)
class Route:
    """Where one remote core's rpmsg channel and control device live; all paths are real paths."""

    rproc_id: RProcId
    platform_name: str
    platform_dir: str
    remoteproc_dir: str
    virtio_dir: str
    channel_dir: str
    ctrl_dir: str
    ctrl_index: int

    @property
    def core(self) -> str:
        """How messages name the core, e.g. `M4F_MCU0_0 (5000000.m4fss)`."""
        return f"{self.rproc_id.name} ({self.platform_name})"


def channel_name(virtio_index: int, dev_name: str, remote_endpt: int) -> str:
    """`virtioV.<name>.-1.<dst>`: the kernel prints src (ANY) and dst with %d."""
    dst = remote_endpt - (1 << 32) if remote_endpt >= 1 << 31 else remote_endpt
    return f"virtio{virtio_index}.{dev_name}.-1.{dst}"


class SysfsTree:
    """The sysfs and /dev of one root, and the lookups TI's library makes in them."""

    def __init__(self, root: str):
        self.root = root

    def path(self, *parts: str) -> str:
        return os.path.join(self.root, *parts)

    def dev_node(self, name: str) -> str:
        return self.path("dev", name)

    @property
    def devices_prefix(self) -> str:
        return self.path("sys", "devices") + "/"

    # -- init --------------------------------------------------------------------------------

    def check_frameworks(self) -> None:
        """The four directories TI's init requires, each telling which kernel support is missing."""
        for rel, what in _FRAMEWORKS.items():
            if not os.path.isdir(self.path(rel)):
                raise RpmsgCharError(errno.ENOENT, f"{what} not present: {self.path(rel)} is missing",
                                     step="check kernel support", path=self.path(rel))

    def soc_family(self) -> str | None:
        """Contents of soc0/family without its newline, or None when the kernel has no soc device."""
        family = self.path("sys", "devices", "soc0", "family")
        try:
            return read_attr(family, step="detect SoC")
        except RpmsgCharError as exc:
            log.info("%s; falling back to the soc_name argument", exc)
            return None

    # -- A: the remote processor --------------------------------------------------------------

    def find_route(self, rproc_id: RProcId, platform_name: str, dev_name: str, remote_endpt: int) -> Route:
        """Resolve the whole chain from the core's platform device to its rpmsg_ctrl device."""
        core = f"{rproc_id.name} ({platform_name})"
        platform_dir, remoteproc_dir, virtio_index, virtio_dir = self._find_virtio(platform_name, core)
        channel_dir = self._channel_dir(virtio_dir, virtio_index, dev_name, remote_endpt, core)
        _check_chrdev_bound(channel_dir, core)
        ctrl_dir, ctrl_index = self._ctrl_dir(virtio_dir, virtio_index, channel_dir, core)
        route = Route(rproc_id, platform_name, platform_dir, remoteproc_dir, virtio_dir, channel_dir,
                      ctrl_dir, ctrl_index)
        log.debug("route: %s", route)
        return route

    def find_channel(self, rproc_id: RProcId, platform_name: str, dev_name: str, remote_endpt: int) -> str:
        """The channel device `dev_name`@`remote_endpt` of the core, whether a driver holds it or not."""
        core = f"{rproc_id.name} ({platform_name})"
        _, _, virtio_index, virtio_dir = self._find_virtio(platform_name, core)
        return self._channel_dir(virtio_dir, virtio_index, dev_name, remote_endpt, core)

    def _find_virtio(self, platform_name: str, core: str) -> tuple[str, str, int, str]:
        """platform device → remoteprocR → virtioV: (platform dir, remoteproc dir, V, virtio dir)."""
        platform_dir = self._platform_dir(platform_name, core)
        rproc_parent = os.path.join(platform_dir, "remoteproc")
        r_name, r_index = _one_dir(rproc_parent, _REMOTEPROC, step="find remoteproc",
                                   missing=f"{core} is not probed as a remoteproc")
        remoteproc_dir = os.path.join(rproc_parent, r_name)
        virtio_index = self._virtio_index(remoteproc_dir, r_index, core)
        return platform_dir, remoteproc_dir, virtio_index, self._virtio_dir(virtio_index)

    def _platform_dir(self, platform_name: str, core: str) -> str:
        links = self.path("sys", "bus", "platform", "devices")
        if not os.path.lexists(os.path.join(links, platform_name)):
            raise RpmsgCharError(errno.ENODEV, f"no platform device for {core}: "
                                 f"{os.path.join(links, platform_name)} does not exist",
                                 step="find remote processor", path=os.path.join(links, platform_name))
        target = deref_link(links, platform_name, step="find remote processor")
        if not target.startswith(self.devices_prefix):
            raise RpmsgCharError(errno.ENODEV, f"{os.path.join(links, platform_name)} resolves to {target}, "
                                 f"outside {self.devices_prefix}", step="find remote processor", path=target)
        if not os.path.isdir(target):
            raise RpmsgCharError(errno.ENODEV, f"{target} is not a directory", step="find remote processor",
                                 path=target)
        return target

    def _virtio_index(self, remoteproc_dir: str, r_index: int, core: str) -> int:
        """virtioV under `rproc-virtio*` (kernel 6.1+) or else `remoteprocR#vdev0buffer` (older)."""
        modern = sorted(name for name in _dir_names(remoteproc_dir, step="find virtio device")
                        if name.startswith("rproc-virtio"))
        parent = os.path.join(remoteproc_dir, modern[0] if modern else f"remoteproc{r_index}#vdev0buffer")
        state = _optional_attr(os.path.join(remoteproc_dir, "state"))
        _, v_index = _one_dir(parent, _VIRTIO, step="find virtio device",
                              missing=f"{core} has no virtio device (remoteproc state: {state or 'unknown'}); "
                                      f"is it running firmware with an rpmsg resource table?")
        return v_index

    def _virtio_dir(self, virtio_index: int) -> str:
        """The virtio device as the virtio bus lists it; checked against /sys/devices too (TI checks
        the wrong variable here)."""
        links = self.path("sys", "bus", "virtio", "devices")
        target = deref_link(links, f"virtio{virtio_index}", step="find virtio device")
        if not target.startswith(self.devices_prefix):
            raise RpmsgCharError(errno.ENODEV, f"{links}/virtio{virtio_index} resolves to {target}, "
                                 f"outside {self.devices_prefix}", step="find virtio device", path=target)
        return target

    # -- B: the channel and the control device -------------------------------------------------

    def _channel_dir(self, virtio_dir: str, v_index: int, dev_name: str, remote_endpt: int, core: str) -> str:
        wanted = channel_name(v_index, dev_name, remote_endpt)
        names = _dir_names(virtio_dir, step="find channel")
        if wanted not in names:
            others = _channels(names, v_index) or "none"
            raise RpmsgCharError(errno.ENODEV, f"no {dev_name} channel at endpoint {remote_endpt} on {core} "
                                 f"(looked for {virtio_dir}/{wanted}; channels: {others})",
                                 step="find channel", path=os.path.join(virtio_dir, wanted))
        return os.path.join(virtio_dir, wanted)

    def _ctrl_dir(self, virtio_dir: str, v_index: int, channel_dir: str, core: str) -> tuple[str, int]:
        """`virtioV.rpmsg_ctrl.0.0/rpmsg/rpmsg_ctrlC` (6.1+), else under the channel (before 6.1)."""
        ctrl_channel = f"virtio{v_index}.rpmsg_ctrl.0.0"
        if ctrl_channel in _dir_names(virtio_dir, step="find rpmsg_ctrl device"):
            parent = os.path.join(virtio_dir, ctrl_channel, "rpmsg")
        else:
            parent = os.path.join(channel_dir, "rpmsg")
        name, index = _one_dir(parent, _RPMSG_CTRL, step="find rpmsg_ctrl device",
                               missing=f"no rpmsg_ctrl device for {core} (is CONFIG_RPMSG_CTRL enabled?)")
        return os.path.join(parent, name), index

    # -- D: the endpoint device created by CREATE_EPT ------------------------------------------

    def eptdevs_named(self, ctrl_index: int, name: bytes) -> list[int]:
        """Indices N of the `rpmsgN` children of rpmsg_ctrlC whose `name` attribute is `name`."""
        ctrl_dir = deref_link(self.path("sys", "class", "rpmsg"), f"rpmsg_ctrl{ctrl_index}", step="find eptdev")
        found = []
        for child in _dir_names(ctrl_dir, step="find eptdev"):
            match = _EPTDEV.fullmatch(child)
            if match and _optional_attr(os.path.join(ctrl_dir, child, "name"), raw=True) == name:
                found.append(int(match.group(1)))
        return sorted(found)

    def eptdev_src(self, index: int) -> int:
        """The local address the kernel gave /dev/rpmsgN, from its `src` attribute (read after open)."""
        dev_dir = deref_link(self.path("sys", "class", "rpmsg"), f"rpmsg{index}", step="read local address")
        src_path = os.path.join(dev_dir, "src")
        text = read_attr(src_path, step="read local address")
        try:
            src = int(text, 0)
        except ValueError:
            raise RpmsgCharError(errno.EINVAL, f"{src_path} holds {text!r}, not a number",
                                 step="read local address", path=src_path) from None
        if src < 0:
            raise RpmsgCharError(errno.EADDRNOTAVAIL, f"{src_path} reads {src}: the kernel does not publish the "
                                 "address it allocated (mainline behaviour; TI's vendor kernel does). "
                                 "Pass an explicit local endpoint >= 1024 instead", step="read local address",
                                 path=src_path)
        return src


def _check_chrdev_bound(channel_dir: str, core: str) -> None:
    """TI's check: the channel has an rpmsg/ directory, i.e. the rpmsg_chrdev driver holds it."""
    if not os.path.isdir(os.path.join(channel_dir, "rpmsg")):
        name = os.path.basename(channel_dir)
        raise RpmsgCharError(errno.ENODEV, f"channel {name} on {core} has no rpmsg/ directory: no "
                             f"rpmsg_chrdev driver is bound to it (RpmsgChar.bind_chrdev() binds it)",
                             step="find channel", path=os.path.join(channel_dir, "rpmsg"))


def deref_link(directory: str, name: str, *, step: str) -> str:
    """`realpath(directory + "/" + readlink(directory/name))`: must be a symlink and must resolve."""
    link = os.path.join(directory, name)
    try:
        target = os.readlink(link)
    except OSError as exc:
        raise RpmsgCharError.from_os_error(exc, f"cannot read symlink {link}", step=step, path=link) from exc
    try:
        return os.path.realpath(os.path.join(directory, target), strict=True)
    except OSError as exc:
        raise RpmsgCharError.from_os_error(exc, f"{link} -> {target} does not resolve", step=step,
                                           path=link) from exc


def read_attr(path: str, *, step: str) -> str:
    """A sysfs attribute as text without its trailing newline (TI blindly drops the last byte)."""
    try:
        with open(path, "rb") as f:
            data = f.read(4096)
    except OSError as exc:
        raise RpmsgCharError.from_os_error(exc, f"cannot read {path}", step=step, path=path) from exc
    return data.removesuffix(b"\n").decode("utf-8", "surrogateescape")


def _optional_attr(path: str, raw: bool = False) -> str | bytes | None:
    """An attribute that may vanish or be absent; None then."""
    try:
        with open(path, "rb") as f:
            data = f.read(4096).removesuffix(b"\n")
    except OSError:
        return None
    return data if raw else data.decode("utf-8", "surrogateescape")


def _dir_names(path: str, *, step: str) -> list[str]:
    """Names of real subdirectories (readdir d_type DT_DIR; symlinks do not count), in readdir order."""
    try:
        with os.scandir(path) as entries:
            return [e.name for e in entries if e.is_dir(follow_symlinks=False)]
    except OSError as exc:
        raise RpmsgCharError.from_os_error(exc, f"cannot list {path}", step=step, path=path) from exc


def _one_dir(path: str, pattern: re.Pattern, *, step: str, missing: str) -> tuple[str, int]:
    """The subdirectory matching `pattern` with the lowest number (TI takes readdir order)."""
    try:
        names = _dir_names(path, step=step)
    except RpmsgCharError as exc:
        raise RpmsgCharError(exc.errno, f"{missing} ({exc.strerror})", step=step, path=path) from exc
    matches = sorted((int(m.group(1)), name) for name in names if (m := pattern.fullmatch(name)))
    if not matches:
        raise RpmsgCharError(errno.ENODEV, f"{missing}: nothing matching {pattern.pattern} in {path}",
                             step=step, path=path)
    if len(matches) > 1:
        log.warning("%s: several matches in %s, using %s", step, path, matches[0][1])
    return matches[0][1], matches[0][0]


def _channels(names: list[str], v_index: int) -> str:
    """The announced channels among a virtio device's children, as `name@dst`, for error messages."""
    pattern = re.compile(rf"virtio{v_index}\.(.+)\.(-?\d+)\.(-?\d+)")
    found = [f"{m.group(1)}@{m.group(3)}" for n in names if (m := pattern.fullmatch(n))
             and m.group(1) not in ("rpmsg_ctrl", "rpmsg_ns")]
    return ", ".join(sorted(found))
