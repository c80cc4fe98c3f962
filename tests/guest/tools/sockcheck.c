// SPDX-License-Identifier: GPL-2.0
/*
 * sockcheck: the socket-level guest suite, in the manner of the kernel's kTLS
 * selftests (tools/testing/selftests/net/tls.c). Each case runs in a process
 * of its own, which plays three parts:
 *
 *   backend  (forked child)  a TCP server answering "GET /<i>" with response i
 *            of the case: deterministic pseudo-random bodies, Content-Length,
 *            chunked or close-delimited, sent in the case's pieces, pauses and
 *            stalls, then kept open, shut down or closed;
 *   sink     (forked child)  the HTTP client: connects to the proxy, sends the
 *            requests, reads everything until the proxy closes and compares
 *            it byte for byte with what the backend sent;
 *   proxy    (that process)  accepts the sink (that socket receives first:
 *            libra's SERVER role), connects to the backend and sends the
 *            request first (CLIENT role), reads the response with the case's
 *            read pattern and forwards exactly the bytes it read, with the
 *            case's write pattern.
 *
 * Every case runs twice: "off" (stock kernel paths) and "on" (this process,
 * and only this process, opted in through /dev/libra). Both must be
 * byte-exact at the sink. The proxy also checks what each read returned:
 * metadata exact, body bytes exact or a token region (token, then bytes the
 * kernel leaves alone) lying inside the bytes that read returned and inside
 * one body. On "on" runs the module's counters must show what the design
 * says for the pattern: anchored and sent from the anchors where it can,
 * nothing anchored where it cannot (regions under 1024 bytes, a stream that
 * started before the opt-in, bytes spliced behind libra's back), and every
 * anchor released afterwards. Anchors a failing case leaves behind go with
 * its process, so they cannot steer the next case's sends.
 *
 *   sockcheck [--only NAME[,NAME...]] [--skip NAME[,NAME...]] [--off-only] [--list]
 *             [--inject corrupt|no-optin]
 *
 * --off-only runs without /dev/libra (on any host). --inject proves the
 * checks can fail: "corrupt" flips one forwarded byte in every run (metadata
 * in the middle of the stream, so it shows in "on" runs too), "no-optin"
 * skips the opt-in of "on" runs. Exit status: 0 when every run passed.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/libra.h>

#define KiB 1024u
#define MiB (1024u * 1024u)
#define MAX_RESP 8
#define MAX_PAUSES 64
#define MAX_IOV 1024
#define RUN_TIMEOUT_S 120
#define POISON 0x5a	/* fills read buffers first: bytes the kernel leaves alone show it */

/* functions, not macros: arguments are often rnd_range() calls */
static inline size_t min_z(size_t a, size_t b) { return a < b ? a : b; }
static inline size_t max_z(size_t a, size_t b) { return a > b ? a : b; }
#define MIN(a, b) min_z((a), (b))
#define MAX(a, b) max_z((a), (b))

/* ------------------------------------------------------------------ cases */

enum framing { F_CL, F_CHUNKED, F_CLOSE };

struct resp_spec {
	enum framing f;
	uint32_t body;
	uint32_t chunk_min, chunk_max;	/* F_CHUNKED: sizes of its chunks */
	bool f7_ends;			/* F_CHUNKED: every chunk's data ends in 0xf7, a token's first byte */
};

enum backend_end {
	END_KEEP,	/* wait for the proxy to close */
	END_SHUTDOWN,	/* shutdown(SHUT_WR) right after the last response */
	END_CLOSE,	/* close() right after the last response */
};

struct backend_spec {
	uint32_t piece_min, piece_max;	/* bytes per send call; 0: all at once */
	uint32_t piece_pause_ms;	/* sleep after every piece */
	uint32_t stall_ms;		/* before the first byte of each response */
	uint32_t pause_hdr_at;		/* pause after this many header bytes (0: no) */
	uint32_t pause_hdr_again;	/* and again this many bytes later (0: no) */
	uint32_t pauses, pause_ms;	/* pauses spread evenly over each body */
	enum backend_end end;
	bool tolerate_reset;		/* the proxy may close with data unread */
	bool wait_go;			/* send nothing before the proxy says go */
};

enum rd_kind {
	RD_SIZES,	/* recv() of each size of @sizes in turn */
	RD_RANDOM,	/* recv() of random sizes in [rmin, rmax] */
	RD_READV,	/* readv() of @iovs buffers of [rmin, rmax] bytes; writev of the same shape */
	RD_PEEK,	/* recv(MSG_PEEK) of @sizes, then recv() of what the peek saw */
	RD_WAITALL,	/* recv(MSG_WAITALL) of the whole message */
	RD_LOWAT,	/* SO_RCVLOWAT @lowat, recv() of up to 256 KiB */
	RD_POLL,	/* poll() then recv(MSG_DONTWAIT) of @sizes */
	RD_EPOLL,	/* O_NONBLOCK, edge-triggered epoll, drained to EAGAIN */
	RD_NONBLOCK,	/* O_NONBLOCK recv() of @sizes, poll() after EAGAIN */
	RD_TIMEO,	/* SO_RCVTIMEO @timeo_ms, recv() of @sizes through the timeouts */
	RD_SIGNAL,	/* recv() of @sizes, each interrupted by SIGUSR1 (no SA_RESTART) if it sleeps 40 ms: EINTR, again */
	RD_SPLICE,	/* recv() of the first headers, splice() past the next ones, then recv() of @sizes */
	RD_TRUNC,	/* recv() of @sizes, the last of them with MSG_TRUNC: discarded, the originals forwarded */
};

enum wr_kind {
	WR_ONE,		/* one send() per read */
	WR_SMALL,	/* sends of random sizes in [wmin, wmax] */
	WR_MORE,	/* each read in two sends with MSG_MORE, and the requests too */
	WR_NONBLOCK,	/* O_NONBLOCK downstream, small send buffer, slow sink */
	WR_SPLIT,	/* a send boundary 3 bytes into every body part a read holds: inside its token */
	WR_CUT_F7,	/* a send boundary after every 0xf7 (a token's first byte) in body bytes,
			 * and one per buffer a readv() filled */
	WR_EDGE,	/* O_NONBLOCK downstream, a send boundary after every body part's
			 * following two bytes (a chunk's CRLF), as nginx's chunked output
			 * ends its writes; after a short send, wait for an edge-triggered
			 * EPOLLOUT before going on, as nginx does */
};

enum optin_when {
	OPTIN_START,		/* before any traffic */
	OPTIN_CHILD,		/* the proxy is a child process that opts itself in and exits */
	OPTIN_QUEUED,		/* after the response started arriving */
	OPTIN_BLOCKED,		/* while a thread is blocked in recv (see @block) */
};

/*
 * Where a thread sleeps in recv() before its peer sends anything. Otherwise
 * the proxy waits for POLLIN before reading a request, as event-driven
 * proxies do.
 */
enum block_where {
	BLOCK_NONE,
	BLOCK_DOWN,	/* reading the request: the sink sends when told */
	BLOCK_UP,	/* reading the response: the backend sends when told */
};

enum expect {
	EXP_ANCHOR,		/* bodies anchored and sent from the anchors */
	EXP_SMALL,		/* reads too small for a region: nothing anchored */
	EXP_NOT_ADOPTED,	/* the streams started before the opt-in: left alone */
	EXP_DESYNC,		/* bytes consumed behind libra's back: passed through */
};

enum zc_rule {
	ZC_ALL,		/* every anchored byte went out from the anchors */
	ZC_SOME,	/* some, not all (the proxy forwarded part of what it read) */
	ZC_NONE,	/* none (the proxy forwarded no body) */
};

struct case_spec {
	const char *name;
	int family;
	struct resp_spec resp[MAX_RESP];
	int nresp;
	bool pipelined;			/* the sink sends every request at once */
	enum rd_kind rd;
	uint32_t sizes[8];
	int nsizes;
	uint32_t rmin, rmax;
	int iovs;
	bool empty_iovs;		/* RD_READV: every other buffer is empty, the first one too */
	enum wr_kind wr;
	uint32_t wmin, wmax;
	struct backend_spec be;
	enum optin_when optin;
	enum block_where block;
	enum expect expect;
	enum zc_rule zc;
	bool unframed;			/* the downstream socket is not adopted */
	bool check_partial;		/* bytes before each backend pause reach the proxy during it */
	bool check_idle;		/* a recv() waiting out the pauses sleeps: under half their time in CPU */
	size_t abort_read, abort_fwd;	/* read only so much, forward only so much, close */
	uint32_t lowat, timeo_ms;
	uint32_t sink_delay_ms, sink_rcvbuf;
};

#define SZ(...) .sizes = { __VA_ARGS__ }, .nsizes = sizeof((uint32_t[]){ __VA_ARGS__ }) / sizeof(uint32_t)
#define CL(n) { .f = F_CL, .body = (n) }
#define CHUNKED(n, lo, hi) { .f = F_CHUNKED, .body = (n), .chunk_min = (lo), .chunk_max = (hi) }
#define CHUNKED_F7(n, lo, hi) { .f = F_CHUNKED, .body = (n), .chunk_min = (lo), .chunk_max = (hi), \
				.f7_ends = true }
#define CLOSED(n) { .f = F_CLOSE, .body = (n) }
#define ONE(r) .resp = { r }, .nresp = 1

static const struct case_spec cases[] = {
	/* partial and misaligned reads */
	{ .name = "read-1", .family = AF_INET, ONE(CL(65600)), .rd = RD_SIZES, SZ(1), .expect = EXP_SMALL },
	{ .name = "read-7", .family = AF_INET6, ONE(CHUNKED(70001, 20000, 30000)), .rd = RD_SIZES, SZ(7),
	  .expect = EXP_SMALL },
	{ .name = "read-1000", .family = AF_INET, ONE(CL(300000)), .rd = RD_SIZES, SZ(1000),
	  .expect = EXP_SMALL },
	{ .name = "read-4093", .family = AF_INET6, ONE(CL(MiB)), .rd = RD_SIZES, SZ(4093) },
	{ .name = "read-65537", .family = AF_INET, ONE(CL(4 * MiB + 3)), .rd = RD_SIZES, SZ(65537) },
	{ .name = "read-mixed", .family = AF_INET6, ONE(CHUNKED(MiB, 1000, 70000)), .rd = RD_SIZES,
	  SZ(1, 7, 1000, 4093, 65537) },
	{ .name = "read-random", .family = AF_INET, ONE(CL(2 * MiB + 1)), .rd = RD_RANDOM,
	  .rmin = 1, .rmax = 131072 },
	{ .name = "read-random6", .family = AF_INET6, ONE(CHUNKED(MiB, 16384, 100000)), .rd = RD_RANDOM,
	  .rmin = 1, .rmax = 8192 },
	/* readv, forwarded with writev of the same shape */
	{ .name = "readv-1", .family = AF_INET, ONE(CL(MiB)), .rd = RD_READV, .iovs = 1,
	  .rmin = 65536, .rmax = 65536 },
	/* empty buffers, one of them first, between the others: skipped as stock skips them */
	{ .name = "readv-empty", .family = AF_INET, ONE(CHUNKED(MiB, 16384, 100000)), .rd = RD_READV, .iovs = 9,
	  .empty_iovs = true, .rmin = 1, .rmax = 40000 },
	{ .name = "readv-2", .family = AF_INET6, ONE(CL(MiB + 5)), .rd = RD_READV, .iovs = 2,
	  .rmin = 100, .rmax = 40000 },
	{ .name = "readv-16", .family = AF_INET, ONE(CHUNKED(2 * MiB, 16384, 300000)), .rd = RD_READV,
	  .iovs = 16, .rmin = 1, .rmax = 20000 },
	{ .name = "readv-256", .family = AF_INET6, ONE(CL(MiB)), .rd = RD_READV, .iovs = 256,
	  .rmin = 1, .rmax = 4096 },
	{ .name = "readv-1024", .family = AF_INET, ONE(CL(2 * MiB)), .rd = RD_READV, .iovs = 1024,
	  .rmin = 1, .rmax = 2048 },
	/* peeking, MSG_WAITALL, SO_RCVLOWAT */
	{ .name = "peek-then-read", .family = AF_INET, ONE(CL(MiB)), .rd = RD_PEEK, SZ(65537, 4093, 1, 30000) },
	{ .name = "waitall", .family = AF_INET6, ONE(CL(MiB)), .rd = RD_WAITALL,
	  .be = { .pauses = 4, .pause_ms = 50 } },
	{ .name = "rcvlowat", .family = AF_INET, ONE(CL(512 * KiB)), .rd = RD_LOWAT, .lowat = 32768,
	  .be = { .piece_min = 8192, .piece_max = 8192, .piece_pause_ms = 20 } },
	/* readiness, non-blocking, timeouts */
	{ .name = "poll-partial", .family = AF_INET, ONE(CL(MiB)), .rd = RD_POLL, SZ(65537),
	  .be = { .pause_hdr_at = 20, .pauses = 1, .pause_ms = 500 }, .check_partial = true },
	{ .name = "epoll-partial", .family = AF_INET6, ONE(CHUNKED(MiB, 16384, 200000)), .rd = RD_EPOLL,
	  SZ(65537), .be = { .pause_hdr_at = 40, .pauses = 2, .pause_ms = 500 }, .check_partial = true },
	/*
	 * Two bytes of a header line alone, then a pause: fewer than the parser
	 * asks for to go on, but stock returns them, and so must libra.
	 */
	{ .name = "epoll-short-piece", .family = AF_INET, ONE(CL(MiB)), .rd = RD_EPOLL, SZ(65537),
	  .be = { .pause_hdr_at = 20, .pause_hdr_again = 2, .pause_ms = 500 }, .check_partial = true },
	{ .name = "nonblock", .family = AF_INET, ONE(CL(MiB)), .rd = RD_NONBLOCK, SZ(65537),
	  .wr = WR_NONBLOCK, .be = { .stall_ms = 300, .pauses = 2, .pause_ms = 300 },
	  .sink_delay_ms = 300, .sink_rcvbuf = 4096 },
	/* a blocking recv() waiting for the rest of a header line sleeps, as stock's does */
	{ .name = "blocked-mid-headers", .family = AF_INET6, ONE(CL(MiB)), .rd = RD_SIZES, SZ(65537),
	  .be = { .pause_hdr_at = 30, .pauses = 1, .pause_ms = 1500 }, .check_idle = true },
	/* reads that discard: MSG_TRUNC takes the stock path; the anchors around it are unaffected */
	{ .name = "msg-trunc", .family = AF_INET6, .resp = { CL(MiB), CHUNKED(MiB, 16384, 200000) }, .nresp = 2,
	  .rd = RD_TRUNC, SZ(65537, 4093) },
	{ .name = "signal-eintr", .family = AF_INET, ONE(CL(MiB)), .rd = RD_SIGNAL, SZ(65537),
	  .be = { .stall_ms = 300, .pauses = 2, .pause_ms = 300 } },
	{ .name = "rcvtimeo", .family = AF_INET6, ONE(CL(MiB)), .rd = RD_TIMEO, SZ(65537), .timeo_ms = 300,
	  .be = { .stall_ms = 1000, .pauses = 1, .pause_ms = 1000 } },
	/* end of stream, and the proxy giving up */
	{ .name = "eof-shutdown", .family = AF_INET, ONE(CL(MiB)), .rd = RD_SIZES, SZ(65537),
	  .be = { .end = END_SHUTDOWN } },
	{ .name = "eof-close", .family = AF_INET6, ONE(CL(MiB)), .rd = RD_SIZES, SZ(4093),
	  .be = { .end = END_CLOSE } },
	{ .name = "close-delimited", .family = AF_INET, ONE(CLOSED(MiB + 77)), .rd = RD_SIZES, SZ(65537),
	  .be = { .end = END_CLOSE } },
	{ .name = "close-delimited6", .family = AF_INET6, ONE(CLOSED(MiB)), .rd = RD_RANDOM,
	  .rmin = 1, .rmax = 100000, .be = { .end = END_CLOSE, .pauses = 3, .pause_ms = 20 } },
	{ .name = "abort-unread", .family = AF_INET, ONE(CL(4 * MiB)), .rd = RD_SIZES, SZ(65537),
	  .abort_read = 400000, .abort_fwd = 400000, .be = { .tolerate_reset = true } },
	{ .name = "abort-unsent", .family = AF_INET6, ONE(CL(4 * MiB)), .rd = RD_SIZES, SZ(65537),
	  .abort_read = 600000, .abort_fwd = 250000, .zc = ZC_SOME, .be = { .tolerate_reset = true } },
	/*
	 * A child proxy that forwards nothing and exits: none of the response
	 * ever went out, so the upstream's close already releases its anchors.
	 */
	{ .name = "abort-exit", .family = AF_INET, ONE(CL(4 * MiB)), .rd = RD_SIZES, SZ(65537),
	  .abort_read = 600000, .abort_fwd = 0, .zc = ZC_NONE, .optin = OPTIN_CHILD,
	  .be = { .tolerate_reset = true } },
	/* opt-in when the stream has started */
	{ .name = "optin-queued", .family = AF_INET, ONE(CL(MiB)), .rd = RD_SIZES, SZ(65537),
	  .optin = OPTIN_QUEUED, .expect = EXP_NOT_ADOPTED },
	{ .name = "optin-blocked-up", .family = AF_INET6, ONE(CL(MiB)), .rd = RD_SIZES, SZ(65537),
	  .optin = OPTIN_BLOCKED, .block = BLOCK_UP, .expect = EXP_NOT_ADOPTED, .be = { .wait_go = true } },
	{ .name = "optin-blocked-down", .family = AF_INET, ONE(CL(MiB)), .rd = RD_SIZES, SZ(65537),
	  .optin = OPTIN_BLOCKED, .block = BLOCK_DOWN, .unframed = true },
	/*
	 * (Send boundaries inside the tokens on such a stream, where libra does
	 * not follow the framing, cut a region past the buffer a send was given:
	 * that send fails. failsafe's unframed-interleave and unix-cut cases
	 * test it.)
	 */
	/* opted in from the start, the proxy asleep in recv() before the request comes: still SERVER */
	{ .name = "server-blocking-recv", .family = AF_INET6, ONE(CL(MiB)), .rd = RD_SIZES, SZ(65537),
	  .block = BLOCK_DOWN },
	/* splice() consumes past the parser's frontier: noticed, passed through */
	{ .name = "splice", .family = AF_INET, .pipelined = true, .resp = { CL(MiB), CL(MiB) }, .nresp = 2,
	  .rd = RD_SPLICE, SZ(65537), .be = { .stall_ms = 300 }, .expect = EXP_DESYNC },
	/* sends */
	{ .name = "split-token", .family = AF_INET6, .resp = { CL(MiB), CHUNKED(MiB, 16384, 200000) }, .nresp = 2,
	  .rd = RD_SIZES, SZ(65537), .wr = WR_SPLIT },
	{ .name = "split-token-close", .family = AF_INET, ONE(CLOSED(MiB)), .rd = RD_SIZES, SZ(65537),
	  .wr = WR_SPLIT, .be = { .end = END_CLOSE } },
	/*
	 * Body bytes copied (chunks under min-body) between anchored ones,
	 * each send ending after a byte like a token's first: held, then found
	 * to be no token, they go out as they are and are no rejected token.
	 */
	{ .name = "cut-after-f7", .family = AF_INET, ONE(CHUNKED(MiB, 300, 40000)), .rd = RD_SIZES,
	  SZ(65537), .wr = WR_CUT_F7 },
	/*
	 * The same where a copied body part (a readv buffer under 1024 bytes)
	 * runs straight into a region: the cut must not hide its token.
	 */
	{ .name = "readv-cut-after-f7", .family = AF_INET6, ONE(CL(2 * MiB)), .rd = RD_READV, .iovs = 16,
	  .rmin = 1, .rmax = 1100, .wr = WR_CUT_F7 },
	/*
	 * Each chunk's data ending in 0xf7, and each send ending with the chunk's
	 * CRLF, as nginx's chunked output does: the send must take all of it while
	 * the socket has room. A short send there leaves no EPOLLOUT edge to come,
	 * and an edge-triggered writer (nginx) waits for one until its timeout.
	 * The last chunk, in a send of its own, ends the body: the 0xf7 before it
	 * must go out then, or the response never completes and the next request
	 * never comes.
	 */
	{ .name = "edge-f7-chunk-ends", .family = AF_INET,
	  .resp = { CHUNKED_F7(MiB, 300, 40000), CHUNKED_F7(300000, 300, 40000) }, .nresp = 2,
	  .rd = RD_SIZES, SZ(65537), .wr = WR_EDGE },
	{ .name = "backend-small-sends", .family = AF_INET6, ONE(CL(MiB)), .rd = RD_SIZES, SZ(65537),
	  .be = { .piece_min = 1, .piece_max = 1500 } },
	{ .name = "proxy-small-sends", .family = AF_INET, ONE(CHUNKED(MiB, 16384, 100000)), .rd = RD_SIZES,
	  SZ(65537), .wr = WR_SMALL, .wmin = 1, .wmax = 300 },
	{ .name = "msg-more", .family = AF_INET6, .resp = { CL(MiB), CHUNKED(300000, 16384, 70000) }, .nresp = 2,
	  .rd = RD_SIZES, SZ(65537, 4093), .wr = WR_MORE },
	/* keep-alive: several responses on one upstream connection */
	{ .name = "keepalive", .family = AF_INET,
	  .resp = { CL(MiB), CHUNKED(300000, 16384, 70000), CL(100), CL(70000), CHUNKED(2 * MiB, 1000, 200000) },
	  .nresp = 5, .rd = RD_SIZES, SZ(65537) },
	{ .name = "keepalive-pipelined", .family = AF_INET6, .pipelined = true,
	  .resp = { CL(MiB), CHUNKED(300000, 16384, 70000), CL(100), CL(70000), CLOSED(MiB) },
	  .nresp = 5, .rd = RD_RANDOM, .rmin = 1, .rmax = 100000, .be = { .end = END_CLOSE } },
};
#define NCASES (sizeof(cases) / sizeof(cases[0]))

/* ------------------------------------------------------------ generator */

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint32_t rnd_range(uint64_t *s, uint32_t lo, uint32_t hi)
{
	return hi <= lo ? lo : lo + (uint32_t)(splitmix(s) % ((uint64_t)hi - lo + 1));
}

static uint64_t case_seed(const struct case_spec *c)
{
	uint64_t h = 1469598103934665603ULL;

	for (const char *p = c->name; *p; p++)
		h = (h ^ (uint8_t)*p) * 1099511628211ULL;
	return h;
}

struct range {
	size_t start, end;
};

/* Everything the backend sends in a case, in order, and where the bodies are. */
struct stream {
	uint8_t *data;
	size_t len, cap;
	struct range *body;
	size_t nbody, body_cap;
	size_t resp_start[MAX_RESP + 1];
	size_t body_start[MAX_RESP];	/* first body byte of response i (its headers' end) */
	char req[MAX_RESP][160];
	size_t req_len[MAX_RESP];
};

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (!p) {
		perror("sockcheck: realloc");
		exit(2);
	}
	return p;
}

static void put(struct stream *s, const void *p, size_t n)
{
	if (s->len + n > s->cap) {
		s->cap = MAX(s->cap * 2, s->len + n + 4096);
		s->data = xrealloc(s->data, s->cap);
	}
	memcpy(s->data + s->len, p, n);
	s->len += n;
}

static void putf(struct stream *s, const char *fmt, ...)
{
	char line[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	put(s, line, n);
}

/* @n pseudo-random body bytes; each body of the case has its own seed. */
static void put_body(struct stream *s, uint64_t *seed, size_t n)
{
	if (s->nbody == s->body_cap) {
		s->body_cap = MAX(16, s->body_cap * 2);
		s->body = xrealloc(s->body, s->body_cap * sizeof(*s->body));
	}
	s->body[s->nbody++] = (struct range){ s->len, s->len + n };
	while (n) {
		uint64_t v = splitmix(seed);
		size_t k = MIN(n, sizeof(v));

		put(s, &v, k);
		n -= k;
	}
}

static void build_stream(const struct case_spec *c, struct stream *s)
{
	uint64_t seed = case_seed(c);

	memset(s, 0, sizeof(*s));
	for (int i = 0; i < c->nresp; i++) {
		const struct resp_spec *r = &c->resp[i];
		uint64_t bseed = seed ^ (0x1000193ULL * (i + 1)), cseed = bseed ^ 0xc0ffee;

		s->req_len[i] = snprintf(s->req[i], sizeof(s->req[i]),
					 "GET /%d HTTP/1.1\r\nHost: sockcheck\r\nX-Case: %s\r\n\r\n", i, c->name);
		s->resp_start[i] = s->len;
		putf(s, "HTTP/1.1 200 OK\r\nServer: sockcheck\r\nContent-Type: application/octet-stream\r\n");
		switch (r->f) {
		case F_CL:
			putf(s, "Content-Length: %u\r\n\r\n", r->body);
			s->body_start[i] = s->len;
			put_body(s, &bseed, r->body);
			break;
		case F_CLOSE:
			putf(s, "Connection: close\r\n\r\n");
			s->body_start[i] = s->len;
			put_body(s, &bseed, r->body);
			break;
		case F_CHUNKED: {
			uint32_t left = r->body, k = 0;

			putf(s, "Transfer-Encoding: chunked\r\n\r\n");
			s->body_start[i] = s->len;
			while (left) {
				uint32_t n = MIN(left, rnd_range(&cseed, r->chunk_min, r->chunk_max));

				putf(s, k % 3 == 1 ? "%x;ext=%u\r\n" : "%x\r\n", n, k);
				k++;
				put_body(s, &bseed, n);
				if (r->f7_ends)
					s->data[s->len - 1] = 0xf7;
				putf(s, "\r\n");
				left -= n;
			}
			putf(s, i % 2 ? "0\r\n\r\n" : "0\r\nX-Trailer: done\r\n\r\n");
			break;
		}
		}
	}
	s->resp_start[c->nresp] = s->len;
}

static void free_stream(struct stream *s)
{
	free(s->data);
	free(s->body);
}

/* The body range holding @pos, or NULL; *next: where the next body starts (or len). */
static const struct range *body_at(const struct stream *s, size_t pos, size_t *next)
{
	size_t lo = 0, hi = s->nbody;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (s->body[mid].end <= pos)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < s->nbody && s->body[lo].start <= pos)
		return &s->body[lo];
	*next = lo < s->nbody ? s->body[lo].start : s->len;
	return NULL;
}

/* -------------------------------------------------------------- helpers */

static volatile sig_atomic_t timed_out;
static int libra_fd = -1;
static bool off_only;
static enum { INJECT_NONE, INJECT_CORRUPT, INJECT_NO_OPTIN } inject;

/* Shared with the backend: when it paused and when it went on. */
struct shared {
	int npauses;
	size_t pause_at[MAX_PAUSES];	/* stream bytes sent before the pause */
	uint64_t resumed_ns[MAX_PAUSES];
};
static struct shared *shared;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void sleep_ms(uint32_t ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR && !timed_out)
		;
}

static void on_alarm(int sig)
{
	(void)sig;
	timed_out = 1;
}

static void set_nonblock(int fd, bool on)
{
	int fl = fcntl(fd, F_GETFL);

	fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK);
}

static socklen_t loopback(int family, uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_loopback;
		a->sin6_port = htons(port);
		return sizeof(*a);
	}
	struct sockaddr_in *a = (struct sockaddr_in *)ss;

	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a->sin_port = htons(port);
	return sizeof(*a);
}

static int listen_on(int family, uint16_t *port)
{
	struct sockaddr_storage ss;
	socklen_t len = loopback(family, 0, &ss);
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 8) ||
	    getsockname(fd, (struct sockaddr *)&ss, &len)) {
		fprintf(stderr, "sockcheck: listening on %s loopback: %s\n",
			family == AF_INET6 ? "IPv6" : "IPv4", strerror(errno));
		exit(2);
	}
	*port = ntohs(family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
					 : ((struct sockaddr_in *)&ss)->sin_port);
	return fd;
}

static int connect_to(int family, uint16_t port, int rcvbuf)
{
	struct sockaddr_storage ss;
	socklen_t len = loopback(family, port, &ss);
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (rcvbuf)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (connect(fd, (struct sockaddr *)&ss, len)) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* ----------------------------------------------------------- /dev/libra */

static void get_stats(uint64_t *v)
{
	struct libra_stats req = { .count = __LIBRA_STAT_MAX, .values = (uintptr_t)v };

	memset(v, 0, sizeof(uint64_t) * __LIBRA_STAT_MAX);
	if (libra_fd >= 0 && ioctl(libra_fd, LIBRA_IOC_GET_STATS, &req)) {
		perror("sockcheck: LIBRA_IOC_GET_STATS");
		exit(2);
	}
}

static uint64_t stat_now(enum libra_stat which)
{
	uint64_t v[__LIBRA_STAT_MAX];

	get_stats(v);
	return v[which];
}

static int optin(bool add)
{
	struct libra_optin req = { .pid = getpid() };

	if (libra_fd < 0)
		return 0;
	return ioctl(libra_fd, add ? LIBRA_IOC_OPTIN_ADD : LIBRA_IOC_OPTIN_DEL, &req) ? -errno : 0;
}

/* Waits up to @ms for no anchor and no anchored byte; returns the anchors left. */
static uint64_t wait_released(uint32_t ms)
{
	uint64_t v[__LIBRA_STAT_MAX];

	for (uint32_t t = 0;; t += 20) {
		get_stats(v);
		if (!v[LIBRA_STAT_ANCHORS_NOW] && !v[LIBRA_STAT_ANCHORED_BYTES_NOW])
			return 0;
		if (t >= ms)
			return v[LIBRA_STAT_ANCHORS_NOW] ? v[LIBRA_STAT_ANCHORS_NOW] : 1;
		usleep(20000);
	}
}

/* --------------------------------------------------------------- backend */

static void backend_die(const struct case_spec *c, const char *label, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "case %s %s: backend: ", c->name, label);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	_exit(1);
}

/* Sends stream bytes [from, to); false if the peer went away. */
static bool backend_send(int fd, const struct case_spec *c, const struct stream *s,
			 size_t from, size_t to, uint64_t *rng, const char *label)
{
	while (from < to) {
		size_t n = to - from;
		ssize_t r;

		if (c->be.piece_max)
			n = MIN(n, rnd_range(rng, c->be.piece_min, c->be.piece_max));
		r = send(fd, s->data + from, n, MSG_NOSIGNAL);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (c->be.tolerate_reset && (errno == EPIPE || errno == ECONNRESET))
				return false;
			backend_die(c, label, "send: %s", strerror(errno));
		}
		from += r;
		if (c->be.piece_pause_ms)
			sleep_ms(c->be.piece_pause_ms);
	}
	return true;
}

static void pause_here(size_t at, uint32_t ms)
{
	sleep_ms(ms);
	if (shared->npauses < MAX_PAUSES) {
		shared->pause_at[shared->npauses] = at;
		shared->resumed_ns[shared->npauses] = now_ns();
		shared->npauses++;
	}
}

static void backend_main(const struct case_spec *c, const struct stream *s, int lfd, int go_fd,
			 const char *label)
{
	uint64_t rng = case_seed(c) ^ 0xbac4e9d;
	char req[4096];
	size_t have = 0;
	int fd, one = 1, served = 0;

	signal(SIGALRM, SIG_DFL);
	alarm(RUN_TIMEOUT_S);
	fd = accept(lfd, NULL, NULL);
	if (fd < 0)
		backend_die(c, label, "accept: %s", strerror(errno));
	close(lfd);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

	while (served < c->nresp) {
		char *end, *p;
		int idx;
		ssize_t r;

		while (!(end = memmem(req, have, "\r\n\r\n", 4))) {
			if (have == sizeof(req))
				backend_die(c, label, "request too long");
			r = recv(fd, req + have, sizeof(req) - have, 0);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				if (c->be.tolerate_reset)
					_exit(0);
				backend_die(c, label, "the proxy closed after %d of %d requests", served, c->nresp);
			}
			have += r;
		}
		if (sscanf(req, "GET /%d HTTP/1.1\r\n", &idx) != 1 || idx != served ||
		    (size_t)(end + 4 - req) != s->req_len[idx] || memcmp(req, s->req[idx], s->req_len[idx]))
			backend_die(c, label, "request %d arrived wrong: %.60s", served, req);
		p = end + 4;
		have -= p - req;
		memmove(req, p, have);

		if (c->be.wait_go && !served) {
			char go;

			if (read(go_fd, &go, 1) != 1)
				backend_die(c, label, "no go from the proxy");
		}
		if (c->be.stall_ms)
			sleep_ms(c->be.stall_ms);

		/* the response, with its pauses */
		size_t from = s->resp_start[idx], to = s->resp_start[idx + 1];
		size_t body0 = s->body_start[idx], stops[MAX_PAUSES + 1];
		uint32_t stop_ms[MAX_PAUSES + 1];
		int nstops = 0;

		if (c->be.pause_hdr_at && from + c->be.pause_hdr_at < body0) {
			stop_ms[nstops] = MAX(c->be.pause_ms, 300);
			stops[nstops++] = from + c->be.pause_hdr_at;
			if (c->be.pause_hdr_again && stops[nstops - 1] + c->be.pause_hdr_again < body0) {
				stop_ms[nstops] = stop_ms[nstops - 1];
				stops[nstops] = stops[nstops - 1] + c->be.pause_hdr_again;
				nstops++;
			}
		}
		for (uint32_t k = 1; k <= c->be.pauses && nstops < MAX_PAUSES; k++) {
			stop_ms[nstops] = c->be.pause_ms;
			stops[nstops++] = body0 + (to - body0) * k / (c->be.pauses + 1);
		}
		for (int k = 0; k <= nstops; k++) {
			size_t upto = k < nstops ? stops[k] : to;

			if (!backend_send(fd, c, s, from, upto, &rng, label))
				_exit(0);
			from = upto;
			if (k < nstops)
				pause_here(upto, stop_ms[k]);
		}
		served++;
	}
	if (c->be.end == END_CLOSE)
		_exit(close(fd) ? 1 : 0);
	if (c->be.end == END_SHUTDOWN)
		shutdown(fd, SHUT_WR);
	/* until the proxy closes: it must have sent nothing more */
	for (;;) {
		ssize_t r = recv(fd, req, sizeof(req), 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0 || (r < 0 && c->be.tolerate_reset))
			break;
		if (r < 0)
			backend_die(c, label, "recv after the last response: %s", strerror(errno));
		backend_die(c, label, "%zd unexpected bytes after the last request", r);
	}
	_exit(0);
}

/* ------------------------------------------------------------------ sink */

static void sink_main(const struct case_spec *c, const struct stream *s, uint16_t port, int go_fd,
		      const char *label)
{
	size_t want = c->abort_read ? MIN(c->abort_fwd, s->len) : s->len;
	size_t cap = want + 65536, got = 0;
	uint8_t *buf = malloc(cap);
	int fd;

	signal(SIGALRM, SIG_DFL);
	alarm(RUN_TIMEOUT_S);
	fd = connect_to(c->family, port, c->sink_rcvbuf);
	if (fd < 0 || !buf) {
		fprintf(stderr, "case %s %s: sink: connect: %s\n", c->name, label, strerror(errno));
		_exit(1);
	}
	if (go_fd >= 0) {
		char go;

		if (read(go_fd, &go, 1) != 1)
			_exit(1);
	}
	for (int i = 0; i < c->nresp; i++) {
		size_t until = c->pipelined ? cap : s->resp_start[i + 1];

		if (c->pipelined) {
			for (int k = 0; k < c->nresp; k++)
				if (send(fd, s->req[k], s->req_len[k], MSG_NOSIGNAL) != (ssize_t)s->req_len[k])
					goto send_failed;
		} else if (send(fd, s->req[i], s->req_len[i], MSG_NOSIGNAL) != (ssize_t)s->req_len[i]) {
			goto send_failed;
		}
		if (c->sink_delay_ms && !i)
			sleep_ms(c->sink_delay_ms);
		/* this response (all of them when pipelined), or to the end */
		while (got < MIN(until, cap)) {
			ssize_t r = recv(fd, buf + got, cap - got, 0);

			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0) {
				fprintf(stderr, "case %s %s: sink: recv after %zu bytes: %s\n", c->name, label,
					got, strerror(errno));
				_exit(1);
			}
			if (!r)
				goto eof;
			got += r;
		}
		if (c->pipelined)
			break;
	}
	/* then nothing more, and the end of the stream */
	while (got < cap) {
		ssize_t r = recv(fd, buf + got, cap - got, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r < 0) {
				fprintf(stderr, "case %s %s: sink: recv at the end: %s\n", c->name, label,
					strerror(errno));
				_exit(1);
			}
			break;
		}
		got += r;
	}
eof:
	for (size_t i = 0; i < MIN(got, want); i++) {
		if (buf[i] == s->data[i])
			continue;
		size_t next, k = i;
		const struct range *r = body_at(s, i, &next);
		char e[64] = "", g[64] = "";

		for (int j = 0; j < 12 && k + j < MIN(got, want); j++) {
			sprintf(e + 3 * j, "%02x ", s->data[k + j]);
			sprintf(g + 3 * j, "%02x ", buf[k + j]);
		}
		char where[64] = "metadata";

		if (r)
			snprintf(where, sizeof(where), "body, %zu bytes into it", i - r->start);
		fprintf(stderr, "case %s %s: sink: byte %zu of %zu differs (%s): "
			"expected %sgot %s%s\n", c->name, label, i, want, where, e, g,
			buf[i] == POISON ? "(the proxy's untouched buffer bytes went out, not the body)" :
			!memcmp(buf + i, LIBRA_TOKEN_MAGIC, MIN(8, got - i)) ? "(a token went out as bytes)" : "");
		_exit(1);
	}
	if (got != want) {
		fprintf(stderr, "case %s %s: sink: received %zu bytes, expected %zu\n", c->name, label, got, want);
		_exit(1);
	}
	_exit(0);
send_failed:
	fprintf(stderr, "case %s %s: sink: send: %s\n", c->name, label, strerror(errno));
	_exit(1);
}

/* ----------------------------------------------------------------- proxy */

struct proxy_result {
	char violation[600];
	int violations;
	uint64_t read_bytes, fwd_bytes, tokens, token_bytes;
	uint64_t eagains, timeouts, interrupts, blocked_sends, late_partial;
	uint64_t truncated;	/* RD_TRUNC: bytes discarded by MSG_TRUNC */
	uint64_t proxy_cpu_ns;	/* CPU time of the proxy's thread over the run */
	int64_t held_after_close;	/* OPTIN_CHILD: anchors still there after closing */
};

struct read_log {
	size_t pos;
	uint64_t ns;
};

struct proxy {
	const struct case_spec *c;
	const struct stream *s;
	const char *label;
	bool on;
	int dfd, ufd, epfd;
	int edge_ep;		/* WR_EDGE: dfd's EPOLLOUT, edge-triggered */
	size_t pos;		/* stream bytes read from upstream */
	size_t fwd;		/* stream bytes forwarded */
	size_t msg_end;		/* where the exchange being relayed ends */
	size_t corrupt_at;	/* INJECT_CORRUPT: stream offset to flip */
	uint64_t rng;
	unsigned int size_idx;
	bool drained, readable;
	int lowat;		/* SO_RCVLOWAT set now */
	uint8_t *buf, *peek;
	size_t buflen;
	struct iovec seg[MAX_IOV];	/* what the last read filled */
	int nseg;
	struct read_log *log;
	size_t nlog, log_cap;
	struct proxy_result *res;
	pthread_t thread;
	volatile pid_t thread_tid;
	volatile int thread_rc;
	volatile bool thread_done;
	timer_t interrupt_timer;	/* RD_SIGNAL */
	bool interrupt_timer_made;
};

static void violate(struct proxy *p, const char *fmt, ...)
{
	va_list ap;

	if (!p->res->violations++) {
		va_start(ap, fmt);
		vsnprintf(p->res->violation, sizeof(p->res->violation), fmt, ap);
		va_end(ap);
	}
}

/* An interrupted or failed call: true if the run cannot go on. */
static bool call_failed(struct proxy *p, const char *what)
{
	if (errno == EINTR && !timed_out)
		return false;
	if (timed_out)
		violate(p, "timed out after %u s, blocked in %s at stream byte %zu", RUN_TIMEOUT_S, what, p->pos);
	else
		violate(p, "%s failed at stream byte %zu: %s", what, p->pos, strerror(errno));
	return true;
}

/* Peeked bytes: stock always, so exact. */
static void check_exact(struct proxy *p, const uint8_t *b, size_t n, size_t pos, const char *what)
{
	if (pos + n > p->s->len) {
		violate(p, "%s returned %zu bytes at stream byte %zu, past the %zu-byte stream", what, n, pos,
			p->s->len);
		return;
	}
	for (size_t i = 0; i < n; i++)
		if (b[i] != p->s->data[pos + i]) {
			violate(p, "%s: stream byte %zu differs (%02x, expected %02x)", what, pos + i, b[i],
				p->s->data[pos + i]);
			return;
		}
}

/*
 * What one read (one buffer of it) returned, @n bytes at stream offset @pos:
 * metadata exact; body bytes exact, or a token region that lies within
 * these @n bytes and within one body.
 */
static void check_read(struct proxy *p, const uint8_t *b, size_t n, size_t pos)
{
	const struct stream *s = p->s;
	size_t sp = pos, end = pos + n;

	if (end > s->len) {
		violate(p, "a read returned %zu bytes at stream byte %zu, past the %zu-byte stream", n, pos, s->len);
		end = MAX(pos, s->len);
	}
	while (sp < end) {
		size_t next = s->len, stop;
		const struct range *r = body_at(s, sp, &next);
		const uint8_t *m;

		if (!r) {
			stop = MIN(end, next);
			if (memcmp(b + (sp - pos), s->data + sp, stop - sp))
				goto differs;
			sp = stop;
			continue;
		}
		stop = MIN(end, r->end);
		m = memmem(b + (sp - pos), stop - sp, LIBRA_TOKEN_MAGIC, 8);
		if (m && (size_t)(b + (stop - pos) - m) < LIBRA_TOKEN_BYTES)
			m = NULL;	/* a cut-off magic is compared as data, and fails */
		if (m) {
			size_t at = pos + (m - b);
			struct libra_token tok;

			if (memcmp(b + (sp - pos), s->data + sp, at - sp))
				goto differs;
			memcpy(&tok, m, sizeof(tok));
			if (!p->on)
				violate(p, "a token at stream byte %zu in a stock run", at);
			if (tok.len < LIBRA_TOKEN_BYTES || at + tok.len > end) {
				violate(p, "the token at stream byte %zu claims %u bytes; the read returned %zu from there",
					at, tok.len, end - at);
				return;
			}
			if (at + tok.len > r->end) {
				violate(p, "the token at stream byte %zu claims %u bytes; its body ends after %zu",
					at, tok.len, r->end - at);
				return;
			}
			p->res->tokens++;
			p->res->token_bytes += tok.len;
			sp = at + tok.len;
			continue;
		}
		if (memcmp(b + (sp - pos), s->data + sp, stop - sp))
			goto differs;
		sp = stop;
	}
	return;
differs:
	for (size_t i = 0; i < n && pos + i < s->len; i++)
		if (b[i] != s->data[pos + i]) {
			size_t next;
			bool body = body_at(s, pos + i, &next) != NULL;

			violate(p, "a read returned stream byte %zu (%s) as %02x, expected %02x", pos + i,
				body ? "body, outside any token region" : "metadata", b[i], s->data[pos + i]);
			return;
		}
}

static ssize_t send_all(struct proxy *p, const uint8_t *b, size_t n, int flags)
{
	size_t done = 0;

	while (done < n) {
		ssize_t r = send(p->dfd, b + done, n - done, flags | MSG_NOSIGNAL);

		if (r < 0 && errno == EAGAIN) {
			struct pollfd pfd = { .fd = p->dfd, .events = POLLOUT };

			p->res->blocked_sends++;
			if (poll(&pfd, 1, -1) < 0 && call_failed(p, "poll(POLLOUT)"))
				return -1;
			continue;
		}
		if (r < 0) {
			if (call_failed(p, "send"))
				return -1;
			continue;
		}
		done += r;
	}
	return done;
}

/*
 * As nginx writes: a send that takes less than it was given means the
 * socket is full, so wait for the next EPOLLOUT edge (the kernel gives one
 * when room comes back) before sending again. Stock TCP only sends short
 * when it ran out of room.
 */
static ssize_t send_edge(struct proxy *p, const uint8_t *b, size_t n)
{
	struct epoll_event ev;
	size_t done = 0;

	while (epoll_wait(p->edge_ep, &ev, 1, 0) > 0)
		;	/* edges from before this send tell nothing */
	while (done < n) {
		size_t want = n - done;
		ssize_t r = send(p->dfd, b + done, want, MSG_NOSIGNAL);
		int k;

		if (r < 0 && errno != EAGAIN) {
			if (call_failed(p, "send"))
				return -1;
			continue;
		}
		if (r > 0)
			done += r;
		if (done == n)
			break;
		p->res->blocked_sends++;
		k = epoll_wait(p->edge_ep, &ev, 1, 5000);
		if (k < 0 && call_failed(p, "epoll_wait(EPOLLOUT)"))
			return -1;
		if (!k) {
			violate(p, "a send took %zd of %zu bytes at stream byte %zu and no EPOLLOUT edge came "
				"in 5 s: an edge-triggered writer (nginx) would wait until its timeout",
				r > 0 ? r : 0, want, p->fwd + done);
			return -1;
		}
	}
	return done;
}

static ssize_t writev_all(struct proxy *p, struct iovec *iov, int cnt)
{
	size_t done = 0;

	while (cnt) {
		struct msghdr mh = { .msg_iov = iov, .msg_iovlen = cnt };
		ssize_t r = sendmsg(p->dfd, &mh, MSG_NOSIGNAL);

		if (r < 0) {
			if (call_failed(p, "writev"))
				return -1;
			continue;
		}
		done += r;
		while (cnt && (size_t)r >= iov->iov_len) {
			r -= iov->iov_len;
			iov++;
			cnt--;
		}
		if (cnt) {
			iov->iov_base = (uint8_t *)iov->iov_base + r;
			iov->iov_len -= r;
		}
	}
	return done;
}

/* Forwards what the last read filled (up to abort_fwd in all). */
static int forward(struct proxy *p)
{
	const struct case_spec *c = p->c;
	struct iovec iov[MAX_IOV];
	size_t limit = c->abort_read ? c->abort_fwd : SIZE_MAX, total = 0;
	int cnt = 0;

	for (int i = 0; i < p->nseg && p->fwd + total < limit; i++) {
		iov[cnt] = p->seg[i];
		iov[cnt].iov_len = MIN(iov[cnt].iov_len, limit - p->fwd - total);
		total += iov[cnt].iov_len;
		cnt++;
	}
	if (!total)
		return 0;
	if (p->corrupt_at >= p->fwd && p->corrupt_at < p->fwd + total) {
		size_t off = p->corrupt_at - p->fwd;

		for (int i = 0; i < cnt; off -= iov[i].iov_len, i++)
			if (off < iov[i].iov_len) {
				((uint8_t *)iov[i].iov_base)[off] ^= 0x20;
				break;
			}
	}
	if (c->wr == WR_CUT_F7) {
		size_t at = 0;	/* where iov[i] starts, from p->fwd */

		for (int i = 0; i < cnt; at += iov[i].iov_len, i++) {
			const uint8_t *b = iov[i].iov_base;
			size_t n = iov[i].iov_len, off = 0, next;

			for (size_t k = 0; k + 1 < n; k++) {
				if (b[k] != 0xf7 || !body_at(p->s, p->fwd + at + k, &next))
					continue;
				if (send_all(p, b + off, k + 1 - off, 0) < 0)
					return -1;
				off = k + 1;
			}
			if (send_all(p, b + off, n - off, 0) < 0)
				return -1;
		}
	} else if (c->rd == RD_READV) {
		if (writev_all(p, iov, cnt) < 0)
			return -1;
	} else if (c->wr == WR_SMALL) {
		const uint8_t *b = iov[0].iov_base;

		for (size_t off = 0; off < total;) {
			size_t k = MIN(total - off, rnd_range(&p->rng, c->wmin, c->wmax));

			if (send_all(p, b + off, k, 0) < 0)
				return -1;
			off += k;
		}
	} else if (c->wr == WR_SPLIT) {
		const uint8_t *b = iov[0].iov_base;
		size_t off = 0;

		for (size_t k = 0; k < p->s->nbody && off < total; k++) {
			const struct range *r = &p->s->body[k];
			size_t at;

			if (r->end <= p->fwd || r->start >= p->fwd + total)
				continue;
			at = MAX(r->start, p->fwd) - p->fwd + 3;
			if (at <= off || at >= total)
				continue;
			if (send_all(p, b + off, at - off, 0) < 0)
				return -1;
			off = at;
		}
		if (send_all(p, b + off, total - off, 0) < 0)
			return -1;
	} else if (c->wr == WR_EDGE) {
		const uint8_t *b = iov[0].iov_base;
		size_t off = 0;

		for (size_t k = 0; k < p->s->nbody && off < total; k++) {
			const struct range *r = &p->s->body[k];
			size_t at = r->end + 2;

			if (at <= p->fwd + off || at >= p->fwd + total)
				continue;
			if (send_edge(p, b + off, at - p->fwd - off) < 0)
				return -1;
			off = at - p->fwd;
		}
		if (send_edge(p, b + off, total - off) < 0)
			return -1;
	} else if (c->wr == WR_MORE) {
		const uint8_t *b = iov[0].iov_base;
		size_t half = total / 2;
		bool last = p->pos >= p->msg_end;	/* MSG_MORE never past a message */

		if (send_all(p, b, half, MSG_MORE) < 0 ||
		    send_all(p, b + half, total - half, last ? 0 : MSG_MORE) < 0)
			return -1;
	} else if (send_all(p, iov[0].iov_base, total, 0) < 0) {
		return -1;
	}
	p->fwd += total;
	p->res->fwd_bytes += total;
	return 0;
}

static void log_read(struct proxy *p)
{
	if (!p->c->check_partial)
		return;
	if (p->nlog == p->log_cap) {
		p->log_cap = MAX(1024, p->log_cap * 2);
		p->log = xrealloc(p->log, p->log_cap * sizeof(*p->log));
	}
	p->log[p->nlog++] = (struct read_log){ p->pos, now_ns() };
}

static size_t next_size(struct proxy *p)
{
	const struct case_spec *c = p->c;

	if (c->rd == RD_RANDOM)
		return rnd_range(&p->rng, c->rmin, c->rmax);
	return c->sizes[p->size_idx++ % c->nsizes];
}

static void one_seg(struct proxy *p, size_t n)
{
	p->seg[0] = (struct iovec){ p->buf, n };
	p->nseg = 1;
}

static void on_interrupt(int sig)
{
	(void)sig;
}

/*
 * RD_SIGNAL: SIGUSR1 to this thread after @ms (0: disarm), without
 * SA_RESTART, so a recv() asleep by then fails with EINTR as stock's does.
 */
static void arm_interrupt(struct proxy *p, unsigned int ms)
{
	struct itimerspec its = { .it_value = { ms / 1000, (ms % 1000) * 1000000L } };

	if (!p->interrupt_timer_made) {
		struct sigaction sa = { .sa_handler = on_interrupt };	/* no SA_RESTART */
		struct sigevent sev = { .sigev_notify = SIGEV_THREAD_ID, .sigev_signo = SIGUSR1 };

		sev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
		if (sigaction(SIGUSR1, &sa, NULL) ||
		    timer_create(CLOCK_MONOTONIC, &sev, &p->interrupt_timer)) {
			violate(p, "SIGUSR1 timer: %s", strerror(errno));
			return;
		}
		p->interrupt_timer_made = true;
	}
	timer_settime(p->interrupt_timer, 0, &its, NULL);
}

/*
 * One read of the case's pattern, of at most @cap bytes where the pattern
 * must not ask for more; fills p->seg. Returns bytes read, 0 at the end of
 * the stream, -1 when the run cannot go on.
 */
/*
 * RD_TRUNC: TCP's MSG_TRUNC discards the @n bytes it counts and writes
 * nothing; the proxy forwards the originals in their place (as a cache
 * holding them would), so what reaches the sink is still the stream.
 */
static void take_truncated(struct proxy *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p->buf[i] != POISON) {
			violate(p, "recv(MSG_TRUNC) of %zu bytes at stream byte %zu wrote into the buffer (byte %zu)",
				n, p->pos, i);
			break;
		}
	memcpy(p->buf, p->s->data + p->pos, MIN(n, p->s->len - MIN(p->pos, p->s->len)));
	p->res->truncated += n;
}

static ssize_t proxy_read(struct proxy *p, size_t cap)
{
	const struct case_spec *c = p->c;
	size_t want;
	ssize_t n;

	for (;;) {
		if (timed_out) {
			violate(p, "timed out after %u s at stream byte %zu", RUN_TIMEOUT_S, p->pos);
			return -1;
		}
		switch (c->rd) {
		case RD_SIZES:
		case RD_RANDOM:
		case RD_SPLICE:
		case RD_TIMEO:
		case RD_SIGNAL:
		case RD_TRUNC: {
			uint64_t t0 = now_ns();
			bool trunc = c->rd == RD_TRUNC && p->size_idx % c->nsizes == (uint32_t)c->nsizes - 1;

			want = MIN(next_size(p), cap);
			memset(p->buf, POISON, want);
			if (c->rd == RD_SIGNAL)
				arm_interrupt(p, 40);
			n = recv(p->ufd, p->buf, want, trunc ? MSG_TRUNC : 0);
			if (trunc && n > 0)
				take_truncated(p, n);
			if (c->rd == RD_SIGNAL) {
				int e = errno;

				arm_interrupt(p, 0);
				if (n < 0 && e == EINTR) {
					p->res->interrupts++;
					p->size_idx--;
					continue;
				}
				errno = e;
			}
			if (n < 0 && c->rd == RD_TIMEO && (errno == EAGAIN || errno == EWOULDBLOCK)) {
				uint64_t ms = (now_ns() - t0) / 1000000;

				p->res->timeouts++;
				if (ms + 30 < c->timeo_ms)
					violate(p, "SO_RCVTIMEO %u ms: recv gave EAGAIN after only %llu ms",
						c->timeo_ms, (unsigned long long)ms);
				p->size_idx--;
				continue;
			}
			break;
		}
		case RD_READV: {
			struct iovec iov[MAX_IOV];
			uint8_t *b = p->buf;
			size_t total = 0;

			for (int i = 0; i < c->iovs; i++) {
				size_t k = c->empty_iovs && i % 2 == 0 ? 0 : rnd_range(&p->rng, c->rmin, c->rmax);

				iov[i] = (struct iovec){ b, k };
				b += k;
				total += k;
			}
			memset(p->buf, POISON, total);
			n = readv(p->ufd, iov, c->iovs);
			if (n > 0) {
				size_t left = n;

				p->nseg = 0;
				for (int i = 0; i < c->iovs && left; i++) {
					p->seg[p->nseg] = iov[i];
					p->seg[p->nseg].iov_len = MIN(iov[i].iov_len, left);
					left -= p->seg[p->nseg++].iov_len;
				}
				return n;
			}
			break;
		}
		case RD_PEEK: {
			ssize_t k;

			want = MIN(next_size(p), cap);
			k = recv(p->ufd, p->peek, want, MSG_PEEK);
			if (k <= 0) {
				n = k;
				break;
			}
			check_exact(p, p->peek, k, p->pos, "MSG_PEEK");
			memset(p->buf, POISON, k);
			n = recv(p->ufd, p->buf, k, 0);
			if (n >= 0 && n != k)
				violate(p, "recv after MSG_PEEK of %zd bytes returned %zd", k, n);
			break;
		}
		case RD_WAITALL:
			want = MIN(cap, p->buflen);
			memset(p->buf, POISON, want);
			n = recv(p->ufd, p->buf, want, MSG_WAITALL);
			if (n > 0 && (size_t)n < want)
				violate(p, "MSG_WAITALL: recv of the whole %zu-byte message returned %zd bytes",
					want, n);
			break;
		case RD_LOWAT: {
			/*
			 * tcp_data_ready() wakes a reader only once sk_rcvlowat bytes
			 * are queued and not yet copied; the stock recv copies what is
			 * queued before it sleeps. With less than twice the watermark
			 * left it could sleep forever even on the stock path, so lower
			 * it for the tail, as a real program must.
			 */
			int lowat = (int)MAX(1, MIN(c->lowat, cap / 2));

			if (lowat != p->lowat) {
				if (setsockopt(p->ufd, SOL_SOCKET, SO_RCVLOWAT, &lowat, sizeof(lowat))) {
					violate(p, "SO_RCVLOWAT: %s", strerror(errno));
					return -1;
				}
				p->lowat = lowat;
			}
			/*
			 * Ask when some bytes are queued: stock then waits for the
			 * watermark; a recv that returns what is there does not.
			 */
			for (int q = 0, i = 0; i < 1000 && !q && !timed_out; i++)
				if (ioctl(p->ufd, FIONREAD, &q) || !q)
					usleep(1000);
			want = MIN(cap, 262144);
			memset(p->buf, POISON, want);
			n = recv(p->ufd, p->buf, want, 0);
			if (n > 0 && (size_t)n < MIN(want, (size_t)lowat))
				violate(p, "SO_RCVLOWAT %d: recv of %zu bytes returned %zd (at stream byte %zu)",
					lowat, want, n, p->pos);
			break;
		}
		case RD_POLL: {
			struct pollfd pfd = { .fd = p->ufd, .events = POLLIN };

			if (poll(&pfd, 1, -1) < 0) {
				if (call_failed(p, "poll(POLLIN)"))
					return -1;
				continue;
			}
			want = MIN(next_size(p), cap);
			memset(p->buf, POISON, want);
			n = recv(p->ufd, p->buf, want, MSG_DONTWAIT);
			if (n < 0 && errno == EAGAIN) {
				violate(p, "poll reported POLLIN (revents %#x) at stream byte %zu but recv(MSG_DONTWAIT) "
					"returned EAGAIN", pfd.revents, p->pos);
				p->res->eagains++;
				continue;
			}
			break;
		}
		case RD_EPOLL: {
			if (p->drained) {
				struct epoll_event ev;
				int r = epoll_wait(p->epfd, &ev, 1, -1);

				if (r < 0) {
					if (call_failed(p, "epoll_wait"))
						return -1;
					continue;
				}
				p->drained = false;
			}
			want = MIN(next_size(p), cap);
			memset(p->buf, POISON, want);
			n = recv(p->ufd, p->buf, want, 0);
			if (n < 0 && errno == EAGAIN) {
				int q = 0;

				p->res->eagains++;
				/*
				 * Edge-triggered: EAGAIN while bytes are queued can hang a
				 * real proxy. Bytes that came after it are fine, so ask again.
				 */
				if (!ioctl(p->ufd, FIONREAD, &q) && q > 0) {
					n = recv(p->ufd, p->buf, want, 0);
					if (n < 0 && errno == EAGAIN)
						violate(p, "recv returned EAGAIN twice with %d bytes queued at stream byte %zu",
							q, p->pos);
					if (n >= 0)
						break;
				}
				p->drained = true;
				continue;
			}
			break;
		}
		case RD_NONBLOCK:
			want = MIN(next_size(p), cap);
			memset(p->buf, POISON, want);
			n = recv(p->ufd, p->buf, want, 0);
			if (n < 0 && errno == EAGAIN) {
				struct pollfd pfd = { .fd = p->ufd, .events = POLLIN };

				p->res->eagains++;
				if (p->readable)
					violate(p, "poll reported POLLIN at stream byte %zu but the next recv returned EAGAIN",
						p->pos);
				if (poll(&pfd, 1, -1) < 0 && call_failed(p, "poll(POLLIN)"))
					return -1;
				p->readable = pfd.revents & POLLIN;
				p->size_idx--;
				continue;
			}
			p->readable = false;
			break;
		}
		if (n < 0) {
			if (call_failed(p, "recv"))
				return -1;
			continue;
		}
		if (n > 0)
			one_seg(p, n);
		return n;
	}
}

static int relay(struct proxy *p, size_t end);

/*
 * RD_SPLICE: the first response's headers by recv(), exactly, then splice()
 * through a pipe to the sink of its body, the next headers and 1000 bytes
 * more: past where the parser has been (the backend stalls before each
 * response), then recv() of the rest.
 */
static int relay_splice(struct proxy *p, size_t end)
{
	const struct stream *s = p->s;
	size_t hlen = 0, left = s->body_start[1] + 1000 - s->body_start[0];
	int pipefd[2];

	while (!hlen) {
		struct pollfd pfd = { .fd = p->ufd, .events = POLLIN };
		ssize_t k;
		char *e;

		if (poll(&pfd, 1, -1) < 0) {
			if (call_failed(p, "poll"))
				return -1;
			continue;
		}
		k = recv(p->ufd, p->peek, 4096, MSG_PEEK);
		if (k <= 0) {
			if (!k || call_failed(p, "recv(MSG_PEEK)")) {
				violate(p, "the headers never came");
				return -1;
			}
			continue;
		}
		e = memmem(p->peek, k, "\r\n\r\n", 4);
		if (e)
			hlen = (size_t)(e + 4 - (char *)p->peek);
		else
			usleep(1000);
	}
	while (p->pos < hlen) {
		ssize_t n = recv(p->ufd, p->buf, hlen - p->pos, 0);

		if (n <= 0) {
			if (!n || call_failed(p, "recv of the headers")) {
				violate(p, "the headers were cut off");
				return -1;
			}
			continue;
		}
		check_read(p, p->buf, n, p->pos);
		p->pos += n;
		p->res->read_bytes += n;
		one_seg(p, n);
		if (forward(p))
			return -1;
	}
	if (pipe2(pipefd, O_CLOEXEC)) {
		violate(p, "pipe: %s", strerror(errno));
		return -1;
	}
	while (left) {
		ssize_t in = splice(p->ufd, NULL, pipefd[1], NULL, MIN(left, 65536), SPLICE_F_MOVE);

		if (in <= 0) {
			if (!in || call_failed(p, "splice from the upstream")) {
				violate(p, "splice from the upstream ended with %zu bytes to go", left);
				break;
			}
			continue;
		}
		left -= in;
		p->pos += in;
		p->res->read_bytes += in;
		while (in) {
			ssize_t out = splice(pipefd[0], NULL, p->dfd, NULL, in, SPLICE_F_MOVE);

			if (out <= 0) {
				if (!out || call_failed(p, "splice to the downstream")) {
					violate(p, "splice to the downstream failed");
					left = 0;
					break;
				}
				continue;
			}
			in -= out;
			p->fwd += out;
			p->res->fwd_bytes += out;
		}
	}
	close(pipefd[0]);
	close(pipefd[1]);
	return p->res->violations ? -1 : relay(p, end);
}

/* Reads and forwards the stream up to @end (SIZE_MAX: to its close). */
static int relay(struct proxy *p, size_t end)
{
	const struct case_spec *c = p->c;
	size_t stop = c->abort_read ? MIN(end, c->abort_read) : end;

	while (p->pos < stop) {
		size_t cap = stop == SIZE_MAX ? SIZE_MAX : stop - p->pos;
		ssize_t n = proxy_read(p, cap);

		if (n < 0)
			return -1;
		if (!n) {
			if (end == SIZE_MAX)
				break;
			violate(p, "the upstream stream ended after %zu of %zu bytes", p->pos, end);
			return -1;
		}
		for (int i = 0, at = 0; i < p->nseg; at += p->seg[i].iov_len, i++)
			check_read(p, p->seg[i].iov_base, p->seg[i].iov_len, p->pos + at);
		p->pos += n;
		p->res->read_bytes += n;
		log_read(p);
		if (forward(p))
			return -1;
	}
	if (end == SIZE_MAX && p->pos != p->s->len && !c->abort_read)
		violate(p, "the upstream closed after %zu bytes, the backend sent %zu", p->pos, p->s->len);
	return 0;
}

/*
 * Reads the next @k requests from the sink, exactly as it sent them; unless
 * the case blocks in recv() on purpose, only once poll() says they are there.
 */
static int read_requests(struct proxy *p, int first, int k)
{
	const struct stream *s = p->s;
	char want[MAX_RESP * 160], got[MAX_RESP * 160];
	size_t len = 0, have = 0;
	struct pollfd pfd = { .fd = p->dfd, .events = POLLIN };

	if (!(p->c->block == BLOCK_DOWN && !first))
		while (poll(&pfd, 1, -1) < 0)
			if (call_failed(p, "poll for the request"))
				return -1;

	for (int i = first; i < first + k; i++) {
		memcpy(want + len, s->req[i], s->req_len[i]);
		len += s->req_len[i];
	}
	while (have < len) {
		ssize_t r = recv(p->dfd, got + have, len - have, 0);

		if (r < 0 && errno == EAGAIN) {
			struct pollfd pfd = { .fd = p->dfd, .events = POLLIN };

			if (poll(&pfd, 1, -1) < 0 && call_failed(p, "poll for the request"))
				return -1;
			continue;
		}
		if (r < 0) {
			if (call_failed(p, "recv of the request"))
				return -1;
			continue;
		}
		if (!r) {
			violate(p, "the sink closed after %zu request bytes", have);
			return -1;
		}
		have += r;
	}
	if (memcmp(got, want, len)) {
		violate(p, "the requests arrived at the proxy altered");
		return -1;
	}
	return 0;
}

static int send_requests(struct proxy *p, int first, int k)
{
	const struct stream *s = p->s;

	for (int i = first; i < first + k; i++) {
		const char *r = s->req[i];
		size_t n = s->req_len[i], half = p->c->wr == WR_MORE ? n / 2 : 0, done = 0;

		while (done < n) {
			size_t upto = done < half ? half : n;
			int flags = MSG_NOSIGNAL | (done < half || i + 1 < first + k ? MSG_MORE : 0);
			ssize_t w = send(p->ufd, r + done, upto - done, flags);

			if (w < 0) {
				if (call_failed(p, "send of the request"))
					return -1;
				continue;
			}
			done += w;
		}
	}
	return 0;
}

static int setup_upstream(struct proxy *p, uint16_t port)
{
	const struct case_spec *c = p->c;

	p->ufd = connect_to(c->family, port, 0);
	if (p->ufd < 0) {
		violate(p, "connect to the backend: %s", strerror(errno));
		return -1;
	}
	if (c->lowat && setsockopt(p->ufd, SOL_SOCKET, SO_RCVLOWAT, &c->lowat, sizeof(c->lowat)))
		goto err;
	p->lowat = c->lowat;
	if (c->timeo_ms) {
		struct timeval tv = { c->timeo_ms / 1000, (c->timeo_ms % 1000) * 1000 };

		if (setsockopt(p->ufd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)))
			goto err;
	}
	return 0;
err:
	violate(p, "setsockopt: %s", strerror(errno));
	return -1;
}

/* After the request went out: switch the upstream to the pattern's mode. */
static int arm_upstream(struct proxy *p)
{
	const struct case_spec *c = p->c;

	if (c->rd == RD_EPOLL || c->rd == RD_NONBLOCK)
		set_nonblock(p->ufd, true);
	if (c->rd == RD_EPOLL) {
		struct epoll_event ev = { .events = EPOLLIN | EPOLLET | EPOLLRDHUP };

		p->epfd = epoll_create1(EPOLL_CLOEXEC);
		if (p->epfd < 0 || epoll_ctl(p->epfd, EPOLL_CTL_ADD, p->ufd, &ev)) {
			violate(p, "epoll: %s", strerror(errno));
			return -1;
		}
		p->drained = true;
	}
	return 0;
}

/* The thread of OPTIN_BLOCKED_*: blocks in recv while the opt-in happens. */
static void *blocked_reader(void *arg)
{
	struct proxy *p = arg;

	p->thread_tid = syscall(SYS_gettid);
	if (p->c->block == BLOCK_DOWN)
		p->thread_rc = read_requests(p, 0, 1);
	else
		p->thread_rc = relay(p, p->s->resp_start[1]);
	p->thread_done = true;
	return NULL;
}

/* Whether thread @tid sleeps in syscall @nr (from /proc). */
static bool sleeping_in(pid_t tid, long nr)
{
	char path[64], buf[256];
	long got = -1;
	char state = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", tid);
	f = fopen(path, "r");
	if (!f || fscanf(f, "%ld", &got) != 1)
		got = -1;
	if (f)
		fclose(f);
	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	f = fopen(path, "r");
	if (f) {
		if (fgets(buf, sizeof(buf), f)) {
			char *rp = strrchr(buf, ')');

			if (rp && rp[1] == ' ')
				state = rp[2];
		}
		fclose(f);
	}
	return got == nr && state == 'S';
}

static void proxy_optin(struct proxy *p, bool *opted)
{
	int err;

	if (!p->on || inject == INJECT_NO_OPTIN)
		return;
	err = optin(true);
	if (err)
		violate(p, "LIBRA_IOC_OPTIN_ADD: %s", strerror(-err));
	*opted = !err;
}

/* Runs a blocked reader thread, opts in while it sleeps in recvfrom, then lets the peer go. */
static int run_blocked(struct proxy *p, int go_fd, bool *opted)
{
	int i;

	p->thread_done = false;
	if (pthread_create(&p->thread, NULL, blocked_reader, p)) {
		violate(p, "pthread_create failed");
		return -1;
	}
	for (i = 0; i < 500 && !(p->thread_tid && sleeping_in(p->thread_tid, SYS_recvfrom)); i++)
		usleep(10000);
	if (i == 500)
		violate(p, "the reader thread never blocked in recvfrom");
	else if (p->c->optin == OPTIN_BLOCKED)
		proxy_optin(p, opted);
	if (write(go_fd, "g", 1) != 1)
		violate(p, "go pipe: %s", strerror(errno));
	while (!p->thread_done) {
		usleep(5000);
		if (timed_out)
			pthread_kill(p->thread, SIGALRM);
	}
	pthread_join(p->thread, NULL);
	return p->thread_rc;
}

/*
 * The proxy's part of one run: its sockets, its opt-in (when @p->on), the
 * exchanges, the close. Violations go to p->res.
 */
static void run_proxy(struct proxy *p, int lfd, uint16_t backend_port, int go_sink, int go_backend)
{
	const struct case_spec *c = p->c;
	const struct stream *s = p->s;
	bool opted = false;
	int exchanges = c->pipelined ? 1 : c->nresp;
	struct timespec cpu0, cpu1;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu0);
	p->dfd = p->ufd = p->epfd = p->edge_ep = -1;
	if (c->optin == OPTIN_START || c->optin == OPTIN_CHILD)
		proxy_optin(p, &opted);
	p->dfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (p->dfd < 0) {
		violate(p, "accept: %s", strerror(errno));
		goto out;
	}
	if (c->wr == WR_NONBLOCK) {
		int sndbuf = 16384;

		setsockopt(p->dfd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
		set_nonblock(p->dfd, true);
	}
	if (c->wr == WR_EDGE) {
		struct epoll_event ev = { .events = EPOLLOUT | EPOLLET };

		set_nonblock(p->dfd, true);
		p->edge_ep = epoll_create1(EPOLL_CLOEXEC);
		if (p->edge_ep < 0 || epoll_ctl(p->edge_ep, EPOLL_CTL_ADD, p->dfd, &ev)) {
			violate(p, "epoll for EPOLLOUT: %s", strerror(errno));
			goto out;
		}
	}
	for (int x = 0; x < exchanges; x++) {
		int first = x, k = c->pipelined ? c->nresp : 1;
		size_t end = s->resp_start[first + k];

		if (!x && c->block == BLOCK_DOWN) {
			if (run_blocked(p, go_sink, &opted))
				goto out;
		} else if (read_requests(p, first, k)) {
			goto out;
		}
		if (p->ufd < 0 && setup_upstream(p, backend_port))
			goto out;
		if (send_requests(p, first, k) || arm_upstream(p))
			goto out;
		if (c->resp[first + k - 1].f == F_CLOSE)
			end = SIZE_MAX;
		p->msg_end = end == SIZE_MAX ? s->len : end;
		if (!x && c->optin == OPTIN_QUEUED) {
			/* the response is arriving, and this process has not read a byte of it */
			struct pollfd pfd = { .fd = p->ufd, .events = POLLIN };
			int q = 0;

			for (int i = 0; i < 500 && q < 4096; i++) {
				if (poll(&pfd, 1, 10) < 0 || ioctl(p->ufd, FIONREAD, &q))
					break;
			}
			if (q < 4096)
				violate(p, "the response was not queued before the opt-in (%d bytes)", q);
			proxy_optin(p, &opted);
		}
		if (!x && c->block == BLOCK_UP) {
			if (run_blocked(p, go_backend, &opted))
				goto out;
		} else if (c->rd == RD_SPLICE ? relay_splice(p, end) : relay(p, end)) {
			goto out;
		}
	}
	if (c->be.end != END_KEEP && c->resp[c->nresp - 1].f != F_CLOSE && !c->abort_read) {
		/* the backend shut down or closed after its data: the end of the stream follows it */
		ssize_t r;

		set_nonblock(p->ufd, false);
		while ((r = recv(p->ufd, p->buf, 65536, 0)) < 0 && !call_failed(p, "recv at the end"))
			;
		if (r > 0)
			violate(p, "recv after the last response returned %zd bytes, not the end of the stream", r);
	}
out:
	if (p->ufd >= 0) {
		if (c->abort_read)
			shutdown(p->ufd, SHUT_RDWR);
		close(p->ufd);
	}
	if (p->epfd >= 0)
		close(p->epfd);
	if (p->edge_ep >= 0)
		close(p->edge_ep);
	if (p->dfd >= 0) {
		set_nonblock(p->dfd, false);
		shutdown(p->dfd, SHUT_WR);
		close(p->dfd);
	}
	if (c->optin == OPTIN_CHILD && opted)
		p->res->held_after_close = (int64_t)stat_now(LIBRA_STAT_ANCHORS_NOW);
	if (opted && optin(false))
		violate(p, "LIBRA_IOC_OPTIN_DEL: %s", strerror(errno));
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu1);
	p->res->proxy_cpu_ns = (uint64_t)(cpu1.tv_sec - cpu0.tv_sec) * 1000000000u + cpu1.tv_nsec - cpu0.tv_nsec;
}

/* ----------------------------------------------------------------- runs */

static int failures, runs;
static char failed_names[4096];

static void note_failure(const char *name, const char *label)
{
	failures++;
	if (strlen(failed_names) + strlen(name) + 8 < sizeof(failed_names))
		sprintf(failed_names + strlen(failed_names), " %s/%s", name, label);
}

static pid_t fork_or_die(void)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		perror("sockcheck: fork");
		exit(2);
	}
	return pid;
}

/* Waits for @pid; returns its status, or -1 after killing it at the deadline. */
static int reap(pid_t pid, uint64_t deadline_ns)
{
	int st;

	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			return st;
		if (r < 0 && errno != EINTR)
			return -1;
		if (now_ns() > deadline_ns) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			return -1;
		}
		usleep(2000);
	}
}

static const char *status_str(int st, char *buf, size_t len)
{
	if (st == -1)
		snprintf(buf, len, "did not finish in time");
	else if (WIFSIGNALED(st))
		snprintf(buf, len, "killed by signal %d%s", WTERMSIG(st),
			 WTERMSIG(st) == SIGALRM ? " (its own timeout)" : "");
	else
		snprintf(buf, len, "exited %d", WEXITSTATUS(st));
	return buf;
}

#define D(x) (after[LIBRA_STAT_##x] - before[LIBRA_STAT_##x])

static bool run_one(const struct case_spec *c, const struct stream *s, bool on)
{
	const char *label = on ? "on" : "off";
	uint64_t before[__LIBRA_STAT_MAX], after[__LIBRA_STAT_MAX];
	struct proxy_result res = { .held_after_close = -1 };
	struct proxy p = { .c = c, .s = s, .label = label, .on = on, .res = &res,
			   .rng = case_seed(c) ^ 0x9e3779b9, .corrupt_at = SIZE_MAX };
	char why[1024] = "", st1[64], st2[64];
	uint16_t bport, pport;
	int lb, lp, go_sink[2], go_backend[2], result[2] = { -1, -1 }, bst, sst, leftover = 0;
	pid_t backend, sink, child = 0;
	uint64_t deadline, t0 = now_ns();
	struct sigaction sa = { .sa_handler = on_alarm };	/* no SA_RESTART: blocked calls return EINTR */

	if (libra_fd >= 0 && wait_released(0)) {
		leftover = 1;
		fprintf(stderr, "case %s %s: note: %llu anchors left over from an earlier run\n", c->name, label,
			(unsigned long long)stat_now(LIBRA_STAT_ANCHORS_NOW));
	}
	if (inject == INJECT_CORRUPT) {
		size_t next;

		/* a metadata byte in the middle of the stream: caught in every run */
		p.corrupt_at = s->len / 2;
		while (p.corrupt_at < s->len && body_at(s, p.corrupt_at, &next))
			p.corrupt_at++;
		while (p.corrupt_at && (p.corrupt_at >= s->len || body_at(s, p.corrupt_at, &next)))
			p.corrupt_at--;
		/* within what is forwarded from user space */
		if ((c->abort_read && p.corrupt_at >= c->abort_fwd) || c->rd == RD_SPLICE)
			p.corrupt_at = 5;
	}
	p.buflen = MAX((size_t)8 * MiB, s->len + 65536);
	p.buf = malloc(p.buflen);
	p.peek = malloc(p.buflen);
	if (!p.buf || !p.peek || pipe2(go_sink, O_CLOEXEC) || pipe2(go_backend, O_CLOEXEC)) {
		perror("sockcheck: setup");
		exit(2);
	}
	memset(shared, 0, sizeof(*shared));
	lb = listen_on(c->family, &bport);
	lp = listen_on(c->family, &pport);
	get_stats(before);

	backend = fork_or_die();
	if (!backend) {
		close(lp);
		close(go_backend[1]);
		close(go_sink[0]);
		close(go_sink[1]);
		backend_main(c, s, lb, go_backend[0], label);
	}
	close(lb);
	sink = fork_or_die();
	if (!sink) {
		close(lp);
		close(go_sink[1]);
		close(go_backend[0]);
		close(go_backend[1]);
		sink_main(c, s, pport, c->block == BLOCK_DOWN ? go_sink[0] : -1, label);
	}
	timed_out = 0;
	sigaction(SIGALRM, &sa, NULL);
	alarm(RUN_TIMEOUT_S);
	if (c->optin == OPTIN_CHILD) {
		if (pipe2(result, O_CLOEXEC)) {
			perror("sockcheck: pipe");
			exit(2);
		}
		child = fork_or_die();
		if (!child) {
			alarm(RUN_TIMEOUT_S);
			run_proxy(&p, lp, bport, go_sink[1], go_backend[1]);
			if (write(result[1], &res, sizeof(res)) != sizeof(res))
				_exit(1);
			_exit(0);	/* with its anchors, if it had any: they go with it */
		}
		close(result[1]);
		if (read(result[0], &res, sizeof(res)) != sizeof(res))
			snprintf(res.violation, sizeof(res.violation), "the proxy process died"), res.violations++;
		close(result[0]);
		reap(child, now_ns() + 10000000000ULL);
	} else {
		run_proxy(&p, lp, bport, go_sink[1], go_backend[1]);
	}
	close(lp);
	close(go_sink[1]);
	close(go_backend[1]);
	deadline = now_ns() + (timed_out ? 1000000000ULL : 30000000000ULL);
	sst = reap(sink, deadline);
	bst = reap(backend, deadline);
	alarm(0);
	close(go_sink[0]);
	close(go_backend[0]);

	/* every anchor goes: sent in full, its connection gone, or its process */
	uint64_t left = libra_fd >= 0 ? wait_released(5000) : 0;

	get_stats(after);

	if (res.violations)
		snprintf(why, sizeof(why), "proxy: %s%s", res.violation,
			 res.violations > 1 ? " (and more)" : "");
	else if (sst != 0)
		snprintf(why, sizeof(why), "sink %s", status_str(sst, st1, sizeof(st1)));
	else if (bst != 0)
		snprintf(why, sizeof(why), "backend %s", status_str(bst, st2, sizeof(st2)));
	else if (left && !leftover)
		snprintf(why, sizeof(why), "anchors not released 5 s after the run: anchors_now %llu, "
			 "anchored_bytes_now %llu", (unsigned long long)after[LIBRA_STAT_ANCHORS_NOW],
			 (unsigned long long)after[LIBRA_STAT_ANCHORED_BYTES_NOW]);
	else if (D(TOKENS_REJECTED))
		snprintf(why, sizeof(why), "%llu tokens rejected", (unsigned long long)D(TOKENS_REJECTED));
	else if (c->check_partial) {
		/* the bytes before each pause reached the proxy while the backend waited */
		for (int i = 0; i < shared->npauses && !why[0]; i++) {
			size_t k = 0;

			while (k < p.nlog && p.log[k].pos < shared->pause_at[i])
				k++;
			if (k == p.nlog || p.log[k].ns > shared->resumed_ns[i])
				snprintf(why, sizeof(why), "the backend paused after stream byte %zu, but the proxy "
					 "had read up to there only %s it went on", shared->pause_at[i],
					 k == p.nlog ? "never, even after" : "after");
		}
	}
	if (!why[0] && libra_fd >= 0 && !on) {
		/* a process holding anchors has its sends looked at, opted in or not */
		if (D(RECVMSG_ENGAGED) || (D(SENDMSG_ENGAGED) && !leftover) || D(BYTES_ANCHORED))
			snprintf(why, sizeof(why), "libra engaged in a stock run (recvmsg_engaged %llu, "
				 "sendmsg_engaged %llu, bytes_anchored %llu)", (unsigned long long)D(RECVMSG_ENGAGED),
				 (unsigned long long)D(SENDMSG_ENGAGED), (unsigned long long)D(BYTES_ANCHORED));
	}
	if (!why[0] && on) {
		uint64_t anchored = D(BYTES_ANCHORED), zc = D(BYTES_ZERO_COPY_SENT);

		if (!D(RECVMSG_ENGAGED))
			snprintf(why, sizeof(why), "libra never engaged (recvmsg_engaged did not move)");
		else if (c->expect == EXP_ANCHOR && !anchored)
			snprintf(why, sizeof(why), "nothing was anchored (bytes_fallback_copied %llu, fallback_small_body %llu)",
				 (unsigned long long)D(BYTES_FALLBACK_COPIED), (unsigned long long)D(FALLBACK_SMALL_BODY));
		else if (c->expect != EXP_ANCHOR && (anchored || res.tokens))
			snprintf(why, sizeof(why), "%llu bytes were anchored (%llu tokens read) where the design anchors none",
				 (unsigned long long)anchored, (unsigned long long)res.tokens);
		else if (c->expect == EXP_SMALL && !D(BYTES_FALLBACK_COPIED))
			snprintf(why, sizeof(why), "no body byte was seen and declined (bytes_fallback_copied 0): "
				 "the parser never found the bodies");
		else if (c->expect == EXP_NOT_ADOPTED && !D(FALLBACK_NOT_ADOPTED))
			snprintf(why, sizeof(why), "fallback_not_adopted did not move");
		else if (c->expect == EXP_DESYNC && !D(FALLBACK_DESYNC))
			snprintf(why, sizeof(why), "fallback_desync did not move: the splice went unnoticed");
		else if (c->expect == EXP_ANCHOR && res.token_bytes != anchored)
			snprintf(why, sizeof(why), "the proxy read %llu tokens covering %llu bytes, bytes_anchored says %llu",
				 (unsigned long long)res.tokens, (unsigned long long)res.token_bytes,
				 (unsigned long long)anchored);
		else if (res.tokens != D(ANCHORS_RELEASED))
			snprintf(why, sizeof(why), "%llu tokens read, %llu anchors released",
				 (unsigned long long)res.tokens, (unsigned long long)D(ANCHORS_RELEASED));
		else if (c->unframed && (zc || D(BYTES_MATERIALIZED) != anchored))
			snprintf(why, sizeof(why), "%llu bytes anchored, %llu written out in the proxy's memory "
				 "and %llu sent from the anchors: a stream libra does not frame gets every "
				 "region written out, none sent from the anchors",
				 (unsigned long long)anchored, (unsigned long long)D(BYTES_MATERIALIZED),
				 (unsigned long long)zc);
		else if (c->expect == EXP_ANCHOR && c->zc == ZC_ALL && !c->unframed && zc != anchored)
			snprintf(why, sizeof(why), "%llu bytes anchored but %llu sent from the anchors",
				 (unsigned long long)anchored, (unsigned long long)zc);
		else if (c->expect == EXP_ANCHOR && c->zc == ZC_SOME && !(zc > 0 && zc < anchored))
			snprintf(why, sizeof(why), "%llu bytes anchored, %llu sent from them: expected some, not all",
				 (unsigned long long)anchored, (unsigned long long)zc);
		else if (c->expect == EXP_ANCHOR && c->zc == ZC_NONE && zc)
			snprintf(why, sizeof(why), "%llu bytes sent from anchors the proxy never forwarded",
				 (unsigned long long)zc);
		else if (c->expect != EXP_ANCHOR && zc)
			snprintf(why, sizeof(why), "%llu bytes sent from anchors", (unsigned long long)zc);
		else if (!c->unframed && D(BYTES_MATERIALIZED))
			snprintf(why, sizeof(why), "%llu bytes written out in the proxy's memory on a framed stream",
				 (unsigned long long)D(BYTES_MATERIALIZED));
		else if (c->optin == OPTIN_CHILD && res.held_after_close != 0)
			snprintf(why, sizeof(why), "%lld anchors were held once the proxy closed its sockets: "
				 "none of that response went out, so the upstream's close must release them",
				 (long long)res.held_after_close);
	}
	if (!why[0] && c->check_idle) {
		uint64_t paused_ms = (uint64_t)c->be.pauses * c->be.pause_ms * c->nresp;

		if (res.proxy_cpu_ns / 1000000 * 2 > paused_ms)
			snprintf(why, sizeof(why), "the proxy's thread used %llu ms of CPU in a run whose backend "
				 "paused %llu ms: a blocked recv() does not sleep",
				 (unsigned long long)(res.proxy_cpu_ns / 1000000), (unsigned long long)paused_ms);
	}
	if (!why[0] && c->rd == RD_TRUNC && !res.truncated)
		snprintf(why, sizeof(why), "no recv(MSG_TRUNC) discarded a byte: the case tested nothing");
	if (!why[0] && on && c->rd == RD_TRUNC && D(FALLBACK_DESYNC))
		snprintf(why, sizeof(why), "libra lost its place in the stream after a recv(MSG_TRUNC) (fallback_desync)");
	if (!why[0] && c->rd == RD_SIGNAL && !res.interrupts)
		snprintf(why, sizeof(why), "no recv() was interrupted: the signal path was not exercised");
	if (!why[0] && c->rd == RD_TIMEO && res.timeouts < 2)
		snprintf(why, sizeof(why), "SO_RCVTIMEO never expired twice (%llu): the stalls were not seen",
			 (unsigned long long)res.timeouts);
	if (!why[0] && (c->rd == RD_NONBLOCK || c->rd == RD_EPOLL) && !res.eagains)
		snprintf(why, sizeof(why), "no EAGAIN was ever seen: the non-blocking path was not exercised");
	if (!why[0] && c->wr == WR_NONBLOCK && !res.blocked_sends)
		snprintf(why, sizeof(why), "no send ever blocked: the slow sink did not push back");

	if (why[0]) {
		printf("case %s %s: FAILED: %s\n", c->name, label, why);
		if (left)
			printf("case %s %s:   and %llu anchors (%llu bytes) were still held 5 s after the run\n",
			       c->name, label, (unsigned long long)after[LIBRA_STAT_ANCHORS_NOW],
			       (unsigned long long)after[LIBRA_STAT_ANCHORED_BYTES_NOW]);
		if (on && libra_fd >= 0)
			printf("case %s %s:   counters: anchored %llu, zc %llu, fallback_copied %llu, small_body %llu, "
			       "not_adopted %llu, desync %llu, parser_errors %llu, tokens read %llu\n", c->name, label,
			       (unsigned long long)D(BYTES_ANCHORED), (unsigned long long)D(BYTES_ZERO_COPY_SENT),
			       (unsigned long long)D(BYTES_FALLBACK_COPIED), (unsigned long long)D(FALLBACK_SMALL_BODY),
			       (unsigned long long)D(FALLBACK_NOT_ADOPTED), (unsigned long long)D(FALLBACK_DESYNC),
			       (unsigned long long)D(PARSER_ERRORS), (unsigned long long)res.tokens);
	} else {
		size_t delivered = c->abort_read ? MIN(c->abort_fwd, s->len) : s->len;

		printf("case %s %s: ok (%zu, anchored %llu, zc %llu) %.1fs\n", c->name, label, delivered,
		       (unsigned long long)D(BYTES_ANCHORED), (unsigned long long)D(BYTES_ZERO_COPY_SENT),
		       (now_ns() - t0) / 1e9);
	}
	fflush(stdout);
	free(p.buf);
	free(p.peek);
	free(p.log);
	return !why[0];
}

static bool selected(const char *only, const char *name)
{
	size_t n = strlen(name);

	if (!only)
		return true;
	for (const char *p = only; (p = strstr(p, name)); p += n)
		if ((p == only || p[-1] == ',') && (p[n] == ',' || !p[n]))
			return true;
	return false;
}

int main(int argc, char **argv)
{
	const char *only = NULL, *skip = NULL;
	uint64_t t0 = now_ns();
	int matched = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--only") && i + 1 < argc) {
			only = argv[++i];
		} else if (!strcmp(argv[i], "--skip") && i + 1 < argc) {
			skip = argv[++i];
		} else if (!strcmp(argv[i], "--off-only")) {
			off_only = true;
		} else if (!strcmp(argv[i], "--inject") && i + 1 < argc) {
			i++;
			if (!strcmp(argv[i], "corrupt"))
				inject = INJECT_CORRUPT;
			else if (!strcmp(argv[i], "no-optin"))
				inject = INJECT_NO_OPTIN;
			else
				goto usage;
		} else if (!strcmp(argv[i], "--list")) {
			for (size_t k = 0; k < NCASES; k++)
				printf("%s\n", cases[k].name);
			return 0;
		} else {
			goto usage;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	shared = mmap(NULL, sizeof(*shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED) {
		perror("sockcheck: mmap");
		return 2;
	}
	if (!off_only) {
		struct libra_version v;

		libra_fd = open("/dev/" LIBRA_DEVICE_NAME, O_RDWR | O_CLOEXEC);
		if (libra_fd < 0 || ioctl(libra_fd, LIBRA_IOC_GET_VERSION, &v)) {
			perror("sockcheck: /dev/libra (--off-only runs without it)");
			return 2;
		}
		if (v.abi_version != LIBRA_ABI_VERSION) {
			fprintf(stderr, "sockcheck: module ABI %u, expected %u\n", v.abi_version, LIBRA_ABI_VERSION);
			return 2;
		}
	}
	/*
	 * Each case in a process of its own: anchors a failing case leaves
	 * behind go when it exits, and do not leak into the next case (a
	 * process holding anchors has all its sends looked at).
	 */
	for (size_t k = 0; k < NCASES; k++) {
		const struct case_spec *c = &cases[k];
		char st[64];
		pid_t pid;
		int status;

		if (!selected(only, c->name) || (skip && selected(skip, c->name)))
			continue;
		matched++;
		pid = fork_or_die();
		if (!pid) {
			struct stream s;
			int bad = 0;

			build_stream(c, &s);
			bad |= run_one(c, &s, false) ? 0 : 1;
			if (!off_only)
				bad |= run_one(c, &s, true) ? 0 : 2;
			free_stream(&s);
			fflush(NULL);
			_exit(bad);
		}
		status = reap(pid, now_ns() + (2ULL * RUN_TIMEOUT_S + 60) * 1000000000ULL);
		runs += off_only ? 1 : 2;
		if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) > 3) {
			printf("case %s: FAILED: its process %s\n", c->name, status_str(status, st, sizeof(st)));
			note_failure(c->name, "off+on");
		} else {
			if (WEXITSTATUS(status) & 1)
				note_failure(c->name, "off");
			if (WEXITSTATUS(status) & 2)
				note_failure(c->name, "on");
		}
		if (libra_fd >= 0 && wait_released(5000)) {
			printf("case %s: FAILED: %llu anchors still held 5 s after its process exited\n", c->name,
			       (unsigned long long)stat_now(LIBRA_STAT_ANCHORS_NOW));
			note_failure(c->name, "exit");
		}
	}
	if (!matched) {
		fprintf(stderr, "sockcheck: no case matches %s\n", only);
		return 2;
	}
	printf("sockcheck: %d runs, %d failed%s%s (%.1f s)\n", runs, failures, failures ? ":" : "",
	       failed_names, (now_ns() - t0) / 1e9);
	return failures ? 1 : 0;
usage:
	fprintf(stderr, "usage: sockcheck [--only NAME[,NAME...]] [--skip NAME[,NAME...]] [--off-only] [--list] "
			"[--inject corrupt|no-optin]\n");
	return 2;
}
