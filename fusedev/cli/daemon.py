"""Run a FUSE mount in the foreground until Ctrl-C or SIGTERM, then unmount cleanly."""
from __future__ import annotations

import logging
import signal
from typing import Awaitable, Callable

import trio

from fusedev.fuse.fuse_session import FuseMount

log = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


async def serve_until_signal(mount: FuseMount,
                             on_ready: Callable[[], Awaitable[None] | None] | None = None,
                             ) -> int:
    """Serve `mount`; return the signal that stopped it (0 when unmounted from outside)."""
    stopped_by = 0
    with trio.open_signal_receiver(*STOP_SIGNALS) as signals:
        async with trio.open_nursery() as nursery:

            async def serve_then_stop(task_status: trio.TaskStatus[None]) -> None:
                await mount.serve(task_status=task_status)
                nursery.cancel_scope.cancel()

            async def watch_signals() -> None:
                nonlocal stopped_by
                async for signum in signals:
                    log.info("signal %d: unmounting %s", signum, mount.path)
                    stopped_by = signum
                    mount.close()
                    return

            nursery.start_soon(watch_signals)
            await nursery.start(serve_then_stop)
            if on_ready is not None:
                result = on_ready()
                if result is not None:
                    await result
    return stopped_by
