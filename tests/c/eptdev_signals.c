/* A program blocked on an endpoint device while signals, stops and debuggers come by.
 *
 *   eptdev_signals DEVICE read|poll|write none|catch|restart
 *
 * A second thread (not the main one: its id is not the process id) blocks in read() or
 * poll() on DEVICE, or fills the TX ring with non-blocking writes ("filled N") and then
 * blocks in write(); the main thread blocks every signal, so signals sent to the process
 * reach the waiting thread. "catch" installs a SIGINT/SIGUSR1 handler without SA_RESTART,
 * "restart" with SA_RESTART, "none" leaves the defaults. Prints "waiting TID", then what the
 * call returned, then "handled N" (how often the handler ran). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static int fd;
static const char *how;
static volatile sig_atomic_t handled;

static void on_signal(int sig)
{
	(void)sig;
	handled++;
}

static void report_read(void)
{
	char buf[512];
	ssize_t n = read(fd, buf, sizeof buf);
	if (n < 0)
		printf("read -1 errno %d\n", errno);
	else
		printf("read %zd %.*s\n", n, (int)n, buf);
}

static void *waiter(void *arg)
{
	sigset_t none;
	(void)arg;
	sigemptyset(&none);
	pthread_sigmask(SIG_SETMASK, &none, NULL);
	if (strcmp(how, "write") == 0) {
		int flags = fcntl(fd, F_GETFL), n = 0;
		fcntl(fd, F_SETFL, flags | O_NONBLOCK);
		while (n < 10000 && write(fd, "m", 1) == 1)
			n++;
		printf("filled %d errno %d\n", n, errno);
		fcntl(fd, F_SETFL, flags);
	}
	printf("waiting %ld\n", (long)syscall(SYS_gettid));
	fflush(stdout);
	if (strcmp(how, "write") == 0) {
		ssize_t n = write(fd, "last", 4);
		if (n < 0)
			printf("write -1 errno %d\n", errno);
		else
			printf("write %zd\n", n);
		return NULL;
	}
	if (strcmp(how, "poll") == 0) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int r = poll(&p, 1, -1);
		if (r < 0) {
			printf("poll -1 errno %d\n", errno);
			return NULL;
		}
		printf("poll %d revents %#x\n", r, p.revents);
	}
	report_read();
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t thread;
	sigset_t all;

	if (argc != 4) {
		fprintf(stderr, "usage: %s DEVICE read|poll|write none|catch|restart\n", argv[0]);
		return 2;
	}
	how = argv[2];
	fd = open(argv[1], O_RDWR);
	if (fd < 0) {
		printf("open errno %d\n", errno);
		return 1;
	}
	if (strcmp(argv[3], "none") != 0) {
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = on_signal;
		sa.sa_flags = strcmp(argv[3], "restart") == 0 ? SA_RESTART : 0;
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGUSR1, &sa, NULL);
	}
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, NULL);
	if (pthread_create(&thread, NULL, waiter, NULL) != 0)
		return 1;
	pthread_join(thread, NULL);
	printf("handled %d\n", (int)handled);
	return 0;
}
