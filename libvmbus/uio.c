/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * uio transport: a channel bound to uio_hv_generic.
 *
 * Map 0 ("txrx_rings") holds both rings, guest->host first; its size comes from
 * sysfs, so both the 16 KiB (6.10-6.15) and the page-aligned 20 KiB (later)
 * fcopy rings work. Each ring header is one system page. read() of exactly 4
 * bytes waits for an interrupt (EIO once the host rescinded the channel);
 * write() of a 4-byte 1 unmasks and, on IC channels, signals the host.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libudev.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"

static int uio_ack(struct vmbus_channel *ch)
{
	uint32_t count;

	for (;;) {
		ssize_t n = read(ch->wait_fd, &count, sizeof(count));

		if (n == sizeof(count))
			return 1;
		if (n >= 0)
			return -EIO;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN)
			return 0;
		if (errno == EIO) {
			ch->rescinded = true;
			vmbus_debug("uio device rescinded by the host");
		}
		return -errno;
	}
}

static int uio_signal(struct vmbus_channel *ch)
{
	uint32_t one = 1;

	for (;;) {
		ssize_t n = write(ch->signal_fd, &one, sizeof(one));

		if (n == sizeof(one))
			return 0;
		if (n >= 0)
			return -EIO;
		if (errno == EINTR)
			continue;
		if (errno == EIO)
			ch->rescinded = true;
		return -errno;
	}
}

static void uio_close(struct vmbus_channel *ch)
{
	/* One fd serves both directions. */
	if (ch->wait_fd >= 0)
		close(ch->wait_fd);
}

static const struct vmbus_backend_ops uio_ops = {
	.ack = uio_ack,
	.signal = uio_signal,
	.close = uio_close,
};

/* Read a small sysfs attribute, without its trailing newline. */
static int read_attr(const char *path, char *buf, size_t size)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return (int)n;
}

static bool is_uio_name(const char *s)
{
	if (strncmp(s, "uio", 3) != 0 || !s[3])
		return false;
	for (s += 3; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

VMBUS_EXPORT int vmbus_channel_open_uio(const char *dev_path, const char *sysfs_root,
					struct vmbus_channel **ret)
{
	_cleanup_free_ char *real = NULL;
	_cleanup_close_ int fd = -1;
	char path[PATH_MAX], buf[64], *end;
	const char *name;
	unsigned long long total;
	struct vmbus_channel *ch;
	long page;
	void *map;
	int r;

	assert_return(dev_path && *dev_path, -EINVAL);
	assert_return(ret, -EINVAL);
	if (!sysfs_root)
		sysfs_root = "/sys";

	/* /dev/vmbus/hv-fcopy -> /dev/uio3 -> uio3 */
	real = realpath(dev_path, NULL);
	if (!real)
		return -errno;
	name = strrchr(real, '/');
	name = name ? name + 1 : real;
	if (!is_uio_name(name))
		return -ENODEV;

	if (snprintf(path, sizeof(path), "%s/class/uio/%s/name", sysfs_root, name) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	r = read_attr(path, buf, sizeof(buf));
	if (r < 0)
		return r == -ENOENT ? -ENODEV : r;
	if (strcmp(buf, "uio_hv_generic") != 0) {
		vmbus_debug("%s is driven by '%s', not uio_hv_generic", name, buf);
		return -ENODEV;
	}
	if (snprintf(path, sizeof(path), "%s/class/uio/%s/maps/map0/size", sysfs_root, name) >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	r = read_attr(path, buf, sizeof(buf));
	if (r < 0)
		return r;
	errno = 0;
	total = strtoull(buf, &end, 0);
	if (errno || end == buf || *end)
		return -EINVAL;

	page = sysconf(_SC_PAGESIZE);
	if (page < (long)HV_RING_HEADER_MIN)
		return -EINVAL;
	/* Both rings, each a header page plus at least one data page. */
	if (total % 2 || total / 2 % (unsigned long)page || total / 2 < 2 * (unsigned long)page ||
	    total / 2 > VMBUS_RING_SIZE_MAX + (unsigned long)page)
		return -EINVAL;

	fd = open(real, O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	/* Map K is selected by the offset K * page size; map 0 is the ring pair. */
	map = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		return -errno;
	r = vmbus_channel_new(map, total, total / 2, (size_t)page, true, &uio_ops, &ch);
	if (r < 0) {
		munmap(map, total);
		return r;
	}
	/*
	 * Kernels before "uio_hv_generic: Let userspace take care of interrupt
	 * mask" (b15b7d2a1b09) open the channel with our receive ring masked, and
	 * the host never interrupts a masked ring. Interrupts are on from the start.
	 */
	vmbus_ring_unmask(&ch->rx);
	ch->side = VMBUS_SIDE_GUEST;
	ch->wait_fd = ch->signal_fd = TAKE_FD(fd);
	*ret = ch;
	vmbus_debug("opened %s: %llu bytes of rings, %ld-byte headers", real, total, page);
	return 0;
}

int vmbus_guid_normalize(const char *in, char out[37])
{
	size_t len = strlen(in), j = 0;

	if (len == 38 && in[0] == '{' && in[37] == '}') {
		in++;
		len = 36;
	}
	if (len != 36)
		return -EINVAL;
	for (size_t i = 0; i < 36; i++) {
		unsigned char c = (unsigned char)in[i];

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (c != '-')
				return -EINVAL;
		} else if (!isxdigit(c)) {
			return -EINVAL;
		}
		out[j++] = (char)tolower(c);
	}
	out[j] = '\0';
	return 0;
}

static struct udev_enumerate *enum_unref(struct udev_enumerate *e)
{
	return e ? udev_enumerate_unref(e) : NULL;
}
static void enum_unrefp(struct udev_enumerate **e)
{
	enum_unref(*e);
}
static void udev_unrefp(struct udev **u)
{
	if (*u)
		udev_unref(*u);
}

VMBUS_EXPORT int vmbus_uio_find(const char *class_guid, const char *dev_root, char **ret_path)
{
	_cleanup_(udev_unrefp) struct udev *udev = NULL;
	_cleanup_(enum_unrefp) struct udev_enumerate *en = NULL;
	struct udev_list_entry *item;
	char want[37];
	int r;

	assert_return(class_guid, -EINVAL);
	assert_return(ret_path, -EINVAL);
	if (vmbus_guid_normalize(class_guid, want) < 0)
		return -EINVAL;
	if (!dev_root)
		dev_root = "/dev";

	udev = udev_new();
	if (!udev)
		return -ENOMEM;
	en = udev_enumerate_new(udev);
	if (!en)
		return -ENOMEM;
	r = udev_enumerate_add_match_subsystem(en, "uio");
	if (r >= 0)
		r = udev_enumerate_scan_devices(en);
	if (r < 0)
		return r;

	udev_list_entry_foreach(item, udev_enumerate_get_list_entry(en)) {
		struct udev_device *dev, *parent;
		const char *cls, *sysname;
		char got[37];
		char *path;

		dev = udev_device_new_from_syspath(udev, udev_list_entry_get_name(item));
		if (!dev)
			continue;
		/* The parent reference is owned by dev. */
		parent = udev_device_get_parent_with_subsystem_devtype(dev, "vmbus", NULL);
		cls = parent ? udev_device_get_sysattr_value(parent, "class_id") : NULL;
		sysname = udev_device_get_sysname(dev);
		if (!cls || !sysname || vmbus_guid_normalize(cls, got) < 0 || strcmp(got, want) != 0 ||
		    !is_uio_name(sysname)) {
			udev_device_unref(dev);
			continue;
		}
		r = asprintf(&path, "%s/%s", dev_root, sysname);
		udev_device_unref(dev);
		if (r < 0)
			return -ENOMEM;
		vmbus_debug("class %s: %s", want, path);
		*ret_path = path;
		return 0;
	}
	return -ENOENT;
}
