"""Crash handling of one remote processor: `rproc_report_crash` and the recovery it triggers.

drivers/remoteproc/remoteproc_core.c: `rproc_report_crash` logs the crash and queues
`rproc_crash_handler_work`, which handles only the first crash (a processor already `crashed`
or `offline` is left alone), sets `crashed`, and calls `rproc_trigger_recovery` unless recovery
is disabled. The kernel retries without limit; a core that crashes again right after each
recovery would restart forever. So the emulator adds a throttle (issue 12): automatic
recoveries back off (`BACKOFF_FIRST` s, doubling) and after `RECOVERY_LIMIT` of them within
`RECOVERY_WINDOW` s the core stays `crashed` until the user writes `recover` (or `enabled`) to
`recovery`, which always recovers at once and starts a fresh window. Each crash is one log
line naming its type and what happens next.
"""
from __future__ import annotations

import collections
import logging
import time
from typing import TYPE_CHECKING

import trio

if TYPE_CHECKING:
    from fusedev.kernel.remoteproc import Rproc

log = logging.getLogger(__name__)

RECOVERY_LIMIT = 5  # automatic recoveries allowed within the window
RECOVERY_WINDOW = 60.0  # seconds
BACKOFF_FIRST = 0.1  # the second recovery in a window waits this long, the third twice that…

# include/linux/remoteproc.h `enum rproc_crash_type`; remoteproc_core.c `rproc_crash_to_string`
CRASH_NAMES = ("mmufault", "watchdog", "fatal error")


def crash_name(crash_type: int) -> str:
    """`rproc_crash_to_string`: the name of a crash type, "unknown" past the known ones."""
    return CRASH_NAMES[crash_type] if 0 <= crash_type < len(CRASH_NAMES) else "unknown"


class CrashHandler:
    """`rproc->crash_handler` of one processor, with the emulator's recovery throttle."""

    def __init__(self, rproc: Rproc) -> None:
        self.rproc = rproc
        self.crash_cnt = 0
        self.recoveries: collections.deque[float] = collections.deque()

    def report(self, what: str) -> None:
        """rproc_report_crash + rproc_crash_handler_work for a crash described by `what`."""
        rproc = self.rproc
        if rproc.state in ("crashed", "offline"):
            log.info("%s: crash (%s) ignored: processor is %s", rproc.dev.name, what,
                     rproc.state)
            return
        rproc.state = "crashed"
        self.crash_cnt += 1
        head = f"{rproc.dev.name}: crash #{self.crash_cnt} detected in {rproc.name}: {what}"
        if rproc.recovery_disabled:
            log.error("%s; recovery disabled, staying crashed", head)
            return
        delay = self._next_delay()
        if delay is None:
            log.error("%s; %d recoveries within %g s, staying crashed (write 'recover' to "
                      "recovery to restart it)", head, RECOVERY_LIMIT, RECOVERY_WINDOW)
            return
        log.error("%s; recovering%s", head, f" in {delay:g} s" if delay else "")
        if delay:
            self._schedule(delay)
        else:  # at once, before the write that reported it returns
            self.rproc.trigger_recovery()

    def _next_delay(self) -> float | None:
        """The back-off before the next automatic recovery, None past the limit."""
        now = time.monotonic()
        while self.recoveries and now - self.recoveries[0] > RECOVERY_WINDOW:
            self.recoveries.popleft()
        if len(self.recoveries) >= RECOVERY_LIMIT:
            return None
        self.recoveries.append(now)
        count = len(self.recoveries)
        return 0.0 if count == 1 else BACKOFF_FIRST * 2 ** (count - 2)

    def _schedule(self, delay: float) -> None:
        nursery = self.rproc.kernel.nursery
        if nursery is None:  # not booted yet: nothing can be running, so nothing to recover
            return

        async def recover_later() -> None:
            await trio.sleep(delay)
            # The crash handler checks the flag again: `recovery disabled` in the meantime wins.
            if not self.rproc.recovery_disabled:
                self.rproc.trigger_recovery()

        nursery.start_soon(recover_later, name=f"{self.rproc.dev.name}:recovery")

    def user_recovery(self) -> None:
        """`recover`/`enabled` written by the user: recover now and start a fresh window."""
        self.recoveries.clear()
        self.rproc.trigger_recovery()
