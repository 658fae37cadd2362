/* What a program sees of an endpoint device's receive queue (drivers/rpmsg/rpmsg_char.c):
 * one message per read, oldest first, truncated to the buffer; readers blocked until a
 * message comes or the endpoint goes. DEVICE talks to an echo (what it writes comes back).
 *
 *   eptdev_queue DEVICE two-readers|short|destroy|block|reopen|eintr|echo|fill
 *   eptdev_queue DEVICE DEVICE2 select
 *
 *   two-readers  thread A blocks in read(), then thread B; two messages are sent: each
 *                thread gets one, A the first (rpmsg_ept_cb queues, readers dequeue one skb
 *                each in rpmsg_eptdev_read_iter);
 *   short        4-byte reads of 17-byte messages, one already queued, one arriving while the
 *                read waits: 4 bytes each, the rest dropped (read_iter copies min(len, size)
 *                and frees the skb); the next read returns the next message whole;
 *   destroy      two threads blocked in read(); RPMSG_DESTROY_EPT_IOCTL: both get EPIPE
 *                (rpmsg_chrdev_eptdev_destroy wakes readq; read_iter finds no ept), and so
 *                does a read after it;
 *   block        prints "waiting TID" and blocks in read() until the test ends the endpoint
 *                (stopping the core), then reads once more;
 *   reopen       an echo is queued (poll says so), close, open again: the queue is empty
 *                (rpmsg_eptdev_release purges it), a non-blocking read is EAGAIN;
 *   eintr        thread A blocks in read(), then B; SIGUSR1 (a handler without SA_RESTART)
 *                to A: A's read is EINTR, and the next message goes to B;
 *   echo N       N round trips ("echo i");
 *   fill         the core is stalled: non-blocking writes until EAGAIN (every TX buffer
 *                is taken: virtio_rpmsg_bus's get_a_tx_buf finds none), then "waiting" and
 *                a blocking write, which returns once the test ends the stall; then every
 *                echo is read back, in order;
 *   select       select() over both devices while only one gets a message: it is the one
 *                reported readable (rpmsg_eptdev_poll), then the other way round.
 * Prints one line per result; "done" at the end. Exit 1 when something breaks. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/rpmsg.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int fd;
static const char *device;
static volatile sig_atomic_t handled;

struct reader {
	const char *name;
	size_t size;
	pthread_t thread;
	volatile pid_t tid;
};

static void fail(const char *what)
{
	printf("%s failed errno %d\n", what, errno);
	exit(1);
}

static void on_signal(int sig)
{
	(void)sig;
	handled++;
}

static void send_msg(const char *msg)
{
	ssize_t len = (ssize_t)strlen(msg) + 1;
	if (write(fd, msg, len) != len)
		fail("write");
}

static void print_read(const char *who, size_t size)
{
	char buf[512];
	ssize_t n = read(fd, buf, size);
	if (n < 0)
		printf("%s -1 errno %d\n", who, errno);
	else
		printf("%s %zd %.*s\n", who, n, (int)strnlen(buf, n), buf);
}

static void *reader_main(void *arg)
{
	struct reader *r = arg;
	r->tid = (pid_t)syscall(SYS_gettid);
	print_read(r->name, r->size);
	return NULL;
}

/* Until the thread sleeps in the kernel (its READ waits in the daemon), and a bit more. */
static void wait_asleep(struct reader *r)
{
	char path[64], stat[512];
	struct timespec tick = { .tv_nsec = 10 * 1000 * 1000 };
	for (int i = 0; i < 1000; i++) {
		if (r->tid) {
			snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)r->tid);
			FILE *f = fopen(path, "r");
			if (f) {
				size_t n = fread(stat, 1, sizeof stat - 1, f);
				fclose(f);
				stat[n] = 0;
				char *state = strrchr(stat, ')');
				if (state && (state[2] == 'S' || state[2] == 'D')) {
					nanosleep(&tick, NULL);
					nanosleep(&tick, NULL);
					return;
				}
			}
		}
		nanosleep(&tick, NULL);
	}
	printf("%s never blocked\n", r->name);
	exit(1);
}

static void start(struct reader *r, const char *name, size_t size)
{
	r->name = name;
	r->size = size;
	r->tid = 0;
	if (pthread_create(&r->thread, NULL, reader_main, r))
		fail("pthread_create");
	wait_asleep(r);
}

static void wait_readable(int which)
{
	struct pollfd p = { .fd = which, .events = POLLIN };
	if (poll(&p, 1, 10000) != 1)
		fail("poll");
}

static void two_readers(void)
{
	struct reader a, b;
	start(&a, "A", 512);
	start(&b, "B", 512);
	send_msg("first");
	send_msg("second");
	pthread_join(a.thread, NULL);
	pthread_join(b.thread, NULL);
}

static void short_reads(void)
{
	struct reader w;
	send_msg("0123456789abcdef");
	wait_readable(fd);
	print_read("queued", 4);
	start(&w, "waiting", 4);
	send_msg("ghijklmnopqrstuv");
	pthread_join(w.thread, NULL);
	send_msg("next");
	print_read("next", 512);
}

static void destroy(void)
{
	struct reader a, b;
	start(&a, "A", 512);
	start(&b, "B", 512);
	if (ioctl(fd, RPMSG_DESTROY_EPT_IOCTL) < 0)
		fail("RPMSG_DESTROY_EPT_IOCTL");
	pthread_join(a.thread, NULL);
	pthread_join(b.thread, NULL);
	print_read("after", 512);
}

static void block(void)
{
	printf("waiting %ld\n", (long)syscall(SYS_gettid));
	print_read("read", 512);
	print_read("after", 512);
}

static void reopen(void)
{
	send_msg("stale");
	wait_readable(fd);
	close(fd);
	fd = open(device, O_RDWR | O_NONBLOCK);
	if (fd < 0)
		fail("open again");
	print_read("reopened", 512);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	send_msg("fresh");
	print_read("read", 512);
}

static void eintr(void)
{
	struct sigaction sa = { .sa_handler = on_signal };  /* no SA_RESTART */
	struct reader a, b;
	sigaction(SIGUSR1, &sa, NULL);
	start(&a, "A", 512);
	start(&b, "B", 512);
	pthread_kill(a.thread, SIGUSR1);
	pthread_join(a.thread, NULL);
	printf("handled %d\n", (int)handled);
	send_msg("after");
	pthread_join(b.thread, NULL);
	send_msg("again");
	print_read("main", 512);
}

static void echo(int n)
{
	char msg[32];
	for (int i = 0; i < n; i++) {
		char buf[512];
		snprintf(msg, sizeof msg, "echo %d", i);
		send_msg(msg);
		if (read(fd, buf, sizeof buf) != (ssize_t)strlen(msg) + 1 || strcmp(buf, msg))
			fail("echo");
	}
	printf("echoed %d\n", n);
}

static void fill(void)
{
	char msg[32], buf[512];
	int sent = 0;
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	for (;;) {
		snprintf(msg, sizeof msg, "fill %d", sent);
		if (write(fd, msg, strlen(msg) + 1) < 0)
			break;
		sent++;
	}
	printf("filled %d errno %d\n", sent, errno);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	printf("waiting\n");
	snprintf(msg, sizeof msg, "fill %d", sent);
	if (write(fd, msg, strlen(msg) + 1) != (ssize_t)strlen(msg) + 1)
		fail("blocking write");
	sent++;
	for (int i = 0; i < sent; i++) {
		snprintf(msg, sizeof msg, "fill %d", i);
		if (read(fd, buf, sizeof buf) != (ssize_t)strlen(msg) + 1 || strcmp(buf, msg))
			fail("fill echo");
	}
	printf("echoes %d\n", sent);
}

/* One message to `to`, then select() over both: which are readable? */
static void select_one(int fds[2], int to)
{
	char buf[512];
	fd_set rd;
	struct timeval tv = { .tv_sec = 10 };
	fd = fds[to];
	send_msg(to ? "to the second" : "to the first");
	FD_ZERO(&rd);
	FD_SET(fds[0], &rd);
	FD_SET(fds[1], &rd);
	int n = select((fds[0] > fds[1] ? fds[0] : fds[1]) + 1, &rd, NULL, NULL, &tv);
	printf("select %d:%s%s\n", n, FD_ISSET(fds[0], &rd) ? " first" : "",
	       FD_ISSET(fds[1], &rd) ? " second" : "");
	for (int i = 0; i < 2; i++)
		if (FD_ISSET(fds[i], &rd)) {
			ssize_t got = read(fds[i], buf, sizeof buf);
			printf("read %zd %s\n", got, got > 0 ? buf : "");
		}
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	setvbuf(stdout, NULL, _IONBF, 0);
	device = argv[1];
	fd = open(device, O_RDWR);
	if (fd < 0)
		fail("open");
	if (!strcmp(argv[2], "two-readers"))
		two_readers();
	else if (!strcmp(argv[2], "short"))
		short_reads();
	else if (!strcmp(argv[2], "destroy"))
		destroy();
	else if (!strcmp(argv[2], "block"))
		block();
	else if (!strcmp(argv[2], "reopen"))
		reopen();
	else if (!strcmp(argv[2], "eintr"))
		eintr();
	else if (!strcmp(argv[2], "fill"))
		fill();
	else if (!strcmp(argv[2], "echo") && argc == 4)
		echo(atoi(argv[3]));
	else if (argc == 4 && !strcmp(argv[3], "select")) {
		int fds[2] = { fd, open(argv[2], O_RDWR) };
		if (fds[1] < 0)
			fail("open the second");
		select_one(fds, 1);
		select_one(fds, 0);
	} else
		return 2;
	printf("done\n");
	return 0;
}
