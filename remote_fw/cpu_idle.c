/*
 * A core with nothing else to do waits for its next interrupt (a Cortex-R5F's or M4F's WFI).
 * Here: the core's ISR task sleeps on its mailbox line in C, inside its own step, when its
 * trio loop has nothing else to run (remote_fw/cpu_idle.py decides that; this file only
 * sleeps). vring_build.py appends it.
 *
 * Why: between two kicks of an echo the core's loop wakes for the kick, runs the RX pass and
 * the firmware's callback, and waits again. Waited on through trio, every kick costs a pass
 * of trio's loop (epoll, reschedule, a task switch): 9 of the core's 21 us of CPU per round
 * trip, measured pinned (docs/benchmarks.md, "Both loops idle in C").
 *
 * Unpinned, a sleeping core's thread is woken across CPUs for each kick, tens of us on a VM:
 * as fusedev's receive loop does for /dev/fuse, the wait first polls the line for a while.
 *
 * The module's wrappers keep the GIL (vring_build.py); this call gives it up while waiting.
 * Times are time.monotonic() seconds, read with mailbox.c's rpe_monotonic.
 */
#include <poll.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#define RPE_WFI_RUNG 1   /* the line rang; its count is cleared */
#define RPE_WFI_LOOP 0   /* the loop has work, `deadline` passed, or a signal came */

/* The wait's state and counters. `window_ns`: how long to poll before sleeping (0 on one CPU,
 * where polling only delays whoever would ring); it adapts as receive_loop.c's spin does:
 * back to `spin_max_ns` after a poll that caught the line, halved down to an eighth after one
 * that did not, so a core kicked now and then spins little. */
struct rpe_wfi {
    uint64_t sleeps, rung;       /* waits, and waits that ended with the line rung */
    uint64_t spins, spin_hits;   /* polls before sleeping, and polls that caught the line */
    uint64_t window_ns, spin_max_ns;
};

/* Poll both fds for up to the window (yielding the CPU between looks); the poll's count. */
static int rpe_wfi_spin(struct rpe_wfi *wfi, struct pollfd *fds, double deadline)
{
    double until = rpe_monotonic() + (double)wfi->window_ns * 1e-9;
    int ready;
    if (until > deadline)
        until = deadline;
    wfi->spins++;
    while ((ready = poll(fds, 2, 0)) == 0 && rpe_monotonic() < until)
        sched_yield();
    if (ready > 0 && fds[0].revents != 0) {
        wfi->spin_hits++;
        wfi->window_ns = wfi->spin_max_ns;
    } else if (ready == 0) {
        wfi->window_ns = wfi->window_ns / 2 > wfi->spin_max_ns / 8 ? wfi->window_ns / 2
                                                                   : wfi->spin_max_ns / 8;
    }
    return ready;
}

/*
 * Wait until `line_fd` (an eventfd: the core's mailbox line) rings, `loop_fd` (trio's epoll
 * set: its other fds, timerfds and its wake-up from other threads) is readable, or
 * `deadline` (CLOCK_MONOTONIC seconds, trio's next timer) passes: first polling for the
 * window, then asleep. The loop comes first: when both are ready the line is left rung, and
 * trio's own wait finds it at once.
 */
static int rpe_cpu_wfi(struct rpe_wfi *wfi, int line_fd, int loop_fd, double deadline)
{
    struct pollfd fds[2] = {{.fd = line_fd, .events = POLLIN}, {.fd = loop_fd, .events = POLLIN}};
    struct timespec left;
    uint64_t count;
    double seconds = deadline - rpe_monotonic();
    int ready = 0;

    if (seconds <= 0)
        return RPE_WFI_LOOP;
    wfi->sleeps++;
    PyThreadState *python = PyEval_SaveThread();
    if (wfi->window_ns)
        ready = rpe_wfi_spin(wfi, fds, deadline);
    seconds = deadline - rpe_monotonic();
    if (ready == 0 && seconds > 0) {
        left.tv_sec = (time_t)seconds;
        left.tv_nsec = (long)((seconds - (double)left.tv_sec) * 1e9);
        ready = ppoll(fds, 2, &left, NULL);
    }
    PyEval_RestoreThread(python);
    if (ready <= 0 || fds[1].revents != 0 || fds[0].revents == 0)
        return RPE_WFI_LOOP;
    if (read(line_fd, &count, sizeof(count)) != (ssize_t)sizeof(count))
        return RPE_WFI_LOOP;  /* taken meanwhile: nothing to lose, trio waits for the next */
    wfi->rung++;
    return RPE_WFI_RUNG;
}
