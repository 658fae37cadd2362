/* Zero-copy as TI's IPC guide does it: a buffer from /dev/dma_heap/<heap>, mapped, filled
 * and synced, attached to the M4F with RPROC_IOC_DMA_BUF_ATTACH on /dev/remoteproc0, its
 * device address sent in one message to the dmabuf_checksum firmware (endpoint 14 through
 * /dev/rpmsg_ctrl0), whose CRC-32 must match ours. Then the firmware inverts the buffer in
 * place and we read it back after DMA_BUF_SYNC_START|READ.
 *
 * usage: dmabuf_checksum [SIZE [HEAP [leak|nosync|noread]]]
 *   leak    exit right after the checksum: nothing unmapped, closed or freed
 *   nosync  skip the SYNC_END after filling (the debug mode flags the firmware's read)
 *   noread  read the inverted buffer without SYNC_START|READ (flagged at detach)
 * Prints "OK <size> <crc> <da>" on success. */
#include "rpmsg_test.h"

#include <inttypes.h>
#include <linux/dma-buf.h>
#include <linux/dma-heap.h>
#include <stdint.h>
#include <sys/mman.h>

/* TI vendor kernel, include/uapi/linux/remoteproc_cdev.h (not in mainline headers) */
struct rproc_dma_buf_attach_data {
	__u32 fd;
	__u64 da;
};
#define RPROC_MAGIC 0xB7
#define RPROC_IOC_DMA_BUF_ATTACH _IOWR(RPROC_MAGIC, 0, struct rproc_dma_buf_attach_data)

struct request { uint32_t op, reserved; uint64_t da, size; };
struct reply { int32_t status; uint32_t crc; };

static uint32_t crc32_ieee(uint32_t crc, const unsigned char *p, size_t n)
{
	static uint32_t table[256];
	if (!table[1])
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;
			for (int k = 0; k < 8; k++)
				c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
			table[i] = c;
		}
	crc = ~crc;
	while (n--)
		crc = table[(crc ^ *p++) & 0xFF] ^ (crc >> 8);
	return ~crc;
}

static void sync_buf(int fd, __u64 flags)
{
	struct dma_buf_sync sync = { .flags = flags };
	if (ioctl(fd, DMA_BUF_IOCTL_SYNC, &sync) < 0)
		die("DMA_BUF_IOCTL_SYNC %llu", (unsigned long long)flags);
}

static struct reply ask(int ept, uint32_t op, uint64_t da, uint64_t size)
{
	struct request req = { .op = op, .da = da, .size = size };
	struct reply rep;
	if (write(ept, &req, sizeof req) != (ssize_t)sizeof req)
		die("write request");
	if (read(ept, &rep, sizeof rep) != (ssize_t)sizeof rep)
		die("read reply");
	if (rep.status)
		die("firmware status %d", rep.status);
	return rep;
}

int main(int argc, char **argv)
{
	size_t size = argc > 1 ? strtoull(argv[1], NULL, 0) : 1 << 20;
	const char *heap_name = argc > 2 ? argv[2] : "linux,cma";
	const char *mode = argc > 3 ? argv[3] : "";
	char path[128], name[24], eptdev[32];

	snprintf(path, sizeof path, "/dev/dma_heap/%s", heap_name);
	int heap = open(path, O_RDWR | O_CLOEXEC);
	if (heap < 0)
		die("open %s", path);
	struct dma_heap_allocation_data alloc = { .len = size, .fd_flags = O_RDWR | O_CLOEXEC };
	if (ioctl(heap, DMA_HEAP_IOCTL_ALLOC, &alloc) < 0)
		die("DMA_HEAP_IOCTL_ALLOC of %zu bytes", size);
	int buf_fd = alloc.fd;
	unsigned char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, buf_fd, 0);
	if (p == MAP_FAILED)
		die("mmap the dma-buf");

	sync_buf(buf_fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE);
	for (size_t i = 0; i < size; i++)
		p[i] = (unsigned char)(i * 7 + (i >> 12));
	if (strcmp(mode, "nosync"))
		sync_buf(buf_fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE);
	uint32_t want = crc32_ieee(0, p, size);

	int rproc = open("/dev/remoteproc0", O_RDWR | O_CLOEXEC);
	if (rproc < 0)
		die("open /dev/remoteproc0");
	struct rproc_dma_buf_attach_data attach = { .fd = buf_fd };
	if (ioctl(rproc, RPROC_IOC_DMA_BUF_ATTACH, &attach) < 0)
		die("RPROC_IOC_DMA_BUF_ATTACH");

	snprintf(name, sizeof name, "dmabuf-%d", (int)getpid());
	int ctrl = create_ept(0, name, 14);
	find_eptdev(name, eptdev, sizeof eptdev);
	int ept = open_eptdev(eptdev);

	struct reply rep = ask(ept, 1, attach.da, size);
	if (rep.crc != want)
		die("checksum %08x from the firmware, %08x here", rep.crc, want);
	if (!strcmp(mode, "leak")) {
		printf("OK %zu %08x %#llx\n", size, want, (unsigned long long)attach.da);
		return 0; /* nothing destroyed, unmapped, detached or closed */
	}

	rep = ask(ept, 2, attach.da, size); /* the firmware inverts the buffer in place */
	if (strcmp(mode, "noread"))
		sync_buf(buf_fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
	for (size_t i = 0; i < size; i++)
		if (p[i] != (unsigned char)~(unsigned char)(i * 7 + (i >> 12)))
			die("byte %zu not inverted", i);
	if (rep.crc != crc32_ieee(0, p, size))
		die("checksum of the inverted buffer");
	if (strcmp(mode, "noread"))
		sync_buf(buf_fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);

	destroy_ept(ept, ctrl, eptdev);
	close(rproc);
	munmap(p, size);
	close(buf_fd);
	close(heap);
	printf("OK %zu %08x %#llx\n", size, want, (unsigned long long)attach.da);
	return 0;
}
