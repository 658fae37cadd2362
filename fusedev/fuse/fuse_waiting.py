"""FUSE requests that wait: a blocked device read or write, finished later, and INTERRUPT.

libfuse calls the operations synchronously; one that must wait (an empty receive queue, a
full TX ring) keeps its request here and answers it when the wait queue wakes it. An
INTERRUPT from the kernel ends the call with EINTR only when the client has a signal to
handle or to die of (`signal_pending`); a stop or a debugger is waited out.
"""
from __future__ import annotations

import errno
import logging
from typing import TYPE_CHECKING, Any, Callable

import trio

from fusedev.fuse._fuse_cffi import ffi, lib
from fusedev.fuse.fileops import WouldBlock
from fusedev.fuse.signal_pending import ends_the_call

if TYPE_CHECKING:
    from fusedev.fuse.message_queue import QueuedRead  # a READ waiting in C

log = logging.getLogger(__name__)

SIGNAL_WATCH_INTERVAL = 0.05  # seconds between looks at a stopped or traced client's signals

Send = Callable[..., None]


class PendingRequest:
    """A request answered later by a trio task; an INTERRUPT that ends the call cancels it."""

    __slots__ = ("req", "scope", "interrupted", "handle", "waits", "done")

    def __init__(self, req: Any, waits: WaitingRequests) -> None:
        self.req = req
        self.scope = trio.CancelScope()
        self.interrupted = False
        self.handle = ffi.new_handle(self)
        self.waits = waits
        self.done = False

    @property
    def unanswered(self) -> bool:
        return not self.done

    def interrupt(self) -> None:
        self.waits.interrupted(self)

    def cancel(self) -> None:
        """End the call with EINTR (answered by the task)."""
        self.interrupted = True
        self.scope.cancel()


class WaitingRequest:
    """A request without a deadline waiting on a wait queue, retried inside `wake_up`.

    The wake-up that makes it ready (a message arriving) answers it at once: no trio task, no
    scheduling hop. An INTERRUPT that ends the call answers EINTR
    (`WaitingRequests.interrupted`); `abandon` forgets it when the session ends.
    """

    __slots__ = ("req", "attempt", "reply", "queue", "handle", "waiting", "interrupted", "waits")

    def __init__(self, req: Any, attempt: Callable[[], Any], reply: Callable[[Any, Any], None],
                 waits: WaitingRequests) -> None:
        self.req = req
        self.attempt = attempt
        self.reply = reply
        self.queue: Any = None
        self.handle = ffi.new_handle(self)
        self.waiting = False
        self.interrupted = False
        self.waits = waits

    def wait(self, queue: Any) -> None:
        self.queue = queue
        self.waiting = True
        queue.add_waiter(self.retry)

    def retry(self) -> None:
        """Woken: try again; answer, or wait for the next wake-up."""
        self.waiting = False
        req = self.req
        try:
            result = self.attempt()
        except WouldBlock as again:
            if again.timeout is None:
                self.wait(again.queue)
            else:  # now with a deadline: a trio task must keep the time
                self.waits.waiting.discard(self)
                self.waits.defer(req, self.attempt, again, self.reply)
            return
        except OSError as exc:
            self.waits.send(reply_err, req, exc.errno)
        except Exception:
            log.exception("deferred request failed")
            self.waits.send(lib.fuse_reply_err, req, errno.EIO)
        else:
            self.waits.send(self.reply, req, result)
        self.waits.waiting.discard(self)

    @property
    def unanswered(self) -> bool:
        return self.waiting

    def interrupt(self) -> None:
        self.waits.interrupted(self)

    def cancel(self) -> None:
        """End the call with EINTR (or, before it waits, tell `defer` to)."""
        self.interrupted = True
        if self.waiting:
            self.abandon()
            self.waits.send(lib.fuse_reply_err, self.req, errno.EINTR)
            self.waits.waiting.discard(self)

    def abandon(self) -> None:
        """Stop waiting without an answer."""
        if self.waiting:
            self.waiting = False
            self.queue.remove_waiter(self.retry)


class WaitingRequests:
    """The requests of one session that wait, and how they end."""

    def __init__(self, send: Send, nursery: trio.Nursery) -> None:
        # `send` replies to a request on an open file, or holds the reply while entry
        # invalidations run (fuse_ops.Operations.send).
        self.send = send
        self.nursery = nursery
        self.waiting: set[WaitingRequest] = set()

    def defer(self, req: Any, attempt: Callable[[], Any], blocked: WouldBlock,
              reply: Callable[[Any, Any], None]) -> None:
        """Finish `req` later: sleep on the wait queue, retry, reply; EINTR on interrupt.

        Without a deadline the request waits as a callback on the queue; with one, a trio
        task sleeps so that the timeout can fire.
        """
        if blocked.timeout is None:
            waiting = WaitingRequest(req, attempt, reply, self)
            lib.fuse_req_interrupt_func(req, lib.py_interrupt, waiting.handle)
            if waiting.interrupted:
                self.send(lib.fuse_reply_err, req, errno.EINTR)
                return
            self.waiting.add(waiting)
            waiting.wait(blocked.queue)
            return
        pending = PendingRequest(req, self)
        lib.fuse_req_interrupt_func(req, lib.py_interrupt, pending.handle)
        if pending.interrupted:
            self.send(lib.fuse_reply_err, req, errno.EINTR)
            return
        self.nursery.start_soon(self._wait_and_retry, pending, attempt, blocked, reply)

    async def _wait_and_retry(self, pending: PendingRequest, attempt: Callable[[], Any],
                              blocked: WouldBlock, reply: Callable[[Any, Any], None]) -> None:
        req = pending.req
        deadline = (trio.current_time() + blocked.timeout
                    if blocked.timeout is not None else float("inf"))
        try:
            with pending.scope:
                while True:
                    # Try again first: a wake-up may have come before this task ran. From a
                    # failed attempt to the sleep below nothing yields, so none is lost.
                    try:
                        result = attempt()
                    except WouldBlock as again:
                        blocked = again
                    except OSError as exc:
                        self.send(reply_err, req, exc.errno)
                        return
                    except Exception:
                        log.exception("deferred request failed")
                        self.send(lib.fuse_reply_err, req, errno.EIO)
                        return
                    else:
                        self.send(reply, req, result)
                        return
                    with trio.move_on_at(deadline) as timer:
                        await blocked.queue.sleep()
                    if timer.cancelled_caught:
                        self.send(reply_err, req, blocked.timeout_errno)
                        return
            if pending.interrupted:
                self.send(lib.fuse_reply_err, req, errno.EINTR)
            # otherwise the session is going away; the kernel aborts the request itself
        finally:
            pending.done = True

    def interrupted(self, request: PendingRequest | WaitingRequest | QueuedRead) -> None:
        """INTERRUPT for a request that waits (libfuse calls this once per INTERRUPT, maybe
        from `fuse_req_interrupt_func` inside `defer`).

        EINTR only when the client thread will see a signal: one it catches, or one that
        kills it (`signal_pending.ends_the_call`). A stop, Ctrl-Z or a debugger attaching
        also sends INTERRUPT, and on the board the call just restarts; here it keeps
        waiting. The kernel sends no second INTERRUPT for the request (fs/fuse/dev.c
        `request_wait_answer` now waits killable), so the thread is watched until the request
        is answered: a signal that comes later still ends the call, a SIGKILL included.
        """
        tid = lib.fuse_req_ctx(request.req).pid  # the requesting thread's id
        if ends_the_call(tid):
            request.cancel()
            return
        log.debug("INTERRUPT from thread %d without a signal to deliver: still waiting", tid)
        self.nursery.start_soon(self._watch_signals, request, tid)

    async def _watch_signals(self, request: PendingRequest | WaitingRequest | QueuedRead,
                             tid: int) -> None:
        while True:
            await trio.sleep(SIGNAL_WATCH_INTERVAL)
            if not request.unanswered:
                return
            if ends_the_call(tid):
                request.cancel()
                return

    def abandon(self) -> None:
        """The session is ending: waiting requests must never be answered (the kernel aborts
        them), so take them off their queues."""
        for waiting in self.waiting:
            waiting.abandon()
        self.waiting.clear()


def reply_err(req: Any, err: int | None) -> None:
    """Answer with an errno the FUSE protocol can carry.

    The kernel rejects a reply whose error is 0 or ≥ 512 (the ERESTART* range) and the
    client would wait forever, so such a value becomes EIO, loudly.
    """
    if not err or not 0 < err < 512:
        log.error("errno %r cannot travel through FUSE; answering EIO", err)
        err = errno.EIO
    lib.fuse_reply_err(req, err)
