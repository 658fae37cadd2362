/*
 * The WRITE of an open endpoint device, in C: drivers/rpmsg/rpmsg_char.c
 * rpmsg_eptdev_write_iter -> rpmsg_sendto / rpmsg_trysendto -> virtio_rpmsg_bus.c
 * rpmsg_send_offchannel_raw. fuse_build.py appends this file after message_queue.c, whose
 * queue carries the eptdev's sending side (`struct rpe_tx`, set by message_queue.py
 * `MessageQueue.bind_tx` while the eptdev has an endpoint).
 *
 * Why in C: with the READ (message_queue.c) and Linux's mailbox ISR (endpoint_table.c), this
 * is the rest of Linux's side of an echo; the core's link does the ring work
 * (remote_fw/host_transport.c `rpe_host_send`, reached through a function pointer, since
 * fusedev's binding and remote_fw's are two modules).
 *
 * The C path sends only when sending cannot fail or wait: the eptdev has an endpoint, the
 * addresses are not RPMSG_ADDR_ANY, the trace pipe has no reader, replies are not held, and
 * the link has a free TX buffer and room for the kick. Everything else - EPIPE, EINVAL,
 * EMSGSIZE, a write that waits for a TX buffer or gets EAGAIN, a traced message - goes to
 * Python (fuse_ops.py `Operations.write`), which applies the kernel's rules.
 */

#define RPE_ADDR_ANY 0xFFFFFFFFu

/* 1 when the WRITE was answered here, 0 for Python. */
static int rpe_mq_write(fuse_req_t req, uint64_t fh, const char *buf, size_t size)
{
    struct rpe_mqueue *q = rpe_fh_find(fuse_req_userdata(req), fh);
    const struct rpe_tx *tx;

    if (q == NULL || !q->bound || rpe_mq_held(q))
        return 0;
    tx = &q->tx;
    if (tx->send == NULL || *tx->trace_on || tx->src == RPE_ADDR_ANY || tx->dst == RPE_ADDR_ANY)
        return 0;
    if (!tx->send(tx->host, tx->src, tx->dst, buf, size))
        return 0;
    fuse_reply_write(req, size);
    return 1;
}

/* While the eptdev has an endpoint: its WRITEs go through `send` (address `send_fn`, an
 * `rpe_host_send` of remote_fw's binding) on `host`. send_fn 0: WRITEs go to Python. */
static void rpe_mq_bind_tx(struct rpe_mqueue *q, uintptr_t send_fn, uintptr_t host,
                           uint32_t src, uint32_t dst, const int *trace_on)
{
    q->tx.send = (int (*)(void *, uint32_t, uint32_t, const char *, size_t))send_fn;
    q->tx.host = (void *)host;
    q->tx.src = src;
    q->tx.dst = dst;
    q->tx.trace_on = trace_on;
}
