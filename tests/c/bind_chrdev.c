/*
 * Give a firmware's own channel a /dev/rpmsgN the way field programs do: write the driver's
 * name to the channel's driver_override, the channel's name to the driver's bind, echo a
 * message through the new node, then unbind and clear the override.
 *
 * Every value is written as common userspace helpers write it: `write(fd, s, strlen(s) + 1)`
 * (the C string with its NUL), or with TERMINATOR "newline" as `echo` does (s + "\n").
 *
 * usage: bind_chrdev ROOT CHANNEL TERMINATOR
 * ROOT is "" for the real / (under `rpmsg-emu run`), or a mount directory.
 * Prints "override <value>", "bound <rpmsgN>", "echo <reply>", "unbound", "cleared <value>".
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *root;
static int with_nul;

static void fail(const char *what, const char *path)
{
	printf("FAIL %s: %s (errno %d: %s)\n", what, path, errno, strerror(errno));
	exit(1);
}

/* One write of the value, terminated as the caller chose. */
static void store(const char *path, const char *value)
{
	char buf[256];
	size_t len;
	int fd = open(path, O_WRONLY);
	if (fd < 0)
		fail("open", path);
	if (with_nul) {
		snprintf(buf, sizeof buf, "%s", value);
		len = strlen(buf) + 1;
	} else {
		snprintf(buf, sizeof buf, "%s\n", value);
		len = strlen(buf);
	}
	if (write(fd, buf, len) != (ssize_t)len)
		fail("write", path);
	close(fd);
}

static void show(const char *path, char *out, size_t size)
{
	FILE *f = fopen(path, "r");
	if (!f || !fgets(out, size, f))
		fail("read", path);
	fclose(f);
	out[strcspn(out, "\n")] = 0;
}

int main(int argc, char **argv)
{
	char channel[PATH_MAX], override[PATH_MAX], bind[PATH_MAX], unbind[PATH_MAX];
	char list[PATH_MAX], node[PATH_MAX], value[256], reply[512];
	DIR *d;
	struct dirent *e;

	if (argc != 4) {
		fprintf(stderr, "usage: bind_chrdev ROOT CHANNEL nul|newline\n");
		return 2;
	}
	root = argv[1];
	with_nul = !strcmp(argv[3], "nul");
	snprintf(channel, sizeof channel, "%s/sys/bus/rpmsg/devices/%s", root, argv[2]);
	snprintf(override, sizeof override, "%s/driver_override", channel);
	snprintf(bind, sizeof bind, "%s/sys/bus/rpmsg/drivers/rpmsg_chrdev/bind", root);
	snprintf(unbind, sizeof unbind, "%s/sys/bus/rpmsg/drivers/rpmsg_chrdev/unbind", root);

	store(override, "rpmsg_chrdev");
	show(override, value, sizeof value);
	printf("override %s\n", value);

	store(bind, argv[2]);
	snprintf(list, sizeof list, "%s/rpmsg", channel);
	d = opendir(list);
	if (!d)
		fail("opendir", list);
	node[0] = 0;
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, "rpmsg", 5))
			snprintf(node, sizeof node, "%s", e->d_name);
	closedir(d);
	printf("bound %s\n", node);

	snprintf(list, sizeof list, "%s/dev/%s", root, node);
	int fd = open(list, O_RDWR);
	if (fd < 0)
		fail("open", list);
	if (write(fd, "ping", 4) != 4)
		fail("write", list);
	ssize_t n = read(fd, reply, sizeof reply - 1);
	if (n < 0)
		fail("read", list);
	reply[n] = 0;
	printf("echo %s\n", reply);
	close(fd);

	store(unbind, argv[2]);
	printf("unbound\n");
	store(override, "");
	show(override, value, sizeof value);
	printf("cleared %s\n", value);
	return 0;
}
