/* /dev/remoteproc0 as a program that boots its own firmware uses it (TI's edge-AI and DMA
 * stacks do this): stat the node, compare it with sysfs, stop and start the core with
 * strlen(s)+1 writes, the shutdown-on-release ioctls, and close to stop it.
 * Paths are the board's, hard-coded; run it under `rpmsg-emu run`. */
#include <errno.h>
#include <fcntl.h>
#include <linux/remoteproc_cdev.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define NODE "/dev/remoteproc0"
#define STATE "/sys/class/remoteproc/remoteproc0/state"

static void die(const char *what)
{
	printf("FAIL: %s (errno %d: %s)\n", what, errno, strerror(errno));
	exit(1);
}

static void state(char *buf, size_t size)
{
	FILE *f = fopen(STATE, "r");
	if (!f || !fgets(buf, (int)size, f))
		die("read " STATE);
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
}

static void command(int fd, const char *cmd, int expect_errno)
{
	ssize_t n = write(fd, cmd, strlen(cmd) + 1);
	if (expect_errno == 0 && n != (ssize_t)strlen(cmd) + 1)
		die(cmd);
	if (expect_errno != 0 && (n >= 0 || errno != expect_errno)) {
		printf("FAIL: %s gave %zd, errno %d, wanted errno %d\n", cmd, n, errno, expect_errno);
		exit(1);
	}
}

int main(void)
{
	struct stat st;
	char buf[64];
	unsigned maj, min;
	int32_t flag = -1;

	if (stat(NODE, &st) < 0)
		die("stat " NODE);
	FILE *dev = fopen("/sys/class/remoteproc/remoteproc0/dev", "r");
	if (!dev || fscanf(dev, "%u:%u", &maj, &min) != 2)
		die("read remoteproc0/dev");
	fclose(dev);
	printf("stat: %s %u:%u, sysfs dev %u:%u\n", S_ISCHR(st.st_mode) ? "char" : "other",
	       major(st.st_rdev), minor(st.st_rdev), maj, min);

	int fd = open(NODE, O_RDWR);
	if (fd < 0)
		die("open " NODE);
	command(fd, "stop", 0);
	state(buf, sizeof buf);
	printf("after stop: %s\n", buf);
	command(fd, "stop", EINVAL);
	command(fd, "start", 0);
	command(fd, "start", EBUSY);
	state(buf, sizeof buf);
	printf("after start: %s\n", buf);

	if (ioctl(fd, RPROC_GET_SHUTDOWN_ON_RELEASE, &flag) < 0)
		die("RPROC_GET_SHUTDOWN_ON_RELEASE");
	printf("shutdown on release: %d\n", flag);
	flag = 1;
	if (ioctl(fd, RPROC_SET_SHUTDOWN_ON_RELEASE, &flag) < 0)
		die("RPROC_SET_SHUTDOWN_ON_RELEASE");
	flag = -1;
	if (ioctl(fd, RPROC_GET_SHUTDOWN_ON_RELEASE, &flag) < 0)
		die("RPROC_GET_SHUTDOWN_ON_RELEASE");
	printf("shutdown on release: %d\n", flag);
	if (ioctl(fd, _IO(RPROC_MAGIC, 3)) == 0 || errno != EINVAL)
		die("unknown ioctl not EINVAL");
	close(fd);

	for (int i = 0; i < 500; i++) {  /* the release reaches the driver after close returns */
		state(buf, sizeof buf);
		if (strcmp(buf, "offline") == 0)
			break;
		usleep(10000);
	}
	printf("after close: %s\n", buf);
	return 0;
}
