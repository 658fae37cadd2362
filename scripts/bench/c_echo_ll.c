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
 * Usage: c_echo_ll MOUNTPOINT   (foreground; SIGTERM/SIGINT unmount and exit)
 */
#define FUSE_USE_VERSION 35

#include <errno.h>
#include <fuse_lowlevel.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

static void echo_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	unsigned before = readiness();
	struct msg *m;

	(void)ino;
	(void)off;
	(void)fi;
	if (size > MSG_MAX) {
		fuse_reply_err(req, EMSGSIZE);
		return;
	}
	if (waiters_head) {
		struct waiter *w = waiters_head;

		waiters_head = w->next;
		if (!waiters_head)
			waiters_tail = NULL;
		fuse_req_interrupt_func(w->req, NULL, NULL);
		fuse_reply_buf(w->req, buf, size < w->size ? size : w->size);
		free(w);
		fuse_reply_write(req, size);
		return;
	}
	if (q_len == QUEUE_CAP) {
		/* The benchmark never fills the queue; a full queue is refused rather than waited on. */
		fuse_reply_err(req, EAGAIN);
		return;
	}
	m = &queue[(q_head + q_len) % QUEUE_CAP];
	memcpy(m->data, buf, size);
	m->len = size;
	q_len++;
	fuse_reply_write(req, size);
	notify_if_changed(before);
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

int main(int argc, char *argv[])
{
	char *fuse_argv[] = { argv[0], "-o", "fsname=c_echo_ll,subtype=c_echo_ll", NULL };
	struct fuse_args args = FUSE_ARGS_INIT(3, fuse_argv);
	struct fuse_session *se;
	int ret = 1;

	if (argc != 2) {
		fprintf(stderr, "usage: %s MOUNTPOINT\n", argv[0]);
		return 2;
	}
	se = fuse_session_new(&args, &echo_ops, sizeof(echo_ops), NULL);
	if (!se)
		return 1;
	if (fuse_set_signal_handlers(se) == 0) {
		if (fuse_session_mount(se, argv[1]) == 0) {
			/* A positive result is the signal that ended the loop: a clean stop. */
			ret = fuse_session_loop(se) < 0 ? 1 : 0;
			fuse_session_unmount(se);
		}
		fuse_remove_signal_handlers(se);
	}
	fuse_session_destroy(se);
	return ret;
}
