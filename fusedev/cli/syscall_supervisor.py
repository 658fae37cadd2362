"""The seccomp user-notification supervisor of `rpmsg-emu run` (kernel/seccomp.c).

CMD installs the filter (`seccomp_filter`) between fork and exec and hands the listener fd to
us over a socket pair; a thread of ours then receives each trapped call
(SECCOMP_IOCTL_NOTIF_RECV), answers it (`syscall_answers`) and replies
(SECCOMP_IOCTL_NOTIF_SEND), with SECCOMP_USER_NOTIF_FLAG_CONTINUE for every call that is not
about the emulated board. The thread starts before CMD is spawned, so a trapped call made
between the filter and exec is answered too. A target that dies mid-call makes SEND or
ID_VALID fail with ENOENT, which is simply ignored. An answer that gives the caller a new file
(a DMA-buf) installs it with SECCOMP_IOCTL_NOTIF_ADDFD before the reply, as the kernel's
`fd_install` precedes its `copy_to_user`. An unexpected failure of the supervisor
kills CMD and makes `run` exit 125: a program must never run on silently wrong answers.
"""
from __future__ import annotations

import ctypes
import errno
import logging
import os
import select
import signal
import socket
import struct
import threading

from fusedev.cli.seccomp_filter import Installer, host_arch
from fusedev.cli.syscall_answers import FdHandover, Reply, SyscallAnswers

log = logging.getLogger(__name__)

NOTIF_FORMAT = "=QIIiIQ6Q"  # struct seccomp_notif: id, pid, flags, seccomp_data
NOTIF_SIZE = struct.calcsize(NOTIF_FORMAT)  # 80
RESP_FORMAT = "=QqiI"  # struct seccomp_notif_resp: id, val, error, flags
SECCOMP_IOCTL_NOTIF_RECV = 0xC0502100  # _IOWR('!', 0, struct seccomp_notif)
SECCOMP_IOCTL_NOTIF_SEND = 0xC0182101  # _IOWR('!', 1, struct seccomp_notif_resp)
SECCOMP_IOCTL_NOTIF_ID_VALID = 0x40082102  # _IOW('!', 2, __u64)
SECCOMP_IOCTL_NOTIF_ADDFD = 0x40182103  # _IOW('!', 3, struct seccomp_notif_addfd)
ADDFD_FORMAT = "=QIIII"  # struct seccomp_notif_addfd: id, flags, srcfd, newfd, newfd_flags
SECCOMP_USER_NOTIF_FLAG_CONTINUE = 1

_libc = ctypes.CDLL(None, use_errno=True)


class SyscallSupervisor:
    """Serves CMD's trapped calls from a thread of this process."""

    def __init__(self, make_answers) -> None:
        self.arch = host_arch()
        self.installer = Installer(self.arch)
        self._make_answers = make_answers
        self._ours, self._theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._wake_r, self._wake_w = os.pipe2(os.O_CLOEXEC)
        self._thread = threading.Thread(target=self._main, name="syscall-supervisor",
                                        daemon=True)
        self.child_pid = 0
        self.error: str | None = None

    # ---- in the child, between fork and exec ----------------------------------------------

    def install_in_child(self) -> None:
        """preexec_fn: put the filter on ourselves and pass the listener to the supervisor."""
        listener = self.installer.install()
        socket.send_fds(self._theirs, [b"L"], [listener])
        os.close(listener)

    # ---- in this process ------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def child_started(self, pid: int) -> None:
        self.child_pid = pid
        self._theirs.close()

    def stop(self) -> None:
        os.write(self._wake_w, b"x")
        self._thread.join(timeout=5)
        for fd in (self._wake_r, self._wake_w):
            os.close(fd)
        self._ours.close()

    def _main(self) -> None:
        try:
            listener = self._receive_listener()
            if listener is None:
                return
            try:
                answers: SyscallAnswers = self._make_answers(self.arch)
                self._serve(listener, answers)
            finally:
                os.close(listener)
        except Exception as exc:  # noqa: BLE001 - reported, and CMD must not go on
            log.debug("supervisor failure", exc_info=True)
            self.error = f"syscall supervisor failed: {exc}"
            if self.child_pid:
                os.kill(self.child_pid, signal.SIGKILL)

    def _receive_listener(self) -> int | None:
        poller = select.poll()
        poller.register(self._ours, select.POLLIN)
        poller.register(self._wake_r, select.POLLIN)
        for fd, _ in poller.poll():
            if fd == self._wake_r:
                return None  # CMD never started
        _, fds, _, _ = socket.recv_fds(self._ours, 1, 1)
        if not fds:
            raise OSError(errno.EPROTO, "no listener from the child")
        return fds[0]

    def _serve(self, listener: int, answers: SyscallAnswers) -> None:
        poller = select.poll()
        poller.register(listener, select.POLLIN)
        poller.register(self._wake_r, select.POLLIN)
        while True:
            for fd, events in poller.poll():
                if fd == self._wake_r:
                    return
                if events & select.POLLIN:
                    self._handle_one(listener, answers)
                elif events & (select.POLLHUP | select.POLLERR):
                    return  # every supervised task is gone

    def _handle_one(self, listener: int, answers: SyscallAnswers) -> None:
        buf = ctypes.create_string_buffer(NOTIF_SIZE)  # RECV wants it zeroed
        if _libc.ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, buf) < 0:
            err = ctypes.get_errno()
            if err in (errno.ENOENT, errno.EINTR):
                return  # the caller died before we looked
            raise OSError(err, f"NOTIF_RECV: {os.strerror(err)}")
        notif_id, tid, _, nr, _, _, *args = struct.unpack(NOTIF_FORMAT, buf.raw)
        try:
            reply = answers.answer(tid, nr, tuple(args))
        except OSError as exc:
            if not self._still_waiting(listener, notif_id):
                return
            log.debug("call %d of %d: %s; letting the kernel answer", nr, tid, exc)
            reply = Reply(proceed=True)
        if reply.handover is not None:
            reply = self._hand_over(listener, notif_id, reply.handover)
            if reply is None:
                return
        self._send(listener, notif_id, reply)

    @staticmethod
    def _hand_over(listener: int, notif_id: int, handover: FdHandover) -> Reply | None:
        """Install our file in the caller (kernel/seccomp.c `seccomp_notify_addfd`), then
        let the answer finish with the new fd's number; None when the caller is gone."""
        flags = os.O_CLOEXEC if handover.cloexec else 0
        addfd = ctypes.create_string_buffer(struct.pack(ADDFD_FORMAT, notif_id, 0, handover.fd,
                                                        0, flags))
        try:
            newfd = _libc.ioctl(listener, SECCOMP_IOCTL_NOTIF_ADDFD, addfd)
            if newfd < 0:
                err = ctypes.get_errno()
                if err == errno.ENOENT:
                    return None  # the caller was killed meanwhile
                return Reply(error=err)  # EMFILE: its fd table is full, as dma_buf_fd says
            return handover.finish(newfd)
        finally:
            os.close(handover.fd)

    @staticmethod
    def _still_waiting(listener: int, notif_id: int) -> bool:
        value = ctypes.c_uint64(notif_id)
        return _libc.ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, ctypes.byref(value)) == 0

    @staticmethod
    def _send(listener: int, notif_id: int, reply: Reply) -> None:
        flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE if reply.proceed else 0
        error = -reply.error if reply.error else 0
        resp = ctypes.create_string_buffer(struct.pack(RESP_FORMAT, notif_id, reply.value,
                                                       error, flags))
        if _libc.ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, resp) < 0:
            err = ctypes.get_errno()
            if err != errno.ENOENT:  # ENOENT: the caller was killed meanwhile
                raise OSError(err, f"NOTIF_SEND: {os.strerror(err)}")

