/*
 * Linux's end of one core's rpmsg link in C: what drivers/rpmsg/virtio_rpmsg_bus.c does per
 * message. remote_fw/vring_build.py appends this file (after mailbox.c) to the ring module's
 * source; remote_fw/host_transport.py keeps the control path and the Python fallbacks.
 *
 * - TX buffers as get_a_tx_buf hands them out: first the never-used ones in order
 *   (`last_sbuf`), then those the core returned on the used ring.
 * - rpe_host_send: rpmsg_send_offchannel_raw for a caller outside Python (fusedev's WRITE on an
 *   eptdev, fusedev/fuse/eptdev_write.c): TX buffer, header, payload, descriptor, avail ring,
 *   kick. It does all or nothing: where the kernel would wait or fail (no TX buffer) or where
 *   the kick would have to queue behind others (the KickQueue holds kicks, or the mailbox is
 *   full), it returns 0 having touched nothing, and the caller takes the Python path.
 * - rpe_host_isr: Linux's mailbox ISR and rpmsg_recv_done for the messages a sink outside
 *   Python takes (fusedev's eptdev queues): each used RX buffer whose destination the sink
 *   accepts is delivered and posted again; at the first it does not accept, the ISR stops and
 *   leaves the rest of the ring to Python (`RPE_HOST_RX_LEFT`), which keeps the order.
 * - rpe_host_irq: the ISR for a caller that waits on Linux's interrupt line itself (fusedev's
 *   FUSE loop, fusedev/fuse/interrupt_lines.c): what the ISR leaves to Python is kept in
 *   `deferred` and the bottom-half line (`bh_fd`) rung, which host_transport.py waits on.
 *
 * Only Linux's thread calls these (the core uses device_transport.py on the other rings'
 * ends), with or without the GIL; the ring itself is shared with the core as on a board.
 */

/* Where received messages go without Python: `lookup` says whether the sink takes messages
 * for `dst` (a target, or NULL), `deliver` hands one over. fusedev fills it in. */
struct rpe_rx_sink {
    void *(*lookup)(void *ctx, uint32_t dst);
    void (*deliver)(void *target, const char *data, size_t len);
    void *ctx;
    int pending;                  /* the sink has work for Python after this interrupt */
};

#define RPE_HOST_RX_LEFT 1     /* RX buffers are left for Python's bottom half */
#define RPE_HOST_TX_DONE 2     /* the core returned TX buffers (a kick of vring 1) */
#define RPE_HOST_KICK 4        /* the core wants a kick of vring 0 that C could not post */
#define RPE_HOST_UNKNOWN 8     /* a kick for a vring that does not exist (`unknown_vring`) */
#define RPE_HOST_SINK 16       /* the sink has work for Python (`pending`) */

struct rpe_host {
    struct vring_c *rx, *tx;      /* vring 0 (remote -> Linux) and vring 1 (Linux -> remote) */
    struct rpe_mbox *to_remote, *from_remote;
    const int *kicks_busy;        /* the KickQueue to the core holds kicks not yet posted */
    uint64_t tx_base;             /* device address of TX buffer 0 */
    uint32_t buf_size, num_bufs, last_sbuf;
    uint16_t tx_last_used;
    uint16_t rx_last_used;
    uint32_t unknown_vring;
    uint64_t sent_in_c, received_in_c;  /* for tests and the benchmark */
    char *scratch;                /* buf_size bytes: one RX payload on its way to the sink */
    const struct rpe_rx_sink *sink;     /* for rpe_host_irq; NULL: every message to Python */
    int irq_fd, bh_fd;            /* Linux's interrupt line; the bottom half's (Python) */
    int deferred;                 /* RPE_HOST_* bits rpe_host_irq left to Python */
};

static struct rpe_host *rpe_host_new(struct vring_c *rx, struct vring_c *tx,
                                     struct rpe_mbox *to_remote, struct rpe_mbox *from_remote,
                                     const int *kicks_busy, uint64_t tx_base,
                                     uint32_t buf_size, uint32_t num_bufs)
{
    struct rpe_host *h = calloc(1, sizeof(*h));
    if (h == NULL)
        return NULL;
    h->scratch = malloc(buf_size);
    if (h->scratch == NULL) {
        free(h);
        return NULL;
    }
    h->rx = rx; h->tx = tx;
    h->to_remote = to_remote; h->from_remote = from_remote;
    h->kicks_busy = kicks_busy;
    h->tx_base = tx_base;
    h->buf_size = buf_size; h->num_bufs = num_bufs;
    h->irq_fd = h->bh_fd = -1;
    return h;
}

static void rpe_host_free(struct rpe_host *h)
{
    free(h->scratch);
    free(h);
}

/* get_a_tx_buf: a TX buffer's descriptor id, or -1 when none is free. */
static int rpe_host_get_tx_buf(struct rpe_host *h)
{
    uint32_t id, len;
    if (h->last_sbuf < h->num_bufs)
        return (int)h->last_sbuf++;
    if (vring_used_idx(h->tx) == h->tx_last_used)
        return -1;
    vring_used_entry(h->tx, h->tx_last_used, &id, &len);
    h->tx_last_used++;
    return (int)id;
}

/* Would get_a_tx_buf find a buffer? (It does not take one.) */
static int rpe_host_tx_free(struct rpe_host *h)
{
    return h->last_sbuf < h->num_bufs || vring_used_idx(h->tx) != h->tx_last_used;
}

/* rpmsg_send_offchannel_raw from outside Python: 1 sent (and kicked if the core asked), or 0
 * with nothing done (the Python path then decides: wait, EAGAIN, or queue the kick). */
static int rpe_host_send(void *host, uint32_t src, uint32_t dst, const char *data, size_t len)
{
    struct rpe_host *h = host;
    int head, status;
    if (len > h->buf_size - RPMSG_HDR_SIZE || *h->kicks_busy || !rpe_host_tx_free(h)
        || !rpe_mbox_has_room(h->to_remote))  /* this thread is its only sender */
        return 0;
    head = rpe_host_get_tx_buf(h);
    status = rpmsg_post(h->tx, (uint16_t)head, h->tx_base + (uint64_t)head * h->buf_size,
                        src, dst, data, (uint32_t)len);
    if (status & RPMSG_KICK)
        rpe_mbox_try_send(h->to_remote, 1, rpe_monotonic());
    h->sent_in_c++;
    return 1;
}

/* The destination of the used RX buffer at rx_last_used, if it is well formed (the checks of
 * rpmsg_recv below); a malformed one is left to Python, which logs and drops it. */
static int rpe_host_peek_dst(struct rpe_host *h, uint32_t *dst)
{
    uint64_t addr; uint32_t id, len, dlen; uint16_t flags, next;
    size_t off;
    vring_used_entry(h->rx, h->rx_last_used, &id, &len);
    if (id >= h->rx->num)
        return 0;
    vring_desc(h->rx, (uint16_t)id, &addr, &dlen, &flags, &next);
    off = pool_offset(h->rx, addr, dlen);
    if (off == (size_t)-1 || len > h->buf_size || len > dlen || len < RPMSG_HDR_SIZE
        || ld16(h->rx->mem + off + 12) > len - RPMSG_HDR_SIZE)
        return 0;
    *dst = ld32(h->rx->mem + off + 4);
    return 1;
}

/* Deliver the used RX buffers the sink takes, in order (rpmsg_recv_done), then ask for the
 * next interrupt and look again, as virtio_rpmsg_bus's rpmsg_recv_done loop does. */
static int rpe_host_drain_rx(struct rpe_host *h, const struct rpe_rx_sink *sink)
{
    struct rpmsg_msg msg;
    int kick = 0, status = 0;
    uint16_t used;
    while (h->rx_last_used != (used = vring_used_idx(h->rx))) {
        while (h->rx_last_used != used) {
            uint32_t dst;
            void *target;
            int res;
            if (!rpe_host_peek_dst(h, &dst)
                || (target = sink->lookup(sink->ctx, dst)) == NULL) {
                status |= RPE_HOST_RX_LEFT;
                goto out;
            }
            res = rpmsg_recv(h->rx, &h->rx_last_used, used, h->buf_size, &msg, h->scratch);
            kick |= res & RPMSG_KICK;
            if (res & RPMSG_OK) {  /* as peeked, unless the buffer changed meanwhile */
                sink->deliver(target, h->scratch, msg.len);
                h->received_in_c++;
            }
        }
        vring_set_used_event(h->rx, h->rx_last_used);
    }
out:
    if (kick && (*h->kicks_busy || !rpe_mbox_try_send(h->to_remote, 0, rpe_monotonic())))
        status |= RPE_HOST_KICK;
    return status;
}

/* Linux's mailbox ISR: take every kick; RX news is drained into `sink` as far as it takes
 * messages (NULL: none). Returns RPE_HOST_* bits for what Python must still do. */
static int rpe_host_isr(struct rpe_host *h, const struct rpe_rx_sink *sink)
{
    uint32_t vring;
    double posted;
    int status = 0, rx = 0;
    while (rpe_mbox_take(h->from_remote, &vring, &posted)) {
        rpe_mbox_delivered(h->from_remote, posted);
        if (vring == 0) {
            rx = 1;
        } else if (vring == 1) {
            status |= RPE_HOST_TX_DONE;
        } else {
            h->unknown_vring = vring;
            status |= RPE_HOST_UNKNOWN;
        }
    }
    if (rx)
        status |= sink != NULL ? rpe_host_drain_rx(h, sink) : RPE_HOST_RX_LEFT;
    if (sink != NULL && sink->pending)
        status |= RPE_HOST_SINK;
    return status;
}

/* The ISR run by whoever waits on `irq_fd` (fusedev's FUSE loop; `host` is a struct rpe_host):
 * clear the line, take the kicks, drain into `sink`. What Python must still do is added to
 * `deferred` and the bottom-half line rung; returns 1 then, 0 when all was done here. */
static int rpe_host_irq(void *host)
{
    struct rpe_host *h = host;
    eventfd_t rings;
    int status;
    (void)eventfd_read(h->irq_fd, &rings);  /* non-blocking: EAGAIN when not rung */
    status = rpe_host_isr(h, h->sink);
    if (!status)
        return 0;
    h->deferred |= status;
    rpe_ring(h->bh_fd);
    return 1;
}

/* What rpe_host_irq left to Python since the last call. */
static int rpe_host_take_deferred(struct rpe_host *h)
{
    int status = h->deferred;
    h->deferred = 0;
    return status;
}
