/*
 * Watch a sysfs attribute through one open file, as monitoring programs do: read remoteproc0's
 * `state` with stdio, stop and start the core through another fd, and `rewind()` to read the
 * value again each time. Also `lseek(fd, 0, SEEK_SET)` + `read` and `pread(fd, ..., 0)` on a
 * plain fd. On a board each of these shows the attribute afresh (kernfs, seq_file).
 *
 * usage: attr_rewind ROOT      (ROOT is "" for the real /, or a mount directory)
 * Prints one line per read: "<how> <value>".
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char state[PATH_MAX];

static void fail(const char *what)
{
	printf("FAIL %s: %s (errno %d: %s)\n", what, state, errno, strerror(errno));
	exit(1);
}

static void set_state(const char *word)
{
	int fd = open(state, O_WRONLY | O_TRUNC);
	if (fd < 0 || write(fd, word, strlen(word)) != (ssize_t)strlen(word))
		fail(word);
	close(fd);
}

/* Read the file to its end, as `while (fgets(...))` does, and print what it held. stdio
 * keeps what it read: a rewind() within that buffer would not ask the kernel again, so a
 * program reads to EOF before it rewinds (on a board too). */
static void lines(const char *how, FILE *f)
{
	char value[64];
	int n = 0;
	while (fgets(value, sizeof value, f)) {
		printf("%s %s", how, value);
		n++;
	}
	if (!n)
		fail(how);
}

static void raw(const char *how, ssize_t n, const char *buf)
{
	if (n < 0)
		fail(how);
	printf("%s %.*s", how, (int)n, buf);
}

int main(int argc, char **argv)
{
	char buf[64];
	if (argc != 2) {
		fprintf(stderr, "usage: attr_rewind ROOT\n");
		return 2;
	}
	snprintf(state, sizeof state, "%s/sys/class/remoteproc/remoteproc0/state", argv[1]);
	FILE *f = fopen(state, "r");
	if (!f)
		fail("fopen");
	int fd = open(state, O_RDONLY);
	if (fd < 0)
		fail("open");

	lines("fgets", f);
	raw("read", read(fd, buf, sizeof buf), buf);

	set_state("stop\n");
	rewind(f);
	lines("rewind", f);
	if (lseek(fd, 0, SEEK_SET) != 0)
		fail("lseek");
	raw("lseek", read(fd, buf, sizeof buf), buf);

	set_state("start\n");
	rewind(f);
	lines("rewind", f);
	raw("pread", pread(fd, buf, sizeof buf, 0), buf);
	raw("pread@2", pread(fd, buf, sizeof buf, 2), buf);
	printf("size %ld\n", (long)lseek(fd, 0, SEEK_END));
	fclose(f);
	close(fd);
	return 0;
}
