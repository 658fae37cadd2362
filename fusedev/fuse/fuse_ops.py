"""The FUSE low-level operations: each request from the kernel mapped onto the vfs tree.

libfuse calls these synchronously from `fuse_session_process_buf`, inside the trio thread,
through the C entry points of `fuse_entry_points`.
Most requests are answered at once. A device read or write that has to wait keeps its
request and is finished later (`fuse_waiting`, which also handles INTERRUPT). A file whose
driver keeps a `MessageQueue` (an endpoint device) has its reads answered, or kept waiting,
in C (`message_queue`); `read` below sees them only while replies are held.

Entries are cached by the kernel (see `vfs`), so a removed node's entry is invalidated, from a
worker thread (the kernel takes the parent directory's lock, which a LOOKUP we have not read
yet may hold). While invalidations are in flight, replies to requests on open files (open,
read, write, ioctl, poll, release) are held and sent, in order, once they are done: whatever a
client learns through a file — DESTROY_EPT returned, `echo stop > state` returned, a read gave
EPIPE — the removed paths are already gone when it learns it. Requests that may hold a
directory lock (LOOKUP, READDIR) are never held, so the invalidations always finish.
"""
from __future__ import annotations

import errno
import logging
from typing import Any, Callable

import trio

from fusedev.fuse._fuse_cffi import ffi, lib
from fusedev.fuse.fileops import FsError, OpenFile, PollTable, WouldBlock
from fusedev.fuse.fuse_waiting import WaitingRequests
from fusedev.fuse.kernfs_file import AttributeHandle
from fusedev.fuse.message_queue import MessageQueue
from fusedev.fuse.vfs import (CACHE_TIMEOUT, Attribute, DeviceFile, Directory, Node, Symlink,
                              fs_bytes)

log = logging.getLogger(__name__)

ROOT_ID = 1
_IOC_DIRSHIFT = 30
_IOC_WRITE = 1


class DirHandle:
    """An open directory: a snapshot of its entries, so readdir offsets stay stable."""

    __slots__ = ("entries",)

    def __init__(self, node: Directory) -> None:
        parent = node.parent or node
        self.entries: list[tuple[str, Node]] = [(".", node), ("..", parent)]
        self.entries.extend(node.children.items())


class Operations:
    """Serves a vfs tree to the kernel through a libfuse session."""

    def __init__(self, root: Directory, nursery: trio.Nursery) -> None:
        self.root = root
        self.nursery = nursery
        self.session: Any = ffi.NULL
        self.inodes: dict[int, Node] = {ROOT_ID: root}
        self.handles: dict[int, Any] = {}
        self.poll_handles: dict[int, Any] = {}
        self.waits = WaitingRequests(self.send, nursery)
        self._next_fh = 1
        self._invalidations: trio.MemorySendChannel | None = None
        self._unfinished_invalidations = 0
        self._held_replies: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []
        # Non-zero while replies are held: the C read path (message_queue.c) then leaves
        # READs to Python and keeps pushed messages queued.
        self._held = ffi.new("int *")
        self.queues: dict[int, MessageQueue] = {}  # open files whose READs are served in C
        root.listener = self._node_removed

    # ---- helpers -------------------------------------------------------------------------

    def ino_of(self, node: Node) -> int:
        return ROOT_ID if node is self.root else node.ino

    def node(self, ino: int) -> Node:
        node = self.inodes.get(ino)
        if node is None:
            raise FsError(errno.ENOENT)
        return node

    def _new_fh(self, handle: Any) -> int:
        fh = self._next_fh
        self._next_fh += 1
        self.handles[fh] = handle
        return fh

    def _reply_entry(self, req: Any, node: Node) -> None:
        ino = self.ino_of(node)
        self.inodes[ino] = node
        node.nlookup += 1
        lib.rpe_reply_entry(req, ino, node.mode, node.nlink, node.uid, node.gid, node.size,
                            CACHE_TIMEOUT, node.mtime)

    def _reply_attr(self, req: Any, node: Node) -> None:
        lib.rpe_reply_attr(req, self.ino_of(node), node.mode, node.nlink, node.uid, node.gid,
                           node.size, CACHE_TIMEOUT, node.mtime)

    def send(self, reply: Callable[..., Any], *args: Any) -> None:
        """Send a reply to a request on an open file, or hold it while invalidations run."""
        if self._unfinished_invalidations:
            self._held_replies.append((reply, args))
        else:
            reply(*args)

    def _node_removed(self, parent: Directory, name: str, node: Node) -> None:
        """Removed from the tree: the kernel's cached entry must go before anyone can tell."""
        if node.nlookup and self._invalidations is not None:
            self._unfinished_invalidations += 1
            self._held[0] = 1
            self._invalidations.send_nowait((self.ino_of(parent), fs_bytes(name)))

    async def run_invalidations(self) -> None:
        """Send entry invalidations from a worker thread, all that are queued in one hop.

        The kernel takes the parent directory's lock for an invalidation; a request we have
        not answered yet may hold it, so the trio thread must never block on it. When the
        last one is done, the replies held meanwhile go out.
        """
        send, receive = trio.open_memory_channel[tuple[int, bytes]](float("inf"))
        self._invalidations = send
        async with receive:
            try:
                async for first in receive:
                    batch = [first]
                    while True:
                        try:
                            batch.append(receive.receive_nowait())
                        except trio.WouldBlock:
                            break
                    await trio.to_thread.run_sync(self._invalidate, batch,
                                                  abandon_on_cancel=True)
                    self._unfinished_invalidations -= len(batch)
                    if not self._unfinished_invalidations:
                        self._held[0] = 0
                        held, self._held_replies = self._held_replies, []
                        for reply, args in held:
                            reply(*args)
                        for queue in list(self.queues.values()):
                            queue.flush()  # READs that waited while replies were held
            finally:
                # The session is ending: the kernel forgets every entry by itself.
                self._invalidations = None
                self._unfinished_invalidations = 0
                self._held[0] = 0

    def _invalidate(self, batch: list[tuple[int, bytes]]) -> None:
        """In the worker thread: drop the kernel's entries (ENOENT: it had none left)."""
        for parent_ino, name in batch:
            lib.fuse_lowlevel_notify_inval_entry(self.session, parent_ino, name, len(name))

    def abandon_waiting(self) -> None:
        """The session is ending: nothing may be answered any more (the kernel aborts it)."""
        self.waits.abandon()
        self._held_replies.clear()
        for queue in self.queues.values():
            queue.detach()
        self.queues.clear()

    # ---- operations ----------------------------------------------------------------------

    def init(self, conn: Any) -> None:
        conn.want &= ~(lib.FUSE_CAP_SPLICE_READ | lib.FUSE_CAP_SPLICE_WRITE |
                       lib.FUSE_CAP_SPLICE_MOVE | lib.FUSE_CAP_AUTO_INVAL_DATA)
        # A symlink's target never changes (a new link is a new node): the kernel may keep it.
        conn.want |= conn.capable & lib.FUSE_CAP_CACHE_SYMLINKS

    def lookup(self, req: Any, parent: int, name: bytes) -> None:
        directory = self.node(parent)
        if not isinstance(directory, Directory):
            raise FsError(errno.ENOTDIR)
        child = directory.children.get(name.decode("utf-8", "surrogateescape"))
        if child is None:
            raise FsError(errno.ENOENT)
        self._reply_entry(req, child)

    def forget(self, req: Any, ino: int, nlookup: int) -> None:
        node = self.inodes.get(ino)
        if node is None or ino == ROOT_ID:
            return
        node.nlookup -= nlookup
        if node.nlookup <= 0:
            node.nlookup = 0
            del self.inodes[ino]

    def getattr(self, req: Any, ino: int) -> None:
        self._reply_attr(req, self.node(ino))

    def setattr(self, req: Any, ino: int, to_set: int) -> None:
        """Only truncation: kernfs accepts it and changes nothing; a character device is not
        a regular file, so truncate() and ftruncate() are EINVAL (fs/open.c `vfs_truncate`,
        `do_sys_ftruncate`). With FUSE_CAP_ATOMIC_O_TRUNC (libfuse's default) an open with
        O_TRUNC (`echo start > state`) sends no SETATTR, so only truncate calls get here,
        with the times ftruncate also sets."""
        node = self.node(ino)
        if to_set & ~(lib.FUSE_SET_ATTR_SIZE | lib.FUSE_SET_ATTR_MTIME
                      | lib.FUSE_SET_ATTR_MTIME_NOW | lib.FUSE_SET_ATTR_CTIME):
            raise FsError(errno.EPERM)
        if not to_set & lib.FUSE_SET_ATTR_SIZE:
            raise FsError(errno.EPERM)
        if not isinstance(node, Attribute):
            raise FsError(errno.EISDIR if isinstance(node, Directory) else errno.EINVAL)
        self._reply_attr(req, node)

    def readlink(self, req: Any, ino: int) -> None:
        node = self.node(ino)
        if not isinstance(node, Symlink):
            raise FsError(errno.EINVAL)
        lib.fuse_reply_readlink(req, fs_bytes(node.target))

    def open(self, req: Any, ino: int, fi: Any) -> None:
        node = self.node(ino)
        if isinstance(node, Directory):
            raise FsError(errno.EISDIR)
        if isinstance(node, Attribute):
            handle = AttributeHandle(node, fi.flags)
            self.send(lib.rpe_reply_open, req, self._new_fh(handle), 1)
            return
        if not isinstance(node, DeviceFile):
            raise FsError(errno.ENXIO)
        file = OpenFile(node, fi.flags)
        node.fops.open(file)
        fh = self._new_fh(file)
        queue = node.fops.message_queue(file)
        if queue is not None:  # its READs are answered in C from now on
            queue.attach(lib.fuse_req_userdata(req), fh, self._held, self.send)
            self.queues[fh] = queue
        self.send(self._reply_open_stream, req, fh, file)

    def _reply_open_stream(self, req: Any, fh: int, file: OpenFile) -> None:
        if lib.rpe_reply_open_stream(req, fh) == -errno.ENOENT:
            # The open was interrupted before our reply arrived: nobody holds the file.
            del self.handles[fh]
            self._detach_queue(fh)
            file.node.fops.release(file)

    def _detach_queue(self, fh: int) -> None:
        queue = self.queues.pop(fh, None)
        if queue is not None:
            queue.detach()

    def read(self, req: Any, size: int, offset: int, fi: Any) -> None:
        handle = self.handles.get(fi.fh)
        if isinstance(handle, AttributeHandle):
            data = handle.read(offset, size)
            self.send(lib.fuse_reply_buf, req, data, len(data))
            return
        if not isinstance(handle, OpenFile):
            raise FsError(errno.EBADF)
        flags = fi.flags
        fops = handle.node.fops
        self._now_or_when_woken(req, lambda: fops.read(handle, size, flags), _reply_data)

    def write(self, req: Any, data: bytes, offset: int, fi: Any) -> None:
        handle = self.handles.get(fi.fh)
        if isinstance(handle, AttributeHandle):
            self.send(lib.fuse_reply_write, req, handle.write(data))
            return
        if not isinstance(handle, OpenFile):
            raise FsError(errno.EBADF)
        flags = fi.flags
        fops = handle.node.fops
        self._now_or_when_woken(req, lambda: fops.write(handle, data, flags), _reply_written)

    def _now_or_when_woken(self, req: Any, attempt: Callable[[], Any],
                           reply: Callable[[Any, Any], None]) -> None:
        """A device read or write: answered now, or kept until its wait queue wakes it."""
        try:
            result = attempt()
        except WouldBlock as blocked:
            self.waits.defer(req, attempt, blocked, reply)
            return
        self.send(reply, req, result)

    def release(self, req: Any, fi: Any) -> None:
        handle = self.handles.pop(fi.fh, None)
        self._detach_queue(fi.fh)
        ph = self.poll_handles.pop(fi.fh, None)
        if ph is not None:
            lib.fuse_pollhandle_destroy(ph)
        if isinstance(handle, OpenFile):
            try:
                handle.node.fops.release(handle)
            except Exception:
                log.exception("release of %s failed", handle.node.path())
        self.send(lib.fuse_reply_err, req, 0)

    def fsync(self, req: Any, fi: Any) -> None:
        """sysfs has `noop_fsync`; the rpmsg char devices have no fsync, so the VFS says
        EINVAL (fs/sync.c `vfs_fsync_range`). Never ENOSYS: FUSE would take it for "fsync
        needs nothing" and answer 0 to every later fsync itself."""
        if isinstance(self.handles.get(fi.fh), OpenFile):
            self.send(lib.fuse_reply_err, req, errno.EINVAL)
        else:
            self.send(lib.fuse_reply_err, req, 0)

    def opendir(self, req: Any, ino: int, fi: Any) -> None:
        node = self.node(ino)
        if not isinstance(node, Directory):
            raise FsError(errno.ENOTDIR)
        lib.rpe_reply_open(req, self._new_fh(DirHandle(node)), 0)

    def readdir(self, req: Any, size: int, offset: int, fi: Any) -> None:
        handle = self.handles.get(fi.fh)
        if not isinstance(handle, DirHandle):
            raise FsError(errno.EBADF)
        buf = ffi.new("char[]", size)
        used = 0
        for index in range(offset, len(handle.entries)):
            name, node = handle.entries[index]
            entry = lib.rpe_add_direntry(req, buf + used, size - used, fs_bytes(name),
                                         self.ino_of(node), node.mode, index + 1)
            if used + entry > size:
                break
            used += entry
        lib.fuse_reply_buf(req, buf, used)

    def releasedir(self, req: Any, fi: Any) -> None:
        self.handles.pop(fi.fh, None)
        lib.fuse_reply_err(req, 0)

    def ioctl(self, req: Any, ino: int, cmd: int, arg: int, fi: Any, flags: int,
              in_data: bytes, out_size: int) -> None:
        handle = self.handles.get(fi.fh)
        if flags & lib.FUSE_IOCTL_DIR or not isinstance(handle, OpenFile):
            raise FsError(errno.ENOTTY)
        handle.caller = lib.fuse_req_ctx(req).pid
        result, out = handle.node.fops.ioctl(handle, cmd, arg, in_data)
        out = out[:out_size]
        self.send(lib.fuse_reply_ioctl, req, result, out if out else ffi.NULL, len(out))

    def poll(self, req: Any, fi: Any, ph: Any) -> None:
        fh = fi.fh
        handle = self.handles.get(fh)
        if not isinstance(handle, OpenFile):
            if ph != ffi.NULL:
                lib.fuse_pollhandle_destroy(ph)
            raise FsError(errno.EBADF)
        table = PollTable()
        mask = handle.node.fops.poll(handle, table)
        if ph != ffi.NULL:
            old = self.poll_handles.pop(fh, None)
            if old is not None:
                lib.fuse_pollhandle_destroy(old)
            if table.queues:
                self.poll_handles[fh] = ph
                notify = self._poll_notifier(fh, ph)
                for queue in table.queues:
                    queue.add_poller(fh, notify)
            else:
                lib.fuse_pollhandle_destroy(ph)
        self.send(lib.fuse_reply_poll, req, mask)

    def _poll_notifier(self, fh: int, ph: Any) -> Callable[[], None]:
        def notify() -> None:
            if self.poll_handles.get(fh) is ph:
                del self.poll_handles[fh]
                lib.fuse_lowlevel_notify_poll(ph)
                lib.fuse_pollhandle_destroy(ph)
        return notify


def _reply_data(req: Any, data: bytes) -> None:
    lib.fuse_reply_buf(req, data, len(data))


def _reply_written(req: Any, count: int) -> None:
    lib.fuse_reply_write(req, count)
