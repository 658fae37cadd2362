/* What a udev-style program checks of the board's device nodes, with hard-coded paths:
 * stat/lstat/fstat/fstatat(AT_EMPTY_PATH)/statx say S_IFCHR with st_rdev equal to the sysfs
 * `dev` attribute, readdir("/dev") says DT_CHR, FIONREAD on the node is EINVAL (the driver's
 * unlocked_ioctl, drivers/rpmsg/rpmsg_ctrl.c rpmsg_ctrldev_ioctl), and uname(2) names the
 * board's kernel. Prints "release <uname -r>" and "OK"; "FAIL: ..." and exit 1 otherwise. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <unistd.h>

static void fail(const char *what, const char *path)
{
	printf("FAIL: %s %s (errno %d: %s)\n", what, path, errno, strerror(errno));
	exit(1);
}

/* The major:minor the kernel publishes in /sys/class/<cls>/<name>/dev. */
static dev_t sysfs_devt(const char *cls, const char *name)
{
	char path[128];
	unsigned maj, min;
	snprintf(path, sizeof path, "/sys/class/%s/%s/dev", cls, name);
	FILE *f = fopen(path, "r");
	if (!f || fscanf(f, "%u:%u", &maj, &min) != 2)
		fail("read", path);
	fclose(f);
	return makedev(maj, min);
}

static void check_stat(const char *what, const char *path, const struct stat *st, dev_t want)
{
	if (!S_ISCHR(st->st_mode))
		fail(what, path);
	if (st->st_rdev != want) {
		printf("FAIL: %s %s: st_rdev %u:%u, sysfs says %u:%u\n", what, path,
		       major(st->st_rdev), minor(st->st_rdev), major(want), minor(want));
		exit(1);
	}
}

static void check_node(const char *cls, const char *name)
{
	char path[64];
	struct stat st;
	struct statx stx;
	dev_t want = sysfs_devt(cls, name);
	snprintf(path, sizeof path, "/dev/%s", name);
	if (stat(path, &st) < 0)
		fail("stat", path);
	check_stat("stat", path, &st, want);
	if (lstat(path, &st) < 0)
		fail("lstat", path);
	check_stat("lstat", path, &st, want);
	int fd = open(path, O_RDWR);
	if (fd < 0)
		fail("open", path);
	if (fstat(fd, &st) < 0)
		fail("fstat", path);
	check_stat("fstat", path, &st, want);
	if (fstatat(fd, "", &st, AT_EMPTY_PATH) < 0)
		fail("fstatat(AT_EMPTY_PATH)", path);
	check_stat("fstatat(AT_EMPTY_PATH)", path, &st, want);
	if (statx(AT_FDCWD, path, 0, STATX_BASIC_STATS, &stx) < 0)
		fail("statx", path);
	if (!S_ISCHR(stx.stx_mode) || makedev(stx.stx_rdev_major, stx.stx_rdev_minor) != want)
		fail("statx is not the sysfs char device", path);
	int avail = 0;
	if (ioctl(fd, FIONREAD, &avail) == 0 || errno != EINVAL)
		fail("FIONREAD is not EINVAL on", path);
	close(fd);
}

int main(void)
{
	struct utsname uts;
	struct dirent *entry;
	int seen = 0;
	check_node("rpmsg", "rpmsg_ctrl0");
	check_node("rpmsg", "rpmsg0");
	DIR *dev = opendir("/dev");
	if (!dev)
		fail("opendir", "/dev");
	while ((entry = readdir(dev)))
		if (!strcmp(entry->d_name, "rpmsg_ctrl0") || !strcmp(entry->d_name, "rpmsg0")) {
			if (entry->d_type != DT_CHR)
				fail("readdir d_type is not DT_CHR for", entry->d_name);
			seen++;
		}
	closedir(dev);
	if (seen != 2)
		fail("readdir did not list both nodes in", "/dev");
	if (uname(&uts) < 0)
		fail("uname", "");
	printf("release %s\nOK\n", uts.release);
	return 0;
}
