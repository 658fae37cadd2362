"""Does a FUSE client thread have a signal that must end its blocked call? (`/proc` tells.)

The kernel's FUSE client sends INTERRUPT whenever its interruptible wait for our answer is
woken by anything that sets TIF_SIGPENDING: a signal the program catches or that kills it,
but also a stop (SIGSTOP, Ctrl-Z's SIGTSTP, the group stop of another thread) and a debugger
attaching (ptrace's SIGSTOP or PTRACE_INTERRUPT). On the board a blocked rpmsg_char read or
write returns -ERESTARTSYS then, and the kernel either restarts it (stop, ptrace, SA_RESTART)
or turns it into EINTR. FUSE cannot restart a call, so EINTR is answered only when the client
will see a signal anyway: an unblocked pending signal that it catches, or one whose default
action kills it (kernel/signal.c `sig_kernel_only`/`sig_kernel_stop`/`sig_kernel_ignore`,
include/linux/signal.h SIG_KERNEL_*_MASK). Everything else is a stop or a debugger: keep
waiting.
"""
from __future__ import annotations

import logging
import signal

log = logging.getLogger(__name__)

# Default action "stop" or "ignore" (SIG_KERNEL_STOP_MASK, SIG_KERNEL_IGNORE_MASK): such a
# signal, not caught, never ends a call. Every other signal ends it, caught or by killing.
_STOP_OR_IGNORE = frozenset({signal.SIGSTOP, signal.SIGTSTP, signal.SIGTTIN, signal.SIGTTOU,
                             signal.SIGCONT, signal.SIGCHLD, signal.SIGWINCH, signal.SIGURG})
_MASKS = ("SigPnd", "ShdPnd", "SigBlk", "SigIgn", "SigCgt")


def _masks(tid: int) -> dict[str, int]:
    """The signal masks of thread `tid` (FUSE's ctx pid is the requesting thread's id)."""
    masks: dict[str, int] = {}
    with open(f"/proc/{tid}/status", encoding="ascii", errors="replace") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in _MASKS:
                masks[key] = int(value, 16)
    if len(masks) != len(_MASKS):
        raise ValueError(f"/proc/{tid}/status has no signal masks")
    return masks


def ends_the_call(tid: int) -> bool:
    """True when thread `tid` has an unblocked pending signal that it catches or that kills
    it — the call must end with EINTR; False for stops, continues, ptrace and no signal.

    When the thread cannot be looked at (gone, another pid namespace, tid 0), True: a
    client must never be kept waiting by a signal we could not read.
    """
    if tid <= 0:
        return True
    try:
        masks = _masks(tid)
    except (OSError, ValueError) as exc:
        log.debug("INTERRUPT from thread %d: %s; answering EINTR", tid, exc)
        return True
    pending = (masks["SigPnd"] | masks["ShdPnd"]) & ~masks["SigBlk"]
    for signum in range(1, 65):
        bit = 1 << (signum - 1)
        if not pending & bit:
            continue
        if signum == signal.SIGKILL or masks["SigCgt"] & bit:
            return True
        if masks["SigIgn"] & bit or signum in _STOP_OR_IGNORE:
            continue
        return True  # default action: terminate or core dump
    return False
