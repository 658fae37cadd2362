"""The C entry points of the FUSE engine: libfuse calls these, they dispatch to `Operations`.

`fuse_build.py` declares each `py_*` function as `extern "Python"`; libfuse's low-level ops
table points at them. Each recovers the `Operations` object from the request's userdata and
calls the operation; an exception becomes the reply's errno (EIO, logged, when it carries
none), so a bug in an operation never leaves a client waiting.
"""
from __future__ import annotations

import errno
import logging
from typing import Any

from fusedev.fuse._fuse_cffi import ffi, lib
from fusedev.fuse.fuse_ops import Operations
from fusedev.fuse.message_queue import MessageQueue, QueuedRead
from fusedev.fuse.fuse_waiting import reply_err

log = logging.getLogger(__name__)


def _ops(req: Any) -> Operations:
    return ffi.from_handle(lib.fuse_req_userdata(req))


def _fail(req: Any, exc: BaseException) -> None:
    if isinstance(exc, OSError) and exc.errno:
        reply_err(req, exc.errno)
    else:
        log.exception("FUSE operation failed", exc_info=exc)
        lib.fuse_reply_err(req, errno.EIO)


def _fail_file_request(req: Any, exc: BaseException) -> None:
    """`_fail` for a request on an open file: held like its other replies."""
    _ops(req).send(_fail, req, exc)


@ffi.def_extern()
def py_init(userdata: Any, conn: Any) -> None:
    ffi.from_handle(userdata).init(conn)


@ffi.def_extern()
def py_lookup(req: Any, parent: int, name: Any) -> None:
    try:
        _ops(req).lookup(req, parent, ffi.string(name))
    except BaseException as exc:
        _fail(req, exc)


@ffi.def_extern()
def py_forget(req: Any, ino: int, nlookup: int) -> None:
    try:
        _ops(req).forget(req, ino, nlookup)
    except BaseException:
        log.exception("forget failed")


@ffi.def_extern()
def py_getattr(req: Any, ino: int, fi: Any) -> None:
    try:
        _ops(req).getattr(req, ino)
    except BaseException as exc:
        _fail(req, exc)


@ffi.def_extern()
def py_setattr(req: Any, ino: int, attr: Any, to_set: int, fi: Any) -> None:
    try:
        _ops(req).setattr(req, ino, to_set)
    except BaseException as exc:
        _fail(req, exc)


@ffi.def_extern()
def py_readlink(req: Any, ino: int) -> None:
    try:
        _ops(req).readlink(req, ino)
    except BaseException as exc:
        _fail(req, exc)


@ffi.def_extern()
def py_open(req: Any, ino: int, fi: Any) -> None:
    try:
        _ops(req).open(req, ino, fi)
    except BaseException as exc:
        _fail_file_request(req, exc)


@ffi.def_extern()
def py_read(req: Any, ino: int, size: int, off: int, fi: Any) -> None:
    try:
        _ops(req).read(req, size, off, fi)
    except BaseException as exc:
        _fail_file_request(req, exc)


@ffi.def_extern()
def py_write(req: Any, ino: int, buf: Any, size: int, off: int, fi: Any) -> None:
    try:
        _ops(req).write(req, ffi.unpack(buf, size), off, fi)
    except BaseException as exc:
        _fail_file_request(req, exc)


@ffi.def_extern()
def py_release(req: Any, ino: int, fi: Any) -> None:
    try:
        _ops(req).release(req, fi)
    except BaseException as exc:
        _fail_file_request(req, exc)


@ffi.def_extern()
def py_opendir(req: Any, ino: int, fi: Any) -> None:
    try:
        _ops(req).opendir(req, ino, fi)
    except BaseException as exc:
        _fail(req, exc)


@ffi.def_extern()
def py_readdir(req: Any, ino: int, size: int, off: int, fi: Any) -> None:
    try:
        _ops(req).readdir(req, size, off, fi)
    except BaseException as exc:
        _fail(req, exc)


@ffi.def_extern()
def py_releasedir(req: Any, ino: int, fi: Any) -> None:
    try:
        _ops(req).releasedir(req, fi)
    except BaseException as exc:
        _fail(req, exc)


@ffi.def_extern()
def py_statfs(req: Any, ino: int) -> None:
    lib.rpe_reply_statfs(req)


@ffi.def_extern()
def py_access(req: Any, ino: int, mask: int) -> None:
    # default_permissions makes the kernel check modes; existence is all that is left.
    try:
        _ops(req).node(ino)
        lib.fuse_reply_err(req, 0)
    except BaseException as exc:
        _fail(req, exc)


@ffi.def_extern()
def py_ioctl(req: Any, ino: int, cmd: int, arg: Any, fi: Any, flags: int, in_buf: Any,
             in_bufsz: int, out_bufsz: int) -> None:
    try:
        data = ffi.unpack(ffi.cast("char *", in_buf), in_bufsz) if in_bufsz else b""
        _ops(req).ioctl(req, ino, cmd, int(ffi.cast("uintptr_t", arg)), fi, flags, data,
                        out_bufsz)
    except BaseException as exc:
        _fail_file_request(req, exc)


@ffi.def_extern()
def py_poll(req: Any, ino: int, fi: Any, ph: Any) -> None:
    try:
        _ops(req).poll(req, fi, ph)
    except BaseException as exc:
        _fail_file_request(req, exc)


@ffi.def_extern()
def py_fsync(req: Any, ino: int, datasync: int, fi: Any) -> None:
    try:
        _ops(req).fsync(req, fi)
    except BaseException as exc:
        _fail_file_request(req, exc)


@ffi.def_extern()
def py_interrupt(req: Any, data: Any) -> None:
    ffi.from_handle(data).interrupt()


@ffi.def_extern()
def py_read_interrupt(owner: int, read_id: int, req: Any) -> None:
    """INTERRUPT for a READ waiting in a C message queue (message_queue.c): the same policy
    as for the requests that wait in Python."""
    try:
        queue = MessageQueue.find(owner)
        if queue is not None:
            _ops(req).waits.interrupted(QueuedRead(queue, read_id, req))
    except BaseException:
        log.exception("INTERRUPT of a queued READ failed")
