/*
 * c_echo_ll: the FUSE floor of this machine.
 *
 * A minimal libfuse3 low-level daemon serving one "echo device" at MOUNTPOINT/echo, with the
 * semantics rpmsg-emu's device files have: each write() of at most 4096 bytes queues one message,
 * each read() returns exactly one queued message (truncated to the read size), blocks while the
 * queue is empty (EAGAIN with O_NONBLOCK), and poll() reports POLLIN while a message is queued,
 * waking pollers with fuse_lowlevel_notify_poll. Opened with direct_io + nonseekable so every
 * read and write reaches the daemon.
 *
 * Single-threaded session loop and no work beyond the semantics: whatever this costs is what the
 * kernel's FUSE round trip costs here, so every other FUSE target is reported as a ratio to it.
 *
 * With --remote-thread, a written message is not queued at once: it goes to a second thread (the
 * "remote CPU") through a locked ring and an eventfd kick, and that thread sends it back the same
 * way; the loop polls /dev/fuse and the reply kick. That is the least any daemon pays whose
 * replies come from another CPU, as rpmsg-emu's do (its cores are threads): the C floor of that
 * design on this machine (target c_echo_remote).
 *
 * Usage: c_echo_ll MOUNTPOINT [--remote-thread]   (foreground; SIGTERM/SIGINT unmount and exit)
 */
#define FUSE_USE_VERSION 35

#include <errno.h>
#include <fuse_lowlevel.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#define ECHO_INO 2
#define ECHO_NAME "echo"
#define MSG_MAX 4096
#define QUEUE_CAP 1024

struct msg {
	size_t len;
	char data[MSG_MAX];
};

/* A READ that arrived while the queue was empty; answered by the next WRITE. */
struct waiter {
	fuse_req_t req;
	size_t size;
	struct waiter *next;
};

static struct msg queue[QUEUE_CAP];
static size_t q_head, q_len;
static struct waiter *waiters_head, *waiters_tail;
static struct fuse_pollhandle *poll_handle;

static unsigned readiness(void)
{
	unsigned mask = 0;

	if (q_len > 0)
		mask |= POLLIN | POLLRDNORM;
	if (q_len < QUEUE_CAP)
		mask |= POLLOUT | POLLWRNORM;
	return mask;
}

static void notify_if_changed(unsigned before)
{
	if (poll_handle && readiness() != before) {
		fuse_lowlevel_notify_poll(poll_handle);
		fuse_pollhandle_destroy(poll_handle);
		poll_handle = NULL;
	}
}

static void fill_attr(fuse_ino_t ino, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	if (ino == FUSE_ROOT_ID) {
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
	} else {
		st->st_mode = S_IFREG | 0666;
		st->st_nlink = 1;
	}
}

static void echo_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;

	if (parent != FUSE_ROOT_ID || strcmp(name, ECHO_NAME) != 0) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	memset(&e, 0, sizeof(e));
	e.ino = ECHO_INO;
	e.attr_timeout = 3600.0;
	e.entry_timeout = 3600.0;
	fill_attr(ECHO_INO, &e.attr);
	fuse_reply_entry(req, &e);
}

static void echo_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stat st;

	(void)fi;
	if (ino != FUSE_ROOT_ID && ino != ECHO_INO) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	fill_attr(ino, &st);
	fuse_reply_attr(req, &st, 3600.0);
}

static void echo_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	if (ino != ECHO_INO) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	fi->direct_io = 1;
	fi->nonseekable = 1;
	fuse_reply_open(req, fi);
}

static void forget_waiter(fuse_req_t req)
{
	struct waiter **pp, *prev = NULL;

	for (pp = &waiters_head; *pp; prev = *pp, pp = &(*pp)->next) {
		struct waiter *w = *pp;

		if (w->req != req)
			continue;
		*pp = w->next;
		if (waiters_tail == w)
			waiters_tail = prev;
		free(w);
		return;
	}
}

/*
 * A signal hit a client blocked in read(): answer EINTR so Ctrl-C never hangs. The loop is
 * single-threaded, so this only runs from the loop while handling the INTERRUPT request.
 */
static void interrupt_waiter(fuse_req_t req, void *data)
{
	(void)data;
	forget_waiter(req);
	fuse_reply_err(req, EINTR);
}

static void echo_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		      struct fuse_file_info *fi)
{
	struct waiter *w;
	unsigned before = readiness();

	(void)ino;
	(void)off;
	if (q_len > 0) {
		struct msg *m = &queue[q_head];

		fuse_reply_buf(req, m->data, m->len < size ? m->len : size);
		q_head = (q_head + 1) % QUEUE_CAP;
		q_len--;
		notify_if_changed(before);
		return;
	}
	if (fi->flags & O_NONBLOCK) {
		fuse_reply_err(req, EAGAIN);
		return;
	}
	w = malloc(sizeof(*w));
	if (!w) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	w->req = req;
	w->size = size;
	w->next = NULL;
	if (waiters_tail)
		waiters_tail->next = w;
	else
		waiters_head = w;
	waiters_tail = w;
	fuse_req_interrupt_func(req, interrupt_waiter, NULL);
}

/* A message arrives at the device: the oldest waiting READ gets it, or it is queued.
 * -EAGAIN when the queue is full (the benchmark never fills it). */
static int deliver(const char *buf, size_t size)
{
	unsigned before = readiness();
	struct msg *m;

	if (waiters_head) {
		struct waiter *w = waiters_head;

		waiters_head = w->next;
		if (!waiters_head)
			waiters_tail = NULL;
		fuse_req_interrupt_func(w->req, NULL, NULL);
		fuse_reply_buf(w->req, buf, size < w->size ? size : w->size);
		free(w);
		return 0;
	}
	if (q_len == QUEUE_CAP)
		return -EAGAIN;
	m = &queue[(q_head + q_len) % QUEUE_CAP];
	memcpy(m->data, buf, size);
	m->len = size;
	q_len++;
	notify_if_changed(before);
	return 0;
}

/* --remote-thread: the two directions between the loop and the "remote CPU". */
struct ring {
	pthread_mutex_t lock;
	struct msg slots[QUEUE_CAP];
	size_t head, len;
	int kick;  /* eventfd: the receiving side's interrupt line */
};

static struct ring to_remote = { .lock = PTHREAD_MUTEX_INITIALIZER, .kick = -1 };
static struct ring to_linux = { .lock = PTHREAD_MUTEX_INITIALIZER, .kick = -1 };

static int ring_put(struct ring *r, const char *buf, size_t size)
{
	int was_empty, full;

	pthread_mutex_lock(&r->lock);
	full = r->len == QUEUE_CAP;
	was_empty = r->len == 0;
	if (!full) {
		struct msg *m = &r->slots[(r->head + r->len) % QUEUE_CAP];

		memcpy(m->data, buf, size);
		m->len = size;
		r->len++;
	}
	pthread_mutex_unlock(&r->lock);
	if (!full && was_empty)
		eventfd_write(r->kick, 1);
	return full ? -EAGAIN : 0;
}

/* Take the oldest message into *out; 0 when the ring is empty. */
static int ring_get(struct ring *r, struct msg *out)
{
	int got = 0;

	pthread_mutex_lock(&r->lock);
	if (r->len) {
		struct msg *m = &r->slots[r->head];

		out->len = m->len;
		memcpy(out->data, m->data, m->len);
		r->head = (r->head + 1) % QUEUE_CAP;
		r->len--;
		got = 1;
	}
	pthread_mutex_unlock(&r->lock);
	return got;
}

/* The remote CPU: wait for a kick, send every message back. */
static void *remote_cpu(void *arg)
{
	static struct msg m;
	eventfd_t n;

	(void)arg;
	while (eventfd_read(to_remote.kick, &n) == 0)
		while (ring_get(&to_remote, &m))
			while (ring_put(&to_linux, m.data, m.len) < 0)
				sched_yield();
	return NULL;
}

static void echo_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	(void)ino;
	(void)off;
	(void)fi;
	if (size > MSG_MAX) {
		fuse_reply_err(req, EMSGSIZE);
		return;
	}
	if ((to_remote.kick >= 0 ? ring_put(&to_remote, buf, size) : deliver(buf, size)) < 0) {
		/* A full queue is refused rather than waited on. */
		fuse_reply_err(req, EAGAIN);
		return;
	}
	fuse_reply_write(req, size);
}

static void echo_poll(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
		      struct fuse_pollhandle *ph)
{
	(void)ino;
	(void)fi;
	if (ph) {
		if (poll_handle)
			fuse_pollhandle_destroy(poll_handle);
		poll_handle = ph;
	}
	fuse_reply_poll(req, readiness());
}

static const struct fuse_lowlevel_ops echo_ops = {
	.lookup = echo_lookup,
	.getattr = echo_getattr,
	.open = echo_open,
	.read = echo_read,
	.write = echo_write,
	.poll = echo_poll,
};

/* The session loop of --remote-thread: /dev/fuse and the remote's kick, one thread. */
static int remote_loop(struct fuse_session *se)
{
	struct pollfd fds[2] = { { .fd = fuse_session_fd(se), .events = POLLIN },
				 { .fd = to_linux.kick, .events = POLLIN } };
	struct fuse_buf buf = { 0 };
	static struct msg m;
	eventfd_t n;
	int res = 0;

	while (!fuse_session_exited(se)) {
		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			res = -errno;
			break;
		}
		if (fds[1].revents && eventfd_read(to_linux.kick, &n) == 0)
			while (ring_get(&to_linux, &m))
				deliver(m.data, m.len);  /* a full queue drops: never in the benchmark */
		if (fds[0].revents) {
			res = fuse_session_receive_buf(se, &buf);
			if (res == -EINTR)
				continue;
			if (res <= 0)
				break;
			fuse_session_process_buf(se, &buf);
		}
	}
	free(buf.mem);
	return res < 0 ? res : 0;
}

int main(int argc, char *argv[])
{
	char *fuse_argv[] = { argv[0], "-o", "fsname=c_echo_ll,subtype=c_echo_ll", NULL };
	struct fuse_args args = FUSE_ARGS_INIT(3, fuse_argv);
	struct fuse_session *se;
	pthread_t remote;
	int ret = 1, threaded = argc == 3 && strcmp(argv[2], "--remote-thread") == 0;

	if (argc != 2 && !threaded) {
		fprintf(stderr, "usage: %s MOUNTPOINT [--remote-thread]\n", argv[0]);
		return 2;
	}
	if (threaded) {
		to_remote.kick = eventfd(0, EFD_CLOEXEC);
		to_linux.kick = eventfd(0, EFD_CLOEXEC);
		if (to_remote.kick < 0 || to_linux.kick < 0 ||
		    pthread_create(&remote, NULL, remote_cpu, NULL) != 0)
			return 1;
	}
	se = fuse_session_new(&args, &echo_ops, sizeof(echo_ops), NULL);
	if (!se)
		return 1;
	if (fuse_set_signal_handlers(se) == 0) {
		if (fuse_session_mount(se, argv[1]) == 0) {
			/* A positive result is the signal that ended the loop: a clean stop. */
			if (threaded)
				ret = remote_loop(se) < 0 ? 1 : 0;
			else
				ret = fuse_session_loop(se) < 0 ? 1 : 0;
			fuse_session_unmount(se);
		}
		fuse_remove_signal_handlers(se);
	}
	fuse_session_destroy(se);
	return ret;
}
