/* Supervision covers every thread and child: two forked processes, four threads each, stat
 * /dev/rpmsg_ctrl0 and /dev/rpmsg0 concurrently and must always see a character device.
 * With an argument, one process loops forever (a target to kill in the middle of a call). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define THREADS 4
#define ROUNDS 200

static int forever;

static void *hammer(void *arg)
{
	const char *path = arg;
	struct stat st;
	for (int i = 0; forever || i < ROUNDS; i++)
		if (stat(path, &st) < 0 || !S_ISCHR(st.st_mode)) {
			printf("FAIL: %s is not a char device in pid %d\n", path, (int)getpid());
			exit(1);
		}
	return NULL;
}

static int run_threads(void)
{
	pthread_t threads[THREADS];
	for (int t = 0; t < THREADS; t++)
		pthread_create(&threads[t], NULL, hammer,
			       t % 2 ? "/dev/rpmsg0" : "/dev/rpmsg_ctrl0");
	for (int t = 0; t < THREADS; t++)
		pthread_join(threads[t], NULL);
	return 0;
}

int main(int argc, char **argv)
{
	(void)argv;
	forever = argc > 1;
	if (forever)
		return run_threads();
	pid_t children[2];
	for (int c = 0; c < 2; c++) {
		children[c] = fork();
		if (children[c] == 0)
			exit(run_threads());
	}
	int failed = 0;
	for (int c = 0; c < 2; c++) {
		int status;
		waitpid(children[c], &status, 0);
		failed |= !WIFEXITED(status) || WEXITSTATUS(status);
	}
	if (!failed)
		printf("OK\n");
	return failed;
}
