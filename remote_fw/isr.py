"""Running a core's RX pass inside the kick: the remote as a CPU that takes its interrupt at once.

When Linux kicks an idle core, the core's RX pass (take the posted buffers, call each endpoint's
callback, send replies through the vrings and the mailbox) can run to completion right there,
synchronously, instead of waking the core's RX task: that saves the trio scheduling hop on every
message. The pass is an ordinary coroutine driven by `run_in_kick`. Every place in remote_fw
where it might have to wait (no buffer from Linux, a full mailbox, a callback that may block)
first awaits `leave_kick()`: inside a kick that suspends the pass, and the core's RX task later
resumes the very same coroutine with `finish_in_task`, so nothing runs twice and order is kept.
Outside a kick `leave_kick()` does nothing.
"""
from __future__ import annotations

import threading
import types
from typing import Any, Coroutine, Generator

_LEAVE = object()


class _KickState(threading.local):
    """Per thread (each trio loop has its own): > 0 while a pass is driven synchronously;
    kicks can nest across cores."""

    depth = 0


_kick = _KickState()


@types.coroutine
def leave_kick() -> Generator[Any, Any, None]:
    """Await before anything that may block: inside a kick, continue in the core's task."""
    if _kick.depth:
        yield _LEAVE


def in_kick() -> bool:
    """Is a pass being driven synchronously inside a kick on this thread?"""
    return _kick.depth > 0


def run_in_kick(coro: Coroutine[Any, Any, None]) -> bool:
    """Drive `coro` synchronously; False when it left the kick (resume it with
    `finish_in_task`). Exceptions propagate to the caller."""
    _kick.depth += 1
    try:
        signal = coro.send(None)
    except StopIteration:
        return True
    finally:
        _kick.depth -= 1
    if signal is not _LEAVE:  # only remote_fw code runs here, and it always leaves first
        coro.close()
        raise RuntimeError(f"a pass run in a kick awaited {signal!r} without leave_kick()")
    return False


@types.coroutine
def finish_in_task(coro: Coroutine[Any, Any, None]) -> Generator[Any, Any, None]:
    """Resume, in the current trio task, a pass that left its kick."""
    yield from coro  # type: ignore[misc]
