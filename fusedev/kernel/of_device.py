"""Device-tree nodes of platform devices: `of_node`, the `of:` modalias and the OF_* uevent keys.

drivers/of/device.c `of_device_uevent` adds OF_NAME (`%pOFn`: the node name up to its `@`),
OF_FULLNAME (`%pOF`: the path from the root), OF_TYPE only when the node has a device_type,
OF_COMPATIBLE_<n> and OF_COMPATIBLE_N. drivers/of/module.c `of_modalias` makes
`of:N<name>T<type>C<compatible>…`; a node without device_type prints `T(null)` (`%s` of NULL)
and spaces in a compatible become `_`. drivers/base/core.c `device_add_class_symlinks` links
`of_node` to the node's directory under /sys/firmware/devicetree/base, which holds the node's
properties as files (a string property is its bytes with the trailing NUL).
"""
from __future__ import annotations

from dataclasses import dataclass

from fusedev.fuse.vfs import Directory


@dataclass(frozen=True)
class OfNode:
    """One device-tree node: its full path and `compatible` strings."""

    full_name: str
    compatible: tuple[str, ...]

    @property
    def name(self) -> str:
        """`%pOFn`: the last path component without its unit address."""
        return self.full_name.rsplit("/", 1)[-1].split("@", 1)[0]

    def modalias(self) -> str:
        compatible = "".join("C" + c.replace(" ", "_") for c in self.compatible)
        return f"of:N{self.name}T(null){compatible}"

    def uevent_lines(self) -> list[str]:
        lines = [f"OF_NAME={self.name}", f"OF_FULLNAME={self.full_name}"]
        lines += [f"OF_COMPATIBLE_{i}={c}" for i, c in enumerate(self.compatible)]
        return lines + [f"OF_COMPATIBLE_N={len(self.compatible)}"]


def node_name(device_name: str) -> str:
    """The DT node behind a platform device name: `5000000.m4fss` → `m4fss@5000000`,
    `bus@f0000:bus@4000000` → `bus@4000000` (drivers/of/platform.c `of_device_make_bus_id`)."""
    last = device_name.rsplit(":", 1)[-1]
    unit, dot, name = last.partition(".")
    return f"{name}@{unit}" if dot and "@" not in last else last


def devicetree_dir(sys: Directory, node: OfNode) -> Directory:
    """The node's directory under /sys/firmware/devicetree/base, with `name` and `compatible`."""
    directory = sys.makedirs("firmware/devicetree/base" + node.full_name)
    if "compatible" not in directory.children:
        directory.attribute("name", lambda: node.name.encode() + b"\0")
        directory.attribute("compatible",
                            lambda: b"".join(c.encode() + b"\0" for c in node.compatible))
    return directory
