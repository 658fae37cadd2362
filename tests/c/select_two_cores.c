/* An endpoint on each of two cores (/dev/rpmsg_ctrl0 and /dev/rpmsg_ctrl1), one message to
 * each, then select() over both until both echoes are in. Prints "OK" on success. */
#include <sys/select.h>
#include "rpmsg_test.h"

int main(void)
{
	char name[2][32], eptdev[2][32], msg[2][64], buf[512];
	int ctrl[2], fd[2], pending = 2;
	for (int i = 0; i < 2; i++) {
		snprintf(name[i], sizeof name[i], "cli-sel%d-%d", i, (int)getpid());
		ctrl[i] = create_ept(i, name[i], 14);
		find_eptdev(name[i], eptdev[i], sizeof eptdev[i]);
		fd[i] = open_eptdev(eptdev[i]);
		int len = snprintf(msg[i], sizeof msg[i], "to core behind rpmsg_ctrl%d", i);
		if (write(fd[i], msg[i], len) != len)
			die("write %s", eptdev[i]);
	}
	while (pending) {
		fd_set rd;
		struct timeval tv = { .tv_sec = 5 };
		FD_ZERO(&rd);
		for (int i = 0; i < 2; i++)
			if (fd[i] >= 0)
				FD_SET(fd[i], &rd);
		int n = select((fd[0] > fd[1] ? fd[0] : fd[1]) + 1, &rd, NULL, NULL, &tv);
		if (n <= 0)
			die("select: %d ready, %d replies missing", n, pending);
		for (int i = 0; i < 2; i++) {
			if (fd[i] < 0 || !FD_ISSET(fd[i], &rd))
				continue;
			ssize_t got = read(fd[i], buf, sizeof buf);
			if (got != (ssize_t)strlen(msg[i]) || memcmp(buf, msg[i], got))
				die("reply on %s: %zd bytes", eptdev[i], got);
			destroy_ept(fd[i], ctrl[i], eptdev[i]);
			fd[i] = -1;
			pending--;
		}
	}
	printf("OK\n");
	return 0;
}
