"""An open attribute file, served as fs/kernfs/file.c (sysfs) or debugfs serves it.

sysfs (kernfs):
- `kernfs_fop_open`: sysfs's root has KERNFS_ROOT_EXTRA_OPEN_PERM_CHECK, so opening for
  reading a file with no read bit (or no show), or for writing one with no write bit (or no
  store), is EACCES even for root, who passes the VFS permission check.
- Reads go through seq_file (`seq_read_iter`): a read at offset 0, or at an offset other than
  where the last read ended, runs show again (`traverse`); a read that continues where the
  last one ended is served from the text already shown. So `lseek(fd, 0, SEEK_SET)`,
  `pread(fd, …, 0)`, `rewind()` and `f.seek(0)` read the value afresh.
- `kernfs_fop_write_iter`: a write longer than a page is E2BIG (sysfs files have
  `atomic_write_len` PAGE_SIZE); the store sees the bytes and parses them itself
  (see `fusedev.kernel.sysfs_input`). The file position is not used.
debugfs files (remoteproc's) have no such open check: they are simple files whose read
renders afresh at every call (`simple_read_from_buffer`), and a file without a read or write
operation fails that call with EINVAL (fs/read_write.c `vfs_read`: no FMODE_CAN_READ).
"""
from __future__ import annotations

import errno
import os

from fusedev.fuse.fileops import FsError
from fusedev.fuse.vfs import Attribute, Directory

PAGE_SIZE = 4096
DEBUGFS = "debugfs"


class AttributeHandle:
    """An open attribute: its access mode and, for sysfs, the seq_file state."""

    __slots__ = ("node", "flags", "debugfs", "content", "read_end")

    def __init__(self, node: Attribute, flags: int) -> None:
        self.node = node
        self.flags = flags
        self.debugfs = filesystem_of(node) == DEBUGFS
        self.content: bytes | None = None  # what show gave, for a read that continues
        self.read_end = 0
        if not self.debugfs:
            access = flags & os.O_ACCMODE
            if access != os.O_RDONLY and not (node.mode & 0o222 and node.store is not None):
                raise FsError(errno.EACCES)
            if access != os.O_WRONLY and not (node.mode & 0o444 and node.show is not None):
                raise FsError(errno.EACCES)

    def read(self, offset: int, size: int) -> bytes:
        if self.node.show is None:
            raise FsError(errno.EINVAL)
        if self.debugfs or self.content is None or offset == 0 or offset != self.read_end:
            self.content = self.node.render()
        data = self.content[offset:offset + size]
        self.read_end = offset + len(data)
        return data

    def write(self, data: bytes) -> int:
        store = self.node.store
        if store is None:
            raise FsError(errno.EINVAL if self.debugfs else errno.EACCES)
        if not self.debugfs and len(data) > PAGE_SIZE:
            raise FsError(errno.E2BIG)
        store(data)
        return len(data)


def filesystem_of(node: Attribute) -> str:
    """The filesystem a node belongs to: the nearest directory marked as a mount, else sysfs."""
    parent = node.parent
    while parent is not None:
        if parent.fstype:
            return parent.fstype
        parent = parent.parent
    return "sysfs"


def mark_debugfs(directory: Directory) -> None:
    """Mark `directory` as where debugfs is mounted (/sys/kernel/debug)."""
    directory.fstype = DEBUGFS
