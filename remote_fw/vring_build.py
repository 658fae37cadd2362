"""cffi (API mode) module `remote_fw._vring_cffi`: the split virtqueue and the rpmsg header in C.

One implementation of the ring for both CPUs: Linux's side (remote_fw/host_transport.py, used by
fusedev's virtio_rpmsg_bus) and the remote core's (remote_fw/device_transport.py) call the same
functions on the same shared bytearray. Python keeps the control path and the ring dump
(remote_fw/vring.py); per message there is one C call that writes or reads the header, copies the
payload, fills the descriptor and moves the ring index.

The two CPUs are two threads. Calls from Python keep the GIL (see the top of SOURCE: giving it
away for a sub-microsecond call cost milliseconds), but Linux's per-message path also runs here
from fusedev's FUSE loop without the GIL (host_transport.c, reached through function pointers),
at the same time as the core's thread: the code is written for two real CPUs. Indices are
published with release stores and read with acquire loads, and "notify me" (the event index)
is followed by a full barrier before the second look at the ring, as virtio_store_mb() /
virtio_mb() do in drivers/virtio/virtio_ring.c; the mailbox (mailbox.c) has a lock. Every field
is little-endian (a VIRTIO_F_VERSION_1 device, include/uapi/linux/virtio_ring.h,
include/linux/rpmsg/byteorder.h).

The module also holds the mailbox FIFO (mailbox.c), Linux's end of the link per message
(host_transport.c) and a core's idle wait for its interrupt (cpu_idle.c), appended to SOURCE
from the files beside this one.

Build: `python remote_fw/vring_build.py` (in place), or setup.py's cffi_modules at install time.
This file is the only one in remote_fw that imports cffi; it is never imported at run time.
"""
from __future__ import annotations

from pathlib import Path

from cffi import FFI

CDEF = r"""
struct vring_c {
    uint8_t *mem;       /* the shared memory: both rings and the buffer pool */
    size_t mem_len;
    uint64_t base;      /* device address of mem[0] (descriptors hold device addresses) */
    size_t pool_off;    /* offset of the buffer pool: a descriptor may point nowhere else */
    uint16_t num;       /* entries, a power of two */
    size_t desc, avail, used;   /* offsets of the three parts */
};

/* One message's header as read by rpmsg_take / rpmsg_recv. */
struct rpmsg_msg { uint32_t src, dst, len; uint16_t head; uint32_t desc_len; };

int vring_init(struct vring_c *vr, uint8_t *mem, size_t mem_len, size_t offset,
               unsigned num, size_t align, uint64_t base, size_t pool_off);

void vring_set_desc(struct vring_c *vr, uint16_t i, uint64_t addr, uint32_t len,
                    uint16_t flags, uint16_t next);
void vring_desc(struct vring_c *vr, uint16_t i, uint64_t *addr, uint32_t *len,
                uint16_t *flags, uint16_t *next);
uint16_t vring_avail_flags(struct vring_c *vr);
uint16_t vring_avail_idx(struct vring_c *vr);
uint16_t vring_avail_entry(struct vring_c *vr, uint16_t idx);
int vring_add_avail(struct vring_c *vr, uint16_t head);
uint16_t vring_used_flags(struct vring_c *vr);
uint16_t vring_used_idx(struct vring_c *vr);
void vring_used_entry(struct vring_c *vr, uint16_t idx, uint32_t *id, uint32_t *len);
int vring_add_used(struct vring_c *vr, uint16_t head, uint32_t len);
uint16_t vring_used_event(struct vring_c *vr);
uint16_t vring_avail_event(struct vring_c *vr);
void vring_set_used_event(struct vring_c *vr, uint16_t value);
void vring_set_avail_event(struct vring_c *vr, uint16_t value);
int vring_need_event(uint16_t event, uint16_t new_idx, uint16_t old_idx);

void rpmsg_hdr_pack(uint8_t *out, uint32_t src, uint32_t dst, uint16_t len, uint16_t flags);
void rpmsg_hdr_unpack(const uint8_t *in, uint32_t *src, uint32_t *dst, uint32_t *reserved,
                      uint16_t *len, uint16_t *flags);

#define RPMSG_HDR_SIZE ...
#define RPMSG_NONE ...
#define RPMSG_OK ...
#define RPMSG_KICK ...
#define RPMSG_EFAULT ...
#define RPMSG_EMSGSIZE ...

int rpmsg_post(struct vring_c *vr, uint16_t head, uint64_t addr, uint32_t src, uint32_t dst,
               const char *payload, uint32_t n);
int rpmsg_fill(struct vring_c *vr, uint16_t *last_avail, uint32_t src, uint32_t dst,
               const char *payload, uint32_t n);
int rpmsg_take(struct vring_c *vr, uint16_t *last_avail, uint16_t avail,
               struct rpmsg_msg *msg, char *payload, uint32_t cap);
int rpmsg_recv(struct vring_c *vr, uint16_t *last_used, uint16_t used, uint32_t max_len,
               struct rpmsg_msg *msg, char *payload);

/* mailbox.c: the mailbox FIFO both CPUs kick through */
struct rpe_mbox { unsigned depth; unsigned count; int severed; double lead; ...; };
struct rpe_mbox *rpe_mbox_new(unsigned depth);
void rpe_mbox_free(struct rpe_mbox *mb);
void rpe_mbox_attach(struct rpe_mbox *mb, int fd);
void rpe_mbox_on_space(struct rpe_mbox *mb, int fd);
int rpe_mbox_try_send(struct rpe_mbox *mb, uint32_t msg, double posted);
int rpe_mbox_take(struct rpe_mbox *mb, uint32_t *msg, double *posted);
void rpe_mbox_delivered(struct rpe_mbox *mb, double due);
void rpe_mbox_sever(struct rpe_mbox *mb);
#define RPE_MBOX_MAX_DEPTH ...

/* host_transport.c: Linux's end of the link, per message */
struct rpe_rx_sink {
    void *(*lookup)(void *ctx, uint32_t dst);
    void (*deliver)(void *target, const char *data, size_t len);
    void *ctx;
    int pending;
};
struct rpe_host {
    uint32_t last_sbuf;
    uint16_t tx_last_used;
    uint16_t rx_last_used;
    uint32_t unknown_vring;
    uint64_t sent_in_c, received_in_c;
    const struct rpe_rx_sink *sink;
    int irq_fd, bh_fd;
    ...;
};
struct rpe_host *rpe_host_new(struct vring_c *rx, struct vring_c *tx, struct rpe_mbox *to_remote,
                              struct rpe_mbox *from_remote, const int *kicks_busy,
                              uint64_t tx_base, uint32_t buf_size, uint32_t num_bufs);
void rpe_host_free(struct rpe_host *h);
int rpe_host_get_tx_buf(struct rpe_host *h);
int rpe_host_tx_free(struct rpe_host *h);
int rpe_host_send(void *host, uint32_t src, uint32_t dst, const char *data, size_t len);
int rpe_host_isr(struct rpe_host *h, const struct rpe_rx_sink *sink);
int rpe_host_irq(void *host);
int rpe_host_take_deferred(struct rpe_host *h);
#define RPE_HOST_RX_LEFT ...
#define RPE_HOST_TX_DONE ...
#define RPE_HOST_KICK ...
#define RPE_HOST_UNKNOWN ...
#define RPE_HOST_SINK ...

/* cpu_idle.c: a core's ISR task waiting for its mailbox line in C (WFI) */
struct rpe_wfi {
    uint64_t sleeps, rung;
    uint64_t spins, spin_hits;
    uint64_t window_ns, spin_max_ns;
};
int rpe_cpu_wfi(struct rpe_wfi *wfi, int line_fd, int loop_fd, double deadline);
#define RPE_WFI_RUNG ...
#define RPE_WFI_LOOP ...
"""

SOURCE = r"""
#include <endian.h>
#include <stdint.h>
#include <string.h>

/* Keep the GIL across these calls. cffi's wrappers release it around every C call; a call
   here takes well under a microsecond, and a thread that gives the GIL away for it may wait a
   whole switch interval (5 ms) to get it back from a thread running Python (measured: round
   trips of 2-5 ms in tests/test_remote_core.py). The wrappers cffi generates below this text
   use these two macros, so they become plain blocks. C callers from fusedev's FUSE loop come
   in without the GIL, so the two CPUs' threads can be in here at once: the barriers and the
   mailbox's lock are what keeps them apart. */
#undef Py_BEGIN_ALLOW_THREADS
#undef Py_END_ALLOW_THREADS
#define Py_BEGIN_ALLOW_THREADS {
#define Py_END_ALLOW_THREADS }

struct vring_c {
    uint8_t *mem;
    size_t mem_len;
    uint64_t base;
    size_t pool_off;
    uint16_t num;
    size_t desc, avail, used;
};

struct rpmsg_msg { uint32_t src, dst, len; uint16_t head; uint32_t desc_len; };

/* Return codes of the rpmsg_* calls; RPMSG_KICK is or-ed into RPMSG_OK. */
#define RPMSG_HDR_SIZE 16
#define RPMSG_NONE 0       /* nothing to take / no buffer posted */
#define RPMSG_OK 1         /* one message moved */
#define RPMSG_KICK 2       /* ... and the other side asked to be notified */
#define RPMSG_EFAULT 4     /* the descriptor points outside the buffer pool */
#define RPMSG_EMSGSIZE 8   /* header len and descriptor len disagree / payload does not fit */

/* Little-endian fields at any alignment (memcpy compiles to one move). */
static inline uint16_t ld16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return le16toh(v); }
static inline uint32_t ld32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return le32toh(v); }
static inline uint64_t ld64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return le64toh(v); }
static inline void st16(uint8_t *p, uint16_t v) { v = htole16(v); memcpy(p, &v, 2); }
static inline void st32(uint8_t *p, uint32_t v) { v = htole32(v); memcpy(p, &v, 4); }
static inline void st64(uint8_t *p, uint64_t v) { v = htole64(v); memcpy(p, &v, 8); }

/* The indices and event indices the other CPU reads while we write: aligned u16s, published
   with release (virtio_store_mb) and read with acquire (virtio_load_acquire). */
static inline uint16_t ld_acquire(const uint8_t *p)
{ return le16toh(__atomic_load_n((const uint16_t *)p, __ATOMIC_ACQUIRE)); }
static inline void st_release(uint8_t *p, uint16_t v)
{ __atomic_store_n((uint16_t *)p, htole16(v), __ATOMIC_RELEASE); }

/* Layout (legacy split virtqueue, vring_init() in include/uapi/linux/virtio_ring.h):
     desc   num x {addr u64, len u32, flags u16, next u16}
     avail  flags u16, idx u16, ring[num] u16, used_event u16
     (pad to align)
     used   flags u16, idx u16, ring[num] x {id u32, len u32}, avail_event u16 */
#define AVAIL_IDX(vr) ((vr)->mem + (vr)->avail + 2)
#define AVAIL_RING(vr, i) ((vr)->mem + (vr)->avail + 4 + 2 * (size_t)((i) & ((vr)->num - 1)))
#define USED_EVENT(vr) ((vr)->mem + (vr)->avail + 4 + 2 * (size_t)(vr)->num)
#define USED_IDX(vr) ((vr)->mem + (vr)->used + 2)
#define USED_RING(vr, i) ((vr)->mem + (vr)->used + 4 + 8 * (size_t)((i) & ((vr)->num - 1)))
#define AVAIL_EVENT(vr) ((vr)->mem + (vr)->used + 4 + 8 * (size_t)(vr)->num)
#define DESC(vr, i) ((vr)->mem + (vr)->desc + 16 * (size_t)((i) & ((vr)->num - 1)))

int vring_init(struct vring_c *vr, uint8_t *mem, size_t mem_len, size_t offset,
               unsigned num, size_t align, uint64_t base, size_t pool_off)
{
    size_t used;
    if (num == 0 || (num & (num - 1)) || num > 32768 || align == 0 || (align & (align - 1))
        || (offset & 1) || ((uintptr_t)mem & 1))
        return -1;
    used = (offset + 16 * (size_t)num + 6 + 2 * (size_t)num + align - 1) & ~(align - 1);
    if (used + 6 + 8 * (size_t)num > mem_len)
        return -1;
    vr->mem = mem; vr->mem_len = mem_len; vr->base = base; vr->pool_off = pool_off;
    vr->num = (uint16_t)num;
    vr->desc = offset;
    vr->avail = offset + 16 * (size_t)num;
    vr->used = used;
    return 0;
}

void vring_set_desc(struct vring_c *vr, uint16_t i, uint64_t addr, uint32_t len,
                    uint16_t flags, uint16_t next)
{
    uint8_t *d = DESC(vr, i);
    st64(d, addr); st32(d + 8, len); st16(d + 12, flags); st16(d + 14, next);
}

void vring_desc(struct vring_c *vr, uint16_t i, uint64_t *addr, uint32_t *len,
                uint16_t *flags, uint16_t *next)
{
    const uint8_t *d = DESC(vr, i);
    *addr = ld64(d); *len = ld32(d + 8); *flags = ld16(d + 12); *next = ld16(d + 14);
}

uint16_t vring_avail_flags(struct vring_c *vr) { return ld16(vr->mem + vr->avail); }
uint16_t vring_avail_idx(struct vring_c *vr) { return ld_acquire(AVAIL_IDX(vr)); }
uint16_t vring_avail_entry(struct vring_c *vr, uint16_t idx) { return ld16(AVAIL_RING(vr, idx)); }
uint16_t vring_used_flags(struct vring_c *vr) { return ld16(vr->mem + vr->used); }
uint16_t vring_used_idx(struct vring_c *vr) { return ld_acquire(USED_IDX(vr)); }
uint16_t vring_used_event(struct vring_c *vr) { return ld_acquire(USED_EVENT(vr)); }
uint16_t vring_avail_event(struct vring_c *vr) { return ld_acquire(AVAIL_EVENT(vr)); }

void vring_used_entry(struct vring_c *vr, uint16_t idx, uint32_t *id, uint32_t *len)
{
    const uint8_t *e = USED_RING(vr, idx);
    *id = ld32(e); *len = ld32(e + 4);
}

/* vring_need_event() of include/uapi/linux/virtio_ring.h: did idx pass `event` going old -> new? */
int vring_need_event(uint16_t event, uint16_t new_idx, uint16_t old_idx)
{
    return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old_idx);
}

/* "Notify me when the other side's index passes `value`", then a full barrier: the caller's
   second look at the ring must not be ordered before this store (virtio_store_mb). */
void vring_set_used_event(struct vring_c *vr, uint16_t value)
{ st_release(USED_EVENT(vr), value); __atomic_thread_fence(__ATOMIC_SEQ_CST); }
void vring_set_avail_event(struct vring_c *vr, uint16_t value)
{ st_release(AVAIL_EVENT(vr), value); __atomic_thread_fence(__ATOMIC_SEQ_CST); }

/* Driver: publish descriptor `head` (virtqueue_add + virtqueue_kick_prepare); 1 = kick. */
int vring_add_avail(struct vring_c *vr, uint16_t head)
{
    uint16_t old = ld16(AVAIL_IDX(vr));     /* only this side writes it */
    st16(AVAIL_RING(vr, old), head);
    st_release(AVAIL_IDX(vr), (uint16_t)(old + 1));
    __atomic_thread_fence(__ATOMIC_SEQ_CST);  /* the index before reading the event */
    return vring_need_event(ld_acquire(AVAIL_EVENT(vr)), (uint16_t)(old + 1), old);
}

/* Device: return descriptor `head` with `len` bytes written (rproc/OpenAMP's
   virtqueue_add_consumed_buffer); 1 = the driver asked for an interrupt. */
int vring_add_used(struct vring_c *vr, uint16_t head, uint32_t len)
{
    uint16_t old = ld16(USED_IDX(vr));
    uint8_t *e = USED_RING(vr, old);
    st32(e, head); st32(e + 4, len);
    st_release(USED_IDX(vr), (uint16_t)(old + 1));
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return vring_need_event(ld_acquire(USED_EVENT(vr)), (uint16_t)(old + 1), old);
}

/* struct rpmsg_hdr (drivers/rpmsg/virtio_rpmsg_bus.c, __packed, __rpmsg32/__rpmsg16 fields):
   src u32 @0, dst u32 @4, reserved u32 @8, len u16 @12, flags u16 @14, payload @16. */
void rpmsg_hdr_pack(uint8_t *out, uint32_t src, uint32_t dst, uint16_t len, uint16_t flags)
{
    st32(out, src); st32(out + 4, dst); st32(out + 8, 0); st16(out + 12, len); st16(out + 14, flags);
}

void rpmsg_hdr_unpack(const uint8_t *in, uint32_t *src, uint32_t *dst, uint32_t *reserved,
                      uint16_t *len, uint16_t *flags)
{
    *src = ld32(in); *dst = ld32(in + 4); *reserved = ld32(in + 8);
    *len = ld16(in + 12); *flags = ld16(in + 14);
}

/* Offset of [addr, addr+len) in mem, or (size_t)-1 unless it lies inside the buffer pool. */
static size_t pool_offset(const struct vring_c *vr, uint64_t addr, uint32_t len)
{
    uint64_t off = addr - vr->base;
    if (addr < vr->base || off < vr->pool_off || off > vr->mem_len || len > vr->mem_len - off)
        return (size_t)-1;
    return (size_t)off;
}

/* Linux sending (rpmsg_send_offchannel_raw): header + payload into TX buffer `head` at device
   address `addr`, its descriptor, the avail ring. RPMSG_OK (| RPMSG_KICK) or RPMSG_EFAULT. */
int rpmsg_post(struct vring_c *vr, uint16_t head, uint64_t addr, uint32_t src, uint32_t dst,
               const char *payload, uint32_t n)
{
    size_t off = pool_offset(vr, addr, RPMSG_HDR_SIZE + n);
    if (off == (size_t)-1 || n > 0xFFFF)
        return RPMSG_EFAULT;
    rpmsg_hdr_pack(vr->mem + off, src, dst, (uint16_t)n, 0);
    memcpy(vr->mem + off + RPMSG_HDR_SIZE, payload, n);
    vring_set_desc(vr, head, addr, RPMSG_HDR_SIZE + n, 0, 0);
    return RPMSG_OK | (vring_add_avail(vr, head) ? RPMSG_KICK : 0);
}

/* The remote sending: fill the next buffer Linux posted on the avail ring, return it on the
   used ring. RPMSG_NONE while none is posted; RPMSG_EMSGSIZE / RPMSG_EFAULT leave it posted. */
int rpmsg_fill(struct vring_c *vr, uint16_t *last_avail, uint32_t src, uint32_t dst,
               const char *payload, uint32_t n)
{
    uint64_t addr; uint32_t len; uint16_t flags, next, head;
    size_t off;
    if (*last_avail == vring_avail_idx(vr))
        return RPMSG_NONE;
    head = vring_avail_entry(vr, *last_avail);
    vring_desc(vr, head, &addr, &len, &flags, &next);
    if ((uint64_t)RPMSG_HDR_SIZE + n > len)
        return RPMSG_EMSGSIZE;
    off = pool_offset(vr, addr, len);
    if (off == (size_t)-1)
        return RPMSG_EFAULT;
    *last_avail = (uint16_t)(*last_avail + 1);
    rpmsg_hdr_pack(vr->mem + off, src, dst, (uint16_t)n, 0);
    memcpy(vr->mem + off + RPMSG_HDR_SIZE, payload, n);
    return RPMSG_OK | (vring_add_used(vr, head, RPMSG_HDR_SIZE + n) ? RPMSG_KICK : 0);
}

/* The remote receiving one message Linux posted at *last_avail (< avail): header into `msg`,
   payload (up to cap) into `payload`, the buffer back on the used ring. RPMSG_OK, or with
   RPMSG_EFAULT / RPMSG_EMSGSIZE a malformed buffer that was returned unread; | RPMSG_KICK. */
int rpmsg_take(struct vring_c *vr, uint16_t *last_avail, uint16_t avail,
               struct rpmsg_msg *msg, char *payload, uint32_t cap)
{
    uint64_t addr; uint32_t len; uint16_t flags, next, head;
    size_t off;
    int status = RPMSG_OK;
    if (*last_avail == avail)
        return RPMSG_NONE;
    head = vring_avail_entry(vr, *last_avail);
    *last_avail = (uint16_t)(*last_avail + 1);
    vring_desc(vr, head, &addr, &len, &flags, &next);
    msg->head = head; msg->desc_len = len; msg->len = 0;
    off = pool_offset(vr, addr, len);
    if (off == (size_t)-1 || len < RPMSG_HDR_SIZE) {
        status = RPMSG_EFAULT;
    } else {
        msg->src = ld32(vr->mem + off);
        msg->dst = ld32(vr->mem + off + 4);
        msg->len = ld16(vr->mem + off + 12);
        if (msg->len > len - RPMSG_HDR_SIZE || msg->len > cap)
            status = RPMSG_EMSGSIZE;
        else
            memcpy(payload, vr->mem + off + RPMSG_HDR_SIZE, msg->len);
    }
    return status | (vring_add_used(vr, head, len) ? RPMSG_KICK : 0);
}

/* Linux receiving (rpmsg_recv_done): the used RX buffer at *last_used (< used): header into
   `msg`, payload into `payload` (max_len bytes of room), then the buffer posted again.
   RPMSG_OK, or RPMSG_EMSGSIZE for a message too big that was dropped; | RPMSG_KICK. */
int rpmsg_recv(struct vring_c *vr, uint16_t *last_used, uint16_t used, uint32_t max_len,
               struct rpmsg_msg *msg, char *payload)
{
    uint64_t addr; uint32_t id, len, dlen; uint16_t flags, next;
    size_t off;
    int status = RPMSG_OK;
    if (*last_used == used)
        return RPMSG_NONE;
    vring_used_entry(vr, *last_used, &id, &len);
    *last_used = (uint16_t)(*last_used + 1);
    msg->head = (uint16_t)id; msg->desc_len = len; msg->len = 0;
    vring_desc(vr, (uint16_t)id, &addr, &dlen, &flags, &next);
    off = pool_offset(vr, addr, dlen);
    if (id >= vr->num || off == (size_t)-1 || len > max_len || len > dlen || len < RPMSG_HDR_SIZE) {
        status = RPMSG_EMSGSIZE;
    } else {
        msg->src = ld32(vr->mem + off);
        msg->dst = ld32(vr->mem + off + 4);
        msg->len = ld16(vr->mem + off + 12);
        if (msg->len > len - RPMSG_HDR_SIZE)
            status = RPMSG_EMSGSIZE;
        else
            memcpy(payload, vr->mem + off + RPMSG_HDR_SIZE, msg->len);
    }
    return status | (vring_add_avail(vr, (uint16_t)id) ? RPMSG_KICK : 0);
}
"""

# The mailbox, Linux's per-message path and a core's idle wait, in files of their own (named
# after what they model), after the ring code they use.
_HERE = Path(__file__).resolve().parent
SOURCE += "".join((_HERE / name).read_text(encoding="utf-8")
                  for name in ("mailbox.c", "host_transport.c", "cpu_idle.c"))

_LIMITED_API_3_11 = "0x030B0000"


def _make_builder() -> FFI:
    builder = FFI()
    builder.cdef(CDEF)
    builder.set_source(
        "remote_fw._vring_cffi", SOURCE,
        extra_compile_args=["-O2"],
        # The stable ABI of 3.11, like fusedev's binding: one abi3 wheel for every later CPython.
        define_macros=[("Py_LIMITED_API", _LIMITED_API_3_11)],
        py_limited_api=True,
    )
    return builder


ffibuilder = _make_builder()

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
