"""A hardware mailbox: a 4-entry FIFO of 32-bit messages in one direction (TI K3 mailbox
cluster). rpmsg uses it for kicks: the message is the id of the vring that has news.

The FIFO is C (remote_fw/mailbox.c), so that Linux's side of a message can kick and take kicks
without Python (remote_fw/host_transport.c); this class is its Python face. The two ends are
two CPUs, here two threads: Linux's trio loop and the core's own. Each entry carries the time
it was posted, so the receiver can model its interrupt latency. The receiver attaches its
interrupt line (`InterruptLine`: an eventfd its ISR task waits on in its own loop); it rings
when the FIFO goes from empty to non-empty, and the ISR then `take`s until the FIFO is empty.
A full FIFO refuses `try_send`; the sender's `on_space` line rings when a slot frees (see
KickQueue). `sever` cuts the link for good: a stopped or crashed core's thread, which may
still be running, can no longer reach Linux, nor Linux it.
"""

from __future__ import annotations

import os

import trio

from ._vring_cffi import ffi, lib

MAILBOX_FIFO_DEPTH = 4


class Mailbox:
    def __init__(self, name: str, depth: int = MAILBOX_FIFO_DEPTH) -> None:
        self.name = name
        self.depth = depth
        mailbox = lib.rpe_mbox_new(depth)
        if mailbox == ffi.NULL:
            raise ValueError(f"mailbox depth {depth} is not 1..{lib.RPE_MBOX_MAX_DEPTH}")
        self.c = ffi.gc(mailbox, lib.rpe_mbox_free)
        """The C mailbox, for remote_fw/host_transport.c."""
        self._lines: list[InterruptLine | None] = [None, None]  # kept open while attached
        self._entry = ffi.new("uint32_t *"), ffi.new("double *")

    def __len__(self) -> int:
        """Messages in the FIFO now."""
        return self.c.count

    @property
    def severed(self) -> bool:
        return bool(self.c.severed)

    @property
    def lead(self) -> float:
        """How much earlier than due a sender with a modelled latency should post, so that the
        receiver's handler runs on time: learnt from `delivered` (the receiver's wake-up lag)."""
        return self.c.lead

    def attach(self, line: InterruptLine | None) -> None:
        """Connect (None: disconnect) the receiver's interrupt line; rings at once if a message
        is already waiting."""
        self._lines[0] = line
        lib.rpe_mbox_attach(self.c, -1 if line is None else line.fd)

    def on_space(self, line: InterruptLine | None) -> None:
        """Connect the sender's 'a slot is free again' line (rings after a refused try_send)."""
        self._lines[1] = line
        lib.rpe_mbox_on_space(self.c, -1 if line is None else line.fd)

    def try_send(self, msg: int, posted: float) -> bool:
        """Post `msg`, stamped `posted` (time.monotonic()); False when the FIFO is full.
        After `sever` every message is accepted and dropped."""
        return bool(lib.rpe_mbox_try_send(self.c, msg, posted))

    def take(self) -> tuple[int, float] | None:
        """The oldest (message, posted time), or None when empty (the receiver's ISR)."""
        msg, posted = self._entry
        if not lib.rpe_mbox_take(self.c, msg, posted):
            return None
        return msg[0], posted[0]

    def delivered(self, due: float) -> None:
        """The receiver handles a kick that was due at `due` (its `posted` stamp) now."""
        lib.rpe_mbox_delivered(self.c, due)

    def sever(self) -> None:
        """Disconnect both ends for good and forget what is queued."""
        lib.rpe_mbox_sever(self.c)
        self._lines = [None, None]


class InterruptLine:
    """A receiver's interrupt line: `ring` from any thread (an eventfd write, µs), `wait` in
    the receiving loop. Cheaper than TrioToken.run_sync_soon, which takes two loop passes."""

    def __init__(self, fd: int | None = None) -> None:
        self._fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC) if fd is None else fd

    def dup(self) -> InterruptLine:
        """A second handle on the same line, for a second task of the same loop (trio lets
        only one task at a time wait for a file descriptor); close it like the first."""
        return InterruptLine(os.dup(self._fd))

    @property
    def fd(self) -> int:
        """The eventfd, for a mailbox to ring from C."""
        return self._fd

    def ring(self) -> None:
        try:
            os.eventfd_write(self._fd, 1)
        except OSError:  # closed: the receiver is gone
            pass

    async def wait(self) -> None:
        """Until rung (at once if it was rung since the last wait)."""
        await trio.lowlevel.wait_readable(self._fd)
        self.clear()

    async def rung(self) -> None:
        """Until rung, leaving the ring for whoever `clear`s it (`wait` without the clear)."""
        await trio.lowlevel.wait_readable(self._fd)

    def clear(self) -> None:
        """Forget the rings so far; the next `wait` sleeps until the next ring."""
        try:
            os.eventfd_read(self._fd)
        except BlockingIOError:
            pass

    def close(self) -> None:
        """Only after the mailbox has let go of `ring` (attach(None)), so that no sender can
        write to a file descriptor number that is reused meanwhile."""
        os.close(self._fd)
