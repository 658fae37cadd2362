/* A program that talks to an endpoint device back to back, then does one thing that must
 * still behave as on the board, while the daemon is most likely busy-polling /dev/fuse
 * (its receive loop polls for a while after each request instead of sleeping).
 *
 *   busy_client DEVICE eintr|epipe|poll|nonblock
 *
 * First 200 echo round trips ("burst N"), then at once:
 *   eintr     a SIGALRM handler without SA_RESTART, a 30 us timer, read() on the empty
 *             queue: the kernel sends INTERRUPT while the READ waits (drivers/rpmsg/
 *             rpmsg_char.c rpmsg_eptdev_read_iter: wait_event_interruptible -> -ERESTARTSYS,
 *             EINTR with a handler); then one more round trip;
 *   epipe     a second thread blocks in read(), the main thread destroys the endpoint
 *             (RPMSG_DESTROY_EPT_IOCTL; rpmsg_eptdev_destroy wakes readq, the read
 *             returns -EPIPE once the endpoint is gone);
 *   poll      write, then poll(POLLIN): woken when the echo arrives (rpmsg_eptdev_poll);
 *   nonblock  O_NONBLOCK: read() of the empty queue is EAGAIN at once; write, then read
 *             again until the echo is there.
 * Prints one line per step: "<step> <result>", then "done". Exit 1 on a broken echo. */
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
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static int fd;
static volatile sig_atomic_t handled;

static void on_alarm(int sig)
{
	(void)sig;
	handled++;
}

static void round_trip(const char *msg)
{
	char buf[512];
	ssize_t len = (ssize_t)strlen(msg) + 1;
	if (write(fd, msg, len) != len) {
		printf("write failed errno %d\n", errno);
		exit(1);
	}
	ssize_t n = read(fd, buf, sizeof buf);
	if (n != len || memcmp(buf, msg, len)) {
		printf("echo of %s: got %zd errno %d\n", msg, n, errno);
		exit(1);
	}
}

static void burst(void)
{
	char msg[32];
	for (int i = 0; i < 200; i++) {
		snprintf(msg, sizeof msg, "burst %d", i);
		round_trip(msg);
	}
}

static void print_read(const char *step)
{
	char buf[512];
	ssize_t n = read(fd, buf, sizeof buf);
	if (n < 0)
		printf("%s -1 errno %d\n", step, errno);
	else
		printf("%s %zd %s\n", step, n, buf);
}

static void *blocked_reader(void *arg)
{
	(void)arg;
	print_read("read");
	return NULL;
}

static void eintr(void)
{
	struct sigaction sa = { .sa_handler = on_alarm };  /* no SA_RESTART */
	struct itimerval timer = { .it_value = { .tv_usec = 30 } };
	sigaction(SIGALRM, &sa, NULL);
	burst();
	setitimer(ITIMER_REAL, &timer, NULL);
	print_read("read");
	printf("handled %d\n", (int)handled);
	round_trip("after the signal");
	printf("echo ok\n");
}

static void epipe(void)
{
	pthread_t reader;
	struct timespec settle = { .tv_nsec = 20 * 1000 * 1000 };
	burst();
	pthread_create(&reader, NULL, blocked_reader, NULL);
	nanosleep(&settle, NULL);
	printf("destroy %d\n", ioctl(fd, RPMSG_DESTROY_EPT_IOCTL));
	pthread_join(reader, NULL);
}

static void poll_wakeup(void)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	burst();
	if (write(fd, "polled", 7) != 7)
		exit(1);
	int n = poll(&p, 1, 10000);
	printf("poll %d revents %#x\n", n, p.revents);
	print_read("read");
}

static void nonblock(void)
{
	struct timespec pause = { .tv_nsec = 100 * 1000 };
	burst();
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	print_read("empty");
	if (write(fd, "later", 6) != 6)
		exit(1);
	char buf[512];
	ssize_t n;
	int tries = 0;
	while ((n = read(fd, buf, sizeof buf)) < 0 && errno == EAGAIN && ++tries < 100000)
		nanosleep(&pause, NULL);
	if (n < 0)
		printf("read -1 errno %d\n", errno);
	else
		printf("read %zd %s\n", n, buf);
}

int main(int argc, char **argv)
{
	if (argc != 3)
		return 2;
	setvbuf(stdout, NULL, _IONBF, 0);
	fd = open(argv[1], O_RDWR);
	if (fd < 0) {
		printf("open failed errno %d\n", errno);
		return 1;
	}
	if (!strcmp(argv[2], "eintr"))
		eintr();
	else if (!strcmp(argv[2], "epipe"))
		epipe();
	else if (!strcmp(argv[2], "poll"))
		poll_wakeup();
	else if (!strcmp(argv[2], "nonblock"))
		nonblock();
	else
		return 2;
	printf("done\n");
	return 0;
}
