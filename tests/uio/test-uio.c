/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The uio transport against a fake uio_hv_generic device.
 *
 * Each test builds a fixture root in a temporary directory: a sysfs tree laid
 * out as the kernel's (class/uio/uioN -> ../../devices/.../uio/uioN with name
 * and maps/map0/size) and a device node dev/uioN that is a regular file, so
 * that map 0 maps it. fake-uio.so (preloaded: main() re-executes the test with
 * LD_PRELOAD set) gives the node uio's read/write semantics through the
 * listening socket dev/uioN.sock, whose other end this test holds: it plays
 * the kernel and the host. It sends 4-byte event counts to interrupt, reads
 * the 4-byte values the guest writes, writes the host->guest ring at [S, 2S)
 * and reads the guest->host ring at [0, S) of the node, and closes its end to
 * rescind the device. The host side of the rings is written by hand here, not
 * with libvmbus, so that the library is checked against an independent
 * encoding of the wire format.
 *
 * The first group tests the shim itself (as kmod's test-testsuite does).
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "asan-preload.h"
#include "uio-fixture.h"
#include "vmbus/vmbus.h"

#define FAKE_UIO_SO FAKE_UIO_DIR "/" LT_OBJDIR "fake-uio.so"
#define VMBUS_INSTANCE "f8b3781b-1e82-4818-a1c3-63d806ec15bb"

/* ---- fixture ---------------------------------------------------------- */

struct fake {
	char root[PATH_MAX];  /* temporary directory */
	char sysfs[PATH_MAX]; /* root/sys */
	char node[PATH_MAX];  /* root/dev/uioN: the device node */
	int listen_fd;        /* the node's uioN.sock */
	int host_fd;          /* accepted: the kernel/host end of the guest's fd */
	uint8_t *mem;         /* host view of the node: both rings */
	size_t mem_len;
	size_t page;
	size_t S; /* bytes per direction */
	struct vmbus_channel *ch;
};

/* Fixtures still alive: a failed assertion skips fake_free(), the test's teardown does it. */
static struct fake *live[4];

static size_t page_size(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

static struct fake *fake_new(void)
{
	struct fake *f = calloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR");

	assert_non_null(f);
	f->listen_fd = f->host_fd = -1;
	f->page = page_size();
	pathf(f->root, "%s/test-uio.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(f->root));
	pathf(f->sysfs, "%s/sys", f->root);
	for (size_t i = 0; i < sizeof(live) / sizeof(live[0]); i++)
		if (!live[i]) {
			live[i] = f;
			return f;
		}
	fail_msg("too many fixtures");
	return NULL;
}

/*
 * sysfs of device uio: class/uio/<uio> links to the device directory under the
 * VMBus device, as on Hyper-V. name/size NULL: leave the attribute out.
 */
static void fake_sysfs(struct fake *f, const char *uio, const char *name, const char *size)
{
	char dev[PATH_MAX], p[PATH_MAX], target[PATH_MAX];

	pathf(dev, "%s/devices/LNXSYSTM:00/LNXSYBUS:00/ACPI0004:00/VMBUS:00/%s/uio/%s", f->sysfs,
	      VMBUS_INSTANCE, uio);
	pathf(p, "%s/maps/map0", dev);
	mkdir_p(p);
	pathf(p, "%s/class/uio", f->sysfs);
	mkdir_p(p);
	pathf(p, "%s/class/uio/%s", f->sysfs, uio);
	pathf(target, "../../devices/LNXSYSTM:00/LNXSYBUS:00/ACPI0004:00/VMBUS:00/%s/uio/%s",
	      VMBUS_INSTANCE, uio);
	assert_int_equal(symlink(target, p), 0);
	pathf(p, "%s/version", dev);
	write_file(p, "0.02.1\n");
	pathf(p, "%s/maps/map0/name", dev);
	write_file(p, "txrx_rings\n");
	if (name) {
		pathf(p, "%s/name", dev);
		write_file(p, name);
	}
	if (size) {
		pathf(p, "%s/maps/map0/size", dev);
		write_file(p, size);
	}
}

/*
 * The node dev/<name> under dir: a regular file of len bytes, both ring headers
 * as vmbus_connect_ring() leaves them (indices 0, feature_bits 1), mapped for
 * the host, with its listening socket beside it. The host mapping is made
 * before the socket exists, so the shim does not turn it into a device.
 */
static void fake_node_in(struct fake *f, const char *dir, const char *name, size_t len)
{
	int fd;

	mkdir_p(dir);
	pathf(f->node, "%s/%s", dir, name);
	fd = open(f->node, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)len), 0);
	f->mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(f->mem != MAP_FAILED);
	close(fd);
	f->mem_len = len;
	f->S = len / 2;
	if (len >= 2 * f->page) {
		f->mem[0x40] = 1;
		f->mem[f->S + 0x40] = 1;
	}
	f->listen_fd = listen_beside(f->node);
}

static void fake_node(struct fake *f, const char *name, size_t len)
{
	char dir[PATH_MAX];

	pathf(dir, "%s/dev", f->root);
	fake_node_in(f, dir, name, len);
}

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	return remove(path);
}

static void fake_free(struct fake *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < sizeof(live) / sizeof(live[0]); i++)
		if (live[i] == f)
			live[i] = NULL;
	vmbus_channel_close(f->ch);
	if (f->host_fd >= 0)
		close(f->host_fd);
	if (f->listen_fd >= 0)
		close(f->listen_fd);
	if (f->mem)
		munmap(f->mem, f->mem_len);
	nftw(f->root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
}

/* A uio_hv_generic device uio0 with S bytes per direction; map size as uio prints it (%pa). */
static struct fake *fake_device(size_t S)
{
	struct fake *f = fake_new();
	char size[32];

	snprintf(size, sizeof(size), "0x%016zx\n", 2 * S);
	fake_sysfs(f, "uio0", "uio_hv_generic\n", size);
	fake_node(f, "uio0", 2 * S);
	return f;
}

/* ---- the kernel/host end --------------------------------------------- */

/* Take the connection the guest's open() made. */
static void host_accept(struct fake *f)
{
	struct pollfd p = { .fd = f->listen_fd, .events = POLLIN };

	assert_int_equal(poll(&p, 1, 0), 1);
	f->host_fd = accept4(f->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	assert_true(f->host_fd >= 0);
}

static bool connection_pending(struct fake *f)
{
	struct pollfd p = { .fd = f->listen_fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1;
}

/* Interrupt the guest: the device's event count is now count. */
static void host_irq(struct fake *f, uint32_t count)
{
	assert_int_equal(send(f->host_fd, &count, sizeof(count), MSG_NOSIGNAL), sizeof(count));
}

/*
 * What the guest wrote to its fd, if anything: 1 and *ret_value, or 0. The
 * guest's write() has returned before the call under test did, so nothing is
 * ever in flight and there is no need to wait.
 */
static int host_take_signal(struct fake *f, uint32_t *ret_value)
{
	uint32_t v;
	ssize_t n = recv(f->host_fd, &v, sizeof(v), MSG_DONTWAIT | MSG_TRUNC);

	if (n < 0 && errno == EAGAIN)
		return 0;
	assert_int_equal(n, sizeof(v));
	*ret_value = v;
	return 1;
}

static void host_expect_signal(struct fake *f)
{
	uint32_t v = 0;

	assert_int_equal(host_take_signal(f, &v), 1);
	assert_int_equal(v, 1);
}

static void host_expect_no_signal(struct fake *f)
{
	uint32_t v;

	assert_int_equal(host_take_signal(f, &v), 0);
}

static void host_rescind(struct fake *f)
{
	assert_int_equal(close(f->host_fd), 0);
	f->host_fd = -1;
}

static uint32_t ld32(const uint8_t *p)
{
	return __atomic_load_n((const uint32_t *)(const void *)p, __ATOMIC_ACQUIRE);
}

static void st32(uint8_t *p, uint32_t v)
{
	__atomic_store_n((uint32_t *)(void *)p, v, __ATOMIC_RELEASE);
}

/* Ring headers: 0 write_index, 4 read_index, 8 interrupt_mask, 12 pending_send_sz. */
#define RING_W 0
#define RING_R 4
#define RING_MASK 8
#define RING_PENDING 12

static uint8_t *g2h(struct fake *f)
{
	return f->mem;
}

static uint8_t *h2g(struct fake *f)
{
	return f->mem + f->S;
}

static void ring_put(struct fake *f, uint8_t *hdr, uint32_t off, const void *src, size_t len)
{
	uint32_t dsize = (uint32_t)(f->S - f->page);
	uint8_t *data = hdr + f->page;
	size_t first = dsize - off < len ? dsize - off : len;

	memcpy(data + off, src, first);
	memcpy(data, (const uint8_t *)src + first, len - first);
}

static void ring_get(struct fake *f, const uint8_t *hdr, uint32_t off, void *dst, size_t len)
{
	uint32_t dsize = (uint32_t)(f->S - f->page);
	const uint8_t *data = hdr + f->page;
	size_t first = dsize - off < len ? dsize - off : len;

	memcpy(dst, data + off, first);
	memcpy((uint8_t *)dst + first, data, len - first);
}

static void le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

#define PKT_BYTES(len) (16u + (((len) + 7u) & ~7u) + 8u)

/* The host writes one in-band packet into the host->guest ring (no signal). */
static void host_put(struct fake *f, uint16_t flags, uint64_t trans_id, const void *payload,
		     size_t len)
{
	uint8_t *hdr = h2g(f);
	uint32_t dsize = (uint32_t)(f->S - f->page), w = ld32(hdr + RING_W);
	size_t total = PKT_BYTES(len);
	uint8_t *pkt = calloc(1, total);

	assert_non_null(pkt);
	le16(pkt, VMBUS_PKT_DATA_INBAND);
	le16(pkt + 2, 2);
	le16(pkt + 4, (uint16_t)((total - 8) / 8));
	le16(pkt + 6, flags);
	le64(pkt + 8, trans_id);
	memcpy(pkt + 16, payload, len);
	le64(pkt + total - 8, (uint64_t)w << 32);
	ring_put(f, hdr, w, pkt, total);
	free(pkt);
	st32(hdr + RING_W, (uint32_t)((w + total) % dsize));
}

/* The host takes one packet off the guest->host ring: 1, or 0 if it is empty. */
static int host_get(struct fake *f, uint16_t *ret_type, uint64_t *ret_trans_id, void *buf,
		    size_t *ret_len)
{
	uint8_t *hdr = g2h(f), desc[16], trailer[8];
	uint32_t dsize = (uint32_t)(f->S - f->page);
	uint32_t w = ld32(hdr + RING_W), r = ld32(hdr + RING_R), len8, off8;

	if (w == r)
		return 0;
	ring_get(f, hdr, r, desc, sizeof(desc));
	off8 = (uint32_t)(desc[2] | desc[3] << 8);
	len8 = (uint32_t)(desc[4] | desc[5] << 8);
	assert_int_equal(off8, 2);
	assert_true(len8 >= off8);
	*ret_type = (uint16_t)(desc[0] | desc[1] << 8);
	*ret_trans_id = get64(desc + 8);
	*ret_len = (len8 - off8) * 8;
	ring_get(f, hdr, (r + 16) % dsize, buf, *ret_len);
	ring_get(f, hdr, (r + len8 * 8) % dsize, trailer, sizeof(trailer));
	assert_int_equal(get64(trailer), (uint64_t)r << 32);
	st32(hdr + RING_R, (r + len8 * 8 + 8) % dsize);
	return 1;
}

static void fill(void *buf, size_t len, unsigned seed)
{
	uint8_t *b = buf;

	for (size_t i = 0; i < len; i++)
		b[i] = (uint8_t)(seed * 131u + i * 7u + (i >> 8) + 1u);
}

/* Do something on the host side from another thread after a short delay. */
enum host_action { ACT_IRQ, ACT_RESCIND };
struct later {
	struct fake *f;
	enum host_action action;
	pthread_t thread;
};

static void *later_run(void *arg)
{
	struct later *l = arg;
	struct timespec ts = { .tv_nsec = 20 * 1000 * 1000 };
	uint32_t count = 1;

	/* Only makes it likely that the guest is already blocked; correctness does not depend on it. */
	nanosleep(&ts, NULL);
	if (l->action == ACT_IRQ) {
		if (send(l->f->host_fd, &count, sizeof(count), MSG_NOSIGNAL) != sizeof(count))
			abort();
	} else {
		close(l->f->host_fd);
	}
	return NULL;
}

static void later_start(struct later *l, struct fake *f, enum host_action action)
{
	*l = (struct later){ .f = f, .action = action };
	assert_int_equal(pthread_create(&l->thread, NULL, later_run, l), 0);
}

static void later_join(struct later *l)
{
	assert_int_equal(pthread_join(l->thread, NULL), 0);
	if (l->action == ACT_RESCIND)
		l->f->host_fd = -1;
}

/* ---- the shim itself ------------------------------------------------- */

static int shim_setup(void **state)
{
	*state = fake_device(4 * page_size());
	return 0;
}

static int fake_teardown(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(live) / sizeof(live[0]); i++)
		fake_free(live[i]);
	return 0;
}

/* Opens the node as the guest would and accepts the connection; returns the guest fd. */
static int shim_open(struct fake *f, int flags)
{
	int fd = open(f->node, flags | O_CLOEXEC);

	assert_true(fd >= 0);
	host_accept(f);
	return fd;
}

static void test_shim_passthrough(void **state)
{
	struct fake *f = fake_new();
	char p[PATH_MAX], buf[16] = { 0 };
	int fd, lfd;

	(void)state;
	assert_non_null(dlsym(RTLD_DEFAULT, "fake_uio_loaded"));

	/* uioN without a socket beside it is just a file. */
	pathf(p, "%s/uio7", f->root);
	write_file(p, "hello");
	fd = open(p, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, buf, sizeof(buf)), 5);
	assert_string_equal(buf, "hello");
	close(fd);

	/* A socket beside a file not named uioN changes nothing either. */
	pathf(p, "%s/ring", f->root);
	write_file(p, "world");
	lfd = listen_beside(p);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, buf, sizeof(buf)), 5);
	assert_memory_equal(buf, "world", 5);
	close(fd);
	close(lfd);
	fake_free(f);
}

static void test_shim_read_write_size(void **state)
{
	struct fake *f = *state;
	int fd = shim_open(f, O_RDWR | O_NONBLOCK);
	uint8_t big[8] = { 0 };
	uint32_t v = 0, one = 1;

	/* uio moves exactly one s32 each way. */
	errno = 0;
	assert_int_equal(read(fd, big, 8), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(read(fd, big, 3), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(read(fd, big, 0), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(pread(fd, big, 8, 0), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(write(fd, big, 8), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(write(fd, big, 2), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(pwrite(fd, big, 0, 0), -1);
	assert_int_equal(errno, EINVAL);
	host_expect_no_signal(f);

	/* No interrupt yet: O_NONBLOCK gives EAGAIN. */
	assert_int_equal(read(fd, &v, 4), -1);
	assert_int_equal(errno, EAGAIN);

	host_irq(f, 5);
	assert_int_equal(read(fd, &v, 4), 4);
	assert_int_equal(v, 5);
	assert_int_equal(write(fd, &one, 4), 4);
	host_expect_signal(f);
	host_expect_no_signal(f);
	close(fd);
}

static void test_shim_counts_fold(void **state)
{
	struct fake *f = *state;
	int fd = shim_open(f, O_RDWR | O_NONBLOCK);
	uint32_t v = 0;

	/* Three interrupts before the guest reads: one read returns the latest count. */
	host_irq(f, 1);
	host_irq(f, 2);
	host_irq(f, 3);
	assert_int_equal(read(fd, &v, 4), 4);
	assert_int_equal(v, 3);
	assert_int_equal(read(fd, &v, 4), -1);
	assert_int_equal(errno, EAGAIN);

	/* The offset is ignored, as by uio. */
	host_irq(f, 4);
	assert_int_equal(pread(fd, &v, 4, 12345), 4);
	assert_int_equal(v, 4);
	close(fd);
}

static void test_shim_blocking_read(void **state)
{
	struct fake *f = *state;
	int fd = shim_open(f, O_RDWR);
	struct later l;
	uint32_t v = 0;

	later_start(&l, f, ACT_IRQ);
	assert_int_equal(read(fd, &v, 4), 4);
	later_join(&l);
	assert_int_equal(v, 1);
	close(fd);
}

static void test_shim_mmap(void **state)
{
	struct fake *f = *state;
	int fd = shim_open(f, O_RDWR | O_NONBLOCK);
	uint8_t *m;

	/* Map 0 is the backing file, shared with the host's view. */
	m = mmap(NULL, f->mem_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(m != MAP_FAILED);
	m[f->page] = 0x5a;
	assert_int_equal(f->mem[f->page], 0x5a);
	f->mem[f->S + f->page] = 0xa5;
	assert_int_equal(m[f->S + f->page], 0xa5);
	assert_int_equal(munmap(m, f->mem_len), 0);

	/* More pages than the map has, or another map: EINVAL. */
	errno = 0;
	assert_true(mmap(NULL, f->mem_len + f->page, PROT_READ, MAP_SHARED, fd, 0) == MAP_FAILED);
	assert_int_equal(errno, EINVAL);
	assert_true(mmap(NULL, f->page, PROT_READ, MAP_SHARED, fd, (off_t)f->page) == MAP_FAILED);
	assert_int_equal(errno, EINVAL);
	close(fd);
}

static void test_shim_rescind(void **state)
{
	struct fake *f = *state;
	int fd = shim_open(f, O_RDWR | O_NONBLOCK);
	struct pollfd p = { .fd = fd, .events = POLLIN };
	uint32_t v = 0, one = 1;
	uint8_t big[8];

	/* Even with an interrupt pending, a rescinded device only gives EIO. */
	host_irq(f, 1);
	host_rescind(f);
	assert_int_equal(poll(&p, 1, 0), 1);
	assert_true(p.revents & POLLHUP);
	errno = 0;
	assert_int_equal(read(fd, &v, 4), -1);
	assert_int_equal(errno, EIO);
	/* No SIGPIPE either: that would end this test. */
	assert_int_equal(write(fd, &one, 4), -1);
	assert_int_equal(errno, EIO);
	assert_int_equal(read(fd, big, 8), -1);
	assert_int_equal(errno, EINVAL);
	close(fd);
}

static void test_shim_no_listener(void **state)
{
	struct fake *f = *state;

	/* The socket file without a listener: the driver went away. */
	close(f->listen_fd);
	f->listen_fd = -1;
	errno = 0;
	assert_int_equal(open(f->node, O_RDWR | O_CLOEXEC), -1);
	assert_int_equal(errno, ENODEV);
}

static void test_shim_long_path(void **state)
{
	struct fake *f = fake_new();
	char dir[PATH_MAX];
	uint32_t v = 0;
	int fd;

	(void)state;
	/* Longer than sun_path: the shim connects through /proc/self/fd. */
	pathf(dir, "%s/dev/%0120d", f->root, 0);
	fake_node_in(f, dir, "uio3", 8 * f->page);
	assert_true(strlen(f->node) + 5 > sizeof(((struct sockaddr_un *)NULL)->sun_path));
	fd = shim_open(f, O_RDWR | O_NONBLOCK);
	host_irq(f, 9);
	assert_int_equal(read(fd, &v, 4), 4);
	assert_int_equal(v, 9);
	close(fd);
	fake_free(f);
}

/* ---- vmbus_channel_open_uio ------------------------------------------- */

static void open_ok(size_t S)
{
	struct fake *f = fake_device(S);
	struct vmbus_channel *ch = NULL;
	int fd;

	assert_int_equal(vmbus_channel_open_uio(f->node, f->sysfs, &ch), 0);
	f->ch = ch;
	host_accept(f);
	/* The ring header is one system page; the rest of each half is data. */
	assert_int_equal(vmbus_channel_get_data_size(ch), (int)(S - f->page));
	fd = vmbus_channel_get_fd(ch);
	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDWR);
	fake_free(f);
}

static void test_open_16k(void **state)
{
	(void)state;
	/* v6.10 to v6.15: 16 KiB per direction, map0/size 0x8000. */
	open_ok(4 * page_size());
}

static void test_open_20k(void **state)
{
	(void)state;
	/* Page-aligned kernels: 20 KiB per direction, map0/size 0xa000. */
	open_ok(5 * page_size());
}

static void test_open_2m(void **state)
{
	(void)state;
	/* The kernel's largest rings (sub-channels): 2 MiB per direction. */
	open_ok(VMBUS_RING_SIZE_MAX);
}

static void test_open_symlink(void **state)
{
	struct fake *f = fake_new();
	struct vmbus_channel *ch = NULL;
	char link[PATH_MAX], dir[PATH_MAX], size[32];

	(void)state;
	/* udev's /dev/vmbus/hv-fcopy -> ../uio0; attributes without a newline are fine too. */
	snprintf(size, sizeof(size), "0x%zx", 8 * f->page);
	fake_sysfs(f, "uio0", "uio_hv_generic", size);
	fake_node(f, "uio0", 8 * f->page);
	pathf(dir, "%s/dev/vmbus", f->root);
	mkdir_p(dir);
	pathf(link, "%s/hv-fcopy", dir);
	assert_int_equal(symlink("../uio0", link), 0);
	assert_int_equal(vmbus_channel_open_uio(link, f->sysfs, &ch), 0);
	f->ch = ch;
	host_accept(f);
	assert_int_equal(vmbus_channel_get_data_size(ch), (int)(3 * f->page));
	fake_free(f);
}

static void test_open_not_hv_generic(void **state)
{
	struct fake *f = fake_new();
	struct vmbus_channel *ch = NULL;
	char p[PATH_MAX];

	(void)state;
	/* Another uio driver. */
	fake_sysfs(f, "uio0", "uio_pdrv_genirq\n", "0x8000\n");
	fake_node(f, "uio0", 0x8000);
	assert_int_equal(vmbus_channel_open_uio(f->node, f->sysfs, &ch), -ENODEV);
	assert_false(connection_pending(f));

	/* No such uio device in this sysfs. */
	assert_int_equal(vmbus_channel_open_uio(f->node, f->root, &ch), -ENODEV);

	/* A node that is not uioN at all. */
	pathf(p, "%s/dev/hv_fcopy", f->root);
	write_file(p, "");
	assert_int_equal(vmbus_channel_open_uio(p, f->sysfs, &ch), -ENODEV);
	assert_null(ch);
	assert_false(connection_pending(f));
	fake_free(f);

	/* No name attribute. */
	f = fake_new();
	fake_sysfs(f, "uio0", NULL, "0x8000\n");
	fake_node(f, "uio0", 0x8000);
	assert_int_equal(vmbus_channel_open_uio(f->node, f->sysfs, &ch), -ENODEV);
	assert_false(connection_pending(f));
	fake_free(f);
}

static void test_open_bad_sizes(void **state)
{
	size_t P = page_size();
	static const char *const sizes[] = { "", "0x", "zero", "0x8000x", "-1", "0", "0x1" };
	size_t bad[] = {
		8 * P + 1,                                 /* odd */
		8 * P + 16,                                /* half not a page multiple */
		2 * P,                                     /* no room for data */
		2 * ((size_t)VMBUS_RING_SIZE_MAX + 2 * P), /* larger than any ring */
		(size_t)1 << 40,
	};

	(void)state;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]) + sizeof(bad) / sizeof(bad[0]); i++) {
		struct fake *f = fake_new();
		struct vmbus_channel *ch = NULL;
		char size[64];

		if (i < sizeof(sizes) / sizeof(sizes[0]))
			snprintf(size, sizeof(size), "%s\n", sizes[i]);
		else
			snprintf(size, sizeof(size), "0x%zx\n", bad[i - sizeof(sizes) / sizeof(sizes[0])]);
		fake_sysfs(f, "uio0", "uio_hv_generic\n", size);
		fake_node(f, "uio0", 8 * P);
		print_message("# map0/size %s", size);
		assert_int_equal(vmbus_channel_open_uio(f->node, f->sysfs, &ch), -EINVAL);
		assert_null(ch);
		/* Rejected before the node was opened. */
		assert_false(connection_pending(f));
		fake_free(f);
	}
}

static void test_open_missing(void **state)
{
	struct fake *f = fake_new();
	struct vmbus_channel *ch = NULL;
	char p[PATH_MAX];

	(void)state;
	/* No node. */
	fake_sysfs(f, "uio0", "uio_hv_generic\n", "0x8000\n");
	pathf(p, "%s/dev/uio0", f->root);
	assert_int_equal(vmbus_channel_open_uio(p, f->sysfs, &ch), -ENOENT);
	fake_free(f);

	/* No map0/size. */
	f = fake_new();
	fake_sysfs(f, "uio0", "uio_hv_generic\n", NULL);
	fake_node(f, "uio0", 0x8000);
	assert_int_equal(vmbus_channel_open_uio(f->node, f->sysfs, &ch), -ENOENT);
	assert_false(connection_pending(f));
	fake_free(f);

	/* The node is there but its driver is gone (the shim's open gives ENODEV). */
	f = fake_device(4 * page_size());
	close(f->listen_fd);
	f->listen_fd = -1;
	assert_int_equal(vmbus_channel_open_uio(f->node, f->sysfs, &ch), -ENODEV);
	fake_free(f);

	/* Arguments. */
	assert_int_equal(vmbus_channel_open_uio(NULL, NULL, &ch), -EINVAL);
	assert_int_equal(vmbus_channel_open_uio("", NULL, &ch), -EINVAL);
	assert_int_equal(vmbus_channel_open_uio("/dev/uio0", NULL, NULL), -EINVAL);
	assert_null(ch);
}

static void test_open_unmasks(void **state)
{
	struct fake *f = fake_device(4 * page_size());

	(void)state;
	/*
	 * Before "uio_hv_generic: Let userspace take care of interrupt mask"
	 * (b15b7d2a1b09), opening the device left the guest's receive ring
	 * masked: the host would never interrupt a channel nobody unmasked.
	 */
	st32(h2g(f) + RING_MASK, 1);
	assert_int_equal(vmbus_channel_open_uio(f->node, f->sysfs, &f->ch), 0);
	host_accept(f);
	assert_int_equal(ld32(h2g(f) + RING_MASK), 0);
	/* Unmasking is a store to shared memory, not a signal. */
	host_expect_no_signal(f);
	fake_free(f);
}

/* ---- a channel over the fake device ----------------------------------- */

static int chan_setup(void **state)
{
	struct fake *f = fake_device(4 * page_size());

	if (vmbus_channel_open_uio(f->node, f->sysfs, &f->ch) != 0) {
		fake_free(f);
		return -1;
	}
	host_accept(f);
	*state = f;
	return 0;
}

static void test_chan_recv(void **state)
{
	struct fake *f = *state;
	uint8_t in[1024], out[1024];
	struct vmbus_packet pkt;

	assert_int_equal(vmbus_channel_recv(f->ch, out, sizeof(out), &pkt), 0);

	/* Enough packets to wrap around the 12 KiB data area several times. */
	for (unsigned i = 0; i < 64; i++) {
		size_t len = 100 + (i * 37) % 900;

		fill(in, len, i);
		host_put(f, VMBUS_PKT_FLAG_COMPLETION_REQUESTED, 0x1122334455667700u + i, in, len);
		memset(&pkt, 0, sizeof(pkt));
		assert_int_equal(vmbus_channel_recv(f->ch, out, sizeof(out), &pkt), 1);
		assert_int_equal(pkt.type, VMBUS_PKT_DATA_INBAND);
		assert_int_equal(pkt.flags, VMBUS_PKT_FLAG_COMPLETION_REQUESTED);
		/* The payload comes back padded to 8 bytes, as it sits on the ring. */
		assert_int_equal(pkt.len, (len + 7) & ~(size_t)7);
		assert_int_equal(pkt.trans_id, 0x1122334455667700u + i);
		assert_memory_equal(out, in, len);
		/* Consumed: the guest published its read index. */
		assert_int_equal(ld32(h2g(f) + RING_R), ld32(h2g(f) + RING_W));
		assert_int_equal(vmbus_channel_recv(f->ch, out, sizeof(out), &pkt), 0);
	}
	/* The host never asked for room, so it is never signalled. */
	host_expect_no_signal(f);
}

static void test_chan_send_signals(void **state)
{
	struct fake *f = *state;
	uint8_t in[200], out[2048];
	uint64_t tid;
	uint16_t type;
	size_t len;

	/* Empty -> non-empty: one 4-byte 1. */
	fill(in, sizeof(in), 1);
	assert_int_equal(vmbus_channel_send(f->ch, VMBUS_PKT_DATA_INBAND, 0, 42, in, sizeof(in)), 0);
	host_expect_signal(f);
	host_expect_no_signal(f);

	/* The ring was not empty: no signal. */
	assert_int_equal(vmbus_channel_send(f->ch, VMBUS_PKT_DATA_INBAND, 0, 43, in, 13), 0);
	host_expect_no_signal(f);

	/* The packets are in [0, S) as the host expects them. */
	assert_int_equal(host_get(f, &type, &tid, out, &len), 1);
	assert_int_equal(type, VMBUS_PKT_DATA_INBAND);
	assert_int_equal(tid, 42);
	assert_int_equal(len, sizeof(in));
	assert_memory_equal(out, in, sizeof(in));
	assert_int_equal(host_get(f, &type, &tid, out, &len), 1);
	assert_int_equal(tid, 43);
	assert_int_equal(len, 16);
	assert_memory_equal(out, in, 13);
	assert_int_equal(host_get(f, &type, &tid, out, &len), 0);

	/* The host masked its interrupts: no signal even on empty -> non-empty. */
	st32(g2h(f) + RING_MASK, 1);
	assert_int_equal(vmbus_channel_send(f->ch, VMBUS_PKT_DATA_INBAND, 0, 44, in, 8), 0);
	host_expect_no_signal(f);
	assert_int_equal(host_get(f, &type, &tid, out, &len), 1);
	st32(g2h(f) + RING_MASK, 0);

	/* Empty again and unmasked: signalled again. */
	assert_int_equal(vmbus_channel_send(f->ch, VMBUS_PKT_DATA_INBAND, 0, 45, NULL, 0), 0);
	host_expect_signal(f);
	assert_int_equal(host_get(f, &type, &tid, out, &len), 1);
	assert_int_equal(tid, 45);
	assert_int_equal(len, 0);

	/* An explicit signal is the same 4-byte 1. */
	assert_int_equal(vmbus_channel_signal(f->ch), 0);
	host_expect_signal(f);
}

static void test_chan_recv_signals_blocked_host(void **state)
{
	struct fake *f = *state;
	uint32_t dsize = (uint32_t)(f->S - f->page), per = PKT_BYTES(1000), n = 0;
	uint8_t in[1000], out[1000];
	struct vmbus_packet pkt;

	/* Fill the host->guest ring until the next packet would not fit. */
	fill(in, sizeof(in), 7);
	while (dsize - n * per > per) {
		host_put(f, 0, n, in, sizeof(in));
		n++;
	}
	/* The host is blocked on a packet a bit larger than the free room. */
	st32(h2g(f) + RING_PENDING, dsize - n * per + 8);

	/* The first read makes room for it: the host is signalled, once. */
	assert_int_equal(vmbus_channel_recv(f->ch, out, sizeof(out), &pkt), 1);
	host_expect_signal(f);
	host_expect_no_signal(f);
	/* It was not short of room before the second read: no signal. */
	assert_int_equal(vmbus_channel_recv(f->ch, out, sizeof(out), &pkt), 1);
	host_expect_no_signal(f);
}

static void test_chan_wait_ack(void **state)
{
	struct fake *f = *state;
	struct pollfd p = { .fd = vmbus_channel_get_fd(f->ch), .events = POLLIN };
	struct timespec t0, t1;
	struct later l;
	long ms;

	assert_int_equal(vmbus_channel_ack(f->ch), 0);
	assert_int_equal(vmbus_channel_wait(f->ch, 0), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(vmbus_channel_wait(f->ch, 30), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	assert_true(ms >= 29);

	/* The fd is what a main loop polls. */
	assert_int_equal(poll(&p, 1, 0), 0);
	host_irq(f, 1);
	assert_int_equal(poll(&p, 1, 0), 1);
	assert_int_equal(vmbus_channel_wait(f->ch, 1000), 1);
	assert_int_equal(vmbus_channel_ack(f->ch), 0);
	assert_int_equal(poll(&p, 1, 0), 0);

	/* Two interrupts are acknowledged at once. */
	host_irq(f, 2);
	host_irq(f, 3);
	assert_int_equal(vmbus_channel_ack(f->ch), 1);
	assert_int_equal(vmbus_channel_ack(f->ch), 0);

	/* wait(-1) returns when the interrupt comes. */
	later_start(&l, f, ACT_IRQ);
	assert_int_equal(vmbus_channel_wait(f->ch, -1), 1);
	later_join(&l);
	/* Waiting and acknowledging never signal the host. */
	host_expect_no_signal(f);
}

struct seen {
	unsigned n;
	uint64_t tid[8];
};

static int on_packet(struct vmbus_channel *ch, const struct vmbus_packet *pkt, void *payload,
		     void *userdata)
{
	struct seen *s = userdata;

	(void)ch;
	(void)payload;
	if (s->n < 8)
		s->tid[s->n] = pkt->trans_id;
	s->n++;
	return 0;
}

static void test_chan_drain(void **state)
{
	struct fake *f = *state;
	struct seen s = { 0 };
	uint8_t in[64];

	fill(in, sizeof(in), 3);
	for (unsigned i = 0; i < 3; i++)
		host_put(f, 0, 100 + i, in, sizeof(in));
	host_irq(f, 1);
	assert_int_equal(vmbus_channel_wait(f->ch, 1000), 1);
	assert_int_equal(vmbus_channel_drain(f->ch, on_packet, &s), 3);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.tid[0], 100);
	assert_int_equal(s.tid[2], 102);
	/* Interrupts are on again, and the host heard nothing. */
	assert_int_equal(ld32(h2g(f) + RING_MASK), 0);
	host_expect_no_signal(f);
	assert_int_equal(vmbus_channel_drain(f->ch, on_packet, &s), 0);
}

static void test_chan_drain_masking_kernel(void **state)
{
	struct fake *f = *state;
	struct seen s = { 0 };
	uint8_t in[64];

	/*
	 * Kernels before b15b7d2a1b09 mask the guest's receive ring on every
	 * interrupt; drain must leave it unmasked, or no interrupt comes again.
	 */
	fill(in, sizeof(in), 5);
	for (unsigned round = 0; round < 3; round++) {
		host_put(f, 0, round, in, sizeof(in));
		/* The host interrupts only an unmasked ring that went non-empty. */
		assert_int_equal(ld32(h2g(f) + RING_MASK), 0);
		st32(h2g(f) + RING_MASK, 1);
		host_irq(f, round + 1);
		assert_int_equal(vmbus_channel_wait(f->ch, 1000), 1);
		assert_int_equal(vmbus_channel_drain(f->ch, on_packet, &s), 1);
		assert_int_equal(s.tid[round], round);
	}
	host_expect_no_signal(f);
}

static void test_chan_rescind(void **state)
{
	struct fake *f = *state;
	struct seen s = { 0 };

	/* Rescinded with an interrupt pending: the device only gives EIO now. */
	host_irq(f, 1);
	host_rescind(f);
	assert_int_equal(vmbus_channel_ack(f->ch), -EIO);
	assert_int_equal(vmbus_channel_wait(f->ch, 1000), -EIO);
	assert_int_equal(vmbus_channel_wait(f->ch, -1), -EIO);
	assert_int_equal(vmbus_channel_signal(f->ch), -EIO);
	assert_int_equal(vmbus_channel_send(f->ch, VMBUS_PKT_DATA_INBAND, 0, 1, "x", 1), -EIO);
	assert_int_equal(vmbus_channel_drain(f->ch, on_packet, &s), -EIO);
	assert_int_equal(s.n, 0);
}

static void test_chan_rescind_on_send(void **state)
{
	struct fake *f = *state;
	uint32_t w;

	/* The first send finds out through its signal... */
	host_rescind(f);
	assert_int_equal(vmbus_channel_send(f->ch, VMBUS_PKT_DATA_INBAND, 0, 1, "x", 1), -EIO);
	w = ld32(g2h(f) + RING_W);
	/* ...later ones without touching the ring. */
	assert_int_equal(vmbus_channel_send(f->ch, VMBUS_PKT_DATA_INBAND, 0, 2, "y", 1), -EIO);
	assert_int_equal(ld32(g2h(f) + RING_W), w);
	assert_int_equal(vmbus_channel_ack(f->ch), -EIO);
}

static void test_chan_rescind_while_waiting(void **state)
{
	struct fake *f = *state;
	struct later l;

	later_start(&l, f, ACT_RESCIND);
	assert_int_equal(vmbus_channel_wait(f->ch, -1), -EIO);
	later_join(&l);
	assert_int_equal(vmbus_channel_signal(f->ch), -EIO);
}

/* ---- main -------------------------------------------------------------- */

/* Run again with the shim preloaded, unless it already is. */
static void preload_shim(char **argv)
{
	const char *old = getenv("LD_PRELOAD");
	char *preload;

	if (dlsym(RTLD_DEFAULT, "fake_uio_loaded"))
		return;
	if (getenv("TEST_UIO_REEXEC")) {
		printf("Bail out! %s is not preloaded\n", FAKE_UIO_SO);
		exit(EXIT_FAILURE);
	}
	if (access(FAKE_UIO_SO, R_OK) < 0) {
		printf("Bail out! %s: %s (make check builds it)\n", FAKE_UIO_SO, strerror(errno));
		exit(EXIT_FAILURE);
	}
	if (asprintf(&preload, "%s%s%s", FAKE_UIO_SO, old && *old ? ":" : "", old ? old : "") < 0)
		exit(EXIT_FAILURE);
	setenv("LD_PRELOAD", preload, 1);
	setenv("TEST_UIO_REEXEC", "1", 1);
	asan_allow_preload();
	fflush(stdout);
	execv("/proc/self/exe", argv);
	printf("Bail out! re-executing with %s: %s\n", FAKE_UIO_SO, strerror(errno));
	exit(EXIT_FAILURE);
}

int main(int argc, char **argv)
{
	const char *factor = getenv("HV_TIMEOUT_FACTOR");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_shim_passthrough, fake_teardown),
		cmocka_unit_test_setup_teardown(test_shim_read_write_size, shim_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_shim_counts_fold, shim_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_shim_blocking_read, shim_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_shim_mmap, shim_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_shim_rescind, shim_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_shim_no_listener, shim_setup, fake_teardown),
		cmocka_unit_test_teardown(test_shim_long_path, fake_teardown),
		cmocka_unit_test_teardown(test_open_16k, fake_teardown),
		cmocka_unit_test_teardown(test_open_20k, fake_teardown),
		cmocka_unit_test_teardown(test_open_2m, fake_teardown),
		cmocka_unit_test_teardown(test_open_symlink, fake_teardown),
		cmocka_unit_test_teardown(test_open_not_hv_generic, fake_teardown),
		cmocka_unit_test_teardown(test_open_bad_sizes, fake_teardown),
		cmocka_unit_test_teardown(test_open_missing, fake_teardown),
		cmocka_unit_test_teardown(test_open_unmasks, fake_teardown),
		cmocka_unit_test_setup_teardown(test_chan_recv, chan_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_chan_send_signals, chan_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_chan_recv_signals_blocked_host, chan_setup,
						fake_teardown),
		cmocka_unit_test_setup_teardown(test_chan_wait_ack, chan_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_chan_drain, chan_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_chan_drain_masking_kernel, chan_setup,
						fake_teardown),
		cmocka_unit_test_setup_teardown(test_chan_rescind, chan_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_chan_rescind_on_send, chan_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_chan_rescind_while_waiting, chan_setup,
						fake_teardown),
	};

	(void)argc;
	preload_shim(argv);
	/* A hang is a failure, not a stuck "make check". */
	alarm(60u * (unsigned)(factor && atoi(factor) > 0 ? atoi(factor) : 1));
	return cmocka_run_group_tests_name("uio", tests, NULL, NULL);
}
