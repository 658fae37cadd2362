"""cffi (API mode) binding of libfuse3's low-level API, compiled at install time.

Why a hand-made binding: pyfuse3 has no ioctl handler, and the rpmsg ioctls are the heart
of rpmsg_char. Only what the engine uses is declared. Small C helpers do the work that would
be slow or awkward from Python: filling `struct stat`, touching the bit-fields of
`struct fuse_file_info`, and building the operations table from the Python callbacks.
"""
from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

from cffi import FFI

CDEF = r"""
typedef uint64_t fuse_ino_t;
typedef struct fuse_req *fuse_req_t;
struct fuse_session;
struct fuse_pollhandle;
struct fuse_conn_info { unsigned capable; unsigned want; ...; };
struct fuse_file_info { int flags; uint64_t fh; uint32_t poll_events; ...; };
struct fuse_args { int argc; char **argv; int allocated; };
struct fuse_buf { size_t size; void *mem; int fd; ...; };

#define FUSE_CAP_ASYNC_READ ...
#define FUSE_CAP_ATOMIC_O_TRUNC ...
#define FUSE_CAP_SPLICE_WRITE ...
#define FUSE_CAP_SPLICE_MOVE ...
#define FUSE_CAP_SPLICE_READ ...
#define FUSE_CAP_AUTO_INVAL_DATA ...
#define FUSE_CAP_READDIRPLUS ...
#define FUSE_CAP_PARALLEL_DIROPS ...
#define FUSE_CAP_CACHE_SYMLINKS ...
#define FUSE_IOCTL_DIR ...
#define FUSE_SET_ATTR_SIZE ...
#define FUSE_SET_ATTR_MTIME ...
#define FUSE_SET_ATTR_MTIME_NOW ...
#define FUSE_SET_ATTR_CTIME ...

struct fuse_session *rpe_session_new(int argc, char **argv, void *userdata);
int fuse_session_mount(struct fuse_session *se, const char *mountpoint);
void fuse_session_unmount(struct fuse_session *se);
void fuse_session_destroy(struct fuse_session *se);
int fuse_session_fd(struct fuse_session *se);
int fuse_session_exited(struct fuse_session *se);
void fuse_session_exit(struct fuse_session *se);
int fuse_session_receive_buf(struct fuse_session *se, struct fuse_buf *buf);
void fuse_session_process_buf(struct fuse_session *se, const struct fuse_buf *buf);

void *fuse_req_userdata(fuse_req_t req);
typedef int... pid_t;
struct fuse_ctx { pid_t pid; ...; };  /* pid: the requesting thread's id */
const struct fuse_ctx *fuse_req_ctx(fuse_req_t req);
typedef void (*fuse_interrupt_func_t)(fuse_req_t req, void *data);
void fuse_req_interrupt_func(fuse_req_t req, fuse_interrupt_func_t func, void *data);

int fuse_reply_err(fuse_req_t req, int err);
void fuse_reply_none(fuse_req_t req);
int fuse_reply_buf(fuse_req_t req, const char *buf, size_t size);
int fuse_reply_write(fuse_req_t req, size_t count);
int fuse_reply_readlink(fuse_req_t req, const char *link);
int fuse_reply_ioctl(fuse_req_t req, int result, const void *buf, size_t size);
int fuse_reply_poll(fuse_req_t req, unsigned revents);
int fuse_lowlevel_notify_poll(struct fuse_pollhandle *ph);
void fuse_pollhandle_destroy(struct fuse_pollhandle *ph);
int fuse_lowlevel_notify_inval_entry(struct fuse_session *se, fuse_ino_t parent,
                                     const char *name, size_t namelen);

int rpe_reply_entry(fuse_req_t req, fuse_ino_t ino, unsigned mode, unsigned nlink,
                    unsigned uid, unsigned gid, uint64_t size, double timeout, int64_t mtime);
int rpe_reply_attr(fuse_req_t req, fuse_ino_t ino, unsigned mode, unsigned nlink,
                   unsigned uid, unsigned gid, uint64_t size, double timeout, int64_t mtime);
int rpe_reply_open(fuse_req_t req, uint64_t fh, int direct);
int rpe_reply_open_stream(fuse_req_t req, uint64_t fh);
int rpe_reply_statfs(fuse_req_t req);
void rpe_free_buf(struct fuse_buf *buf);

#define RPE_DRAINED ...
#define RPE_BUSY ...
#define RPE_IDLE ...
#define RPE_WOKEN ...
#define RPE_GONE ...
struct rpe_loop { uint64_t served; uint64_t spins; uint64_t spin_hits; int epfd; ...; };
struct rpe_irqs;
struct rpe_loop *rpe_loop_new(struct fuse_session *se, int wake_fd, uint64_t spin_max_ns,
                              struct rpe_irqs *irqs);
void rpe_loop_free(struct rpe_loop *loop);
int rpe_loop_serve(struct rpe_loop *loop, int max_requests);
struct rpe_idle { int quiet; uint64_t deadline_ns; uint64_t sleeps, woken; };
int rpe_loop_idle(struct rpe_loop *loop, struct rpe_idle *idle, int max_requests);
size_t rpe_add_direntry(fuse_req_t req, char *buf, size_t bufsize, const char *name,
                        fuse_ino_t ino, unsigned mode, int64_t off);

/* message_queue.c: an endpoint device's receive queue and the READs waiting on it */
struct rpe_mqueue { size_t len; size_t waiting; int bound; uint64_t pushed;
                    uint64_t answered_at_once; ...; };
struct rpe_mqueue *rpe_mq_new(uint64_t owner);
void rpe_mq_free(struct rpe_mqueue *q);
int rpe_mq_push(struct rpe_mqueue *q, const char *data, size_t len);
long rpe_mq_take(struct rpe_mqueue *q, char *buf, size_t size);
void rpe_mq_purge(struct rpe_mqueue *q);
int rpe_mq_flush(struct rpe_mqueue *q);
fuse_req_t rpe_mq_pop_reader(struct rpe_mqueue *q);
fuse_req_t rpe_mq_cancel(struct rpe_mqueue *q, uint64_t id);
int rpe_mq_is_waiting(struct rpe_mqueue *q, uint64_t id);
int rpe_mq_attach(struct rpe_mqueue *q, void *session, uint64_t fh, const int *held);
void rpe_mq_detach(struct rpe_mqueue *q);
void rpe_mq_bind_tx(struct rpe_mqueue *q, uintptr_t send_fn, uintptr_t host, uint32_t src,
                    uint32_t dst, const int *trace_on);

/* interrupt_lines.c: Linux's interrupt lines, whose handlers the loop runs in C */
struct rpe_irqs { uint64_t handled; uint64_t waits; unsigned n; ...; };
struct rpe_irqs *rpe_irqs_new(void);
void rpe_irqs_free(struct rpe_irqs *irqs);
int rpe_irqs_add(struct rpe_irqs *irqs, int fd, uintptr_t handler, uintptr_t arg);
void rpe_irqs_remove(struct rpe_irqs *irqs, int fd);
int rpe_irqs_wait(struct rpe_irqs *irqs, int trio_fd, int fuse_fd, int64_t timeout_ns);

/* endpoint_table.c: the endpoints whose messages Linux's mailbox ISR delivers in C */
struct rpe_ept_table;
struct rpe_ept_table *rpe_ept_table_new(const int *trace_on);
void rpe_ept_table_free(struct rpe_ept_table *t);
int rpe_ept_add(struct rpe_ept_table *t, uint32_t addr, struct rpe_mqueue *q);
void rpe_ept_remove(struct rpe_ept_table *t, uint32_t addr);
unsigned rpe_ept_take_woken(struct rpe_ept_table *t, uint64_t *out, unsigned max);
#define RPE_WOKEN_MAX ...
extern "Python" void py_read_interrupt(uint64_t owner, uint64_t read_id, fuse_req_t req);

extern "Python" {
    void py_init(void *userdata, struct fuse_conn_info *conn);
    void py_lookup(fuse_req_t req, fuse_ino_t parent, const char *name);
    void py_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup);
    void py_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
    void py_setattr(fuse_req_t req, fuse_ino_t ino, void *attr, int to_set,
                    struct fuse_file_info *fi);
    void py_readlink(fuse_req_t req, fuse_ino_t ino);
    void py_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
    void py_read(fuse_req_t req, fuse_ino_t ino, size_t size, int64_t off,
                 struct fuse_file_info *fi);
    void py_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, int64_t off,
                  struct fuse_file_info *fi);
    void py_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
    void py_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
    void py_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, int64_t off,
                    struct fuse_file_info *fi);
    void py_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
    void py_statfs(fuse_req_t req, fuse_ino_t ino);
    void py_access(fuse_req_t req, fuse_ino_t ino, int mask);
    void py_ioctl(fuse_req_t req, fuse_ino_t ino, unsigned int cmd, void *arg,
                  struct fuse_file_info *fi, unsigned flags, const void *in_buf,
                  size_t in_bufsz, size_t out_bufsz);
    void py_poll(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
                 struct fuse_pollhandle *ph);
    void py_interrupt(fuse_req_t req, void *data);
    void py_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi);
}
"""

SOURCE = r"""
#define FUSE_USE_VERSION 35
#include <fuse_lowlevel.h>
#include <linux/fuse.h>
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

static void py_init(void *userdata, struct fuse_conn_info *conn);
static void py_lookup(fuse_req_t req, fuse_ino_t parent, const char *name);
static void py_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup);
static void py_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
static void py_setattr(fuse_req_t req, fuse_ino_t ino, void *attr, int to_set,
                       struct fuse_file_info *fi);
static void py_readlink(fuse_req_t req, fuse_ino_t ino);
static void py_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
static void py_read(fuse_req_t req, fuse_ino_t ino, size_t size, int64_t off,
                    struct fuse_file_info *fi);
static void py_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, int64_t off,
                     struct fuse_file_info *fi);
static void py_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
static void py_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
static void py_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, int64_t off,
                       struct fuse_file_info *fi);
static void py_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
static void py_statfs(fuse_req_t req, fuse_ino_t ino);
static void py_access(fuse_req_t req, fuse_ino_t ino, int mask);
static void py_ioctl(fuse_req_t req, fuse_ino_t ino, unsigned int cmd, void *arg,
                     struct fuse_file_info *fi, unsigned flags, const void *in_buf,
                     size_t in_bufsz, size_t out_bufsz);
static void py_poll(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
                    struct fuse_pollhandle *ph);
static void py_interrupt(fuse_req_t req, void *data);
static void py_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi);

/*
 * Making and removing names. sysfs (kernfs) and debugfs directories have no create, mknod,
 * symlink, link or unlink inode operation, and kernfs refuses mkdir, rmdir and rename
 * without syscall ops; the VFS turns that into these errnos (fs/namei.c `open_last_lookups`:
 * no ->create is EACCES; `vfs_mknod`, `vfs_symlink`, `vfs_link`, `vfs_unlink`: EPERM;
 * fs/kernfs/dir.c `kernfs_iop_mkdir`, `_rmdir`: EPERM, `_rename`: EINVAL with flags, else
 * EPERM). FUSE would answer ENOSYS for an operation we leave out. Existence (EEXIST) and the
 * directory's permissions (EACCES for other users) are checked by the kernel before these.
 */
static void rpe_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
                       struct fuse_file_info *fi)
{
    fuse_reply_err(req, EACCES);
}

static void rpe_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
                      dev_t rdev)
{
    fuse_reply_err(req, EPERM);
}

static void rpe_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
    fuse_reply_err(req, EPERM);
}

static void rpe_remove(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    fuse_reply_err(req, EPERM);
}

static void rpe_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
    fuse_reply_err(req, EPERM);
}

static void rpe_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
    fuse_reply_err(req, EPERM);
}

static void rpe_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
                       fuse_ino_t newparent, const char *newname, unsigned int flags)
{
    fuse_reply_err(req, flags ? EINVAL : EPERM);
}

static void rpe_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
                        struct fuse_file_info *fi)
{
    py_setattr(req, ino, attr, to_set, fi);
}

static void rpe_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
    for (size_t i = 0; i < count; i++)
        py_forget(req, forgets[i].ino, forgets[i].nlookup);
    fuse_reply_none(req);
}

static void rpe_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
    py_forget(req, ino, nlookup);
    fuse_reply_none(req);
}

static int rpe_mq_read(fuse_req_t req, uint64_t fh, size_t size, int flags);

/* A READ on an endpoint device is answered (or waits) in C: message_queue.c. */
static void rpe_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                     struct fuse_file_info *fi)
{
    if (!rpe_mq_read(req, fi->fh, size, fi->flags))
        py_read(req, ino, size, (int64_t)off, fi);
}

static int rpe_mq_write(fuse_req_t req, uint64_t fh, const char *buf, size_t size);

/* A WRITE on an endpoint device that can be sent at once is sent in C: eptdev_write.c. */
static void rpe_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
                      struct fuse_file_info *fi)
{
    if (!rpe_mq_write(req, fi->fh, buf, size))
        py_write(req, ino, buf, size, (int64_t)off, fi);
}

static void rpe_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                        struct fuse_file_info *fi)
{
    py_readdir(req, ino, size, (int64_t)off, fi);
}

static const struct fuse_lowlevel_ops rpe_ops = {
    .init = py_init,
    .lookup = py_lookup,
    .forget = rpe_forget,
    .forget_multi = rpe_forget_multi,
    .getattr = py_getattr,
    .setattr = rpe_setattr,
    .readlink = py_readlink,
    .open = py_open,
    .read = rpe_read,
    .write = rpe_write,
    .release = py_release,
    .opendir = py_opendir,
    .readdir = rpe_readdir,
    .releasedir = py_releasedir,
    .statfs = py_statfs,
    .access = py_access,
    .ioctl = py_ioctl,
    .poll = py_poll,
    .fsync = py_fsync,
    .create = rpe_create,
    .mknod = rpe_mknod,
    .mkdir = rpe_mkdir,
    .unlink = rpe_remove,
    .rmdir = rpe_remove,
    .symlink = rpe_symlink,
    .link = rpe_link,
    .rename = rpe_rename,
};

static struct fuse_session *rpe_session_new(int argc, char **argv, void *userdata)
{
    struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
    return fuse_session_new(&args, &rpe_ops, sizeof(rpe_ops), userdata);
}

static void rpe_fill_stat(struct stat *st, fuse_ino_t ino, unsigned mode, unsigned nlink,
                          unsigned uid, unsigned gid, uint64_t size, int64_t mtime)
{
    memset(st, 0, sizeof(*st));
    st->st_ino = ino;
    st->st_mode = mode;
    st->st_nlink = nlink;
    st->st_uid = uid;
    st->st_gid = gid;
    st->st_size = size;
    st->st_blksize = 4096;
    st->st_atim.tv_sec = st->st_mtim.tv_sec = st->st_ctim.tv_sec = mtime;
}

static int rpe_reply_entry(fuse_req_t req, fuse_ino_t ino, unsigned mode, unsigned nlink,
                           unsigned uid, unsigned gid, uint64_t size, double timeout, int64_t mtime)
{
    struct fuse_entry_param e;
    memset(&e, 0, sizeof(e));
    e.ino = ino;
    e.generation = 1;
    e.attr_timeout = timeout;
    e.entry_timeout = timeout;
    rpe_fill_stat(&e.attr, ino, mode, nlink, uid, gid, size, mtime);
    return fuse_reply_entry(req, &e);
}

static int rpe_reply_attr(fuse_req_t req, fuse_ino_t ino, unsigned mode, unsigned nlink,
                          unsigned uid, unsigned gid, uint64_t size, double timeout, int64_t mtime)
{
    struct stat st;
    rpe_fill_stat(&st, ino, mode, nlink, uid, gid, size, mtime);
    return fuse_reply_attr(req, &st, timeout);
}

/*
 * The open reply built here, as fuse_reply_open would from a fuse_file_info: a reply may be
 * held until entry invalidations are done, long after libfuse's fuse_file_info is gone.
 * `direct`: every read reaches us (an attribute is shown afresh), but the file keeps its
 * position and can seek, as a kernfs file does (fs/kernfs/file.c, seq_file).
 */
static int rpe_reply_open(fuse_req_t req, uint64_t fh, int direct)
{
    struct fuse_open_out out;
    memset(&out, 0, sizeof(out));
    out.fh = fh;
    out.open_flags = direct ? FOPEN_DIRECT_IO : 0;
    return fuse_reply_buf(req, (const char *)&out, sizeof(out));
}

/*
 * Open a device as a stream: direct I/O, no file position and so no position lock. A
 * character device has none either, so a write from one thread is not held up by a read
 * blocked in another on the same fd. libfuse 3.14 has no field for FOPEN_STREAM in
 * fuse_file_info, so this builds the open reply itself, as fuse_reply_open would.
 */
static int rpe_reply_open_stream(fuse_req_t req, uint64_t fh)
{
    struct fuse_open_out out;
    memset(&out, 0, sizeof(out));
    out.fh = fh;
    out.open_flags = FOPEN_DIRECT_IO | FOPEN_NONSEEKABLE | FOPEN_STREAM;
    return fuse_reply_buf(req, (const char *)&out, sizeof(out));
}

static int rpe_reply_statfs(fuse_req_t req)
{
    struct statvfs sv;
    memset(&sv, 0, sizeof(sv));
    sv.f_bsize = 4096;
    sv.f_frsize = 4096;
    sv.f_namemax = 255;
    return fuse_reply_statfs(req, &sv);
}

static void rpe_free_buf(struct fuse_buf *buf)
{
    free(buf->mem);
    buf->mem = NULL;
}

static size_t rpe_add_direntry(fuse_req_t req, char *buf, size_t bufsize, const char *name,
                               fuse_ino_t ino, unsigned mode, int64_t off)
{
    struct stat st;
    memset(&st, 0, sizeof(st));
    st.st_ino = ino;
    st.st_mode = mode;
    return fuse_add_direntry(req, buf, bufsize, name, &st, (off_t)off);
}
"""
# A hash map, the endpoint device's receive queue, its WRITE, the endpoints Linux's ISR
# delivers to, Linux's interrupt lines and the session's receive loop, in files of their own
# (named after what they model), in that order.
SOURCE += "".join((Path(__file__).resolve().parent / name).read_text(encoding="utf-8")
                  for name in ("hash_map.c", "message_queue.c", "eptdev_write.c",
                               "endpoint_table.c", "interrupt_lines.c", "receive_loop.c"))


def _pkg_config(*args: str) -> list[str]:
    """Ask pkg-config about fuse3; say exactly what is missing when it cannot answer."""
    try:
        out = subprocess.run(["pkg-config", *args, "fuse3"], check=True,
                             capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        raise SystemExit(
            "rpmsg-emu needs libfuse3's headers and pkg-config to build its FUSE binding: "
            "apt-get install libfuse3-dev pkg-config (or run scripts/setup.sh)") from exc
    return shlex.split(out)


_LIMITED_API_3_11 = "0x030B0000"


def _make_builder() -> FFI:
    builder = FFI()
    builder.cdef(CDEF)
    cflags = _pkg_config("--cflags")
    libs = _pkg_config("--libs")
    builder.set_source(
        "fusedev.fuse._fuse_cffi", SOURCE,
        include_dirs=[f[2:] for f in cflags if f.startswith("-I")],
        extra_compile_args=[f for f in cflags if not f.startswith("-I")] + ["-O2"],
        libraries=[f[2:] for f in libs if f.startswith("-l")],
        library_dirs=[f[2:] for f in libs if f.startswith("-L")],
        # The stable ABI of 3.11 (python_requires), so one wheel serves every later CPython:
        # Python.h then hides whatever the limited API lacks, and the module is tagged abi3.
        define_macros=[("Py_LIMITED_API", _LIMITED_API_3_11)],
        py_limited_api=True,
    )
    return builder


ffibuilder = _make_builder()

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
