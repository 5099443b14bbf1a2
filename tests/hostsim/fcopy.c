/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * hv-hostsim fcopy: send a file to the guest as Hyper-V does for PowerShell's
 * Copy-VMFile, over the File Copy IC: START_FILE_COPY with the names and the
 * size, WRITE_TO_FILE fragments of 6144 bytes at increasing offsets, then
 * COMPLETE_FCOPY; CANCEL_FCOPY when the host gives up.
 *
 * The file is read in chunks of about 1 MiB into one buffer with room for a
 * WRITE's 80 bytes of headers in front. Each WRITE is built in place: its
 * headers overwrite the tail of the fragment before it, which is already in
 * the ring, so the data is copied once, into the ring.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "engine.h"
#include "fcopy-wire.h"
#include "macro.h"

#define NAME_FIELD_BYTES (2 * FCOPY_W_MAX_PATH)
#define START_MSG_LEN (VMBUS_IC_HDR_LEN + FCOPY_START_LEN)
#define WRITE_MSG_LEN FCOPY_MAX_MSG_LEN
#define WRITE_HDR_LEN (VMBUS_IC_HDR_LEN + FCOPY_OFF_DATA) /* what precedes the data */
#define SHORT_MSG_LEN (VMBUS_IC_HDR_LEN + FCOPY_HDR_LEN)  /* COMPLETE, CANCEL */
#define CHUNK_LEN (171 * FCOPY_DATA_FRAGMENT)              /* about 1 MiB per read() */
#define PIPELINE_MAX 64
#define PROGRESS_INTERVAL_US 100000

enum fault { FAULT_NONE, FAULT_CANCEL, FAULT_KILL, FAULT_TERM };

static const char *const fault_option[] = {
	[FAULT_CANCEL] = "--cancel-after",
	[FAULT_KILL] = "--kill-guest-after",
	[FAULT_TERM] = "--term-guest-after",
};

static bool arg_overwrite, arg_create_path;
static unsigned arg_pipeline = 1;
static bool arg_declare;
static uint64_t arg_declared_size;
static enum fault arg_fault;
static uint64_t arg_fault_after;
static const char *arg_source;
static const char *arg_name; /* the file name START sends, for the summary */

/* Prepared by fcopy_parse(), before the guest starts. */
static int source_fd = -1;
static uint64_t source_size;
static uint8_t file_name[NAME_FIELD_BYTES], path_name[NAME_FIELD_BYTES];
static char *summary;

/* SIGINT/SIGTERM: the flag for the copy loop, the eventfd to end the engine's waits. */
static volatile sig_atomic_t got_signal;
static int interrupt_fd = -1;

/* A request the guest has not answered yet. */
struct pending {
	uint64_t trans_id;
	uint32_t bytes; /* WRITE: data bytes */
	uint32_t op;
	uint8_t ic_txid;
};

struct copy {
	struct hostsim *h;
	uint32_t fw, svc;
	uint8_t *buf;            /* WRITE_HDR_LEN of headroom, then CHUNK_LEN of file data */
	size_t chunk_len;        /* file bytes in the buffer */
	size_t chunk_pos;        /* where the next fragment starts in them */
	bool eof;
	uint8_t *msg;            /* a WRITE built but not sent yet, or NULL */
	uint32_t msg_size;
	uint8_t msg_txid;
	uint64_t offset;         /* file offset of the next fragment */
	uint64_t answered;       /* data bytes the guest acknowledged with HV_S_OK */
	struct pending q[PIPELINE_MAX + 1]; /* in sending order; + 1 for a CANCEL */
	unsigned q_len;
	bool tty, drawn;
	int64_t t0, last_draw;
};

void fcopy_help(void)
{
	printf("fcopy SOURCE DEST: DEST ending in '/' is the directory and the file keeps\n"
	       "SOURCE's name; otherwise DEST's last component is the file name. DEST is sent\n"
	       "as typed (not normalised, even if relative). FCOPY-OPTIONS:\n"
	       "      --overwrite                replace an existing file (flag OVER_WRITE)\n"
	       "      --create-path              create missing directories (flag CREATE_PATH)\n"
	       "      --pipeline K               up to K requests in flight (1-64, default 1)\n"
	       "      --declare-size N           declare N bytes in START, not SOURCE's size\n"
	       "  fault injection (then exit status 6):\n"
	       "      --cancel-after BYTES       once BYTES were acknowledged, send CANCEL_FCOPY\n"
	       "      --kill-guest-after BYTES   once BYTES were acknowledged, SIGKILL the guest\n"
	       "      --term-guest-after BYTES   once BYTES were acknowledged, SIGTERM the guest\n");
}

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

const char *fcopy_op_name(uint32_t op, char *buf, size_t size)
{
	static const char *const names[] = {
		[FCOPY_OP_START] = "START_FILE_COPY",
		[FCOPY_OP_WRITE] = "WRITE_TO_FILE",
		[FCOPY_OP_COMPLETE] = "COMPLETE_FCOPY",
		[FCOPY_OP_CANCEL] = "CANCEL_FCOPY",
	};

	if (op < ELEMENTSOF(names))
		return names[op];
	snprintf(buf, size, "operation %u", op);
	return buf;
}

uint8_t fcopy_msg_init(struct hostsim *h, uint8_t *msg, uint32_t fw, uint32_t svc, uint32_t op,
		       uint16_t body_len)
{
	uint8_t txid = h->next_ic_txid++;

	/* The buffer always has room: the callers' messages are at least this long. */
	vmbus_ic_build(msg, VMBUS_IC_HDR_LEN + (size_t)body_len, VMBUS_IC_MSGTYPE_FCOPY, fw, svc,
		       body_len, txid);
	memset(msg + VMBUS_IC_HDR_LEN, 0, FCOPY_HDR_LEN);
	memcpy(msg + VMBUS_IC_HDR_LEN + FCOPY_OFF_OPERATION, &op, sizeof(op));
	return txid;
}

void fcopy_put_start(uint8_t *msg, uint32_t flags, uint64_t file_size)
{
	memcpy(msg + VMBUS_IC_HDR_LEN + FCOPY_OFF_COPY_FLAGS, &flags, sizeof(flags));
	memcpy(msg + VMBUS_IC_HDR_LEN + FCOPY_OFF_FILE_SIZE, &file_size, sizeof(file_size));
}

int fcopy_put_name(uint8_t *field, const char *s, size_t len)
{
	int r;

	memset(field, 0, NAME_FIELD_BYTES);
	r = vmbus_utf8_to_utf16(s, len, field, NAME_FIELD_BYTES);
	return r < 0 ? r : 0;
}

void fcopy_put_write(uint8_t *msg, uint64_t offset, uint32_t size)
{
	static const uint32_t pad;

	memcpy(msg + VMBUS_IC_HDR_LEN + FCOPY_HDR_LEN, &pad, sizeof(pad));
	memcpy(msg + VMBUS_IC_HDR_LEN + FCOPY_OFF_OFFSET, &offset, sizeof(offset));
	memcpy(msg + VMBUS_IC_HDR_LEN + FCOPY_OFF_SIZE, &size, sizeof(size));
}

/* ------------------------------------------------------------------------ */
/* Command line                                                              */
/* ------------------------------------------------------------------------ */

/* A decimal number, without sign or suffix. */
static int parse_u64(const char *s, uint64_t *ret)
{
	unsigned long long v;
	char *end;

	if (s[0] < '0' || s[0] > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end)
		return -EINVAL;
	*ret = v;
	return 0;
}

static int parse_bytes(const char *opt, const char *s, uint64_t *ret)
{
	if (parse_u64(s, ret) == 0)
		return 0;
	fprintf(stderr, "hv-hostsim: invalid %s '%s' (a number of bytes)\n", opt, s);
	return -EINVAL;
}

static int put_name(const char *what, const char *s, size_t len, uint8_t *field)
{
	int r = fcopy_put_name(field, s, len);

	if (r == -ENAMETOOLONG)
		fprintf(stderr, "hv-hostsim: %s '%.*s' does not fit in %d UTF-16 units\n", what, (int)len,
			s, FCOPY_W_MAX_PATH - 1);
	else if (r < 0)
		fprintf(stderr, "hv-hostsim: %s '%.*s' is not valid UTF-8\n", what, (int)len, s);
	return r;
}

/*
 * Split DEST as Copy-VMFile's -DestinationPath reaches the guest, without
 * normalising anything: the guest must see what the user typed.
 */
static int put_names(const char *source, const char *dest)
{
	size_t len = strlen(dest);
	const char *slash = strrchr(dest, '/'), *name;
	int r;

	if (len == 0) {
		fprintf(stderr, "hv-hostsim: DEST is empty\n");
		return -EINVAL;
	}
	if (dest[len - 1] == '/') {
		/* A directory: the file keeps SOURCE's name. */
		name = strrchr(source, '/');
		name = name ? name + 1 : source;
		r = put_name("path", dest, len, path_name);
	} else if (!slash) {
		/* No directory at all: an empty path, which the guest must refuse. */
		name = dest;
		r = put_name("path", "", 0, path_name);
	} else {
		name = slash + 1;
		r = slash == dest ? put_name("path", "/", 1, path_name)
				  : put_name("path", dest, (size_t)(slash - dest), path_name);
	}
	if (r < 0)
		return r;
	if (!*name) {
		fprintf(stderr, "hv-hostsim: SOURCE '%s' has no file name\n", source);
		return -EINVAL;
	}
	arg_name = name;
	return put_name("file name", name, strlen(name), file_name);
}

int fcopy_parse(int argc, char **argv)
{
	static const struct option options[] = {
		{ "overwrite", no_argument, NULL, 'o' },
		{ "create-path", no_argument, NULL, 'p' },
		{ "pipeline", required_argument, NULL, 'P' },
		{ "declare-size", required_argument, NULL, 'D' },
		{ "cancel-after", required_argument, NULL, 'C' },
		{ "kill-guest-after", required_argument, NULL, 'K' },
		{ "term-guest-after", required_argument, NULL, 'T' },
		{}
	};
	struct stat st;
	uint64_t v;
	int opt;

	if (host_check_packet_fits(WRITE_MSG_LEN, "fcopy") < 0)
		return -EINVAL;
	/* argv ends where "--" was; options may come before or after SOURCE and DEST. */
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "", options, NULL)) >= 0) {
		enum fault f = FAULT_NONE;

		switch (opt) {
		case 'o':
			arg_overwrite = true;
			break;
		case 'p':
			arg_create_path = true;
			break;
		case 'P':
			if (parse_u64(optarg, &v) < 0 || v < 1 || v > PIPELINE_MAX) {
				fprintf(stderr, "hv-hostsim: --pipeline must be 1 to %d\n", PIPELINE_MAX);
				return -EINVAL;
			}
			arg_pipeline = (unsigned)v;
			break;
		case 'D':
			if (parse_bytes("--declare-size", optarg, &arg_declared_size) < 0)
				return -EINVAL;
			arg_declare = true;
			break;
		case 'C':
			f = FAULT_CANCEL;
			break;
		case 'K':
			f = FAULT_KILL;
			break;
		case 'T':
			f = FAULT_TERM;
			break;
		default:
			fprintf(stderr, "hv-hostsim: fcopy: unknown option or missing value: '%s'\n",
				argv[optind - 1]);
			return -EINVAL;
		}
		if (f == FAULT_NONE)
			continue;
		if (arg_fault != FAULT_NONE) {
			fprintf(stderr, "hv-hostsim: %s and %s: one fault at a time\n", fault_option[arg_fault],
				fault_option[f]);
			return -EINVAL;
		}
		if (parse_bytes(fault_option[f], optarg, &arg_fault_after) < 0)
			return -EINVAL;
		arg_fault = f;
	}
	if (argc - optind != 2) {
		fprintf(stderr, "hv-hostsim: fcopy needs SOURCE and DEST\n");
		return -EINVAL;
	}
	arg_source = argv[optind];
	if (put_names(arg_source, argv[optind + 1]) < 0)
		return -EINVAL;

	source_fd = open(arg_source, O_RDONLY | O_CLOEXEC);
	if (source_fd < 0) {
		fprintf(stderr, "hv-hostsim: cannot open '%s': %m\n", arg_source);
		return -EINVAL;
	}
	if (fstat(source_fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		fprintf(stderr, "hv-hostsim: '%s' is not a regular file\n", arg_source);
		return -EINVAL;
	}
	source_size = (uint64_t)st.st_size;
	(void)posix_fadvise(source_fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Progress and summary                                                      */
/* ------------------------------------------------------------------------ */

_printf_(1, 2) static void set_summary(const char *fmt, ...)
{
	va_list ap;

	free(summary);
	va_start(ap, fmt);
	if (vasprintf(&summary, fmt, ap) < 0)
		summary = NULL;
	va_end(ap);
}

void fcopy_finish(void)
{
	if (summary)
		printf("%s\n", summary);
	free(summary);
	summary = NULL;
	if (source_fd >= 0)
		close(source_fd);
	source_fd = -1;
}

/* The progress line on a terminal: redrawn at most every PROGRESS_INTERVAL_US. */
static void progress(struct copy *c, bool force)
{
	int64_t now, eta;
	double secs, rate;
	unsigned pct;

	if (!c->tty)
		return;
	now = now_us();
	if (!force && now - c->last_draw < PROGRESS_INTERVAL_US)
		return;
	c->last_draw = now;
	secs = (double)(now - c->t0) / 1e6;
	rate = secs > 0 ? (double)c->answered / secs : 0;
	pct = source_size ? (unsigned)(c->answered >= source_size ? 100 : c->answered * 100 / source_size)
			  : 100;
	eta = rate > 0 && source_size > c->answered ? (int64_t)((double)(source_size - c->answered) / rate)
						    : 0;
	printf("\r%llu of %llu bytes (%3u%%), %.1f MB/s, ETA %lld:%02lld  ",
	       (unsigned long long)c->answered, (unsigned long long)source_size, pct, rate / 1e6,
	       (long long)(eta / 60), (long long)(eta % 60));
	fflush(stdout);
	c->drawn = true;
}

/* End the progress line before anything else is printed. */
static void progress_end(struct copy *c)
{
	if (!c->drawn)
		return;
	progress(c, true);
	printf("\n");
	c->drawn = false;
}

/* ------------------------------------------------------------------------ */
/* Requests and answers                                                      */
/* ------------------------------------------------------------------------ */

static void on_signal(int sig)
{
	static const uint64_t one = 1;
	int saved = errno;

	/* SA_RESETHAND resets this signal only: a second one of either kind must kill. */
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	got_signal = sig;
	/* Wakes a wait in the engine; a counter at its maximum is readable anyway. */
	if (interrupt_fd >= 0)
		(void)!write(interrupt_fd, &one, sizeof(one));
	errno = saved;
}

/* Send a request built in msg; on success it is outstanding. Returns 0 or as hostsim_send(). */
static int send_request(struct copy *c, const uint8_t *msg, size_t len, uint32_t op, uint8_t txid,
			uint32_t bytes)
{
	uint64_t id;
	int r = hostsim_send(c->h, msg, len, &id);

	if (r < 0)
		return r;
	c->q[c->q_len++] = (struct pending){ .trans_id = id, .bytes = bytes, .op = op, .ic_txid = txid };
	return 0;
}

/*
 * Take the next answer and match it to its request by transaction id. Returns
 * 0 with the request and the guest's status, -EBADMSG (reported) for an answer
 * that matches nothing or cannot be parsed, or as hostsim_receive().
 */
static int receive_answer(struct copy *c, struct pending *ret_req, uint32_t *ret_status)
{
	struct vmbus_ic_header hdr;
	const uint8_t *resp;
	uint64_t id;
	size_t len;
	unsigned i;
	int r;

	r = hostsim_receive(c->h, &resp, &len, &id);
	if (r < 0)
		return r;
	for (i = 0; i < c->q_len && c->q[i].trans_id != id; i++)
		;
	if (i == c->q_len) {
		progress_end(c);
		fprintf(stderr, "hv-hostsim: answer with transaction id %llu, which no request has\n",
			(unsigned long long)id);
		return -EBADMSG;
	}
	if (vmbus_ic_parse(resp, len, &hdr) < 0 || hdr.transaction_id != c->q[i].ic_txid) {
		progress_end(c);
		fprintf(stderr, "hv-hostsim: malformed answer to transaction %llu (%zu bytes)\n",
			(unsigned long long)id, len);
		return -EBADMSG;
	}
	*ret_req = c->q[i];
	*ret_status = hdr.status;
	/* Answers come in order: this is nearly always the first. */
	c->q_len--;
	memmove(&c->q[i], &c->q[i + 1], (c->q_len - i) * sizeof(c->q[0]));
	return 0;
}

/* Report an exchange that failed; returns the exit status. */
static int lost(struct copy *c, int r)
{
	progress_end(c);
	set_summary("copy of %s failed: no valid answer from the guest", arg_name);
	return r == -EBADMSG ? HOSTSIM_EXIT_NOANSWER : host_no_answer(r);
}

static int status_exit(uint32_t status)
{
	switch (status) {
	case VMBUS_HV_S_OK:
		return HOSTSIM_EXIT_OK;
	case VMBUS_HV_ERROR_ALREADY_EXISTS:
		return HOSTSIM_EXIT_EXISTS;
	case VMBUS_HV_ERROR_DISK_FULL:
		return HOSTSIM_EXIT_DISK_FULL;
	default:
		return HOSTSIM_EXIT_REFUSED;
	}
}

/* The guest refused op: report it; returns the exit status. */
static int refused(struct copy *c, uint32_t op, uint32_t status)
{
	char buf[32];
	const char *name = fcopy_op_name(op, buf, sizeof(buf));

	progress_end(c);
	printf("guest: %s failed: %s (0x%08x)\n", name, host_status_name(status), status);
	set_summary("copy of %s failed: the guest answered %s with %s after %llu bytes", arg_name,
		    name, host_status_name(status), (unsigned long long)c->answered);
	return status_exit(status);
}

/*
 * Give up as a host does: send CANCEL_FCOPY and wait for its answer, passing
 * over the answers to what is still outstanding (their status no longer
 * matters). Returns 0, or a negative errno if the guest did not answer.
 */
static int cancel(struct copy *c)
{
	uint8_t msg[SHORT_MSG_LEN], txid;
	struct pending req;
	uint32_t status;
	int r;

	/* No more -EINTR: this wait is bounded by the timeout, a second signal kills. */
	c->h->interrupt_fd = -1;
	progress_end(c);
	txid = fcopy_msg_init(c->h, msg, c->fw, c->svc, FCOPY_OP_CANCEL, FCOPY_HDR_LEN);
	for (;;) {
		r = send_request(c, msg, sizeof(msg), FCOPY_OP_CANCEL, txid, 0);
		if (r != -EAGAIN)
			break;
		r = receive_answer(c, &req, &status);
		if (r < 0)
			return r;
	}
	if (r < 0)
		return r;
	while (c->q_len > 0) {
		r = receive_answer(c, &req, &status);
		if (r < 0)
			return r;
		if (req.op == FCOPY_OP_CANCEL)
			printf("guest: CANCEL_FCOPY answered %s (0x%08x)\n", host_status_name(status), status);
	}
	return 0;
}

/* Cancel on the host's own decision (why: its reason); returns the exit status. */
static int cancel_copy(struct copy *c, const char *why)
{
	uint64_t answered = c->answered;
	int r;

	progress_end(c);
	printf("host: cancelling after %llu bytes (%s): CANCEL_FCOPY\n", (unsigned long long)answered,
	       why);
	r = cancel(c);
	if (r < 0)
		return lost(c, r);
	set_summary("copy of %s failed: cancelled after %llu bytes (%s)", arg_name,
		    (unsigned long long)answered, why);
	return HOSTSIM_EXIT_CANCELLED;
}

/* --kill-guest-after, --term-guest-after: end the guest mid-copy; returns the exit status. */
static int end_guest(struct copy *c, int sig)
{
	struct hostsim *h = c->h;
	const char *opt = fault_option[arg_fault];

	progress_end(c);
	printf("host: %llu bytes answered, sending %s to the guest (%s)\n",
	       (unsigned long long)c->answered, sig == SIGKILL ? "SIGKILL" : "SIGTERM", opt);
	if (kill(h->pid, sig) < 0 && errno != ESRCH) {
		fprintf(stderr, "hv-hostsim: cannot signal the guest: %m\n");
		set_summary("copy of %s failed: cannot signal the guest", arg_name);
		return HOSTSIM_EXIT_NOANSWER;
	}
	if (!hostsim_wait_exit(h, h->timeout_ms)) {
		fprintf(stderr, "hv-hostsim: the guest did not exit within %g s of the signal\n",
			h->timeout_ms / 1000.0);
		set_summary("copy of %s failed: the guest did not exit on %s", arg_name,
			    sig == SIGKILL ? "SIGKILL" : "SIGTERM");
		return HOSTSIM_EXIT_NOANSWER;
	}
	h->end_reported = true;
	if (WIFSIGNALED(h->guest_status))
		printf("host: guest killed by signal %d\n", WTERMSIG(h->guest_status));
	else
		printf("host: guest exited with status %d\n", WEXITSTATUS(h->guest_status));
	set_summary("copy of %s failed: guest ended after %llu bytes (%s)", arg_name,
		    (unsigned long long)c->answered, opt);
	return HOSTSIM_EXIT_CANCELLED;
}

static int interrupted(struct copy *c)
{
	return cancel_copy(c, got_signal == SIGTERM ? "interrupted by SIGTERM" : "interrupted by SIGINT");
}

/* Check for a signal and the fault injection options; returns an exit status, or -1 to go on. */
static int fault(struct copy *c)
{
	if (got_signal)
		return interrupted(c);
	if (arg_fault == FAULT_NONE || c->answered < arg_fault_after)
		return -1;
	if (arg_fault == FAULT_CANCEL)
		return cancel_copy(c, "--cancel-after");
	return end_guest(c, arg_fault == FAULT_KILL ? SIGKILL : SIGTERM);
}

/* ------------------------------------------------------------------------ */
/* The copy                                                                  */
/* ------------------------------------------------------------------------ */

/* Read the next chunk of SOURCE: whole fragments, except at the end of the file. */
static int fill(struct copy *c)
{
	uint8_t *data = c->buf + WRITE_HDR_LEN;
	size_t n = 0, end;

	while (n < CHUNK_LEN) {
		ssize_t k = read(source_fd, data + n, CHUNK_LEN - n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0) {
			c->eof = true;
			break;
		}
		n += (size_t)k;
	}
	/* Every WRITE is sent whole: no stale bytes after the last fragment's data. */
	end = (n + FCOPY_DATA_FRAGMENT - 1) / FCOPY_DATA_FRAGMENT * FCOPY_DATA_FRAGMENT;
	memset(data + n, 0, end - n);
	c->chunk_len = n;
	c->chunk_pos = 0;
	return 0;
}

/* Build the next WRITE in place (c->msg), or none at the end. Returns 0 or -errno (read). */
static int next_write(struct copy *c)
{
	int r;

	if (c->chunk_pos >= c->chunk_len) {
		if (c->eof)
			return 0;
		r = fill(c);
		if (r < 0)
			return r;
		if (c->chunk_len == 0)
			return 0;
	}
	c->msg_size = (uint32_t)(c->chunk_len - c->chunk_pos < FCOPY_DATA_FRAGMENT
					 ? c->chunk_len - c->chunk_pos
					 : FCOPY_DATA_FRAGMENT);
	/* The headers go over the tail of the previous fragment, already in the ring. */
	c->msg = c->buf + c->chunk_pos;
	c->msg_txid = fcopy_msg_init(c->h, c->msg, c->fw, c->svc, FCOPY_OP_WRITE, FCOPY_WRITE_LEN);
	fcopy_put_write(c->msg, c->offset, c->msg_size);
	return 0;
}

/* WRITE the whole file, up to arg_pipeline outstanding. Returns an exit status, or -1 when done. */
static int copy_data(struct copy *c)
{
	struct pending req;
	uint32_t status;
	int r;

	for (;;) {
		r = fault(c);
		if (r >= 0)
			return r;
		if (!c->msg) {
			r = next_write(c);
			if (r < 0) {
				progress_end(c);
				fprintf(stderr, "hv-hostsim: cannot read '%s': %s\n", arg_source, strerror(-r));
				return cancel_copy(c, "cannot read SOURCE");
			}
		}
		if (!c->msg && c->q_len == 0)
			return -1;
		if (c->msg && c->q_len < arg_pipeline) {
			r = send_request(c, c->msg, WRITE_MSG_LEN, FCOPY_OP_WRITE, c->msg_txid, c->msg_size);
			if (r == 0) {
				c->chunk_pos += c->msg_size;
				c->offset += c->msg_size;
				c->msg = NULL;
				continue;
			}
			if (r == -EINTR)
				continue;
			/* -EAGAIN: the ring is full and an answer waits; take it below. */
			if (r != -EAGAIN)
				return lost(c, r);
		}
		r = receive_answer(c, &req, &status);
		if (r == -EINTR)
			continue;
		if (r < 0)
			return lost(c, r);
		if (status != VMBUS_HV_S_OK) {
			int e = refused(c, req.op, status);

			/* As a host does on an error: cancel, whatever the guest answers to that. */
			r = cancel(c);
			return r < 0 ? lost(c, r) : e;
		}
		c->answered += req.bytes;
		progress(c, false);
	}
}

/* Send one request alone and wait for its answer. Returns 0 with the status, or -errno. */
static int exchange(struct copy *c, const uint8_t *msg, size_t len, uint32_t op, uint8_t txid,
		    uint32_t *ret_status)
{
	struct pending req;
	int r;

	r = send_request(c, msg, len, op, txid, 0);
	/* -EAGAIN: not sent, and nothing is outstanding, so what waits matches nothing. */
	if (r < 0 && r != -EAGAIN)
		return r;
	r = receive_answer(c, &req, ret_status);
	return r == 0 && req.op != op ? -EBADMSG : r;
}

static const char *flags_text(uint32_t flags)
{
	switch (flags) {
	case 0:
		return "none";
	case FCOPY_FLAG_OVER_WRITE:
		return "OVER_WRITE";
	case FCOPY_FLAG_CREATE_PATH:
		return "CREATE_PATH";
	default:
		return "OVER_WRITE|CREATE_PATH";
	}
}

static int copy_file(struct copy *c)
{
	uint8_t start[START_MSG_LEN], done[SHORT_MSG_LEN];
	uint32_t flags = (arg_overwrite ? FCOPY_FLAG_OVER_WRITE : 0) |
			 (arg_create_path ? FCOPY_FLAG_CREATE_PATH : 0);
	uint64_t declared = arg_declare ? arg_declared_size : source_size;
	char path[3 * FCOPY_W_MAX_PATH], name[3 * FCOPY_W_MAX_PATH];
	uint32_t status;
	uint8_t txid;
	double secs;
	int r;

	txid = fcopy_msg_init(c->h, start, c->fw, c->svc, FCOPY_OP_START, FCOPY_START_LEN);
	memcpy(start + VMBUS_IC_HDR_LEN + FCOPY_OFF_FILE_NAME, file_name, sizeof(file_name));
	memcpy(start + VMBUS_IC_HDR_LEN + FCOPY_OFF_PATH_NAME, path_name, sizeof(path_name));
	fcopy_put_start(start, flags, declared);
	/* Both names came from UTF-8 that fits: converting back cannot fail. */
	vmbus_utf16_to_utf8(path_name, sizeof(path_name), path, sizeof(path));
	vmbus_utf16_to_utf8(file_name, sizeof(file_name), name, sizeof(name));
	printf("host: START_FILE_COPY of '%s' (%llu bytes, %llu declared): path '%s', file '%s', "
	       "flags %s\n",
	       arg_source, (unsigned long long)source_size, (unsigned long long)declared, path, name,
	       flags_text(flags));

	c->t0 = c->last_draw = now_us();
	r = exchange(c, start, sizeof(start), FCOPY_OP_START, txid, &status);
	if (r == -EINTR)
		/* START is outstanding: cancel() takes its answer first. */
		return interrupted(c);
	if (r < 0)
		return lost(c, r);
	if (status != VMBUS_HV_S_OK)
		return refused(c, FCOPY_OP_START, status);

	r = copy_data(c);
	if (r >= 0)
		return r;

	txid = fcopy_msg_init(c->h, done, c->fw, c->svc, FCOPY_OP_COMPLETE, FCOPY_HDR_LEN);
	r = exchange(c, done, sizeof(done), FCOPY_OP_COMPLETE, txid, &status);
	if (r == -EINTR)
		return interrupted(c);
	if (r < 0)
		return lost(c, r);
	progress_end(c);
	if (status != VMBUS_HV_S_OK)
		return refused(c, FCOPY_OP_COMPLETE, status);
	secs = (double)(now_us() - c->t0) / 1e6;
	set_summary("copied %s: %llu bytes in %.3f s (%.1f MB/s)", arg_name,
		    (unsigned long long)c->answered, secs,
		    secs > 0 ? (double)c->answered / 1e6 / secs : 0.0);
	return HOSTSIM_EXIT_OK;
}

int fcopy_run(struct hostsim *h)
{
	struct sigaction sa = { .sa_handler = on_signal, .sa_flags = SA_RESETHAND };
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	struct copy c = { .h = h, .tty = isatty(STDOUT_FILENO) };
	int r;

	r = host_negotiate(h, &c.fw, &c.svc);
	if (r != HOSTSIM_EXIT_OK) {
		set_summary("copy of %s failed: no version agreed", arg_name);
		return r;
	}
	c.buf = malloc(WRITE_HDR_LEN + CHUNK_LEN);
	if (!c.buf) {
		fprintf(stderr, "hv-hostsim: out of memory\n");
		set_summary("copy of %s failed: out of memory", arg_name);
		return HOSTSIM_EXIT_NOANSWER;
	}

	/* Ctrl-C or SIGTERM: cancel as a host would. No SA_RESTART; a second one kills. */
	interrupt_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (interrupt_fd < 0) {
		fprintf(stderr, "hv-hostsim: cannot create an eventfd: %m\n");
		free(c.buf);
		set_summary("copy of %s failed: no eventfd", arg_name);
		return HOSTSIM_EXIT_NOANSWER;
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	h->interrupt_fd = interrupt_fd;

	r = copy_file(&c);

	h->interrupt_fd = -1;
	sigemptyset(&dfl.sa_mask);
	sigaction(SIGINT, &dfl, NULL);
	sigaction(SIGTERM, &dfl, NULL);
	close(interrupt_fd);
	interrupt_fd = -1;
	progress_end(&c);
	free(c.buf);
	return r;
}
