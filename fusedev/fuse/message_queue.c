/*
 * The receive queue of an endpoint device, in C: the messages received and the READs waiting
 * for one (drivers/rpmsg/rpmsg_char.c: `struct rpmsg_eptdev`'s skb `queue` and its `readq`).
 * fuse_build.py appends this file to the binding's source; fusedev/fuse/message_queue.py wraps
 * it for Python, and fusedev/kernel/rpmsg_char.py (the eptdev) owns one queue per device.
 *
 * Why in C: a message that arrives while a READ waits is the hot path of every echo. Pushing it
 * (`rpe_mq_push`, one call from Python per message) answers the oldest waiting READ at once,
 * and a READ on an open eptdev (`rpe_mq_read`, called by fuse_build.py `rpe_read`) is answered
 * or queued without entering Python.
 *
 * Like rpmsg_char:
 * - the queue is unbounded (rpmsg_ept_cb queues every skb), FIFO, one message per read;
 * - a read gets min(size, length) bytes of the oldest message and the rest is dropped
 *   (rpmsg_eptdev_read_iter: `use = min_t(size_t, iov_iter_count(to), skb->len)`);
 * - an empty queue: EAGAIN with O_NONBLOCK, else the READ waits (wait_event_interruptible);
 * - no endpoint (`bound` 0: destroyed, or the channel removed): EPIPE, and every waiting READ
 *   gets EPIPE at once (rpmsg_chrdev_eptdev_destroy wakes readq; the read sees !eptdev->ept).
 *   Python does that part (`MessageQueue.close`), as it keeps the control path.
 * Where the kernel wakes every reader and lets them race for the skb (a loser even returns
 * EFAULT when it finds the queue empty), here the oldest waiting READ gets the message.
 *
 * What stays in Python: open and release (which fill and clear the table fh -> queue below),
 * poll, destroy, INTERRUPT's policy (a C interrupt function asks fuse_entry_points.py
 * `py_read_interrupt`, which applies fuse_waiting.py `WaitingRequests.interrupted`), and every
 * READ while the session holds its replies (fuse_ops.py `Operations.send`: while entry
 * invalidations run, `*held` is non-zero; a push then queues, and `rpe_mq_flush` answers the
 * waiting READs once the held replies are out).
 *
 * Threads: one session's requests, pushes and control calls all run in its trio thread (cffi
 * releases the GIL around each call, so sessions in other threads may run at once); only the
 * table fh -> queue is shared between sessions and has a lock.
 */
#include <fcntl.h>
#include <pthread.h>

static void py_read_interrupt(uint64_t owner, uint64_t read_id, fuse_req_t req);

struct rpe_msg {                 /* one received message (an skb) */
    struct rpe_msg *next;
    size_t len;
    char data[];
};

struct rpe_reader {              /* one READ waiting in rpmsg_eptdev_read_iter's wait */
    struct rpe_reader *next;
    fuse_req_t req;
    size_t size;
    uint64_t id;                 /* for Python's INTERRUPT handling: never reused */
    int armed;                   /* 0 while its interrupt function is being registered */
    int cancelled;               /* INTERRUPT ended the call before it was armed */
};

/* The eptdev's sending side while it has an endpoint (eptdev_write.c): remote_fw's
 * rpe_host_send for the core's link, and the addresses a write goes from and to. */
struct rpe_tx {
    int (*send)(void *host, uint32_t src, uint32_t dst, const char *data, size_t len);
    void *host;
    uint32_t src, dst;
    const int *trace_on;         /* the trace pipe has readers: every message goes to Python */
};

struct rpe_mqueue {
    size_t len;                  /* messages queued */
    size_t waiting;              /* READs waiting */
    int bound;                   /* the eptdev has an endpoint (eptdev->ept != NULL) */
    uint64_t pushed;             /* messages pushed, for tests and the benchmark */
    uint64_t answered_at_once;   /* ... of which answered a waiting READ in rpe_mq_push */
    uint64_t owner;              /* the Python MessageQueue's key, for INTERRUPT */
    struct rpe_msg *head, *tail;
    struct rpe_reader *readers, *last_reader;
    uint64_t next_id;
    const int *held;             /* the session's "replies are held" flag, while attached */
    void *session;               /* attached: READs on (session, fh) come here */
    uint64_t fh;
    struct rpe_tx tx;            /* send == NULL: WRITEs go to Python */
    struct rpe_ept_table *table; /* delivers into this queue as endpoint `table_addr` */
    uint32_t table_addr;
};

static void rpe_ept_remove(struct rpe_ept_table *t, uint32_t addr);

static void rpe_mq_interrupt(fuse_req_t req, void *data);

/* ---- the table (session, fh) -> queue (hash_map.c), shared by the sessions ------------- */

static pthread_mutex_t rpe_fh_lock = PTHREAD_MUTEX_INITIALIZER;
static struct rpe_map rpe_fh_map;

static struct rpe_mqueue *rpe_fh_find(void *session, uint64_t fh)
{
    struct rpe_mqueue *q;
    pthread_mutex_lock(&rpe_fh_lock);
    q = rpe_map_find(&rpe_fh_map, (uint64_t)(uintptr_t)session, fh);
    pthread_mutex_unlock(&rpe_fh_lock);
    return q;
}

static int rpe_fh_add(void *session, uint64_t fh, struct rpe_mqueue *q)
{
    void *replaced;
    int err;
    pthread_mutex_lock(&rpe_fh_lock);
    err = rpe_map_put(&rpe_fh_map, (uint64_t)(uintptr_t)session, fh, q, &replaced);
    pthread_mutex_unlock(&rpe_fh_lock);
    return err;
}

static void rpe_fh_remove(void *session, uint64_t fh)
{
    pthread_mutex_lock(&rpe_fh_lock);
    rpe_map_remove(&rpe_fh_map, (uint64_t)(uintptr_t)session, fh);
    pthread_mutex_unlock(&rpe_fh_lock);
}

/* ---- the queue --------------------------------------------------------------------------- */

static struct rpe_mqueue *rpe_mq_new(uint64_t owner)
{
    struct rpe_mqueue *q = calloc(1, sizeof(*q));
    if (q != NULL)
        q->owner = owner;
    return q;
}

static int rpe_mq_held(const struct rpe_mqueue *q)
{
    return q->held != NULL && *q->held;
}

/* Would a message pushed now go to a waiting READ (else it is queued)? */
static int rpe_mq_answers_now(const struct rpe_mqueue *q)
{
    return q->readers != NULL && q->readers->armed && !rpe_mq_held(q);
}

/* Take `r` off the waiting READs and free it; its request, still unanswered, is returned. */
static fuse_req_t rpe_mq_take_reader(struct rpe_mqueue *q, struct rpe_reader *r)
{
    struct rpe_reader **link = &q->readers, *prev = NULL;
    fuse_req_t req = r->req;
    while (*link != r) {
        prev = *link;
        link = &(*link)->next;
    }
    *link = r->next;
    if (q->last_reader == r)
        q->last_reader = prev;
    q->waiting--;
    free(r);
    return req;
}

static struct rpe_reader *rpe_mq_find_reader(struct rpe_mqueue *q, uint64_t id)
{
    struct rpe_reader *r = q->readers;
    while (r != NULL && r->id != id)
        r = r->next;
    return r;
}

/* Drop the oldest message (there is one). */
static void rpe_mq_drop_oldest(struct rpe_mqueue *q)
{
    struct rpe_msg *m = q->head;
    q->head = m->next;
    if (q->head == NULL)
        q->tail = NULL;
    q->len--;
    free(m);
}

/* Answer `req` with the oldest message, truncated to `size`, and drop it. A READ the kernel has
 * given up on (its client was killed: the reply is ENOENT) leaves the message for the next. */
static int rpe_mq_answer(struct rpe_mqueue *q, fuse_req_t req, size_t size)
{
    struct rpe_msg *m = q->head;
    if (fuse_reply_buf(req, m->data, m->len < size ? m->len : size) == -ENOENT)
        return 0;
    rpe_mq_drop_oldest(q);
    return 1;
}

/* Drop every message: rpmsg_eptdev_release's skb_queue_purge. */
static void rpe_mq_purge(struct rpe_mqueue *q)
{
    while (q->head != NULL)
        rpe_mq_drop_oldest(q);
}

/* The waiting READs go without an answer: the session is ending (the kernel aborts them). */
static void rpe_mq_drop_readers(struct rpe_mqueue *q)
{
    while (q->readers != NULL) {
        struct rpe_reader *r = q->readers;
        q->readers = r->next;
        free(r);
    }
    q->last_reader = NULL;
    q->waiting = 0;
}

static void rpe_mq_free(struct rpe_mqueue *q)
{
    if (q->table != NULL)
        rpe_ept_remove(q->table, q->table_addr);
    if (q->session != NULL)
        rpe_fh_remove(q->session, q->fh);
    rpe_mq_drop_readers(q);
    rpe_mq_purge(q);
    free(q);
}

/*
 * A message from the endpoint (rpmsg_ept_cb): answer the oldest waiting READ with it, or
 * queue it. 1: a READ got it; 0: queued; -ENOMEM.
 */
static int rpe_mq_push(struct rpe_mqueue *q, const char *data, size_t len)
{
    struct rpe_msg *m;
    q->pushed++;
    while (rpe_mq_answers_now(q)) {
        size_t size = q->readers->size;
        fuse_req_t req = rpe_mq_take_reader(q, q->readers);
        if (fuse_reply_buf(req, data, len < size ? len : size) != -ENOENT) {
            q->answered_at_once++;
            return 1;
        }
    }
    m = malloc(sizeof(*m) + len);
    if (m == NULL)
        return -ENOMEM;
    m->next = NULL;
    m->len = len;
    memcpy(m->data, data, len);
    if (q->tail != NULL)
        q->tail->next = m;
    else
        q->head = m;
    q->tail = m;
    q->len++;
    return 0;
}

/*
 * Python's read of the oldest message (a READ while replies are held): copy min(len, size)
 * bytes to `buf` and drop it. Returns the bytes copied, or -EAGAIN when the queue is empty.
 */
static long rpe_mq_take(struct rpe_mqueue *q, char *buf, size_t size)
{
    struct rpe_msg *m = q->head;
    size_t use;
    if (m == NULL)
        return -EAGAIN;
    use = m->len < size ? m->len : size;
    memcpy(buf, m->data, use);
    rpe_mq_drop_oldest(q);
    return (long)use;
}

/* Answer waiting READs from queued messages (after held replies went out). */
static int rpe_mq_flush(struct rpe_mqueue *q)
{
    int answered = 0;
    while (q->head != NULL && rpe_mq_answers_now(q)) {
        size_t size = q->readers->size;
        answered += rpe_mq_answer(q, rpe_mq_take_reader(q, q->readers), size);
    }
    return answered;
}

/*
 * Take the oldest waiting READ off the queue, unanswered, for Python to answer (EPIPE when the
 * endpoint goes). Its interrupt function stays registered until the answer; it finds no reader
 * then and does nothing. NULL when none waits.
 */
static fuse_req_t rpe_mq_pop_reader(struct rpe_mqueue *q)
{
    struct rpe_reader *r = q->readers;
    if (r == NULL || !r->armed)
        return NULL;
    return rpe_mq_take_reader(q, r);
}

/*
 * INTERRUPT decided to end READ `id` (EINTR). A waiting READ comes off the queue and its request
 * is returned, for Python to answer; one still being registered is marked, and `rpe_mq_read`
 * answers it. NULL when it was answered meanwhile, or is being registered.
 */
static fuse_req_t rpe_mq_cancel(struct rpe_mqueue *q, uint64_t id)
{
    struct rpe_reader *r = rpe_mq_find_reader(q, id);
    if (r == NULL)
        return NULL;
    if (!r->armed) {
        r->cancelled = 1;
        return NULL;
    }
    return rpe_mq_take_reader(q, r);
}

/* Is READ `id` still waiting (not answered, cancelled or dropped)? */
static int rpe_mq_is_waiting(struct rpe_mqueue *q, uint64_t id)
{
    return rpe_mq_find_reader(q, id) != NULL;
}

/* libfuse's interrupt function of a waiting READ: Python decides (signal_pending.py). */
static void rpe_mq_interrupt(fuse_req_t req, void *data)
{
    struct rpe_mqueue *q = data;
    for (struct rpe_reader *r = q->readers; r != NULL; r = r->next)
        if (r->req == req) {
            py_read_interrupt(q->owner, r->id, req);
            return;
        }
}

/* An open file `fh` of `session` reads from this queue; `held` is the session's flag. */
static int rpe_mq_attach(struct rpe_mqueue *q, void *session, uint64_t fh, const int *held)
{
    int err = rpe_fh_add(session, fh, q);
    if (!err) {
        q->session = session;
        q->fh = fh;
        q->held = held;
    }
    return err;
}

/* The file is released (no READ can wait then), or the session ends (its READs are dropped). */
static void rpe_mq_detach(struct rpe_mqueue *q)
{
    if (q->session != NULL)
        rpe_fh_remove(q->session, q->fh);
    q->session = NULL;
    q->held = NULL;
    rpe_mq_drop_readers(q);
}

/*
 * A READ on an open file (fuse_build.py `rpe_read`): 1 when answered here or waiting here,
 * 0 for Python (not an eptdev, replies held, or out of memory).
 */
static int rpe_mq_read(fuse_req_t req, uint64_t fh, size_t size, int flags)
{
    struct rpe_mqueue *q = rpe_fh_find(fuse_req_userdata(req), fh);
    struct rpe_reader *r;

    if (q == NULL || rpe_mq_held(q))
        return 0;
    if (!q->bound) {
        fuse_reply_err(req, EPIPE);
        return 1;
    }
    if (q->head != NULL && q->readers == NULL) {
        rpe_mq_answer(q, req, size);  /* a reply to a READ the kernel dropped frees it too */
        return 1;
    }
    if (flags & O_NONBLOCK) {
        fuse_reply_err(req, EAGAIN);
        return 1;
    }
    r = calloc(1, sizeof(*r));
    if (r == NULL)
        return 0;
    r->req = req;
    r->size = size;
    r->id = ++q->next_id;
    if (q->last_reader != NULL)
        q->last_reader->next = r;
    else
        q->readers = r;
    q->last_reader = r;
    q->waiting++;
    /* An INTERRUPT that came first calls rpe_mq_interrupt from in here, with the request's
     * lock held: the READ may not be answered inside, so it is only marked (not armed). */
    fuse_req_interrupt_func(req, rpe_mq_interrupt, q);
    if (r->cancelled) {
        rpe_mq_take_reader(q, r);
        fuse_reply_err(req, EINTR);
        return 1;
    }
    r->armed = 1;
    return 1;
}
