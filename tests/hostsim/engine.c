/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fake-kernel.h"
#include "engine.h"
#include "macro.h"

/* The fds the guest inherits, and the argument that names them. */
#define GUEST_RING_FD 3
#define GUEST_IRQ_FD 4
#define GUEST_SIGNAL_FD 5

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void hostsim_guest_setup(pid_t parent)
{
	/*
	 * Not in hv-hostsim's process group, so that a terminal's Ctrl-C does not
	 * reach the guest (on Hyper-V it runs elsewhere); but never outlive the host.
	 */
	if (setpgid(0, 0) < 0 || prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent) {
		fprintf(stderr, "hv-hostsim: cannot set up the guest process: %m\n");
		_exit(127);
	}
}

_noreturn_ void hostsim_guest_exec(char **argv, const char *channel)
{
	char **args;
	int n = 0;

	while (argv[n])
		n++;
	args = calloc((size_t)n + 3, sizeof(*args));
	if (!args)
		_exit(127);
	memcpy(args, argv, (size_t)n * sizeof(*args));
	args[n] = (char *)"--channel";
	args[n + 1] = (char *)channel;
	execvp(args[0], args);
	fprintf(stderr, "hv-hostsim: cannot run '%s': %m\n", args[0]);
	_exit(127);
}

static _noreturn_ void exec_guest(char **argv, pid_t parent, int ring, int irq, int sig)
{
	int hi[3];

	hostsim_guest_setup(parent);
	/* Move out of the way of 3..5 first, so that no dup2 lands on its own source. */
	hi[0] = fcntl(ring, F_DUPFD, 10);
	hi[1] = fcntl(irq, F_DUPFD, 10);
	hi[2] = fcntl(sig, F_DUPFD, 10);
	if (hi[0] < 0 || hi[1] < 0 || hi[2] < 0 || dup2(hi[0], GUEST_RING_FD) < 0 ||
	    dup2(hi[1], GUEST_IRQ_FD) < 0 || dup2(hi[2], GUEST_SIGNAL_FD) < 0) {
		fprintf(stderr, "hv-hostsim: cannot pass the channel fds: %m\n");
		_exit(127);
	}
	for (int i = 0; i < 3; i++)
		close(hi[i]);
	hostsim_guest_exec(argv, "fd:3,4,5");
}

int hostsim_start(struct hostsim *h, uint32_t ring_size, char **argv)
{
	_cleanup_close_ int ring = -1, irq = -1, sig = -1;
	pid_t parent = getpid();
	int r, host_ring;

	h->guest_status = -1;
	h->pidfd = -1;
	h->interrupt_fd = -1;
	h->ring_size = ring_size;
	if (h->transport == HOSTSIM_TRANSPORT_CHARDEV)
		return kernel_start(h, h->service, argv);
	r = vmbus_fd_ring_create(ring_size, &ring);
	if (r < 0)
		return r;
	/* irq: host -> guest interrupt; sig: guest -> host signal. */
	irq = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	sig = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (irq < 0 || sig < 0)
		return -errno;
	h->map_len = 2 * (size_t)ring_size;
	h->map = mmap(NULL, h->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, ring, 0);
	if (h->map == MAP_FAILED) {
		h->map = NULL;
		return -errno;
	}
	h->ring_size = ring_size;

	fflush(stdout);
	fflush(stderr);
	h->pid = fork();
	if (h->pid < 0)
		return -errno;
	if (h->pid == 0)
		exec_guest(argv, parent, ring, irq, sig);
	/* Also here: whichever of parent and child runs first, the group exists before a kill. */
	(void)setpgid(h->pid, h->pid);

	h->pidfd = (int)syscall(SYS_pidfd_open, h->pid, 0);
	if (h->pidfd < 0)
		return -errno;
	host_ring = fcntl(ring, F_DUPFD_CLOEXEC, 3);
	if (host_ring < 0)
		return -errno;
	/* The host waits on the guest's signal fd and signals through the irq fd. */
	r = vmbus_channel_open_fd(host_ring, sig, irq, VMBUS_SIDE_HOST, &h->ch);
	if (r < 0) {
		close(host_ring);
		return r;
	}
	sig = irq = -1; /* owned by the channel now */
	h->buflen = (size_t)vmbus_channel_get_data_size(h->ch);
	h->buf = malloc(h->buflen);
	if (!h->buf)
		return -ENOMEM;
	h->next_trans_id = 1;
	h->next_ic_txid = 1;
	return 0;
}

static int reap(struct hostsim *h)
{
	int status;

	if (h->guest_status >= 0)
		return 1;
	if (waitpid(h->pid, &status, WNOHANG) != h->pid)
		return 0;
	h->guest_status = status;
	return 1;
}

int hostsim_send_raw(struct hostsim *h, const void *msg, size_t len)
{
	if (h->kernel)
		return kernel_send(h, msg, len, NULL);
	return vmbus_channel_send(h->ch, VMBUS_PKT_DATA_INBAND, 0, h->next_trans_id++, msg, len);
}

/*
 * Sleep until the guest signals (room or a packet: the caller looks at both
 * rings again), exits, or the deadline passes, or an interrupt is requested.
 * Returns 0 to look again, -ECHILD, -ETIMEDOUT, -EINTR or another -errno.
 */
static int wait_guest(struct hostsim *h, int64_t deadline)
{
	struct pollfd p[3] = {
		{ .fd = vmbus_channel_get_fd(h->ch), .events = POLLIN },
		{ .fd = h->pidfd, .events = POLLIN },
		{ .fd = h->interrupt_fd, .events = POLLIN }, /* poll ignores -1 */
	};
	int64_t left = deadline - now_ms();
	int r, status;

	if (h->guest_status >= 0)
		return -ECHILD;
	if (left <= 0)
		return -ETIMEDOUT;
	/* --busy-poll: a guest that answers within the budget costs no sleep and no wake-up. */
	r = 0;
	if (h->busy_poll_us > 0) {
		int64_t until = now_us() + h->busy_poll_us;

		do
			r = poll(p, ELEMENTSOF(p), 0);
		while (r == 0 && now_us() < until);
	}
	if (r == 0)
		r = poll(p, ELEMENTSOF(p), left > INT_MAX ? INT_MAX : (int)left);
	if (r < 0)
		/* A signal: the next call sees interrupt_fd if it was one of ours. */
		return errno == EINTR ? 0 : -errno;
	if (p[2].revents & POLLIN)
		return -EINTR;
	if (p[0].revents & POLLIN) {
		r = vmbus_channel_ack(h->ch);
		if (r < 0)
			return r;
	}
	if (p[1].revents & POLLIN) {
		if (waitpid(h->pid, &status, 0) == h->pid)
			h->guest_status = status;
		return -ECHILD;
	}
	return 0;
}

/* Move the next packet from the ring into h->buf, if there is one. Returns 1, 0 or -errno. */
static int take(struct hostsim *h)
{
	int r;

	if (h->held)
		return 1;
	r = vmbus_channel_recv(h->ch, h->buf, h->buflen, &h->held_pkt);
	if (r <= 0)
		/* h->buf holds a whole data area: a packet that does not fit is a lie. */
		return r == -EMSGSIZE ? -EPROTO : r;
	h->held = true;
	if (h->verbose)
		hostsim_print_packet("guest -> host", &h->held_pkt, h->buf, h->held_pkt.len);
	return 1;
}

int hostsim_send(struct hostsim *h, const void *msg, size_t len, uint64_t *ret_trans_id)
{
	uint64_t id = h->next_trans_id;
	int64_t deadline = now_ms() + h->timeout_ms;
	int r;

	if (h->kernel)
		return kernel_send(h, msg, len, ret_trans_id);
	for (;;) {
		r = vmbus_channel_send(h->ch, VMBUS_PKT_DATA_INBAND, 0, id, msg, len);
		if (r != -EAGAIN)
			break;
		/* Full: pending_send_sz is set, the guest signals when this fits. */
		r = take(h);
		if (r != 0)
			return r < 0 ? r : -EAGAIN;
		r = wait_guest(h, deadline);
		if (r < 0)
			return r;
	}
	if (r < 0)
		return r;
	h->next_trans_id++;
	if (h->verbose) {
		struct vmbus_packet pkt = {
			.type = VMBUS_PKT_DATA_INBAND, .len = (uint32_t)len, .trans_id = id
		};

		hostsim_print_packet("host -> guest", &pkt, msg, len);
	}
	if (ret_trans_id)
		*ret_trans_id = id;
	return 0;
}

int hostsim_receive(struct hostsim *h, const uint8_t **ret_msg, size_t *ret_len,
		    uint64_t *ret_trans_id)
{
	int64_t deadline = now_ms() + h->timeout_ms;
	int r, w;

	if (h->kernel)
		return kernel_receive(h, ret_msg, ret_len, ret_trans_id);
	for (;;) {
		/* Look at the ring before sleeping: the packet may already be there. */
		r = take(h);
		if (r < 0)
			return r;
		if (r > 0) {
			h->held = false;
			*ret_msg = h->buf;
			*ret_len = h->held_pkt.len;
			if (ret_trans_id)
				*ret_trans_id = h->held_pkt.trans_id;
			return 0;
		}
		w = wait_guest(h, deadline);
		if (w == -ECHILD) {
			/* Take any last answer before declaring the guest gone. */
			r = take(h);
			if (r <= 0)
				return r < 0 ? r : -ECHILD;
			continue;
		}
		if (w < 0)
			return w;
	}
}

int hostsim_transact(struct hostsim *h, const void *msg, size_t len, const uint8_t **ret_resp,
		     size_t *ret_len)
{
	const uint8_t *resp;
	uint64_t id, got;
	size_t n;
	int r;

	r = hostsim_send(h, msg, len, &id);
	if (r == -EAGAIN)
		/* Not sent, and nothing is outstanding: what the guest sent is unexpected. */
		id = 0;
	else if (r < 0)
		return r;
	r = hostsim_receive(h, &resp, &n, &got);
	if (r < 0)
		return r;
	if (got != id) {
		fprintf(stderr, "hv-hostsim: answer with transaction id %llu, expected %llu\n",
			(unsigned long long)got, (unsigned long long)id);
		return -EPROTO;
	}
	*ret_resp = resp;
	*ret_len = n;
	return 0;
}

int hostsim_wait_exit(struct hostsim *h, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;

	if (h->kernel && h->guest_status < 0)
		/* Serve the device meanwhile: the guest may be waiting for the kernel. */
		return kernel_wait_exit(h, timeout_ms);
	for (;;) {
		struct pollfd p = { .fd = h->pidfd, .events = POLLIN };
		int64_t left = deadline - now_ms();
		int r;

		if (reap(h))
			return 1;
		if (left <= 0)
			return 0;
		/* A signal to hv-hostsim (Ctrl-C during the stop) does not shorten the wait. */
		r = poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (r > 0) {
			waitpid(h->pid, &h->guest_status, 0);
			return 1;
		}
		if (r < 0 && errno != EINTR)
			return 0;
	}
}

int hostsim_stop(struct hostsim *h)
{
	if (h->pid > 0 && h->kernel && !reap(h))
		kernel_settle(h);
	if (h->pid > 0 && !reap(h)) {
		kill(h->pid, SIGTERM);
		if (!hostsim_wait_exit(h, 5000)) {
			fprintf(stderr, "hv-hostsim: guest ignored SIGTERM for 5 s, killing it\n");
			kill(h->pid, SIGKILL);
			waitpid(h->pid, &h->guest_status, 0);
		}
	}
	kernel_stop(h);
	h->ch = vmbus_channel_close(h->ch);
	if (h->map)
		munmap(h->map, h->map_len);
	h->map = NULL;
	if (h->pidfd >= 0)
		close(h->pidfd);
	h->pidfd = -1;
	free(h->buf);
	h->buf = NULL;
	return h->guest_status;
}
