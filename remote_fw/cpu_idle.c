/*
 * A core with nothing else to do waits for its next interrupt (a Cortex-R5F's or M4F's WFI).
 * Here: the core's ISR task sleeps on its mailbox line in C, inside its own step, when its
 * trio loop has nothing else to run (remote_fw/cpu_idle.py decides that; this file only
 * sleeps). vring_build.py appends it.
 *
 * Why: between two kicks of an echo the core's loop wakes for the kick, runs the RX pass and
 * the firmware's callback, and waits again. Waited on through trio, every kick costs a pass
 * of trio's loop (epoll, reschedule, a task switch): 9 of the core's 21 us of CPU per round
 * trip, measured pinned (docs/benchmarks.md, "The core's idle in C").
 *
 * The module's wrappers keep the GIL (vring_build.py); this call gives it up while asleep.
 */
#include <poll.h>
#include <time.h>
#include <unistd.h>

#define RPE_WFI_RUNG 1   /* the line rang; its count is cleared */
#define RPE_WFI_LOOP 0   /* the loop has work, `deadline` passed, or a signal came */

struct rpe_wfi_stats { uint64_t sleeps, rung; };

/*
 * Sleep until `line_fd` (an eventfd: the core's mailbox line) rings, `loop_fd` (trio's epoll
 * set: its other fds, timerfds and its wake-up from other threads) is readable, or
 * `deadline` (CLOCK_MONOTONIC seconds, trio's next timer) passes. The loop comes first: when
 * both are ready the line is left rung, and trio's own wait finds it at once.
 */
static int rpe_cpu_wfi(struct rpe_wfi_stats *stats, int line_fd, int loop_fd, double deadline)
{
    struct pollfd fds[2] = {{.fd = line_fd, .events = POLLIN}, {.fd = loop_fd, .events = POLLIN}};
    struct timespec now, left;
    uint64_t count;
    double seconds;
    int ready;

    clock_gettime(CLOCK_MONOTONIC, &now);
    seconds = deadline - ((double)now.tv_sec + (double)now.tv_nsec * 1e-9);
    if (seconds <= 0)
        return RPE_WFI_LOOP;
    left.tv_sec = (time_t)seconds;
    left.tv_nsec = (long)((seconds - (double)left.tv_sec) * 1e9);
    stats->sleeps++;
    PyThreadState *python = PyEval_SaveThread();
    ready = ppoll(fds, 2, &left, NULL);
    PyEval_RestoreThread(python);
    if (ready <= 0 || fds[1].revents != 0 || fds[0].revents == 0)
        return RPE_WFI_LOOP;
    if (read(line_fd, &count, sizeof(count)) != (ssize_t)sizeof(count))
        return RPE_WFI_LOOP;  /* taken meanwhile: nothing to lose, trio waits for the next */
    stats->rung++;
    return RPE_WFI_RUNG;
}
