/*
 * A client that finds an rpmsg endpoint the way TI's ti-rpmsg-char library does
 * (reference ti-rpmsg-char.md §4.3-4.4: readdir with d_type, readlink + realpath of
 * relative links, the /sys/devices/ prefix check, one read() per attribute with the last
 * byte dropped), then creates an endpoint, echoes messages and destroys it.
 *
 * usage: ti_walk_echo ROOT PLATFORM_DEVICE CHANNEL REMOTE_PORT COUNT
 * ROOT is "" for the real / (under `rpmsg-emu run`), or a mount directory.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/rpmsg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *root;

static void fail(const char *what, const char *path)
{
	fprintf(stderr, "FAIL %s: %s (%s)\n", what, path, strerror(errno));
	exit(1);
}

static void is_dir(const char *path)
{
	struct stat st;

	if (stat(path, &st) || !S_ISDIR(st.st_mode))
		fail("not a directory", path);
}

/* One read of at most size-1 bytes; the last byte (the newline) is dropped, as TI does. */
static void read_attr(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		fail("open", path);
	n = read(fd, buf, size);
	close(fd);
	if (n <= 0 || (size_t)n >= size)
		fail("read", path);
	buf[n - 1] = '\0';
}

static void deref(const char *dir, const char *name, char *out)
{
	char link[PATH_MAX], target[256], joined[PATH_MAX * 2];
	ssize_t n;

	snprintf(link, sizeof(link), "%s/%s", dir, name);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		fail("readlink", link);
	target[n] = '\0';
	snprintf(joined, sizeof(joined), "%s/%s", dir, target);
	if (!realpath(joined, out))
		fail("realpath", joined);
}

/* First DT_DIR entry whose name scans with fmt (or starts with prefix when fmt is NULL). */
static int find_dir(const char *dir, const char *fmt, const char *prefix, unsigned *num,
		    char *name_out)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		fail("opendir", dir);
	while ((e = readdir(d))) {
		if (e->d_type != DT_DIR)
			continue;
		if ((fmt && sscanf(e->d_name, fmt, num) == 1) ||
		    (!fmt && !strncmp(e->d_name, prefix, strlen(prefix)))) {
			if (name_out)
				strcpy(name_out, e->d_name);
			closedir(d);
			return 0;
		}
	}
	closedir(d);
	return -1;
}

static void path(char *out, const char *fmt, const char *a)
{
	snprintf(out, PATH_MAX, fmt, root, a);
}

int main(int argc, char **argv)
{
	char p[PATH_MAX], rp[PATH_MAX], dir[PATH_MAX], vparent[PATH_MAX], vdir[PATH_MAX];
	char chan[NAME_MAX + 1], name[64], buf[512], sub[NAME_MAX + 1], prefix[PATH_MAX];
	const char *classes[] = { "class/remoteproc", "bus/virtio", "bus/rpmsg", "class/rpmsg" };
	struct rpmsg_endpoint_info info;
	unsigned r, v, c, n;
	int port, count, fd, i;
	long src;

	if (argc != 6) {
		fprintf(stderr, "usage: %s ROOT PLATFORM_DEVICE CHANNEL PORT COUNT\n", argv[0]);
		return 2;
	}
	root = argv[1];
	port = atoi(argv[4]);
	count = atoi(argv[5]);

	for (i = 0; i < 4; i++) {
		snprintf(p, sizeof(p), "%s/sys/%s", root, classes[i]);
		is_dir(p);
	}
	path(p, "%s/sys/devices/soc0/family%s", "");
	read_attr(p, buf, 32);
	printf("family %s\n", buf);

	/* A. the remote processor */
	path(p, "%s/sys/bus/platform/devices%s", "");
	deref(p, argv[2], rp);
	if (root[0]) {
		if (!realpath(root, dir))
			fail("realpath", root);
		snprintf(prefix, sizeof(prefix), "%s/sys/devices/", dir);
	} else {
		strcpy(prefix, "/sys/devices/");
	}
	if (strncmp(rp, prefix, strlen(prefix)))
		fail("platform device is not under /sys/devices", rp);
	snprintf(p, sizeof(p), "%s/remoteproc", rp);
	if (find_dir(p, "remoteproc%u", NULL, &r, NULL))
		fail("no remoteproc", p);
	snprintf(dir, sizeof(dir), "%s/remoteproc/remoteproc%u", rp, r);
	if (!find_dir(dir, NULL, "rproc-virtio", NULL, sub))
		snprintf(vparent, sizeof(vparent), "%s/%s", dir, sub);
	else
		snprintf(vparent, sizeof(vparent), "%s/remoteproc%u#vdev0buffer", dir, r);
	if (find_dir(vparent, "virtio%u", NULL, &v, NULL))
		fail("no virtio device", vparent);

	/* B. the channel and the control device */
	path(p, "%s/sys/bus/virtio/devices%s", "");
	snprintf(sub, sizeof(sub), "virtio%u", v);
	deref(p, sub, vdir);
	snprintf(chan, sizeof(chan), "virtio%u.%s.-1.%d", v, argv[3], port);
	snprintf(p, sizeof(p), "%s/%s/rpmsg", vdir, chan);
	is_dir(p);
	snprintf(p, sizeof(p), "%s/virtio%u.rpmsg_ctrl.0.0/rpmsg", vdir, v);
	if (access(p, F_OK) == 0) {
		if (find_dir(p, "rpmsg_ctrl%u", NULL, &c, NULL))
			fail("no rpmsg_ctrl", p);
	} else {
		snprintf(p, sizeof(p), "%s/%s/rpmsg", vdir, chan);
		if (find_dir(p, "rpmsg_ctrl%u", NULL, &c, NULL))
			fail("no rpmsg_ctrl under the channel", p);
	}

	/* C. create the endpoint */
	snprintf(p, sizeof(p), "%s/dev/rpmsg_ctrl%u", root, c);
	fd = open(p, O_RDWR);
	if (fd < 0)
		fail("open", p);
	memset(&info, 0, sizeof(info));
	snprintf(name, sizeof(name), "walk-%u-%d", r, (int)getpid());
	strcpy(info.name, name);
	info.src = 0xFFFFFFFF;
	info.dst = port;
	if (ioctl(fd, RPMSG_CREATE_EPT_IOCTL, &info))
		fail("RPMSG_CREATE_EPT_IOCTL", p);
	close(fd);

	/* D. find and open the new /dev/rpmsgN */
	path(p, "%s/sys/class/rpmsg%s", "");
	snprintf(sub, sizeof(sub), "rpmsg_ctrl%u", c);
	deref(p, sub, dir);
	{
		DIR *d = opendir(dir);
		struct dirent *e;
		int found = 0;

		while (d && (e = readdir(d))) {
			if (e->d_type != DT_DIR || strncmp(e->d_name, "rpmsg", 5))
				continue;
			snprintf(p, sizeof(p), "%s/%s/name", dir, e->d_name);
			if (access(p, F_OK))
				continue;
			read_attr(p, buf, 32);
			if (!strcmp(buf, name) && sscanf(e->d_name, "rpmsg%u", &n) == 1) {
				found = 1;
				break;
			}
		}
		if (d)
			closedir(d);
		if (!found)
			fail("no eptdev named", name);
	}
	snprintf(p, sizeof(p), "%s/dev/rpmsg%u", root, n);
	fd = open(p, O_RDWR);
	if (fd < 0)
		fail("open", p);
	path(p, "%s/sys/class/rpmsg%s", "");
	snprintf(sub, sizeof(sub), "rpmsg%u", n);
	deref(p, sub, dir);
	snprintf(p, sizeof(p), "%s/src", dir);
	read_attr(p, buf, 32);
	src = strtol(buf, NULL, 0);
	if (src < 0)
		fail("negative src", buf);

	/* E. echo */
	for (i = 0; i < count; i++) {
		char msg[64], reply[512];
		int len = snprintf(msg, sizeof(msg), "hello there %d!", i);
		ssize_t got;

		if (write(fd, msg, len) != len)
			fail("write", "endpoint");
		got = read(fd, reply, sizeof(reply));
		if (got != len || memcmp(msg, reply, len))
			fail("echo mismatch", msg);
	}
	if (ioctl(fd, RPMSG_DESTROY_EPT_IOCTL, NULL))
		fail("RPMSG_DESTROY_EPT_IOCTL", "endpoint");
	close(fd);
	printf("OK remoteproc%u virtio%u rpmsg_ctrl%u rpmsg%u src %ld echoed %d\n", r, v, c, n,
	       src, count);
	return 0;
}
