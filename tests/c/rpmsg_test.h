/* What the CLI test clients share: the rpmsg_char calls a field program makes, with the
 * board's real, hard-coded paths (/dev/rpmsg_ctrlN, /sys/class/rpmsg). */
#ifndef RPMSG_TEST_H
#define RPMSG_TEST_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/rpmsg.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("FAIL: ", stdout);
	vprintf(fmt, ap);
	printf(" (errno %d: %s)\n", errno, strerror(errno));
	va_end(ap);
	exit(1);
}

/* CREATE_EPT on /dev/rpmsg_ctrl<ctrl>; returns the fd of the control device. */
static int create_ept(int ctrl, const char *name, unsigned dst)
{
	char path[64];
	struct rpmsg_endpoint_info info = { .src = RPMSG_ADDR_ANY, .dst = dst };
	snprintf(path, sizeof path, "/dev/rpmsg_ctrl%d", ctrl);
	int fd = open(path, O_RDWR);
	if (fd < 0)
		die("open %s", path);
	strncpy(info.name, name, sizeof info.name - 1);
	if (ioctl(fd, RPMSG_CREATE_EPT_IOCTL, &info) < 0)
		die("RPMSG_CREATE_EPT_IOCTL on %s", path);
	return fd;
}

static int read_attr(const char *dir, const char *attr, char *buf, size_t size)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/%s", dir, attr);
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

/* The eptdev named `name`, right after CREATE_EPT: "rpmsgN", found the way TI's library looks. */
static void find_eptdev(const char *name, char *out, size_t size)
{
	DIR *d = opendir("/sys/class/rpmsg");
	struct dirent *e;
	if (!d)
		die("opendir /sys/class/rpmsg");
	while ((e = readdir(d))) {
		char dir[PATH_MAX], attr[64], real[PATH_MAX];
		if (strncmp(e->d_name, "rpmsg", 5) || !strncmp(e->d_name, "rpmsg_ctrl", 10))
			continue;
		snprintf(dir, sizeof dir, "/sys/class/rpmsg/%s", e->d_name);
		if (read_attr(dir, "name", attr, sizeof attr) || strcmp(attr, name))
			continue;
		if (!realpath(dir, real) || strncmp(real, "/sys/devices/", 13))
			die("%s resolves to %s, not under /sys/devices/", dir, real);
		snprintf(out, size, "%s", e->d_name);
		closedir(d);
		return;
	}
	errno = ENOENT;
	die("no eptdev named %s in /sys/class/rpmsg", name);
}

/* Open /dev/<eptdev>, as soon as the ioctl has returned. */
static int open_eptdev(const char *eptdev)
{
	char path[64];
	snprintf(path, sizeof path, "/dev/%s", eptdev);
	int fd = open(path, O_RDWR);
	if (fd < 0)
		die("open %s", path);
	return fd;
}

/* DESTROY, close, and check that the node and its sysfs entry are gone. */
static void destroy_ept(int fd, int ctrl_fd, const char *eptdev)
{
	char path[PATH_MAX];
	if (ioctl(fd, RPMSG_DESTROY_EPT_IOCTL) < 0)
		die("RPMSG_DESTROY_EPT_IOCTL on %s", eptdev);
	close(fd);
	close(ctrl_fd);
	snprintf(path, sizeof path, "/dev/%s", eptdev);
	if (access(path, F_OK) == 0 || errno != ENOENT)
		die("%s still there after DESTROY", path);
	snprintf(path, sizeof path, "/sys/class/rpmsg/%s", eptdev);
	if (access(path, F_OK) == 0 || errno != ENOENT)
		die("%s still there after DESTROY", path);
}

#endif
