/* A field program that hard-codes /dev/rpmsg0: on an AM62x that is the M4F's rpmsg_chrdev
 * channel (its echo firmware sends every message back). Writes strlen+1 bytes, waits for
 * the answer with select() for argv[1] seconds (default 10), then prints
 * "OK <realpath of /sys/class/rpmsg/rpmsg0>"; "TIMEOUT" when nothing came back. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <unistd.h>

static void die(const char *what)
{
	printf("FAIL: %s (errno %d: %s)\n", what, errno, strerror(errno));
	exit(1);
}

int main(int argc, char **argv)
{
	const char *msg = "hello rpmsg0";
	char buf[512], path[PATH_MAX];
	int seconds = argc > 1 ? atoi(argv[1]) : 10;
	int fd = open("/dev/rpmsg0", O_RDWR);
	if (fd < 0)
		die("open /dev/rpmsg0");
	if (write(fd, msg, strlen(msg) + 1) != (ssize_t)(strlen(msg) + 1))
		die("write /dev/rpmsg0");
	fd_set readable;
	FD_ZERO(&readable);
	FD_SET(fd, &readable);
	struct timeval timeout = { .tv_sec = seconds };
	int ready = select(fd + 1, &readable, NULL, NULL, &timeout);
	if (ready < 0)
		die("select");
	if (ready == 0) {
		printf("TIMEOUT\n");
		return 3;
	}
	ssize_t n = read(fd, buf, sizeof buf);
	if (n != (ssize_t)(strlen(msg) + 1) || memcmp(buf, msg, n))
		die("echo: the answer differs");
	if (!realpath("/sys/class/rpmsg/rpmsg0", path))
		die("realpath /sys/class/rpmsg/rpmsg0");
	printf("OK %s\n", path);
	close(fd);
	return 0;
}
