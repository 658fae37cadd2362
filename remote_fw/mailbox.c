/*
 * A hardware mailbox in C: a FIFO of 32-bit messages in one direction (the TI K3 mailbox
 * cluster, drivers/mailbox/omap-mailbox.c: 4 entries per queue). rpmsg uses it for kicks: the
 * message is the id of the vring that has news. remote_fw/vring_build.py appends this file to
 * the ring module's source; remote_fw/mailbox.py wraps it for Python.
 *
 * Why in C: Linux's side of a message (remote_fw/host_transport.c) posts and takes kicks
 * without Python, from fusedev's FUSE thread without the GIL; the core's side (Python) uses
 * the same FIFO under the same lock.
 *
 * The two ends are two CPUs, here two threads. Each entry carries the time it was posted
 * (CLOCK_MONOTONIC seconds, Python's time.monotonic()), so the receiver can model its
 * interrupt latency. The receiver's interrupt line is an eventfd (`doorbell_fd`), written when
 * the FIFO goes from empty to non-empty, under the lock, so a detached line is never rung
 * afterwards; its ISR then takes until the FIFO is empty. A full FIFO refuses a send; the
 * sender's `space_fd` is written when the receiver frees a slot after a refusal. `severed`
 * cuts the link for good: every send is accepted and dropped, nothing can be taken.
 */
#include <pthread.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <time.h>

#define RPE_MBOX_MAX_DEPTH 16
#define RPE_MBOX_MAX_LEAD 500e-6  /* the most a sender posts ahead of a kick's due time */
#define RPE_MBOX_LEAD_GAIN 0.2

struct rpe_mbox {
    unsigned depth;          /* entries the FIFO holds */
    unsigned count;          /* entries in it now */
    int severed;
    double lead;             /* how much earlier than due a sender with a modelled latency
                                posts, so the receiver's handler runs on time (learnt) */
    unsigned head;
    int doorbell_fd, space_fd;   /* -1: not connected */
    int refused;             /* a send was refused since the last take */
    pthread_mutex_t lock;
    uint32_t msg[RPE_MBOX_MAX_DEPTH];
    double posted[RPE_MBOX_MAX_DEPTH];
};

static double rpe_monotonic(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void rpe_ring(int fd)
{
    if (fd >= 0)
        (void)eventfd_write(fd, 1);  /* EBADF: the receiver is gone */
}

static struct rpe_mbox *rpe_mbox_new(unsigned depth)
{
    struct rpe_mbox *mb;
    if (depth == 0 || depth > RPE_MBOX_MAX_DEPTH)
        return NULL;
    mb = calloc(1, sizeof(*mb));
    if (mb == NULL)
        return NULL;
    mb->depth = depth;
    mb->doorbell_fd = mb->space_fd = -1;
    pthread_mutex_init(&mb->lock, NULL);
    return mb;
}

static void rpe_mbox_free(struct rpe_mbox *mb)
{
    pthread_mutex_destroy(&mb->lock);
    free(mb);
}

/* Connect (-1: disconnect) the receiver's line; rings at once if a message is waiting. */
static void rpe_mbox_attach(struct rpe_mbox *mb, int fd)
{
    pthread_mutex_lock(&mb->lock);
    if (!mb->severed) {
        mb->doorbell_fd = fd;
        if (mb->count)
            rpe_ring(fd);
    }
    pthread_mutex_unlock(&mb->lock);
}

/* Connect (-1: disconnect) the sender's "a slot is free again" line. */
static void rpe_mbox_on_space(struct rpe_mbox *mb, int fd)
{
    pthread_mutex_lock(&mb->lock);
    if (!mb->severed)
        mb->space_fd = fd;
    pthread_mutex_unlock(&mb->lock);
}

/* Post `msg` stamped `posted`: 1, or 0 when the FIFO is full. Severed: accepted, dropped. */
static int rpe_mbox_try_send(struct rpe_mbox *mb, uint32_t msg, double posted)
{
    int sent = 1;
    pthread_mutex_lock(&mb->lock);
    if (mb->severed) {
        /* dropped */
    } else if (mb->count >= mb->depth) {
        mb->refused = 1;
        sent = 0;
    } else {
        unsigned slot = (mb->head + mb->count) % RPE_MBOX_MAX_DEPTH;
        mb->msg[slot] = msg;
        mb->posted[slot] = posted;
        if (++mb->count == 1)
            rpe_ring(mb->doorbell_fd);
    }
    pthread_mutex_unlock(&mb->lock);
    return sent;
}

/* Would a send be accepted now (a free slot, or severed)? Only the sender's thread fills the
 * FIFO, so for it the answer holds until it sends. */
static int rpe_mbox_has_room(struct rpe_mbox *mb)
{
    int room;
    pthread_mutex_lock(&mb->lock);
    room = mb->count < mb->depth || mb->severed;
    pthread_mutex_unlock(&mb->lock);
    return room;
}

/* The receiver's ISR: the oldest entry (1), or 0 when empty. */
static int rpe_mbox_take(struct rpe_mbox *mb, uint32_t *msg, double *posted)
{
    int took = 0;
    pthread_mutex_lock(&mb->lock);
    if (!mb->severed && mb->count) {
        *msg = mb->msg[mb->head];
        *posted = mb->posted[mb->head];
        mb->head = (mb->head + 1) % RPE_MBOX_MAX_DEPTH;
        mb->count--;
        took = 1;
        if (mb->refused) {
            mb->refused = 0;
            rpe_ring(mb->space_fd);
        }
    }
    pthread_mutex_unlock(&mb->lock);
    return took;
}

/* The receiver handles now a kick that was due at `due`: learn the sender's lead from the
 * lateness (an early kick corrects the lead at once, a late one by LEAD_GAIN). */
static void rpe_mbox_delivered(struct rpe_mbox *mb, double due)
{
    double late = rpe_monotonic() - due, lead;
    pthread_mutex_lock(&mb->lock);
    lead = mb->lead + (late > 0 ? RPE_MBOX_LEAD_GAIN : 1.0) * late;
    mb->lead = lead < 0 ? 0 : lead > RPE_MBOX_MAX_LEAD ? RPE_MBOX_MAX_LEAD : lead;
    pthread_mutex_unlock(&mb->lock);
}

/* Disconnect both ends for good and forget what is queued (a stopped or crashed core). */
static void rpe_mbox_sever(struct rpe_mbox *mb)
{
    pthread_mutex_lock(&mb->lock);
    mb->severed = 1;
    mb->count = 0;
    mb->doorbell_fd = mb->space_fd = -1;
    pthread_mutex_unlock(&mb->lock);
}
