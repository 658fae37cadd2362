/*
 * The FUSE session's receive loop (fusedev/fuse/fuse_session.py drives it from trio;
 * fuse_build.py appends this file to the binding's source, after interrupt_lines.c, whose
 * lines it runs). One call reads requests from /dev/fuse (non-blocking) and hands each to
 * fuse_session_process_buf, which calls the Python operation: Python is entered once per
 * request, never for the read itself. trio still owns the waiting: when /dev/fuse is empty
 * the call returns and the session awaits the fd.
 *
 * Busy-polling (`spin`): a client whose next request follows its reply within microseconds
 * would otherwise send us to sleep and pay a wake-up, which across CPUs on a VM costs tens of
 * microseconds (an IPI and a VM exit). So before returning RPE_IDLE we poll /dev/fuse for up to
 * `window_ns`, yielding the CPU between polls (a client that shares our CPU runs then), and
 * stop at once when trio has other work: `wake_fd` is trio's epoll fd, readable as soon as any
 * fd trio waits for is (a reply from a core's thread, a signal, run_sync_soon).
 * The window adapts: it is `spin_max_ns` while requests follow one another within it (a spin
 * that catches a request, or a sleep that ended within it), and halves down to
 * `spin_max_ns / 8` after each spin that caught nothing. An idle daemon sleeps in trio and
 * spins not at all; one request a second costs at most one window.
 *
 * Interrupt lines (`irqs`, interrupt_lines.c): the loop waits for Linux's lines from the cores
 * as for /dev/fuse (`epfd` holds both, and is what trio waits for), and once /dev/fuse is
 * empty runs the handlers of the rung lines in C. Requests first: one already under way when
 * the interrupt came is served before it, as a syscall in progress would be on a board.
 * While trio sleeps, the lines' handlers run in C without waking it (`rpe_irqs_wait`).
 *
 * Sleeping in the loop's own step (`rpe_loop_idle`): when nothing but the FUSE task has run
 * or become runnable since trio last found nothing to run (fusedev/fuse/trio_idle.py keeps
 * `struct rpe_idle` from trio's instrument hooks), the task sleeps on `epfd` here instead of
 * returning to trio, and serves what comes in the same step: a request and the interrupt that
 * answers it cost no pass of trio's loop, and need the GIL only for Python operations.
 */
#include <sys/epoll.h>
#include <unistd.h>

#define RPE_DRAINED 0  /* /dev/fuse is empty after answering: call again (it spins) */
#define RPE_BUSY 1     /* max_requests answered in a row: let trio's other tasks run */
#define RPE_IDLE 2     /* empty after the spin: wait for the fd in trio */
#define RPE_WOKEN 3    /* the spin saw trio's other work ready: let it run, then spin on */
#define RPE_GONE 4     /* unmounted from outside, or the session exited */

struct rpe_loop {
    uint64_t served;     /* requests answered, for tests and the benchmark */
    uint64_t spins;      /* spins started */
    uint64_t spin_hits;  /* spins that caught a request */
    uint64_t window_ns;  /* the current spin window */
    uint64_t spin_max_ns;
    uint64_t last_ns;    /* when the last request was read */
    int slept;           /* the previous call returned RPE_IDLE */
    int streak;          /* requests answered since trio last ran */
    int epfd;            /* /dev/fuse and the interrupt lines: what trio waits for */
    int fd;
    int wake_fd;         /* -1: no wake fd, the spin only watches /dev/fuse */
    struct rpe_irqs *irqs;
    struct fuse_session *se;
    struct fuse_buf buf;
};

static uint64_t rpe_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static struct rpe_loop *rpe_loop_new(struct fuse_session *se, int wake_fd, uint64_t spin_max_ns,
                                     struct rpe_irqs *irqs)
{
    struct rpe_loop *loop = calloc(1, sizeof(*loop));
    struct epoll_event ev = {.events = EPOLLIN};
    if (loop == NULL)
        return NULL;
    loop->se = se;
    loop->fd = fuse_session_fd(se);
    loop->wake_fd = wake_fd;
    loop->irqs = irqs;
    loop->spin_max_ns = loop->window_ns = spin_max_ns;
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (loop->epfd < 0 || epoll_ctl(loop->epfd, EPOLL_CTL_ADD, loop->fd, &ev) < 0
        || (irqs != NULL
            && epoll_ctl(loop->epfd, EPOLL_CTL_ADD, rpe_irqs_epfd(irqs), &ev) < 0)) {
        if (loop->epfd >= 0)
            close(loop->epfd);
        free(loop);
        return NULL;
    }
    return loop;
}

static void rpe_loop_free(struct rpe_loop *loop)
{
    close(loop->epfd);
    free(loop->buf.mem);
    free(loop);
}

/* Run the handlers of the interrupt lines that were rung; 1 if any ran. */
static int rpe_loop_interrupts(struct rpe_loop *loop)
{
    return loop->irqs != NULL && (rpe_irqs_run(loop->irqs) & RPE_IRQS_RAN);
}

/* Poll until /dev/fuse has a request or a line was rung (RPE_DRAINED: go and serve it), trio
 * has other work (RPE_WOKEN), or the window passes (RPE_IDLE). */
static int rpe_loop_spin(struct rpe_loop *loop)
{
    struct pollfd fds[2] = {{.fd = loop->epfd, .events = POLLIN},
                            {.fd = loop->wake_fd, .events = POLLIN}};
    uint64_t deadline = rpe_now_ns() + loop->window_ns;

    loop->spins++;
    do {
        if (poll(fds, loop->wake_fd >= 0 ? 2 : 1, 0) > 0) {
            if (fds[0].revents) {  /* a request or a line, or POLLERR once unmounted */
                loop->spin_hits++;
                loop->window_ns = loop->spin_max_ns;
                return RPE_DRAINED;
            }
            return RPE_WOKEN;
        }
        sched_yield();
    } while (rpe_now_ns() < deadline);
    loop->window_ns = loop->window_ns / 2 > loop->spin_max_ns / 8 ? loop->window_ns / 2
                                                                   : loop->spin_max_ns / 8;
    return RPE_IDLE;
}

/*
 * Answer requests until /dev/fuse is empty; see the status codes above (or -errno). A call
 * that answered nothing spins once before giving up; one that answered something returns
 * RPE_DRAINED instead, since its operations may have made trio tasks runnable, which the
 * session must let run before spinning. `max_requests` in a row (counted across calls, until
 * trio next runs) return RPE_BUSY.
 */
static int rpe_loop_serve(struct rpe_loop *loop, int max_requests)
{
    int served = 0;

    if (loop->slept) {  /* woken by trio: was the gap short enough for a spin to catch? */
        loop->slept = 0;
        if (rpe_now_ns() - loop->last_ns <= loop->spin_max_ns)
            loop->window_ns = loop->spin_max_ns;
    }
    while (!fuse_session_exited(loop->se)) {
        int res = fuse_session_receive_buf(loop->se, &loop->buf);
        if (res == -EINTR)
            continue;
        if (res == -EAGAIN) {
            int status;
            if (rpe_loop_interrupts(loop)) {
                served = 1;  /* a handler may have answered READs: look again */
                continue;
            }
            if (served)
                return RPE_DRAINED;
            status = loop->window_ns ? rpe_loop_spin(loop) : RPE_IDLE;
            if (status == RPE_DRAINED) {
                served = -1;  /* spin once per call: the next EAGAIN returns RPE_DRAINED */
                continue;
            }
            loop->slept = status == RPE_IDLE;
            loop->streak = 0;  /* trio runs next */
            return status;
        }
        if (res == 0)
            return RPE_GONE;  /* ENODEV: unmounted from outside */
        if (res < 0)
            return res;
        loop->last_ns = rpe_now_ns();
        fuse_session_process_buf(loop->se, &loop->buf);
        loop->served++;
        served = 1;
        if (++loop->streak >= max_requests) {
            loop->streak = 0;
            return RPE_BUSY;
        }
    }
    return RPE_GONE;
}

/* What trio's instrument hooks tell the loop (trio_idle.py): `quiet` while nothing but the
 * FUSE task has run or become runnable since trio found nothing to run, until `deadline_ns`
 * (CLOCK_MONOTONIC, as rpe_now_ns: trio's next timer then); `sleeps` here, of which `woken` ended
 * with a request or a line, served in the same step (tests, benchmark). */
struct rpe_idle { int quiet; uint64_t deadline_ns; uint64_t sleeps, woken; };

/*
 * After RPE_IDLE, while `idle->quiet`: sleep on `epfd` (requests, lines) and trio's `wake_fd`
 * until `idle->deadline_ns`, and serve what comes here. Returns RPE_IDLE when trio must wait
 * instead (its fds or wake-up, its deadline, a signal: trio's own wait then finds them),
 * RPE_DRAINED when an operation made a task runnable (the quiet ended), or what the serving
 * returned otherwise (RPE_BUSY, RPE_WOKEN, RPE_GONE, -errno). Called without the GIL.
 */
static int rpe_loop_idle(struct rpe_loop *loop, struct rpe_idle *idle, int max_requests)
{
    struct pollfd fds[2] = {{.fd = loop->epfd, .events = POLLIN},
                            {.fd = loop->wake_fd, .events = POLLIN}};
    int status = RPE_IDLE;

    for (;;) {
        if (!idle->quiet)
            return RPE_DRAINED;
        if (status == RPE_IDLE) {
            uint64_t now = rpe_now_ns();
            struct timespec left;
            if (now >= idle->deadline_ns || loop->wake_fd < 0)
                return RPE_IDLE;
            left.tv_sec = (time_t)((idle->deadline_ns - now) / 1000000000u);
            left.tv_nsec = (long)((idle->deadline_ns - now) % 1000000000u);
            idle->sleeps++;
            if (ppoll(fds, 2, &left, NULL) <= 0 || fds[1].revents != 0 || fds[0].revents == 0)
                return RPE_IDLE;
            idle->woken++;
            loop->slept = 1;  /* woken from a sleep, as by trio (the spin window) */
        }
        status = rpe_loop_serve(loop, max_requests);  /* RPE_DRAINED: serve on, as trio would */
        if (status != RPE_IDLE && status != RPE_DRAINED)
            return status;
    }
}
