"""The in-memory tree the FUSE engine serves: directories, attribute files, symlinks, devices.

Modelled on sysfs and devtmpfs rather than on a disk filesystem: attribute files compute
their content when read (seq_file rules, see `kernfs_file`) and may take writes through a
callback; symlinks are stored as the
relative text the kernel would create; device files carry a `FileOperations` object.

Caching: a node never changes its attributes or symlink target after it is made (a "changed"
device is a new node), so every entry and attribute is served with a long cache timeout and a
path walk costs no request once cached. Removal is what must stay exact: the engine
invalidates the kernel's entry of every removed node it has handed out (see `fuse_ops`), and
a name that does not exist is answered with an error, which the kernel never caches, so new
nodes appear at once.
"""
from __future__ import annotations

import itertools
import logging
import stat
import time
from typing import Callable

from fusedev.fuse.fileops import FileOperations

log = logging.getLogger(__name__)

CACHE_TIMEOUT = 3600.0
ATTRIBUTE_SIZE = 4096  # what sysfs reports for every attribute file

_inode_numbers = itertools.count(2)  # 1 is FUSE_ROOT_ID

ShowFn = Callable[[], "str | bytes"]


def fs_bytes(text: str) -> bytes:
    """A name or text of the tree as the kernel sees it: bytes that are not UTF-8 are kept
    as surrogate escapes (as os.fsdecode makes them), so they go back out unchanged."""
    return text.encode("utf-8", "surrogateescape")
StoreFn = Callable[[bytes], None]


class Node:
    """Common part of every node: identity, ownership, mode and place in the tree."""

    __slots__ = ("ino", "mode", "uid", "gid", "parent", "name", "mtime", "nlookup", "nlink")

    def __init__(self, mode: int, *, uid: int = 0, gid: int = 0) -> None:
        self.ino = next(_inode_numbers)
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.parent: Directory | None = None
        self.name = ""
        self.mtime = int(time.time())
        self.nlookup = 0
        self.nlink = 2 if stat.S_ISDIR(mode) else 1

    @property
    def size(self) -> int:
        return 0

    def path(self) -> str:
        """Path from the root of the tree, for messages and tests."""
        parts: list[str] = []
        node: Node | None = self
        while node is not None and node.parent is not None:
            parts.append(node.name)
            node = node.parent
        return "/" + "/".join(reversed(parts))


class Directory(Node):
    """A directory; children keep insertion order, as readdir of sysfs does."""

    __slots__ = ("children", "listener", "fstype")

    def __init__(self, mode: int = 0o755, **kw) -> None:
        super().__init__(stat.S_IFDIR | mode, **kw)
        self.children: dict[str, Node] = {}
        self.listener: Callable[[Directory, str, Node], None] | None = None
        self.fstype = ""  # set where another filesystem is mounted (debugfs), see kernfs_file

    def add(self, name: str, node: Node) -> Node:
        if name in self.children:
            raise FileExistsError(f"{self.path()}/{name} exists")
        node.parent = self
        node.name = name
        self.children[name] = node
        return node

    def mkdir(self, name: str, mode: int = 0o755, **kw) -> Directory:
        return self.add(name, Directory(mode, **kw))  # type: ignore[return-value]

    def makedirs(self, path: str, **kw) -> Directory:
        """Walk `a/b/c`, creating what is missing (the missing ones get `kw`)."""
        node = self
        for part in filter(None, path.split("/")):
            child = node.children.get(part)
            node = child if isinstance(child, Directory) else node.mkdir(part, **kw)
        return node

    def attribute(self, name: str, show: ShowFn | None = None, store: StoreFn | None = None,
                  mode: int | None = None, **kw) -> Attribute:
        if mode is None:
            mode = (0o444 if show else 0) | (0o200 if store else 0)
        return self.add(name, Attribute(show, store, mode, **kw))  # type: ignore[return-value]

    def symlink(self, name: str, target: str, **kw) -> Symlink:
        return self.add(name, Symlink(target, **kw))  # type: ignore[return-value]

    def device(self, name: str, fops: FileOperations, mode: int = 0o600,
               rdev: tuple[int, int] | None = None, **kw) -> DeviceFile:
        return self.add(name, DeviceFile(fops, mode, rdev, **kw))  # type: ignore[return-value]

    def remove(self, name: str) -> Node:
        """Detach a child (and so its whole subtree) and tell the engine."""
        node = self.children.pop(name)
        node.parent = None
        root = self.root()
        if root.listener is not None:
            root.listener(self, name, node)
        return node

    def discard(self, name: str) -> None:
        if name in self.children:
            self.remove(name)

    def root(self) -> Directory:
        node = self
        while node.parent is not None:
            node = node.parent
        return node

    def lookup(self, path: str) -> Node:
        """Resolve a relative path without following symlinks (KeyError if absent)."""
        node: Node = self
        for part in filter(None, path.split("/")):
            if not isinstance(node, Directory):
                raise KeyError(path)
            node = node.children[part]
        return node


class Attribute(Node):
    """A sysfs-style attribute: text computed when read, writes handed to `store`."""

    __slots__ = ("show", "store")

    def __init__(self, show: ShowFn | None, store: StoreFn | None, mode: int, **kw) -> None:
        super().__init__(stat.S_IFREG | mode, **kw)
        self.show = show
        self.store = store

    @property
    def size(self) -> int:
        return ATTRIBUTE_SIZE

    def render(self) -> bytes:
        if self.show is None:
            return b""
        text = self.show()
        return fs_bytes(text) if isinstance(text, str) else text


class Symlink(Node):
    """A symlink whose target is kept exactly as given (relative, as the kernel makes them)."""

    __slots__ = ("target",)

    def __init__(self, target: str, **kw) -> None:
        super().__init__(stat.S_IFLNK | 0o777, **kw)
        self.target = target

    @property
    def size(self) -> int:
        return len(fs_bytes(self.target))


class DeviceFile(Node):
    """A device node. A regular file under FUSE (see README), driven by `fops`.

    `rdev` is the (major, minor) of a character device: what `rpmsg-emu run` reports in stat,
    where the kernel's FUSE client can only show a regular file.
    """

    __slots__ = ("fops", "rdev")

    def __init__(self, fops: FileOperations, mode: int = 0o600,
                 rdev: tuple[int, int] | None = None, **kw) -> None:
        super().__init__(stat.S_IFREG | mode, **kw)
        self.fops = fops
        self.rdev = rdev
