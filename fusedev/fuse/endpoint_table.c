/*
 * The endpoints of one virtio rpmsg device whose messages C delivers: the part of
 * drivers/rpmsg/virtio_rpmsg_bus.c rpmsg_recv_single that finds the endpoint by destination
 * address (`idr_find(&vrp->endpoints, dst)`) and calls its callback, for endpoints whose
 * callback is an eptdev's rpmsg_ept_cb (message_queue.c `rpe_mq_push`). fuse_build.py appends
 * this file after message_queue.c; fusedev/fuse/endpoint_table.py wraps it.
 *
 * The table is a `struct rpe_rx_sink` (laid out as remote_fw/host_transport.c declares it)
 * that Linux's mailbox ISR in C (`rpe_host_isr`) drains the RX ring into. It takes a message
 * only when Python has nothing to do for it: the destination is an eptdev's bound endpoint and
 * the trace pipe has no reader. Others (name service, channels, a traced message) stop the C
 * drain, and Python's bottom half delivers the rest of the ring, in order.
 *
 * A message that no waiting READ takes is queued, and its eptdev's pollers and Python-side
 * readers must be woken (rpmsg_ept_cb's wake_up_interruptible): the queue's owner key is
 * noted in `woken` and `sink.pending` set, and Python wakes them after the interrupt
 * (endpoint_table.py `EndpointTable.wake_queued`). While `woken` is full, such a message is
 * left to Python.
 *
 * Only Linux's thread uses a table (its mailbox ISR, and open/release), so it has no lock.
 */

struct rpe_rx_sink {
    void *(*lookup)(void *ctx, uint32_t dst);
    void (*deliver)(void *target, const char *data, size_t len);
    void *ctx;
    int pending;                 /* messages were queued: Python must wake their readers */
};

#define RPE_WOKEN_MAX 32

struct rpe_ept_slot { uint32_t addr; struct rpe_mqueue *q; };

struct rpe_ept_table {
    struct rpe_rx_sink sink;     /* first: the table is passed as its sink */
    const int *trace_on;
    size_t cap, used;            /* cap: 0 or a power of two, kept under half full */
    struct rpe_ept_slot *slots;
    unsigned nwoken;
    uint64_t woken[RPE_WOKEN_MAX];
};

static size_t rpe_ept_slot_of(const struct rpe_ept_table *t, uint32_t addr)
{
    size_t i = (size_t)((addr * 0x9E3779B1u) & (t->cap - 1));
    while (t->slots[i].q != NULL && t->slots[i].addr != addr)
        i = (i + 1) & (t->cap - 1);
    return i;
}

static struct rpe_mqueue *rpe_ept_find(const struct rpe_ept_table *t, uint32_t addr)
{
    return t->used ? t->slots[rpe_ept_slot_of(t, addr)].q : NULL;
}

/* Would pushing into `q` answer a waiting READ (else the message is queued)? */
static int rpe_mq_answers_now(const struct rpe_mqueue *q)
{
    return q->readers != NULL && q->readers->armed && !rpe_mq_held(q);
}

static void *rpe_ept_lookup(void *ctx, uint32_t dst)
{
    struct rpe_ept_table *t = ctx;
    struct rpe_mqueue *q;
    if (*t->trace_on || (q = rpe_ept_find(t, dst)) == NULL)
        return NULL;
    if (!rpe_mq_answers_now(q) && t->nwoken == RPE_WOKEN_MAX)
        return NULL;
    return q;
}

static void rpe_ept_deliver(void *target, const char *data, size_t len)
{
    struct rpe_mqueue *q = target;
    struct rpe_ept_table *t = q->table;
    unsigned i;
    /* 1: a READ took it; -ENOMEM: dropped, as rpmsg_ept_cb drops an skb it cannot allocate */
    if (rpe_mq_push(q, data, len) != 0)
        return;
    for (i = 0; i < t->nwoken && t->woken[i] != q->owner; i++)
        ;
    if (i == t->nwoken)
        t->woken[t->nwoken++] = q->owner;
    t->sink.pending = 1;
}

static struct rpe_ept_table *rpe_ept_table_new(const int *trace_on)
{
    struct rpe_ept_table *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return NULL;
    t->sink.lookup = rpe_ept_lookup;
    t->sink.deliver = rpe_ept_deliver;
    t->sink.ctx = t;
    t->trace_on = trace_on;
    return t;
}

static void rpe_ept_table_free(struct rpe_ept_table *t)
{
    for (size_t i = 0; i < t->cap; i++)
        if (t->slots[i].q != NULL)
            t->slots[i].q->table = NULL;
    free(t->slots);
    free(t);
}

static int rpe_ept_grow(struct rpe_ept_table *t)
{
    struct rpe_ept_slot *old = t->slots;
    size_t old_cap = t->cap, cap = old_cap ? old_cap * 2 : 16;
    struct rpe_ept_slot *slots = calloc(cap, sizeof(*slots));
    if (slots == NULL)
        return -ENOMEM;
    t->slots = slots;
    t->cap = cap;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].q != NULL)
            t->slots[rpe_ept_slot_of(t, old[i].addr)] = old[i];
    free(old);
    return 0;
}

/* Endpoint `addr` delivers into `q` (an eptdev bound to it). */
static int rpe_ept_add(struct rpe_ept_table *t, uint32_t addr, struct rpe_mqueue *q)
{
    size_t i;
    if (2 * (t->used + 1) > t->cap && rpe_ept_grow(t) < 0)
        return -ENOMEM;
    i = rpe_ept_slot_of(t, addr);
    if (t->slots[i].q == NULL)
        t->used++;
    else
        t->slots[i].q->table = NULL;
    t->slots[i] = (struct rpe_ept_slot){addr, q};
    q->table = t;
    q->table_addr = addr;
    return 0;
}

/* Endpoint `addr` is gone: remove it, moving back the entries that probed past its slot. */
static void rpe_ept_remove(struct rpe_ept_table *t, uint32_t addr)
{
    size_t mask, hole, i;
    if (!t->used)
        return;
    mask = t->cap - 1;
    hole = i = rpe_ept_slot_of(t, addr);
    if (t->slots[hole].q == NULL)
        return;
    t->slots[hole].q->table = NULL;
    t->slots[hole].q = NULL;
    t->used--;
    while (t->slots[i = (i + 1) & mask].q != NULL) {
        size_t home = (size_t)((t->slots[i].addr * 0x9E3779B1u) & mask);
        if (((i - home) & mask) >= ((i - hole) & mask)) {
            t->slots[hole] = t->slots[i];
            t->slots[i].q = NULL;
            hole = i;
        }
    }
}

/* The owner keys of the queues that queued messages since the last call (up to `max`). */
static unsigned rpe_ept_take_woken(struct rpe_ept_table *t, uint64_t *out, unsigned max)
{
    unsigned n = t->nwoken < max ? t->nwoken : max;
    memcpy(out, t->woken, n * sizeof(*out));
    t->nwoken = 0;
    t->sink.pending = 0;
    return n;
}
