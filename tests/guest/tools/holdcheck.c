// SPDX-License-Identifier: GPL-2.0
/*
 * holdcheck: the bytes libra's send path holds back (docs/design.md, "a
 * token cut off by a send").
 *
 * A process that holds anchors has every send scanned for tokens. Where the
 * data of a send ends in the first bytes of a token's magic and nothing says
 * more must follow (a body to the close, or framing libra does not follow),
 * libra takes those bytes and holds them until the program sends again,
 * shuts down, closes, or tx_hold_ms passes. Each case here sends such data
 * on a fresh downstream connection whose framing is unknown (not HTTP) to a
 * sink child, while the process holds an anchor of a response it received
 * and never forwards:
 *
 *   expire    the data ends in "\xf7LI" and the program then waits: all of
 *             it must reach the sink before any close (tx_holds_expired +1)
 *   shutdown  ends in "\xf7LIBR", shutdown(SHUT_WR) at once: all, then EOF
 *   close     ends in "\xf7", close() at once: all, then EOF
 *   full      the send buffer is full (sink asleep, SO_SNDBUF small, sends
 *             until EAGAIN), then "\xf7L" (taken at once) and close(): the
 *             close must queue the held bytes anyway: all, then EOF
 *   continued ends in "\xf7LIB", the next send brings the rest of the magic
 *             and bytes no token has: sent as they are (tokens_rejected +1)
 *   lone      ends in "\xf7", the next send goes on with bytes no magic has:
 *             body bytes, not a token (tokens_rejected stays)
 *   sendfile  as lone, both pieces sent by sendfile() from a file: from 6.5
 *             the call reaches tcp_sendmsg with MSG_SPLICE_PAGES, and the
 *             held byte, in libra's own memory, must still be copied
 *   last-chunk  framed this time: a chunked upload whose chunk data ends in
 *             "\xf7", its CRLF in the same send, which must take all of it
 *             (a short send would leave an edge-triggered writer waiting for
 *             EPOLLOUT); then the last chunk alone, which ends the body: all
 *             of it must reach the sink while the program waits, not at close
 *
 * Every case runs Libra off (no opt-in, no anchor), then on. Each checks
 * the sink got exactly the bytes sent (length and FNV-1a hash), and the
 * counters: tx_holds_expired as above, tx_resets never. Exit 0 when every
 * case passed, 1 when one failed, 2 on a setup error.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/libra.h>

#define UP_BODY 65536
#define SINK_REPORTS 4096

struct sink_report {
	uint64_t total;
	uint64_t hash;
	int eof;
};

static int libra_fd = -1;
static int failures;

static void die(const char *what)
{
	fprintf(stderr, "holdcheck: %s: %s\n", what, strerror(errno));
	exit(2);
}

static uint64_t fnv(uint64_t h, const uint8_t *p, size_t n)
{
	while (n--)
		h = (h ^ *p++) * 0x100000001b3ULL;
	return h;
}
#define FNV_INIT 0xcbf29ce484222325ULL

static uint64_t stat_now(enum libra_stat which)
{
	uint64_t v[__LIBRA_STAT_MAX] = { 0 };
	struct libra_stats req = { .count = __LIBRA_STAT_MAX, .values = (uintptr_t)v };

	if (libra_fd >= 0 && ioctl(libra_fd, LIBRA_IOC_GET_STATS, &req))
		die("LIBRA_IOC_GET_STATS");
	return v[which];
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ULL + ts.tv_nsec / 1000000;
}

static int listen_any(uint16_t *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 4) ||
	    getsockname(fd, (struct sockaddr *)&a, &len))
		die("listen");
	*port = ntohs(a.sin_port);
	return fd;
}

static int connect_to(uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)))
		die("connect");
	return fd;
}

/* Random bytes without 0xf7, the magic's first: only the tails cut a magic. */
static void fill(uint8_t *p, size_t n, uint64_t *seed)
{
	for (size_t i = 0; i < n; i++) {
		*seed = *seed * 6364136223846793005ULL + 1442695040888963407ULL;
		p[i] = (*seed >> 33) % 0xf7;
	}
}

/*
 * The upstream: a backend child answers one GET with a UP_BODY-byte body;
 * the caller reads the whole response and keeps it, so with Libra on it
 * holds the body's anchor from here on. Returns the upstream socket.
 */
static int hold_an_anchor(pid_t *backend)
{
	static const char req[] = "GET / HTTP/1.1\r\nHost: holdcheck\r\n\r\n";
	static uint8_t buf[2 * UP_BODY];
	char hdr[128];
	uint16_t port;
	int lfd = listen_any(&port), fd, hlen;
	size_t got = 0;

	hlen = snprintf(hdr, sizeof(hdr), "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", UP_BODY);
	*backend = fork();
	if (*backend < 0)
		die("fork");
	if (!*backend) {
		uint64_t seed = 7;
		int c = accept(lfd, NULL, NULL);
		char r[256];

		if (c < 0 || recv(c, r, sizeof(r), 0) <= 0)
			_exit(2);
		fill(buf, UP_BODY, &seed);
		if (send(c, hdr, hlen, 0) != hlen || send(c, buf, UP_BODY, 0) != UP_BODY)
			_exit(2);
		while (recv(c, r, sizeof(r), 0) > 0)
			;
		_exit(0);
	}
	close(lfd);
	fd = connect_to(port);
	if (send(fd, req, sizeof(req) - 1, 0) != (ssize_t)sizeof(req) - 1)
		die("send request");
	while (got < (size_t)hlen + UP_BODY) {
		ssize_t n = recv(fd, buf + got, sizeof(buf) - got, 0);

		if (n <= 0)
			die("recv response");
		got += n;
	}
	return fd;
}

/* The sink child: reads to EOF, reporting every read (total, hash) on @report_fd. */
static void run_sink(int lfd, int report_fd, uint32_t delay_ms)
{
	struct sink_report r = { .hash = FNV_INIT };
	static uint8_t buf[65536];
	int c = accept(lfd, NULL, NULL);

	if (c < 0)
		_exit(2);
	if (delay_ms)
		usleep(delay_ms * 1000);
	for (;;) {
		ssize_t n = recv(c, buf, sizeof(buf), 0);

		if (n < 0)
			_exit(3);
		if (n == 0)
			break;
		r.total += n;
		r.hash = fnv(r.hash, buf, n);
		if (write(report_fd, &r, sizeof(r)) != sizeof(r))
			_exit(2);
	}
	r.eof = 1;
	if (write(report_fd, &r, sizeof(r)) != sizeof(r))
		_exit(2);
	_exit(0);
}

/* The sink's latest report within @ms; false if none came. */
static bool sink_wait(int report_fd, struct sink_report *r, uint64_t want_total, bool want_eof,
		      uint32_t ms)
{
	uint64_t end = now_ms() + ms;

	for (;;) {
		struct pollfd pfd = { .fd = report_fd, .events = POLLIN };
		int64_t left = (int64_t)(end - now_ms());

		if (r->total == want_total && r->eof == want_eof)
			return true;
		if (left <= 0 || poll(&pfd, 1, left) <= 0)
			return false;
		if (read(report_fd, r, sizeof(*r)) != sizeof(*r))
			return false;
	}
}

enum case_kind { EXPIRE, SHUTDOWN, CLOSE, FULL, CONTINUED, LONE, SENDFILE, LAST_CHUNK };

struct hold_case {
	const char *name;
	enum case_kind kind;
	const char *tail;	/* the magic's first bytes the first send ends in */
};

static const struct hold_case cases[] = {
	{ "expire", EXPIRE, "\xf7LI" },
	{ "shutdown", SHUTDOWN, "\xf7LIBR" },
	{ "close", CLOSE, "\xf7" },
	{ "full", FULL, "\xf7L" },
	{ "continued", CONTINUED, "\xf7LIB" },
	{ "lone", LONE, "\xf7" },
	{ "sendfile", SENDFILE, "\xf7" },
	{ "last-chunk", LAST_CHUNK, "\xf7" },
};

static void fail(const struct hold_case *c, bool on, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "holdcheck: case %s %s: FAILED: ", c->name, on ? "on" : "off");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	failures++;
}

static ssize_t send_all(int fd, const uint8_t *p, size_t n)
{
	size_t off = 0;

	while (off < n) {
		ssize_t k = send(fd, p + off, n - off, MSG_NOSIGNAL);

		if (k < 0)
			return -1;
		off += k;
	}
	return off;
}

/* @n bytes through a file and sendfile(), as nginx sends what it spilled. */
static ssize_t sendfile_all(int fd, const uint8_t *p, size_t n)
{
	int mfd = memfd_create("holdcheck", 0);
	off_t off = 0;

	if (mfd < 0 || write(mfd, p, n) != (ssize_t)n)
		die("a file to send from");
	while ((size_t)off < n) {
		if (sendfile(fd, mfd, &off, n - off) <= 0) {
			close(mfd);
			return -1;
		}
	}
	close(mfd);
	return n;
}

static ssize_t send_piece(const struct hold_case *c, int fd, const uint8_t *p, size_t n)
{
	return c->kind == SENDFILE ? sendfile_all(fd, p, n) : send_all(fd, p, n);
}

static void run_case(const struct hold_case *c, bool on, uint32_t hold_ms)
{
	static uint8_t data[8 << 20];
	uint64_t seed = 0x5eed + c->kind, hash = FNV_INIT, sent = 0;
	uint64_t expired0 = stat_now(LIBRA_STAT_TX_HOLDS_EXPIRED);
	uint64_t resets0 = stat_now(LIBRA_STAT_TX_RESETS);
	uint64_t rejected0 = stat_now(LIBRA_STAT_TOKENS_REJECTED);
	size_t tail = strlen(c->tail), n = 3000;
	struct sink_report r = { .hash = FNV_INIT };
	int pipefd[2], lfd, fd, status;
	uint16_t port;
	pid_t sink;

	if (pipe(pipefd))
		die("pipe");
	lfd = listen_any(&port);
	sink = fork();
	if (sink < 0)
		die("fork");
	if (!sink) {
		close(pipefd[0]);
		run_sink(lfd, pipefd[1], c->kind == FULL ? 500 : 0);
	}
	close(pipefd[1]);
	close(lfd);
	fd = connect_to(port);

	if (c->kind == FULL) {
		int small = 4096, fl = fcntl(fd, F_GETFL);

		/* fill the send buffer while the sink sleeps */
		if (setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)) ||
		    fcntl(fd, F_SETFL, fl | O_NONBLOCK))
			die("nonblocking small send buffer");
		fill(data, sizeof(data), &seed);
		for (;;) {
			ssize_t k = send(fd, data + sent, 1000, MSG_NOSIGNAL);

			if (k < 0 && errno == EAGAIN)
				break;
			if (k <= 0 || sent + 2000 > sizeof(data))
				die("fill the send buffer");
			hash = fnv(hash, data + sent, k);
			sent += k;
		}
		memcpy(data, c->tail, tail);
		if (send(fd, data, tail, MSG_NOSIGNAL) != (ssize_t)tail) {
			/* stock: the buffer is full; libra takes a held tail at once */
			if (on || errno != EAGAIN)
				fail(c, on, "the tail after a full buffer: %s", strerror(errno));
			tail = 0;
		}
		hash = fnv(hash, data, tail);
		sent += tail;
		close(fd);
		if (!sink_wait(pipefd[0], &r, sent, true, 20000))
			fail(c, on, "the sink got %llu bytes%s, %llu were sent", (unsigned long long)r.total,
			     r.eof ? " and EOF" : "", (unsigned long long)sent);
		goto check;
	}

	if (c->kind == LAST_CHUNK) {
		static const char head[] = "POST /up HTTP/1.1\r\nHost: holdcheck\r\n"
					   "Transfer-Encoding: chunked\r\n\r\n";
		size_t len = sizeof(head) - 1;
		ssize_t k;

		memcpy(data, head, len);
		len += sprintf((char *)data + len, "%zx\r\n", n + tail);
		fill(data + len, n, &seed);
		memcpy(data + len + n, c->tail, tail);
		memcpy(data + len + n + tail, "\r\n", 2);
		len += n + tail + 2;
		k = send(fd, data, len, MSG_NOSIGNAL);
		if (k != (ssize_t)len)
			fail(c, on, "a send of %zu bytes, ending in chunk data and its CRLF, took %zd "
			     "while the socket had room", len, k);
		if (k < 0 || send_all(fd, data + k, len - k) < 0)
			die("send");
		hash = fnv(hash, data, len);
		if (send_all(fd, (const uint8_t *)"0\r\n\r\n", 5) < 0)
			die("send");
		hash = fnv(hash, (const uint8_t *)"0\r\n\r\n", 5);
		sent = len + 5;
		if (!sink_wait(pipefd[0], &r, sent, false, 3000))
			fail(c, on, "%llu of %llu bytes reached the sink while the program waited after "
			     "the last chunk", (unsigned long long)r.total, (unsigned long long)sent);
		close(fd);
		if (!sink_wait(pipefd[0], &r, sent, true, 5000))
			fail(c, on, "the sink got %llu bytes%s, %llu were sent", (unsigned long long)r.total,
			     r.eof ? " and EOF" : "", (unsigned long long)sent);
		goto check;
	}

	fill(data, n, &seed);
	memcpy(data + n, c->tail, tail);
	if (send_piece(c, fd, data, n + tail) < 0)
		fail(c, on, "the first send: %s", strerror(errno));
	hash = fnv(hash, data, n + tail);
	sent = n + tail;
	switch (c->kind) {
	case EXPIRE:
		if (!sink_wait(pipefd[0], &r, sent, false, hold_ms + 3000))
			fail(c, on, "%llu of %llu bytes reached the sink while the program waited",
			     (unsigned long long)r.total, (unsigned long long)sent);
		close(fd);
		break;
	case SHUTDOWN:
		if (shutdown(fd, SHUT_WR))
			die("shutdown");
		if (!sink_wait(pipefd[0], &r, sent, true, 5000))
			fail(c, on, "after shutdown the sink got %llu bytes%s, %llu were sent",
			     (unsigned long long)r.total, r.eof ? " and EOF" : "", (unsigned long long)sent);
		close(fd);
		break;
	case CLOSE:
		close(fd);
		break;
	case CONTINUED:
	case LONE:
	case SENDFILE:
		/* the rest of the magic, then bytes that make no valid token; or no magic at all */
		fill(data, 204, &seed);
		if (c->kind == CONTINUED)
			memcpy(data, "RA\x01\xf7", 4);
		else
			data[0] = 'x';
		if (send_piece(c, fd, data, 204) < 0)
			fail(c, on, "the second send: %s", strerror(errno));
		hash = fnv(hash, data, 204);
		sent += 204;
		close(fd);
		break;
	default:
		break;
	}
	if (!sink_wait(pipefd[0], &r, sent, true, 5000))
		fail(c, on, "the sink got %llu bytes%s, %llu were sent", (unsigned long long)r.total,
		     r.eof ? " and EOF" : "", (unsigned long long)sent);
check:
	if (r.total == sent && r.hash != hash)
		fail(c, on, "the sink got %llu bytes, but not the ones sent", (unsigned long long)sent);
	if (waitpid(sink, &status, 0) != sink || !WIFEXITED(status) || WEXITSTATUS(status))
		fail(c, on, "the sink failed (status %#x)", status);
	close(pipefd[0]);
	if (stat_now(LIBRA_STAT_TX_RESETS) != resets0)
		fail(c, on, "tx_resets moved");
	if (on && stat_now(LIBRA_STAT_TX_HOLDS_EXPIRED) - expired0 != (c->kind == EXPIRE))
		fail(c, on, "tx_holds_expired moved by %llu, expected %d",
		     (unsigned long long)(stat_now(LIBRA_STAT_TX_HOLDS_EXPIRED) - expired0),
		     c->kind == EXPIRE);
	if (on && stat_now(LIBRA_STAT_TOKENS_REJECTED) - rejected0 != (c->kind == CONTINUED))
		fail(c, on, "tokens_rejected moved by %llu, expected %d",
		     (unsigned long long)(stat_now(LIBRA_STAT_TOKENS_REJECTED) - rejected0),
		     c->kind == CONTINUED);
	printf("holdcheck: case %s %s: %s\n", c->name, on ? "on" : "off",
	       failures ? "done" : "ok");
}

static int optin(bool add)
{
	struct libra_optin req = { .pid = getpid() };

	return ioctl(libra_fd, add ? LIBRA_IOC_OPTIN_ADD : LIBRA_IOC_OPTIN_DEL, &req);
}

static uint32_t read_hold_ms(void)
{
	FILE *f = fopen("/sys/module/libra/parameters/tx_hold_ms", "r");
	unsigned int ms = 0;

	if (!f || fscanf(f, "%u", &ms) != 1)
		die("read /sys/module/libra/parameters/tx_hold_ms");
	fclose(f);
	return ms;
}

int main(void)
{
	uint32_t hold_ms = read_hold_ms();
	pid_t backend;
	int up;

	signal(SIGPIPE, SIG_IGN);
	libra_fd = open("/dev/libra", O_RDWR | O_CLOEXEC);
	if (libra_fd < 0)
		die("open /dev/libra");
	for (int on = 0; on <= 1; on++) {
		int before = failures;

		if (on && optin(true))
			die("LIBRA_IOC_OPTIN_ADD");
		up = hold_an_anchor(&backend);
		if (on && !stat_now(LIBRA_STAT_ANCHORS_NOW)) {
			fprintf(stderr, "holdcheck: no anchor after the upstream response: libra never engaged\n");
			failures++;
		}
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
			run_case(&cases[i], on, hold_ms);
		close(up);
		waitpid(backend, NULL, 0);
		if (on && optin(false))
			die("LIBRA_IOC_OPTIN_DEL");
		printf("holdcheck: Libra %s: %s\n", on ? "on" : "off", failures == before ? "PASS" : "FAILED");
	}
	return failures ? 1 : 0;
}
