/* A producer that streams to the remote as fast as write() lets it: 496-byte messages (the
 * largest payload of a 512-byte rpmsg buffer) back to back on DEVICE for SECONDS, blocking
 * whenever the TX ring is full (drivers/rpmsg/virtio_rpmsg_bus.c rpmsg_send_offchannel_raw
 * waits for a buffer the remote gives back). Prints "wrote N" and exits 0, or
 * "FAIL: write (errno E: ...)" after N messages and exits 1. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	char msg[496];
	long count = 0;
	double end;
	int fd;

	if (argc != 3) {
		fprintf(stderr, "usage: stream_writer DEVICE SECONDS\n");
		return 2;
	}
	fd = open(argv[1], O_RDWR);
	if (fd < 0) {
		printf("FAIL: open (errno %d: %s)\n", errno, strerror(errno));
		return 1;
	}
	memset(msg, 'x', sizeof(msg));
	end = now() + atof(argv[2]);
	while (now() < end) {
		if (write(fd, msg, sizeof(msg)) != (ssize_t)sizeof(msg)) {
			printf("FAIL: write after %ld messages (errno %d: %s)\n", count, errno,
			       strerror(errno));
			return 1;
		}
		count++;
	}
	printf("wrote %ld\n", count);
	close(fd);
	return 0;
}
