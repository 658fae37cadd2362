/* One endpoint on /dev/rpmsg_ctrl0 to the echo firmware's rpmsg_chrdev (14): create,
 * find in sysfs, echo a few messages, destroy. Prints "OK <eptdev>" on success. */
#include "rpmsg_test.h"

int main(void)
{
	char name[32], eptdev[32], buf[512];
	snprintf(name, sizeof name, "cli-echo-%d", (int)getpid());
	int ctrl = create_ept(0, name, 14);
	find_eptdev(name, eptdev, sizeof eptdev);
	int fd = open_eptdev(eptdev);
	for (int i = 0; i < 3; i++) {
		char msg[64];
		int len = snprintf(msg, sizeof msg, "hello %d from C", i);
		if (write(fd, msg, len) != len)
			die("write %s", eptdev);
		ssize_t n = read(fd, buf, sizeof buf);
		if (n != len || memcmp(buf, msg, len))
			die("echo %d: got %zd bytes", i, n);
	}
	destroy_ept(fd, ctrl, eptdev);
	printf("OK %s\n", eptdev);
	return 0;
}
