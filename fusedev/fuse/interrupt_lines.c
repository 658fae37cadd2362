/*
 * Linux's interrupt lines from the cores' mailboxes, handled in C by the FUSE loop (the part
 * of an interrupt controller that calls a line's handler when it fires). fuse_build.py
 * appends this file; fusedev/fuse/interrupt_lines.py wraps it. The FUSE loop
 * (`rpe_loop_serve`) runs the handlers of the lines that were rung, and so does
 * `rpe_irqs_wait` below while trio sleeps.
 *
 * Why: a core's reply rings Linux's line (an eventfd). Waited on by a trio task, each ring
 * costs a pass of trio's loop and a Python ISR. Here the FUSE loop, which already waits for
 * /dev/fuse, waits for the lines too (their epoll set is in its own) and calls each rung line's
 * handler in C - remote_fw/host_transport.c `rpe_host_irq`, which delivers into the eptdev
 * queues and answers the waiting READs. A handler returns 1 when it left work for Python (it
 * then rang a line of its own that a trio task waits on).
 *
 * Only the thread of the FUSE loop uses the lines, so they have no lock.
 */
#include <sys/epoll.h>

#define RPE_IRQ_MAX 64

struct rpe_irq { int fd; int (*handler)(void *arg); void *arg; };

struct rpe_irqs {
    uint64_t handled;            /* handler calls, for tests and the benchmark */
    uint64_t waits;              /* rpe_irqs_wait sleeps, for tests and the benchmark */
    unsigned n;
    int epfd;                    /* the lines' epoll set, nested in the FUSE loop's */
    struct rpe_irq irq[RPE_IRQ_MAX];
};

static struct rpe_irqs *rpe_irqs_new(void)
{
    struct rpe_irqs *irqs = calloc(1, sizeof(*irqs));
    if (irqs == NULL)
        return NULL;
    irqs->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (irqs->epfd < 0) {
        free(irqs);
        return NULL;
    }
    return irqs;
}

static int rpe_irqs_epfd(const struct rpe_irqs *irqs)
{
    return irqs->epfd;
}

static void rpe_irqs_free(struct rpe_irqs *irqs)
{
    close(irqs->epfd);
    free(irqs);
}

/* When eventfd `fd` is rung, call handler(arg) (an address from another module). */
static int rpe_irqs_add(struct rpe_irqs *irqs, int fd, uintptr_t handler, uintptr_t arg)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
    if (irqs->n == RPE_IRQ_MAX)
        return -ENOSPC;
    if (epoll_ctl(irqs->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
        return -errno;
    irqs->irq[irqs->n++] = (struct rpe_irq){fd, (int (*)(void *))handler, (void *)arg};
    return 0;
}

static void rpe_irqs_remove(struct rpe_irqs *irqs, int fd)
{
    for (unsigned i = 0; i < irqs->n; i++)
        if (irqs->irq[i].fd == fd) {
            epoll_ctl(irqs->epfd, EPOLL_CTL_DEL, fd, NULL);
            irqs->irq[i] = irqs->irq[--irqs->n];
            return;
        }
}

#define RPE_IRQS_RAN 1           /* a handler ran */
#define RPE_IRQS_PYTHON 2        /* ... and left work for Python */

/* Call the handler of every line that was rung (its handler clears it). */
static int rpe_irqs_run(struct rpe_irqs *irqs)
{
    struct epoll_event ev[RPE_IRQ_MAX];
    int ready = epoll_wait(irqs->epfd, ev, RPE_IRQ_MAX, 0), status = 0;
    for (int e = 0; e < ready; e++)
        for (unsigned i = 0; i < irqs->n; i++)
            if (irqs->irq[i].fd == ev[e].data.fd) {
                irqs->handled++;
                status |= RPE_IRQS_RAN;
                if (irqs->irq[i].handler(irqs->irq[i].arg))
                    status |= RPE_IRQS_PYTHON;
                break;
            }
    return status;
}

/*
 * trio is about to sleep (fuse_session.py calls this from its `before_io_wait` instrument, with
 * trio's own timeout: nothing of trio's can run before then). Sleep here instead, on `trio_fd`
 * (trio's epoll set, which holds the FUSE loop's and so these lines), and handle the lines
 * rung meanwhile in C, sleeping on after each: a core's reply is delivered, and the READ
 * waiting for it answered, with no pass of trio's loop. Returns once something else is ready
 * (a request on `fuse_fd` - served before the interrupt, as the loop does -, trio's other fds,
 * a wake-up from another thread, a signal), a handler left work for Python, or the timeout
 * passed; trio's own wait then finds what is ready at once. Returns 1 when the timeout passed:
 * trio's wait, which follows with the same timeout, must then be woken at once (the caller
 * does), or trio's timers would fire up to a whole timeout late.
 */
static int rpe_irqs_wait(struct rpe_irqs *irqs, int trio_fd, int fuse_fd, int64_t timeout_ns)
{
    struct pollfd pfd = {.fd = trio_fd, .events = POLLIN};
    struct pollfd request = {.fd = fuse_fd, .events = POLLIN};
    struct timespec start, ts;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        int64_t left = timeout_ns;
        if (timeout_ns >= 0) {
            clock_gettime(CLOCK_MONOTONIC, &ts);
            left -= (int64_t)(ts.tv_sec - start.tv_sec) * 1000000000
                    + (ts.tv_nsec - start.tv_nsec);
            if (left < 0)
                left = 0;
            ts.tv_sec = (time_t)(left / 1000000000);
            ts.tv_nsec = (long)(left % 1000000000);
        }
        irqs->waits++;
        int ready = ppoll(&pfd, 1, timeout_ns >= 0 ? &ts : NULL, NULL);
        if (ready <= 0)
            return ready == 0;  /* the timeout (1), or a signal */
        if (poll(&request, 1, 0) != 0)
            return 0;  /* a request came with the interrupt: the loop serves it first */
        if (rpe_irqs_run(irqs) != RPE_IRQS_RAN)
            return 0;  /* something else is ready, or Python has work */
    }
}
