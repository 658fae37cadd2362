/*
 * echo_client: the measuring side of the benchmark, in C so that the client adds as little as
 * possible to what is measured (a Python client would cost as much as the FUSE floor itself).
 *
 *   echo_client rtt PATH SIZE COUNT WARMUP
 *       WARMUP untimed then COUNT timed round trips: write SIZE bytes, read one message back.
 *       Writes COUNT round-trip times in ns to stdout as native-endian uint64.
 *   echo_client stream WPATH RPATH SIZE BATCH SECONDS
 *       Pipelined: write BATCH messages to WPATH, then read BATCH from RPATH, until SECONDS have
 *       passed. Prints "msgs=N write_ns=W read_ns=R": the write-only and read-only stream rates
 *       come from the time spent in each phase. WPATH and RPATH are the same file for an echo
 *       device; a sink and a source device can be given separately.
 *   echo_client send PATH SIZE BATCH SECONDS
 *       Write-only stream (to a sink): batches of BATCH writes until SECONDS have passed.
 *       Prints "msgs=N write_ns=W".
 *   echo_client recv PATH SIZE COUNT
 *       Read-only stream (from a source): write one 1-byte hello (a source firmware streams to
 *       whoever speaks first), then read COUNT messages of SIZE bytes. Prints "msgs=N read_ns=R",
 *       R from the hello to the last message.
 *
 * PATH "pipe:" is the kernel IPC floor: a forked child echoes over two pipes.
 * Every reply is checked against what was sent, outside the timed section.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MSG_MAX 4096
#define PIPE_PATH "pipe:"

/* Where messages go and come from; for a pipe, a message may arrive in pieces. */
struct chan {
	int wfd, rfd;
	int is_pipe;
	pid_t child;
};

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void pipe_echo_child(int rfd, int wfd)
{
	char buf[MSG_MAX];
	ssize_t n;

	while ((n = read(rfd, buf, sizeof(buf))) > 0)
		if (write(wfd, buf, (size_t)n) != n)
			_exit(1);
	_exit(0);
}

static void open_pipe(struct chan *c)
{
	int to_child[2], from_child[2];

	if (pipe(to_child) || pipe(from_child))
		die("pipe");
	/* Room for a whole batch each way, so pipelined streaming cannot deadlock. */
	fcntl(to_child[1], F_SETPIPE_SZ, 1 << 20);
	fcntl(from_child[1], F_SETPIPE_SZ, 1 << 20);
	c->child = fork();
	if (c->child < 0)
		die("fork");
	if (c->child == 0) {
		close(to_child[1]);
		close(from_child[0]);
		pipe_echo_child(to_child[0], from_child[1]);
	}
	close(to_child[0]);
	close(from_child[1]);
	c->wfd = to_child[1];
	c->rfd = from_child[0];
	c->is_pipe = 1;
}

/*
 * FUSE sends RELEASE asynchronously: the previous client's close() may not have reached the
 * emulator yet, so the endpoint device is still busy (EBUSY) or its address still bound (EINVAL)
 * for a moment. Retry for up to a second, as a test script on a board would wait for the device.
 */
static int open_retry(const char *path, int flags)
{
	for (int tries = 0;; tries++) {
		int fd = open(path, flags);

		if (fd >= 0 || (errno != EBUSY && errno != EINVAL) || tries >= 1000)
			return fd;
		usleep(1000);
	}
}

static void open_chan(struct chan *c, const char *wpath, const char *rpath)
{
	memset(c, 0, sizeof(*c));
	if (strcmp(wpath, PIPE_PATH) == 0) {
		open_pipe(c);
		return;
	}
	if (strcmp(wpath, rpath) == 0) {
		c->wfd = c->rfd = open_retry(wpath, O_RDWR);
	} else {
		c->wfd = open_retry(wpath, O_WRONLY);
		c->rfd = open_retry(rpath, O_RDONLY);
	}
	if (c->wfd < 0 || c->rfd < 0)
		die("open");
}

static void close_chan(struct chan *c)
{
	close(c->wfd);
	if (c->rfd != c->wfd)
		close(c->rfd);
	if (c->is_pipe)
		waitpid(c->child, NULL, 0);
}

static void send_msg(struct chan *c, const char *buf, size_t size)
{
	if (write(c->wfd, buf, size) != (ssize_t)size)
		die("write");
}

/* A device returns one whole message per read(); a pipe may need several reads. */
static void recv_msg(struct chan *c, char *buf, size_t size)
{
	size_t got = 0;

	do {
		ssize_t n = read(c->rfd, buf + got, size - got);

		if (n <= 0)
			die("read");
		got += (size_t)n;
	} while (c->is_pipe && got < size);
	if (got != size) {
		fprintf(stderr, "read returned %zu bytes, expected %zu\n", got, size);
		exit(1);
	}
}

static void check_reply(const char *sent, const char *got, size_t size)
{
	if (memcmp(sent, got, size) != 0) {
		fprintf(stderr, "reply differs from the message sent\n");
		exit(1);
	}
}

static int run_rtt(const char *path, size_t size, size_t count, size_t warmup)
{
	char out[MSG_MAX], in[MSG_MAX];
	uint64_t *rtt = calloc(count, sizeof(*rtt));
	struct chan c;

	if (!rtt)
		die("calloc");
	open_chan(&c, path, path);
	memset(out, 'x', size);
	for (size_t i = 0; i < warmup + count; i++) {
		uint64_t t0, t1;

		out[0] = (char)i; /* a stale reply would not match */
		t0 = now_ns();
		send_msg(&c, out, size);
		recv_msg(&c, in, size);
		t1 = now_ns();
		check_reply(out, in, size);
		if (i >= warmup)
			rtt[i - warmup] = t1 - t0;
	}
	close_chan(&c);
	if (fwrite(rtt, sizeof(*rtt), count, stdout) != count)
		die("fwrite");
	free(rtt);
	return 0;
}

static int run_stream(const char *wpath, const char *rpath, size_t size, size_t batch,
		      double seconds)
{
	char out[MSG_MAX], in[MSG_MAX];
	uint64_t write_ns = 0, read_ns = 0, msgs = 0, start, t0, t1, t2;
	struct chan c;

	open_chan(&c, wpath, rpath);
	memset(out, 's', size);
	start = now_ns();
	do {
		t0 = now_ns();
		for (size_t i = 0; i < batch; i++)
			send_msg(&c, out, size);
		t1 = now_ns();
		for (size_t i = 0; i < batch; i++)
			recv_msg(&c, in, size);
		t2 = now_ns();
		check_reply(out, in, size);
		write_ns += t1 - t0;
		read_ns += t2 - t1;
		msgs += batch;
	} while ((double)(t2 - start) < seconds * 1e9);
	close_chan(&c);
	printf("msgs=%llu write_ns=%llu read_ns=%llu\n", (unsigned long long)msgs,
	       (unsigned long long)write_ns, (unsigned long long)read_ns);
	return 0;
}

static int run_send(const char *path, size_t size, size_t batch, double seconds)
{
	char out[MSG_MAX];
	uint64_t msgs = 0, start, now;
	struct chan c;

	open_chan(&c, path, path);
	memset(out, 's', size);
	start = now_ns();
	do {
		for (size_t i = 0; i < batch; i++)
			send_msg(&c, out, size);
		msgs += batch;
		now = now_ns();
	} while ((double)(now - start) < seconds * 1e9);
	close_chan(&c);
	printf("msgs=%llu write_ns=%llu\n", (unsigned long long)msgs,
	       (unsigned long long)(now - start));
	return 0;
}

static int run_recv(const char *path, size_t size, size_t count)
{
	char in[MSG_MAX];
	uint64_t start;
	struct chan c;

	open_chan(&c, path, path);
	start = now_ns();
	send_msg(&c, "?", 1);
	for (size_t i = 0; i < count; i++)
		recv_msg(&c, in, size);
	printf("msgs=%zu read_ns=%llu\n", count, (unsigned long long)(now_ns() - start));
	close_chan(&c);
	return 0;
}

static size_t parse_size(const char *s, size_t max)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v == 0 || v > max) {
		fprintf(stderr, "bad number %s (1..%zu)\n", s, max);
		exit(2);
	}
	return (size_t)v;
}

int main(int argc, char *argv[])
{
	signal(SIGPIPE, SIG_IGN);
	if (argc == 6 && strcmp(argv[1], "rtt") == 0)
		return run_rtt(argv[2], parse_size(argv[3], MSG_MAX), parse_size(argv[4], 1u << 30),
			       strtoull(argv[5], NULL, 10));
	if (argc == 7 && strcmp(argv[1], "stream") == 0)
		return run_stream(argv[2], argv[3], parse_size(argv[4], MSG_MAX),
				  parse_size(argv[5], 1u << 20), strtod(argv[6], NULL));
	if (argc == 6 && strcmp(argv[1], "send") == 0)
		return run_send(argv[2], parse_size(argv[3], MSG_MAX), parse_size(argv[4], 1u << 20),
				strtod(argv[5], NULL));
	if (argc == 5 && strcmp(argv[1], "recv") == 0)
		return run_recv(argv[2], parse_size(argv[3], MSG_MAX), parse_size(argv[4], 1u << 30));
	fprintf(stderr,
		"usage: %s rtt PATH SIZE COUNT WARMUP\n"
		"       %s stream WPATH RPATH SIZE BATCH SECONDS\n"
		"       %s send PATH SIZE BATCH SECONDS\n"
		"       %s recv PATH SIZE COUNT\n"
		"PATH " PIPE_PATH " echoes through two pipes to a child process\n",
		argv[0], argv[0], argv[0], argv[0]);
	return 2;
}
