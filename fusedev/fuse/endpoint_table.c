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

struct rpe_ept_table {
    struct rpe_rx_sink sink;     /* first: the table is passed as its sink */
    const int *trace_on;
    struct rpe_map eps;          /* (address, 0) -> queue (hash_map.c) */
    unsigned nwoken;
    uint64_t woken[RPE_WOKEN_MAX];
};

static void *rpe_ept_lookup(void *ctx, uint32_t dst)
{
    struct rpe_ept_table *t = ctx;
    struct rpe_mqueue *q;
    if (*t->trace_on || (q = rpe_map_find(&t->eps, dst, 0)) == NULL)
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
    for (size_t i = 0; i < t->eps.cap; i++)
        if (t->eps.slots[i].value != NULL)
            ((struct rpe_mqueue *)t->eps.slots[i].value)->table = NULL;
    free(t->eps.slots);
    free(t);
}

/* Endpoint `addr` delivers into `q` (an eptdev bound to it). */
static int rpe_ept_add(struct rpe_ept_table *t, uint32_t addr, struct rpe_mqueue *q)
{
    void *replaced;
    if (rpe_map_put(&t->eps, addr, 0, q, &replaced) < 0)
        return -ENOMEM;
    if (replaced != NULL)
        ((struct rpe_mqueue *)replaced)->table = NULL;
    q->table = t;
    q->table_addr = addr;
    return 0;
}

/* Endpoint `addr` is gone: its messages go to Python again. */
static void rpe_ept_remove(struct rpe_ept_table *t, uint32_t addr)
{
    struct rpe_mqueue *q = rpe_map_remove(&t->eps, addr, 0);
    if (q != NULL)
        q->table = NULL;
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
