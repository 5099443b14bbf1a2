/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The hv-hostsim engine: plays a Hyper-V host for one guest endpoint over an
 * fd channel (libvmbus(3)): creates the ring pair and the two eventfds, starts
 * the guest with "--channel fd:3,4,5", sends requests under the host's
 * signalling rules and waits for answers, noticing a guest that dies.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <vmbus/vmbus.h>

/* Exit statuses of hv-hostsim. */
enum {
	HOSTSIM_EXIT_OK = 0,        /* the guest answered success */
	HOSTSIM_EXIT_REFUSED = 1,   /* the guest answered with an error status or refused */
	HOSTSIM_EXIT_USAGE = 2,     /* bad command line */
	HOSTSIM_EXIT_NOANSWER = 3,  /* no valid answer: timeout, guest died, protocol violation */
	HOSTSIM_EXIT_EXISTS = 4,    /* fcopy: the guest answered HV_ERROR_ALREADY_EXISTS */
	HOSTSIM_EXIT_DISK_FULL = 5, /* fcopy: the guest answered HV_ERROR_DISK_FULL */
	HOSTSIM_EXIT_CANCELLED = 6, /* fcopy: cancelled (local error, signal, fault injection) */
	HOSTSIM_EXIT_NOT_FOUND = 7, /* kvp get/delete/enumerate --index: the guest answered HV_S_CONT */
};

/* How the guest is reached (hv-hostsim --transport). */
enum hostsim_transport {
	HOSTSIM_TRANSPORT_UIO,     /* the rings of an fd channel: "--channel fd:3,4,5" */
	HOSTSIM_TRANSPORT_CHARDEV, /* hv_utils' character device, played by fake-kernel.c */
};

struct fake_kernel;

struct hostsim {
	enum hostsim_transport transport; /* set before hostsim_start() */
	const char *service;              /* chardev: kvp, vss or fcopy, set before hostsim_start() */
	struct fake_kernel *kernel;       /* chardev: the fake hv_utils side */
	struct vmbus_channel *ch; /* host side (uio) */
	uint8_t *map;             /* the whole ring memory, for hostile writes */
	size_t map_len;
	uint32_t ring_size;
	pid_t pid;
	int pidfd;
	int guest_status; /* wait status once the guest exited, else -1 */
	int verbose;
	int timeout_ms;
	int busy_poll_us;  /* before sleeping for the guest, check without blocking this long */
	uint64_t next_trans_id;
	uint8_t next_ic_txid;
	uint8_t *buf; /* response buffer, one data area */
	size_t buflen;
	bool held;                  /* h->buf holds a packet not handed out yet */
	struct vmbus_packet held_pkt;
	int interrupt_fd;  /* when readable, waits end with -EINTR; -1 for none */
	bool end_reported; /* a command already reported how the guest ended */
};

/*
 * Start argv (argv[0] found in PATH) as the guest (uio: with "--channel
 * fd:3,4,5"; chardev: with fake-chardev.so preloaded and "--channel
 * chardev:DIR/hv_kvp", see fake-kernel.h), in a process group of its
 * own (a Ctrl-C on the terminal reaches only hv-hostsim, which then ends the
 * copy as a host would) that is killed if hv-hostsim dies.
 */
int hostsim_start(struct hostsim *h, uint32_t ring_size, char **argv);

/*
 * In the forked guest, for either transport: its own process group, killed
 * with the host (exits 127 if that cannot be set up); then exec argv with
 * "--channel CHANNEL" appended (exits 127 on failure).
 */
void hostsim_guest_setup(pid_t parent);
__attribute__((noreturn)) void hostsim_guest_exec(char **argv, const char *channel);

/*
 * Send one IC message (msg, len) as a packet; *ret_trans_id (optional) receives
 * its transaction id. When the ring has no room, wait for the guest to make
 * some, as a host does: the library sets pending_send_sz and the guest signals
 * once the packet fits. Each wait is bounded by the timeout.
 *
 * Returns 0; -EAGAIN if the ring is full and a packet from the guest waits:
 * take it with hostsim_receive() and retry (the guest may itself be blocked on
 * a full ring, and would never make room); -ETIMEDOUT; -ECHILD (the guest
 * exited); -EINTR (interrupt_fd became readable); -EMSGSIZE (never fits this
 * ring); -EPROTO (ring violation).
 */
int hostsim_send(struct hostsim *h, const void *msg, size_t len, uint64_t *ret_trans_id);

/*
 * Take the next packet from the guest, waiting up to the timeout. *ret_msg
 * points into h->buf, valid until the next hostsim_send/receive/transact.
 * Returns 0, -ETIMEDOUT, -ECHILD (the guest exited; what it sent before is
 * still returned first), -EINTR, -EPROTO.
 */
int hostsim_receive(struct hostsim *h, const uint8_t **ret_msg, size_t *ret_len,
		    uint64_t *ret_trans_id);

/*
 * hostsim_send() then hostsim_receive() of the packet that echoes its
 * transaction id. *ret_resp points into h->buf. Returns 0, -ETIMEDOUT,
 * -ECHILD (the guest exited), -EINTR, -EPROTO (ring violation or unexpected
 * packet).
 */
int hostsim_transact(struct hostsim *h, const void *msg, size_t len, const uint8_t **ret_resp,
		     size_t *ret_len);

/* Send raw (possibly malformed) payload as one packet, without waiting. */
int hostsim_send_raw(struct hostsim *h, const void *msg, size_t len);

/* Wait up to timeout for the guest to exit by itself. Returns 1 if it did, 0 if not. */
int hostsim_wait_exit(struct hostsim *h, int timeout_ms);

/* SIGTERM the guest (SIGKILL after 5 s), reap it. Returns the wait status. */
int hostsim_stop(struct hostsim *h);

void hostsim_print_packet(const char *dir, const struct vmbus_packet *pkt, const uint8_t *msg,
			  size_t len);
