// SPDX-License-Identifier: GPL-2.0
/*
 * failsafe: the socket-level cases of the fail-safe rules (docs/design.md,
 * "Where a token may go"), one per hazard: whatever an opted-in program
 * does with the bytes it received, every byte a peer gets is the byte stock
 * Linux would deliver, or the connection fails visibly, never with a token
 * or stale memory in it.
 *
 * Each case runs in a process of its own, twice: "off" (stock paths) and
 * "on" (that process, and only it, opted in through /dev/libra; the parser
 * must be attached). The process is the proxy: it receives an HTTP
 * response (or request) from a forked backend with the case's pattern and
 * does with its buffer what the case says: writes it to an AF_UNIX socket,
 * a pipe or a file, sends it where libra cannot follow the framing, sends
 * part of a body and then another response, sends from two threads, after
 * a reconnect, twice, from a fork child, after a TLS handshake, with
 * MSG_ZEROCOPY, after the anchors expired, on a kernel-TLS socket (ktls-*:
 * each cipher, odd buffers and writev(), regions cut by records or by the
 * program's writes, waiting for room, close, sendfile(), a handshake in the
 * clear first; there libra on must send whole regions from the anchored
 * pages, zero-copy). What the far end got is compared with what the
 * backend sent (byte for byte), and "on" must agree with "off" wherever
 * stock is deterministic; where libra must fail instead (a token it cannot
 * stand in for), the case checks the connection failed and the peer never
 * saw a token's bytes. Receive buffers are filled with STALE first: no
 * byte of it may ever reach a peer or show in what a recv() returned.
 *
 *   failsafe [--only NAME[,NAME...]] [--list]
 *
 * Exit status 0 when every run passed.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/errqueue.h>
#include <linux/io_uring.h>
#include <linux/tls.h>
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
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/libra.h>
#include <linux/sockios.h>

#ifndef SO_ZEROCOPY
#define SO_ZEROCOPY 60
#endif
#ifndef MSG_ZEROCOPY
#define MSG_ZEROCOPY 0x4000000
#endif

#ifndef SOL_TLS
#define SOL_TLS 282
#endif

#define KiB 1024u
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define STALE 'S'
#define RUN_TIMEOUT_S 60

static int libra_fd = -1;
static bool on;			/* this run is opted in */
static const char *case_name;

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "case %s %s: FAILED: ", case_name, on ? "on" : "off");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void say(const char *fmt, ...)
{
	va_list ap;

	printf("case %s %s: ", case_name, on ? "on" : "off");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

/* ------------------------------------------------------------- helpers */

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* A body of @n pseudo-random bytes, 0xf7 (a token's first byte) among them. */
static uint8_t *make_body(size_t n, uint64_t seed)
{
	uint8_t *b = malloc(n);

	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)splitmix(&seed);
	return b;
}

struct msg {
	uint8_t *p;
	size_t len, hdr;	/* whole message; its headers' length */
};

static struct msg make_response(size_t body, uint64_t seed)
{
	struct msg m;
	char hdr[128];
	uint8_t *b = make_body(body, seed);

	m.hdr = snprintf(hdr, sizeof(hdr), "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", body);
	m.len = m.hdr + body;
	m.p = malloc(m.len);
	memcpy(m.p, hdr, m.hdr);
	memcpy(m.p + m.hdr, b, body);
	free(b);
	return m;
}

static struct msg make_request(const char *method, size_t body, uint64_t seed)
{
	struct msg m;
	char hdr[160];
	uint8_t *b = make_body(body, seed);

	m.hdr = snprintf(hdr, sizeof(hdr), "%s /up HTTP/1.1\r\nHost: failsafe\r\nContent-Length: %zu\r\n\r\n",
			 method, body);
	m.len = m.hdr + body;
	m.p = malloc(m.len);
	memcpy(m.p, hdr, m.hdr);
	memcpy(m.p + m.hdr, b, body);
	free(b);
	return m;
}

static bool has_magic(const uint8_t *p, size_t n)
{
	return memmem(p, n, LIBRA_TOKEN_MAGIC, 8) != NULL;
}

static void write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n) {
		ssize_t w = write(fd, b, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			die("write: %s", strerror(errno));
		b += w;
		n -= w;
	}
}

/* A child's result through a pipe: its length, then its bytes. */
/*
 * A peer reports what it received. Peers are fork children of the case's
 * process, which holds tokens: libra guards their writes too (a child's
 * memory may hold its parent's tokens), so a token that reached a peer
 * would be written out as its region's bytes on the way into the pipe, and
 * the case would compare the right bytes. Whether the bytes held a token
 * is decided here, before that write.
 */
static void write_blob(int fd, const void *p, size_t len)
{
	bool token = has_magic(p, len);

	write_all(fd, &token, sizeof(token));
	write_all(fd, &len, sizeof(len));
	write_all(fd, p, len);
}

static uint8_t *read_blob(int fd, size_t *len, const char *who)
{
	uint8_t *b;
	bool token;

	if (read(fd, &token, sizeof(token)) != sizeof(token) ||
	    read(fd, len, sizeof(*len)) != sizeof(*len))
		die("%s died", who);
	if (token)
		die("%s received a token's bytes", who);
	b = malloc(*len + 1);
	for (size_t n = 0; n < *len;) {
		ssize_t k = read(fd, b + n, *len - n);

		if (k <= 0)
			die("%s: short result", who);
		n += k;
	}
	return b;
}

/* Sends all of @n bytes; returns 0, or -errno of the failing send. */
static int send_all(int fd, const void *p, size_t n, int flags)
{
	const uint8_t *b = p;

	while (n) {
		ssize_t w = send(fd, b, n, flags | MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		b += w;
		n -= w;
	}
	return 0;
}

/* Sends @a and @b with one sendmsg() as far as it takes them, then the rest; 0 or -errno. */
static int send_two(int fd, const void *a, size_t alen, const void *b, size_t blen)
{
	struct iovec iov[2] = { { (void *)a, alen }, { (void *)b, blen } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
	ssize_t w;

	do
		w = sendmsg(fd, &mh, MSG_NOSIGNAL);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return -errno;
	if ((size_t)w < alen)
		return send_all(fd, (const uint8_t *)a + w, alen - w, 0) ?: send_all(fd, b, blen, 0);
	return send_all(fd, (const uint8_t *)b + (w - alen), blen - (w - alen), 0);
}

/* Reads until EOF or error into a growing buffer; *err gets -errno of an error. */
static uint8_t *read_to_end(int fd, size_t *len, int *err)
{
	size_t cap = 65536, n = 0;
	uint8_t *b = malloc(cap);

	*err = 0;
	for (;;) {
		ssize_t r;

		if (n == cap)
			b = realloc(b, cap *= 2);
		r = read(fd, b + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			*err = -errno;
			break;
		}
		if (!r)
			break;
		n += r;
	}
	*len = n;
	return b;
}

static int listen_on(uint16_t *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 16) ||
	    getsockname(fd, (struct sockaddr *)&a, &al))
		die("listen: %s", strerror(errno));
	*port = ntohs(a.sin_port);
	return fd;
}

static int connect_to(uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (connect(fd, (struct sockaddr *)&a, sizeof(a)))
		die("connect: %s", strerror(errno));
	return fd;
}

static int accept_one(int lfd)
{
	int fd = accept(lfd, NULL, NULL);

	if (fd < 0)
		die("accept: %s", strerror(errno));
	return fd;
}

/* Reads one HTTP header block (up to CRLFCRLF) byte by byte: nothing past it. */
static void read_headers(int fd)
{
	char w[4] = { 0 };
	uint8_t c;

	for (;;) {
		ssize_t r = read(fd, &c, 1);

		if (r <= 0)
			die("reading headers: %s", r ? strerror(errno) : "EOF");
		memmove(w, w + 1, 3);
		w[3] = c;
		if (!memcmp(w, "\r\n\r\n", 4))
			return;
	}
}

static void rst_close(int fd)
{
	struct linger l = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(fd);
}

/* --------------------------------------------------------- /dev/libra */

static uint64_t stat_now(enum libra_stat which)
{
	uint64_t v[__LIBRA_STAT_MAX] = { 0 };
	struct libra_stats req = { .count = __LIBRA_STAT_MAX, .values = (uintptr_t)v };

	if (libra_fd >= 0 && ioctl(libra_fd, LIBRA_IOC_GET_STATS, &req))
		die("LIBRA_IOC_GET_STATS: %s", strerror(errno));
	return v[which];
}

static void optin_self(void)
{
	struct libra_optin req = { .pid = getpid() };

	if (ioctl(libra_fd, LIBRA_IOC_OPTIN_ADD, &req))
		die("LIBRA_IOC_OPTIN_ADD: %s", strerror(errno));
}

/* Our own entry in LIBRA_IOC_LIST_PROCS, or flags 0. */
static uint32_t proc_flags(void)
{
	struct libra_proc_info info[256];
	struct libra_proc_list req = { .count = 256, .entries = (uintptr_t)info };

	if (libra_fd < 0 || ioctl(libra_fd, LIBRA_IOC_LIST_PROCS, &req))
		return 0;
	for (uint32_t i = 0; i < req.count; i++)
		if (info[i].tgid == getpid())
			return info[i].flags;
	return 0;
}

/* ------------------------------------------------------------ backend */

struct backend {
	const struct msg *msgs;		/* sent in turn, one per request read */
	int nmsgs;
	size_t rst_after;		/* close with RST after this many bytes of msgs[0] (0: no) */
	size_t oob_at;			/* a MSG_OOB byte after this many bytes of msgs[0] (0: no) */
	bool request_first;		/* read a request before each message */
};

/* Forks a backend serving @b on a fresh port; returns the port. */
static uint16_t start_backend(const struct backend *b)
{
	uint16_t port;
	int lfd = listen_on(&port);

	if (fork() == 0) {
		int fd = accept_one(lfd);

		for (int i = 0; i < b->nmsgs; i++) {
			const struct msg *m = &b->msgs[i];

			if (b->request_first)
				read_headers(fd);
			if (i == 0 && b->oob_at) {
				send_all(fd, m->p, b->oob_at, 0);
				usleep(100000);
				send(fd, "!", 1, MSG_OOB);
				usleep(100000);
				send_all(fd, m->p + b->oob_at, m->len - b->oob_at, 0);
			} else if (i == 0 && b->rst_after) {
				send_all(fd, m->p, b->rst_after, 0);
				usleep(300000);
				rst_close(fd);
				_exit(0);
			} else {
				send_all(fd, m->p, m->len, 0);
			}
		}
		/* wait for the proxy to close */
		char c;
		while (read(fd, &c, 1) > 0)
			;
		_exit(0);
	}
	close(lfd);
	return port;
}

/* The proxy's upstream: connects and sends a request (libra's CLIENT role). */
static int upstream(uint16_t port)
{
	int fd = connect_to(port);

	if (send_all(fd, "GET /x HTTP/1.1\r\nHost: failsafe\r\n\r\n", 35, 0))
		die("sending the request");
	return fd;
}

/*
 * Receives @want bytes of the stream into a STALE-filled buffer, with
 * recv()s of at most @chunk bytes (a region per recv). The result is what
 * the program would hold: tokens and zero fill with libra on.
 */
static uint8_t *recv_stream(int fd, size_t want, size_t chunk)
{
	uint8_t *buf = malloc(want);
	size_t got = 0;

	memset(buf, STALE, want);
	while (got < want) {
		ssize_t r = recv(fd, buf + got, chunk < want - got ? chunk : want - got, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			die("recv after %zu of %zu bytes: %s", got, want, r ? strerror(errno) : "EOF");
		got += r;
	}
	return buf;
}

/* Where a token stands in a received buffer, and how many bytes it stands for. */
struct region {
	size_t at, len;
};

/*
 * What a recv() handed over, @got against the bytes sent, @sent: equal,
 * or (libra on) a token and zero fill where a region was anchored. Never a
 * byte of what the buffer held before. The first @max regions go to
 * @list (if any): what a case that sends them needs to know.
 */
static size_t scan_received(const uint8_t *got, const uint8_t *sent, size_t len,
			    struct region *list, size_t max)
{
	size_t regions = 0;

	for (size_t i = 0; i < len;) {
		struct libra_token tok;

		if (on && len - i >= sizeof(tok) && !memcmp(got + i, LIBRA_TOKEN_MAGIC, 8)) {
			memcpy(&tok, got + i, sizeof(tok));
			if (tok.len >= sizeof(tok) && tok.len <= len - i &&
			    memcmp(got + i, sent + i, sizeof(tok))) {
				for (size_t k = sizeof(tok); k < tok.len; k++)
					if (got[i + k])
						die("byte %zu of a region at %zu is 0x%02x, not the zero fill",
						    k, i, got[i + k]);
				if (regions < max)
					list[regions] = (struct region){ .at = i, .len = tok.len };
				i += tok.len;
				regions++;
				continue;
			}
		}
		if (got[i] != sent[i])
			die("received byte %zu is 0x%02x, sent 0x%02x", i, got[i], sent[i]);
		i++;
	}
	return regions;
}

static size_t check_received(const uint8_t *got, const uint8_t *sent, size_t len)
{
	return scan_received(got, sent, len, NULL, 0);
}

static void expect_equal(const char *what, const uint8_t *got, size_t glen,
			 const uint8_t *want, size_t wlen)
{
	if (glen != wlen)
		die("%s: %zu bytes, expected %zu", what, glen, wlen);
	for (size_t i = 0; i < wlen; i++)
		if (got[i] != want[i])
			die("%s: byte %zu is 0x%02x, expected 0x%02x%s", what, i, got[i], want[i],
			    has_magic(got, glen) ? " (a token's magic is in it)" : "");
}

/* Anchored with libra on: else the case proves nothing. */
static void expect_anchored(uint64_t before)
{
	if (on && stat_now(LIBRA_STAT_BYTES_ANCHORED) == before)
		die("libra never anchored anything: the case tests nothing");
}

/* ------------------------------------------------------- the egresses */

/* A response received with 64 KiB recvs (or @chunk): regions and all. */
struct received {
	struct msg sent;
	uint8_t *buf;
	int fd;
};

static struct received receive_chunked(size_t body, uint64_t seed, size_t chunk)
{
	struct received r = { .sent = make_response(body, seed) };
	struct backend b = { .msgs = &r.sent, .nmsgs = 1, .request_first = true };
	uint64_t before = stat_now(LIBRA_STAT_BYTES_ANCHORED);

	r.fd = upstream(start_backend(&b));
	r.buf = recv_stream(r.fd, r.sent.len, chunk);
	check_received(r.buf, r.sent.p, r.sent.len);
	expect_anchored(before);
	return r;
}

static struct received receive_response(size_t body, uint64_t seed)
{
	return receive_chunked(body, seed, 64 * KiB);
}

/*
 * A child writes the whole received buffer, every region in it whole, into
 * @fds[1]; the far end @fds[0] must read the bytes the backend sent.
 */
static void write_through(int fds[2], const struct received *r, const char *who)
{
	size_t glen;
	uint8_t *got;
	int err;

	if (fork() == 0) {
		close(fds[0]);
		write_all(fds[1], r->buf, r->sent.len);
		_exit(0);
	}
	close(fds[1]);
	got = read_to_end(fds[0], &glen, &err);
	wait(NULL);
	expect_equal(who, got, glen, r->sent.p, r->sent.len);
	free(got);
}

static void case_unix_socketpair(void)
{
	struct received r = receive_response(300 * KiB + 7, 1);
	uint64_t before = stat_now(LIBRA_STAT_BYTES_MATERIALIZED);
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		die("socketpair: %s", strerror(errno));
	write_through(sv, &r, "the AF_UNIX peer");
	if (on && stat_now(LIBRA_STAT_BYTES_MATERIALIZED) == before)
		die("nothing was materialized");
}

/*
 * The same buffer written in pieces that cut its regions: a region goes on
 * past the buffer the write was given, where libra may not write, so the
 * write fails (EIO) and the peer gets a correct prefix, never a token.
 */
static void case_unix_cut(void)
{
	struct received r = receive_response(300 * KiB + 7, 17);
	uint64_t before = stat_now(LIBRA_STAT_TOKENS_REFUSED);
	int sv[2], err, st;
	size_t glen;
	uint8_t *got;
	pid_t w;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		die("socketpair: %s", strerror(errno));
	w = fork();
	if (w == 0) {
		close(sv[0]);
		for (size_t off = 0; off < r.sent.len; off += 50000) {
			size_t n = r.sent.len - off < 50000 ? r.sent.len - off : 50000;
			ssize_t k = write(sv[1], r.buf + off, n);

			if (k < 0)
				_exit(errno == EIO ? 3 : 2);
			if ((size_t)k != n)
				_exit(2);
		}
		_exit(0);
	}
	close(sv[1]);
	got = read_to_end(sv[0], &glen, &err);
	waitpid(w, &st, 0);
	if (!on) {
		expect_equal("the AF_UNIX peer", got, glen, r.sent.p, r.sent.len);
		return;
	}
	if (WEXITSTATUS(st) != 3)
		die("a write cutting a region did not fail with EIO (writer exit %d)", WEXITSTATUS(st));
	if (has_magic(got, glen) || glen >= r.sent.len || memcmp(got, r.sent.p, glen))
		die("the peer got %zu bytes: a token, the whole stream or wrong bytes", glen);
	if (stat_now(LIBRA_STAT_TOKENS_REFUSED) == before)
		die("tokens_refused did not count the refusal");
}

static void case_pipe(void)
{
	struct received r = receive_response(200 * KiB, 2);
	int p[2];

	if (pipe(p))
		die("pipe: %s", strerror(errno));
	write_through(p, &r, "the pipe's reader");
}

static void case_file(void)
{
	struct received r = receive_response(500 * KiB + 3, 3);
	char path[] = "/tmp/failsafe-XXXXXX";
	int fd = mkstemp(path);
	uint8_t *got = malloc(r.sent.len);
	struct iovec iov[2] = { { r.buf, 1000 }, { r.buf + 1000, r.sent.len - 1000 } };

	unlink(path);
	/* writev at an offset, as nginx writes its temp files */
	if (pwritev(fd, iov, 2, 0) != (ssize_t)r.sent.len)
		die("pwritev: %s", strerror(errno));
	if (pread(fd, got, r.sent.len, 0) != (ssize_t)r.sent.len)
		die("pread: %s", strerror(errno));
	expect_equal("the file read back", got, r.sent.len, r.sent.p, r.sent.len);
	close(fd);
}

/* The proxy's downstream: a sink that connects and sends a request first (SERVER role). */
struct sink {
	int lfd, fd;
	pid_t pid;
	int out[2];		/* the sink's bytes, to the proxy */
};

static struct sink start_peer(const void *request, size_t reqlen, size_t rcvbuf)
{
	struct sink s;
	uint16_t port;

	s.lfd = listen_on(&port);
	if (pipe(s.out))
		die("pipe: %s", strerror(errno));
	s.pid = fork();
	if (s.pid == 0) {
		int fd, err;
		size_t len;
		uint8_t *got;

		close(s.out[0]);
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (rcvbuf)
			setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
					 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		if (connect(fd, (struct sockaddr *)&a, sizeof(a)))
			_exit(2);
		if (reqlen && send_all(fd, request, reqlen, 0))
			_exit(2);
		if (rcvbuf)
			usleep(300000);	/* let the proxy's sends fill the window */
		got = read_to_end(fd, &len, &err);
		write_all(s.out[1], &err, sizeof(err));
		write_blob(s.out[1], got, len);
		_exit(0);
	}
	close(s.out[1]);
	s.fd = accept_one(s.lfd);
	return s;
}

static struct sink start_sink(const char *request, size_t rcvbuf)
{
	return start_peer(request, request ? strlen(request) : 0, rcvbuf);
}

/* Closes the proxy's side and collects what the sink read. */
static uint8_t *finish_sink(struct sink *s, size_t *len, int *err)
{
	uint8_t *got;

	if (s->fd >= 0)
		close(s->fd);
	if (read(s->out[0], err, sizeof(*err)) != sizeof(*err))
		die("the sink died");
	got = read_blob(s->out[0], len, "the sink");
	waitpid(s->pid, NULL, 0);
	close(s->lfd);
	close(s->out[0]);
	return got;
}

/*
 * Sends @len bytes of @out to a fresh client as the response to its
 * request; returns what the client got (*@glen bytes), *@e the send's
 * result.
 */
static uint8_t *send_to_client(const uint8_t *out, size_t len, size_t *glen, int *e)
{
	struct sink s = start_sink("GET /1 HTTP/1.1\r\nHost: f\r\n\r\n", 0);
	int err;

	read_headers(s.fd);
	*e = send_all(s.fd, out, len, 0);
	return finish_sink(&s, glen, &err);
}

static uint8_t *concat(const void *a, size_t alen, const void *b, size_t blen, const void *c, size_t clen)
{
	uint8_t *p = malloc(alen + blen + clen);

	memcpy(p, a, alen);
	memcpy(p + alen, b, blen);
	memcpy(p + alen + blen, c, clen);
	return p;
}

/*
 * C2: a stream libra steps aside on (here a request, then bytes that are no
 * request); a region must not run over the foreign bytes the program puts
 * inside it.
 */
static void case_unframed_interleave(void)
{
	static const char foo[] = "FOO / HTTP/1.1\r\nHost: failsafe\r\n\r\n";
	struct received r = receive_response(100 * KiB, 4);
	struct sink s;
	size_t glen, n1 = r.sent.hdr + 100;
	uint8_t *got, *want, *tmp;
	int err, e;
	uint16_t port;
	int lfd = listen_on(&port);

	/* the proxy speaks first on this one: a client sending FOO, then the bytes */
	s.lfd = lfd;
	if (pipe(s.out))
		die("pipe");
	s.pid = fork();
	if (s.pid == 0) {
		int fd = accept_one(lfd);
		uint8_t *b = read_to_end(fd, &glen, &err);

		write_all(s.out[1], &err, sizeof(err));
		write_blob(s.out[1], b, glen);
		_exit(0);
	}
	s.fd = connect_to(port);
	e = send_all(s.fd, foo, strlen(foo), 0);
	if (!e)
		e = send_all(s.fd, r.buf, n1, 0);
	if (!e)
		e = send_all(s.fd, "XYZ", 3, 0);
	if (!e)
		e = send_all(s.fd, r.buf + n1, r.sent.len - n1, 0);
	got = finish_sink(&s, &glen, &err);
	tmp = concat(foo, strlen(foo), r.sent.p, n1, "XYZ", 3);
	want = concat(tmp, strlen(foo) + n1 + 3, r.sent.p + n1, r.sent.len - n1, "", 0);
	if (!on) {
		if (e)
			die("sending: %s", strerror(-e));
		expect_equal("the peer of an unframed stream", got, glen, want, strlen(foo) + r.sent.len + 3);
		return;
	}
	/* the region goes on past the send it starts in: that send fails, nothing wrong goes out */
	say("the send holding the token: %s; the peer got %zu bytes", e ? strerror(-e) : "ok", glen);
	if (!e)
		die("a region cut by the program's own send went out on a stream libra does not frame");
	if (has_magic(got, glen) || memcmp(got, want, glen))
		die("the peer got a token or wrong bytes");
	/* what made libra step aside may be a peer's doing: the process keeps its anchors */
	if (proc_flags() & LIBRA_PROC_F_UNFRAMED_EGRESS)
		die("a TCP stream libra stepped aside on cost the process its anchors");
}

/* M1: a body shorter than its region, then another response on the connection. */
static void case_short_body_then_next(void)
{
	struct received r = receive_response(64 * KiB, 5);
	struct sink s = start_sink("GET /1 HTTP/1.1\r\nHost: f\r\n\r\nGET /2 HTTP/1.1\r\nHost: f\r\n\r\n", 0);
	static const char h1[] = "HTTP/1.1 200 OK\r\nContent-Length: 8192\r\n\r\n";
	static const char h2[] = "HTTP/1.1 200 OK\r\nContent-Length: 8192\r\n\r\n";
	uint8_t p[8192], *got, *want, *tmp;
	size_t glen;
	int err;

	memset(p, 'P', sizeof(p));
	read_headers(s.fd);
	read_headers(s.fd);
	/* the first 8 KiB of the body's first region, then a second body of its own */
	if (send_all(s.fd, h1, strlen(h1), 0) || send_all(s.fd, r.buf + r.sent.hdr, 8192, 0) ||
	    send_all(s.fd, h2, strlen(h2), 0) || send_all(s.fd, p, sizeof(p), 0))
		die("sending");
	got = finish_sink(&s, &glen, &err);
	tmp = concat(h1, strlen(h1), r.sent.p + r.sent.hdr, 8192, h2, strlen(h2));
	want = concat(tmp, strlen(h1) + 8192 + strlen(h2), p, sizeof(p), "", 0);
	expect_equal("the client", got, glen, want, strlen(h1) + strlen(h2) + 2 * 8192);
}

/*
 * A proxy re-chunking a chunked body as HAProxy does: each outgoing chunk
 * ends anywhere, inside a token too, and the send after such a cut begins
 * with the chunk's CRLF and the next chunk-size line. The held token start
 * is decided with that send: its region belongs to the message the token
 * started in, not to framing, and must go on over the next chunk's data
 * (a region taken for another message's was dropped there, and its zero
 * fill went out in place of the body).
 */
static void case_rechunk_split_token(void)
{
	static const char hdr[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
	static const size_t cuts[] = { 1, 3, 8, 10, 31, 32, 100 };
	enum { NCHUNK = 7, CHUNK = 64 * KiB };
	struct msg m = { .hdr = strlen(hdr) };
	uint8_t *body = make_body((size_t)NCHUNK * CHUNK, 8), *buf, *got, *want;
	size_t wlen = 0, glen, at;
	uint64_t before = stat_now(LIBRA_STAT_BYTES_ANCHORED), cut = stat_now(LIBRA_STAT_REGIONS_CUT);
	struct backend b = { .msgs = &m, .nmsgs = 1, .request_first = true };
	struct sink s;
	char line[64];
	int fd, err;

	/* upstream: 64 KiB chunks, each its own anchored region */
	m.p = malloc(m.hdr + NCHUNK * (CHUNK + 16) + 8);
	memcpy(m.p, hdr, m.hdr);
	m.len = m.hdr;
	for (int i = 0; i < NCHUNK; i++) {
		m.len += sprintf((char *)m.p + m.len, "%x\r\n", CHUNK);
		memcpy(m.p + m.len, body + (size_t)i * CHUNK, CHUNK);
		m.len += CHUNK;
		memcpy(m.p + m.len, "\r\n", 2);
		m.len += 2;
	}
	memcpy(m.p + m.len, "0\r\n\r\n", 5);
	m.len += 5;
	fd = upstream(start_backend(&b));
	buf = recv_stream(fd, m.len, m.len);
	check_received(buf, m.p, m.len);
	expect_anchored(before);

	s = start_sink("GET / HTTP/1.1\r\nHost: f\r\n\r\n", 0);
	read_headers(s.fd);
	want = malloc(m.hdr + NCHUNK * (CHUNK + 40) + 8);
	memcpy(want, hdr, m.hdr);
	wlen = m.hdr;
	if (send_all(s.fd, hdr, m.hdr, 0))
		die("sending the headers");
	at = m.hdr;
	for (int i = 0; i < NCHUNK; i++) {
		const uint8_t *d = buf + at + strlen("10000\r\n");
		size_t k = cuts[i % (sizeof(cuts) / sizeof(cuts[0]))];
		int n;

		/* "k\r\n" and the chunk's first k bytes; then "\r\n<rest>\r\n" and the rest in one call */
		n = sprintf(line, "%zx\r\n", k);
		memcpy(want + wlen, line, n);
		memcpy(want + wlen + n, body + (size_t)i * CHUNK, k);
		wlen += n + k;
		if (send_all(s.fd, line, n, MSG_MORE) || send_all(s.fd, d, k, 0))
			die("sending chunk %d's start: %s", i, strerror(errno));
		n = sprintf(line, "\r\n%zx\r\n", CHUNK - k);
		memcpy(want + wlen, line, n);
		memcpy(want + wlen + n, body + (size_t)i * CHUNK + k, CHUNK - k);
		memcpy(want + wlen + n + CHUNK - k, "\r\n", 2);
		wlen += n + CHUNK - k + 2;
		if (send_two(s.fd, line, n, d + k, CHUNK - k) || send_all(s.fd, "\r\n", 2, 0))
			die("sending chunk %d's rest: %s", i, strerror(errno));
		at += strlen("10000\r\n") + CHUNK + 2;
	}
	memcpy(want + wlen, "0\r\n\r\n", 5);
	wlen += 5;
	if (send_all(s.fd, "0\r\n\r\n", 5, 0))
		die("sending the last chunk");
	got = finish_sink(&s, &glen, &err);
	expect_equal("the client", got, glen, want, wlen);
	if (on && stat_now(LIBRA_STAT_REGIONS_CUT) != cut)
		die("a region was cut on a body that went out whole");
}

/* M6: an RST after part of a body, under MSG_WAITALL or SO_RCVLOWAT. */
static void rst_case(bool lowat)
{
	struct msg m = make_response(200 * KiB, 6);
	struct backend b = { .msgs = &m, .nmsgs = 1, .request_first = true, .rst_after = m.hdr + 60000 };
	int fd = upstream(start_backend(&b)), lw = 150000;
	uint8_t *buf = malloc(m.len);
	ssize_t r1, r2;
	int e2;

	memset(buf, STALE, m.len);
	if (lowat)
		setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &lw, sizeof(lw));
	r1 = recv(fd, buf, m.len, lowat ? 0 : MSG_WAITALL);
	r2 = recv(fd, buf + (r1 > 0 ? r1 : 0), 1000, 0);
	e2 = errno;
	say("first recv %zd, then %zd (%s)", r1, r2, r2 < 0 ? strerror(e2) : "-");
	if (r1 <= 0 || (size_t)r1 > m.hdr + 60000)
		die("the first recv returned %zd", r1);
	check_received(buf, m.p, r1);
	if (r2 != -1 || e2 != ECONNRESET)
		die("after the partial read: %zd (%s), not ECONNRESET", r2, strerror(e2));
}

static void case_rst_waitall(void)
{
	rst_case(false);
}

static void case_rst_lowat(void)
{
	rst_case(true);
}

/* H1: urgent data inside a body; what the proxy forwards must be what stock delivers. */
static void case_urgent(void)
{
	struct msg m = make_response(128 * KiB, 7);
	struct backend b = { .msgs = &m, .nmsgs = 1, .request_first = true, .oob_at = m.hdr + 30000 };
	int fd = upstream(start_backend(&b));
	struct sink s = start_sink("GET / HTTP/1.1\r\nHost: f\r\n\r\n", 0);
	uint8_t *buf = malloc(m.len), *got;
	size_t n = 0, glen;
	int err;

	read_headers(s.fd);
	/* the urgent byte is not in the stream the program reads: all of the message still is */
	while (n < m.len) {
		ssize_t r = recv(fd, buf + n, m.len - n < 65536 ? m.len - n : 65536, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			die("recv: %zd %s", r, strerror(errno));
		if (send_all(s.fd, buf + n, r, 0))
			die("send");
		n += r;
	}
	got = finish_sink(&s, &glen, &err);
	expect_equal("the client", got, glen, m.p, m.len);
	if (on && !stat_now(LIBRA_STAT_FALLBACK_URGENT))
		die("fallback_urgent never counted");
}

/* C1: two threads send on one socket at once, the send buffer tiny. */
struct sender {
	int fd;
	const uint8_t *p;
	size_t len;
	int err;
};

static void *send_thread(void *arg)
{
	struct sender *s = arg;

	s->err = send_all(s->fd, s->p, s->len, 0);
	return NULL;
}

static void case_two_senders(void)
{
	struct msg m[2] = { make_response(256 * KiB, 8), make_response(256 * KiB, 9) };
	struct backend b = { .msgs = m, .nmsgs = 2, .request_first = true };
	uint64_t before = stat_now(LIBRA_STAT_BYTES_ANCHORED);
	int fd = upstream(start_backend(&b)), sndbuf = 4096, err;
	uint8_t *r1, *r2, *got, *ab, *ba;
	struct sink s;
	struct sender t[2];
	pthread_t th[2];
	size_t glen;

	r1 = recv_stream(fd, m[0].len, 64 * KiB);
	if (send_all(fd, "GET /y HTTP/1.1\r\nHost: failsafe\r\n\r\n", 35, 0))
		die("second request");
	r2 = recv_stream(fd, m[1].len, 64 * KiB);
	expect_anchored(before);
	s = start_sink("GET /1 HTTP/1.1\r\nHost: f\r\n\r\nGET /2 HTTP/1.1\r\nHost: f\r\n\r\n", 4096);
	read_headers(s.fd);
	read_headers(s.fd);
	setsockopt(s.fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	t[0] = (struct sender){ .fd = s.fd, .p = r1, .len = m[0].len };
	t[1] = (struct sender){ .fd = s.fd, .p = r2, .len = m[1].len };
	pthread_create(&th[0], NULL, send_thread, &t[0]);
	usleep(10000);
	pthread_create(&th[1], NULL, send_thread, &t[1]);
	pthread_join(th[0], NULL);
	pthread_join(th[1], NULL);
	if (t[0].err || t[1].err)
		die("a sender failed: %s / %s", strerror(-t[0].err), strerror(-t[1].err));
	got = finish_sink(&s, &glen, &err);
	if (glen != m[0].len + m[1].len)
		die("the client got %zu bytes, %zu were sent", glen, m[0].len + m[1].len);
	if (has_magic(got, glen))
		die("a token's bytes reached the client");
	if (!on)
		return;	/* stock interleaves the two sends anywhere */
	/* libra lets one send finish before the other's bytes: either order, each whole */
	ab = concat(m[0].p, m[0].len, m[1].p, m[1].len, "", 0);
	ba = concat(m[1].p, m[1].len, m[0].p, m[0].len, "", 0);
	if (memcmp(got, ab, glen) && memcmp(got, ba, glen))
		die("the client's bytes are neither send after the other");
}

/* writev() until all of @iov went; 0, or -errno of the failing call. */
static int writev_all(int fd, struct iovec *iov, int n)
{
	while (n) {
		ssize_t w = writev(fd, iov, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		for (; n && (size_t)w >= iov->iov_len; iov++, n--)
			w -= iov->iov_len;
		if (n) {
			iov->iov_base = (uint8_t *)iov->iov_base + w;
			iov->iov_len -= w;
		}
	}
	return 0;
}

/*
 * What a readv() into @v returned, @n bytes: copied in order into @flat,
 * and as the non-empty parts of its buffers into @out. Returns how many.
 */
static size_t received_iovecs(const struct iovec *v, size_t nv, size_t n, uint8_t *flat,
			      struct iovec *out)
{
	size_t at = 0, nout = 0;

	for (size_t i = 0; i < nv && at < n; i++) {
		size_t k = v[i].iov_len < n - at ? v[i].iov_len : n - at;

		memcpy(flat + at, v[i].iov_base, k);
		if (k)
			out[nout++] = (struct iovec){ .iov_base = v[i].iov_base, .iov_len = k };
		at += k;
	}
	return nout;
}

/*
 * A response read with readv() into buffers of mixed sizes, an empty one
 * and one too short for a region among them, and every fifth call with an
 * unreadable buffer in the middle. Each call's buffers are sent on as a
 * proxy forwards them, by turns: one send per buffer (a region runs on
 * into the next buffer's across calls); all in one writev() (and within
 * one); all in one writev() with the first two swapped, and one send per
 * buffer with the first two swapped (each buffer's region found by its own
 * token, never the one received after it). Every region stays inside its buffer; a call
 * that hits the unreadable buffer returns no byte past it (what went into
 * the ones before it, or EFAULT with those bytes still queued, as stock
 * may); the client gets the bytes in the order they were sent. Libra on
 * must have anchored several buffers of one call at least once.
 */
static void case_readv_buffers(void)
{
	static const size_t lens[] = { 4096, 0, 8192, 100, 4096, 12288, 2000, 6000 };
	enum { NBUF = sizeof(lens) / sizeof(lens[0]) };
	struct msg m = make_response(512 * KiB + 123, 91);
	struct backend b = { .msgs = &m, .nmsgs = 1, .request_first = true };
	uint64_t before = stat_now(LIBRA_STAT_BYTES_ANCHORED);
	int fd = upstream(start_backend(&b)), err, calls = 0, faulted = 0, most_regions = 0;
	uint8_t *bufs[NBUF], *flat = malloc(64 * KiB), *want = malloc(m.len), *got;
	void *bad = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct sink s = start_sink("GET /1 HTTP/1.1\r\nHost: f\r\n\r\n", 0);
	size_t done = 0, wlen = 0, glen;

	if (!flat || !want || bad == MAP_FAILED)
		die("out of memory");
	for (size_t i = 0; i < NBUF; i++)
		if (!(bufs[i] = malloc(lens[i] ?: 1)))
			die("out of memory");
	read_headers(s.fd);
	while (done < m.len) {
		struct iovec v[NBUF], out[NBUF];
		size_t nout;
		int regions, how = calls % 4;
		ssize_t n;

		for (size_t i = 0; i < NBUF; i++)
			v[i] = (struct iovec){ .iov_base = bufs[i], .iov_len = lens[i] };
		if (calls++ % 5 == 4)
			v[4] = (struct iovec){ .iov_base = bad, .iov_len = 4096 };
		n = readv(fd, v, NBUF);
		/*
		 * Stock may fail it all: the bytes of a copy that faulted part
		 * way are not counted, and stay queued for the next call.
		 */
		if (n < 0 && errno == EFAULT && v[4].iov_base == bad)
			continue;
		if (n <= 0)
			die("readv after %zu of %zu bytes: %s", done, m.len, n ? strerror(errno) : "EOF");
		if (v[4].iov_base == bad && (size_t)n > lens[0] + lens[1] + lens[2] + lens[3])
			die("readv put %zd bytes past an unreadable buffer", n);
		faulted += v[4].iov_base == bad && (size_t)n == lens[0] + lens[1] + lens[2] + lens[3];
		/* what the call returned, buffer after buffer: the sent bytes, or tokens and zeros */
		nout = received_iovecs(v, NBUF, n, flat, out);
		regions = scan_received(flat, m.p + done, n, NULL, 0);
		if (regions > most_regions)
			most_regions = regions;
		/* the first call carries the headers: its buffers go in order */
		if (how >= 2 && done && nout >= 2) {
			struct iovec t = out[0];

			out[0] = out[1];
			out[1] = t;
		}
		/* what the client must get: the sent bytes of each buffer, in the order sent */
		for (size_t i = 0; i < nout; i++) {
			size_t off = 0;

			for (size_t j = 0; j < NBUF && v[j].iov_base != out[i].iov_base; j++)
				off += v[j].iov_len;
			memcpy(want + wlen, m.p + done + off, out[i].iov_len);
			wlen += out[i].iov_len;
		}
		if (how == 0 || how == 3) {
			for (size_t i = 0; i < nout; i++)
				if (send_all(s.fd, out[i].iov_base, out[i].iov_len, 0))
					die("sending buffer %zu of call %d", i, calls);
		} else if (writev_all(s.fd, out, nout)) {
			die("sending the buffers of call %d", calls);
		}
		done += n;
	}
	got = finish_sink(&s, &glen, &err);
	expect_equal("the client", got, glen, want, wlen);
	expect_anchored(before);
	say("%d readv calls, %d stopped at the unreadable buffer, at most %d regions in one", calls,
	    faulted, most_regions);
	if (on && most_regions < 2)
		die("no readv anchored more than one buffer: the case tests nothing");
	close(fd);
}

/*
 * The buffers of one readv() share their pages in the kernel (one set, each
 * buffer's region a range of it). One readv() of four 8 KiB buffers, all
 * regions, goes on as: the first over TCP, the second through a pipe (its
 * real bytes written into the program's memory from the middle of the set)
 * and what the pipe gave over TCP, then the fourth before the third. The
 * client must get each buffer's own bytes, in the order sent. The rest of
 * the response is read and sent as it comes.
 */
static void case_readv_part_to_pipe(void)
{
	enum { NBUF = 4, BUF = 8192 };
	struct msg m = make_response(256 * KiB + 55, 93);
	struct backend b = { .msgs = &m, .nmsgs = 1, .request_first = true };
	uint64_t before = stat_now(LIBRA_STAT_BYTES_ANCHORED);
	uint64_t materialized = stat_now(LIBRA_STAT_BYTES_MATERIALIZED);
	int fd = upstream(start_backend(&b)), p[2], err, regions = -1;
	uint8_t *bufs[NBUF], *flat = malloc(NBUF * BUF), *piped = malloc(BUF);
	uint8_t *want = calloc(1, m.len), *got;
	struct sink s = start_sink("GET /1 HTTP/1.1\r\nHost: f\r\n\r\n", 0);
	size_t done = 0, wlen = 0, glen;

	if (!flat || !piped || !want || pipe(p))
		die("out of memory or pipes");
	for (size_t i = 0; i < NBUF; i++)
		if (!(bufs[i] = malloc(BUF)))
			die("out of memory");
	read_headers(s.fd);
	while (done < m.len) {
		struct iovec v[NBUF], out[NBUF];
		size_t nout;
		ssize_t n;

		for (size_t i = 0; i < NBUF; i++)
			v[i] = (struct iovec){ .iov_base = bufs[i], .iov_len = BUF };
		n = readv(fd, v, NBUF);
		if (n <= 0)
			die("readv after %zu of %zu bytes: %s", done, m.len, n ? strerror(errno) : "EOF");
		nout = received_iovecs(v, NBUF, n, flat, out);
		if (regions < 0 && done && n == NBUF * BUF) {
			static const int order[NBUF] = { 0, 1, 3, 2 };

			regions = scan_received(flat, m.p + done, n, NULL, 0);
			if (send_all(s.fd, bufs[0], BUF, 0))
				die("sending the first buffer");
			write_all(p[1], bufs[1], BUF);
			if (read(p[0], piped, BUF) != BUF)
				die("reading the pipe back");
			if (send_all(s.fd, piped, BUF, 0) || send_all(s.fd, bufs[3], BUF, 0) ||
			    send_all(s.fd, bufs[2], BUF, 0))
				die("sending the other buffers");
			for (size_t i = 0; i < NBUF; i++) {
				memcpy(want + wlen, m.p + done + order[i] * BUF, BUF);
				wlen += BUF;
			}
		} else {
			check_received(flat, m.p + done, n);
			if (writev_all(s.fd, out, nout))
				die("sending the buffers");
			memcpy(want + wlen, m.p + done, n);
			wlen += n;
		}
		done += n;
	}
	got = finish_sink(&s, &glen, &err);
	expect_equal("the client", got, glen, want, wlen);
	expect_anchored(before);
	say("the four buffers of one readv() held %d regions", regions);
	if (regions < 0)
		die("no readv() filled all four buffers after the headers: the case tests nothing");
	if (on && (regions != NBUF || stat_now(LIBRA_STAT_BYTES_MATERIALIZED) == materialized))
		die("%d regions, materialized %s: the case tests nothing", regions,
		    stat_now(LIBRA_STAT_BYTES_MATERIALIZED) == materialized ? "nothing" : "some");
	close(fd);
}

/* M3: part of a region sent, connect(AF_UNSPEC), reconnect elsewhere, send a request. */
static void case_reconnect(void)
{
	static const char get[] = "GET /after HTTP/1.1\r\nHost: failsafe\r\n\r\n";
	struct received r = receive_response(64 * KiB, 10);
	struct sink s = start_sink("GET /a HTTP/1.1\r\nHost: f\r\n\r\n", 0);
	struct sockaddr unspec = { .sa_family = AF_UNSPEC };
	uint16_t port_b;
	int lb = listen_on(&port_b), pb[2], err;
	pid_t b;
	uint8_t *got;
	size_t glen;

	if (pipe(pb))
		die("pipe");
	b = fork();
	if (b == 0) {
		int fd = accept_one(lb);
		uint8_t *g = read_to_end(fd, &glen, &err);

		write_blob(pb[1], g, glen);
		_exit(0);
	}
	close(pb[1]);
	read_headers(s.fd);
	if (send_all(s.fd, r.buf, r.sent.hdr + 10000, 0))
		die("sending the first part");
	if (connect(s.fd, &unspec, sizeof(unspec)))
		die("connect(AF_UNSPEC): %s", strerror(errno));
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port_b),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (connect(s.fd, (struct sockaddr *)&a, sizeof(a)))
		die("reconnect: %s", strerror(errno));
	if (send_all(s.fd, get, strlen(get), 0))
		die("sending the request");
	shutdown(s.fd, SHUT_WR);
	got = read_blob(pb[0], &glen, "peer B");
	waitpid(b, NULL, 0);
	expect_equal("the new peer", got, glen, (const uint8_t *)get, strlen(get));
	s.fd = -1;
	finish_sink(&s, &glen, &err);
}

/* A token sent after its anchor went (sent in full already): the connection fails, no token bytes. */
static void case_stale_token(void)
{
	struct received r = receive_response(64 * KiB, 11);
	struct sink s2;
	uint8_t *got;
	size_t glen;
	int err, e;

	got = send_to_client(r.buf, r.sent.len, &glen, &e);
	if (e)
		die("first send");
	expect_equal("the first client", got, glen, r.sent.p, r.sent.len);
	s2 = start_sink("GET /2 HTTP/1.1\r\nHost: f\r\n\r\n", 0);
	read_headers(s2.fd);
	e = send_all(s2.fd, r.buf, r.sent.len, 0);
	got = finish_sink(&s2, &glen, &err);
	if (!on) {
		expect_equal("the second client", got, glen, r.sent.p, r.sent.len);
		return;
	}
	say("second send: %s; the client got %zu bytes, read error %s", e ? strerror(-e) : "ok",
	    glen, err ? strerror(-err) : "none");
	if (!e)
		die("the send of a spent token succeeded");
	if (has_magic(got, glen) || glen >= r.sent.len)
		die("the second client got the token or a whole response (%zu bytes)", glen);
	if (glen && memcmp(got, r.sent.p, glen))
		die("the second client got bytes that are not the response's");
}

/*
 * A send on a connection that can send no more (shut down for writing here;
 * a client's reset is the same) fails as stock fails it, with EPIPE, and
 * nothing is refused: the anchors of the message going out there went with
 * the connection, but nothing the call carries could have gone out anyway
 * (nginx writing on to a client that reset mid-body counted refusals).
 */
static void case_send_after_shutdown(void)
{
	struct received r = receive_chunked(64 * KiB, 17, 8 * KiB);
	struct sink s = start_sink("GET /1 HTTP/1.1\r\nHost: f\r\n\r\n", 0);
	uint64_t refused = on ? stat_now(LIBRA_STAT_TOKENS_REFUSED) : 0;
	size_t part = r.sent.hdr + 12000, glen;
	uint8_t *got;
	int err, e;

	read_headers(s.fd);
	if (send_all(s.fd, r.buf, part, 0))
		die("sending the first part");
	if (shutdown(s.fd, SHUT_WR))
		die("shutdown: %s", strerror(errno));
	/* the rest: the cut region's fill, then the next regions' tokens */
	e = send_all(s.fd, r.buf + part, r.sent.len - part, 0);
	got = finish_sink(&s, &glen, &err);
	say("the send after shutdown: %s; the client got %zu bytes, read error %s",
	    e ? strerror(-e) : "ok", glen, err ? strerror(-err) : "none");
	if (e != -EPIPE)
		die("the send after shutdown: %s, where stock says EPIPE", e ? strerror(-e) : "ok");
	expect_equal("the client", got, glen, r.sent.p, part);
	if (on && stat_now(LIBRA_STAT_TOKENS_REFUSED) != refused)
		die("tokens_refused counted tokens of a send that could not go out");
}

/* A fork child sends its parent's tokens: refused, never sent as bytes. */
static void case_fork_child(void)
{
	struct received r = receive_response(64 * KiB, 12);
	struct sink s = start_sink("GET /1 HTTP/1.1\r\nHost: f\r\n\r\n", 0);
	uint8_t *got;
	size_t glen;
	int err, st;
	pid_t c;

	read_headers(s.fd);
	c = fork();
	if (c == 0)
		_exit(send_all(s.fd, r.buf, r.sent.len, 0) ? 1 : 0);
	waitpid(c, &st, 0);
	got = finish_sink(&s, &glen, &err);
	if (!on) {
		expect_equal("the client", got, glen, r.sent.p, r.sent.len);
		return;
	}
	if (has_magic(got, glen) || (glen && memcmp(got, r.sent.p, glen < r.sent.len ? glen : r.sent.len)))
		die("the client got a token or wrong bytes");
	if (glen == r.sent.len)
		return;	/* the child's send came after the parent's anchors could be found: fine if whole */
	if (!WEXITSTATUS(st))
		die("a short response, yet the child's send succeeded");
}

/*
 * The buffers of one readv() sent on one per call, the first by the
 * process that read them and the rest by its fork child. The child's first
 * send opens with the token of the region received after the one its
 * parent just finished: an ancestor's token, which it may only send as the
 * bytes written into its own memory, never by running on from its
 * parent's region as the parent's next call would.
 */
static void case_fork_successor(void)
{
	enum { NBUF = 4, BUFLEN = 16 * KiB };
	struct msg m = make_response(NBUF * BUFLEN, 43);
	struct backend b = { .msgs = &m, .nmsgs = 1, .request_first = true };
	uint64_t before = stat_now(LIBRA_STAT_BYTES_ANCHORED), mat;
	int fd = upstream(start_backend(&b)), err, st, regions;
	uint8_t *hdr, *body = malloc(NBUF * BUFLEN), *got;
	struct sink s = start_sink("GET /1 HTTP/1.1\r\nHost: f\r\n\r\n", 0);
	struct iovec v[NBUF];
	size_t glen, done = 0;
	pid_t c;

	if (!body)
		die("out of memory");
	read_headers(s.fd);
	hdr = recv_stream(fd, m.hdr, m.hdr);
	usleep(200000);	/* the whole body queued: one readv() fills every buffer */
	while (done < NBUF * BUFLEN) {
		int nv = 0;
		ssize_t n;

		for (size_t at = done; at < NBUF * BUFLEN; at = (at / BUFLEN + 1) * BUFLEN)
			v[nv++] = (struct iovec){ body + at, (at / BUFLEN + 1) * BUFLEN - at };
		n = readv(fd, v, nv);
		if (n <= 0)
			die("readv after %zu body bytes: %s", done, n ? strerror(errno) : "EOF");
		done += n;
	}
	regions = check_received(body, m.p + m.hdr, NBUF * BUFLEN);
	expect_anchored(before);
	if (on && regions < NBUF)
		die("%d regions in %d buffers: the case tests nothing", regions, NBUF);
	mat = stat_now(LIBRA_STAT_BYTES_MATERIALIZED);
	if (send_all(s.fd, hdr, m.hdr, 0) || send_all(s.fd, body, BUFLEN, 0))
		die("sending the headers and the first buffer");
	c = fork();
	if (c == 0) {
		for (int i = 1; i < NBUF; i++)
			if (send_all(s.fd, body + i * BUFLEN, BUFLEN, 0))
				_exit(1);
		_exit(0);
	}
	waitpid(c, &st, 0);
	got = finish_sink(&s, &glen, &err);
	expect_equal("the client", got, glen, m.p, m.len);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		die("the child's sends failed");
	if (on && stat_now(LIBRA_STAT_BYTES_MATERIALIZED) - mat < (NBUF - 1) * BUFLEN)
		die("the child's buffers were not written into its memory (%llu bytes)",
		    (unsigned long long)(stat_now(LIBRA_STAT_BYTES_MATERIALIZED) - mat));
	free(got);
	free(hdr);
	free(body);
	close(fd);
}

/*
 * proxy_pass https:// in small: an upload received from a plain client
 * (anchored), then a TLS handshake to the upstream and the request
 * "encrypted" (XOR) in user space. The upstream decrypts: the real body.
 */
static void case_tls_upload(void)
{
	struct msg req = make_request("POST", 200 * KiB, 13), req2 = make_request("PUT", 100 * KiB, 14);
	static const uint8_t hello[] = { 0x16, 0x03, 0x01, 0x00, 0x05, 'h', 'e', 'l', 'l', 'o' };
	uint64_t before = stat_now(LIBRA_STAT_BYTES_ANCHORED), tls_before;
	struct sink client, client2;
	uint8_t *buf, *enc, *got;
	size_t glen;
	int err, up, lu, pu[2];
	uint16_t uport;
	pid_t u;

	client = start_peer(req.p, req.len, 0);
	buf = recv_stream(client.fd, req.len, 64 * KiB);
	check_received(buf, req.p, req.len);
	expect_anchored(before);

	/* the upstream: a TLS server in small, whose decryption is XOR 0x5a */
	lu = listen_on(&uport);
	if (pipe(pu))
		die("pipe");
	u = fork();
	if (u == 0) {
		int fd = accept_one(lu);
		uint8_t *g = read_to_end(fd, &glen, &err);

		if (glen < sizeof(hello))
			glen = sizeof(hello);
		glen -= sizeof(hello);
		for (size_t k = 0; k < glen; k++)
			g[sizeof(hello) + k] ^= 0x5a;
		write_blob(pu[1], g + sizeof(hello), glen);
		_exit(0);
	}
	close(pu[1]);
	tls_before = stat_now(LIBRA_STAT_TLS_PROCESSES);
	up = connect_to(uport);
	if (send_all(up, hello, sizeof(hello), 0))
		die("sending the handshake");
	/* encrypted in user space, from the buffer the upload was received into */
	enc = malloc(req.len);
	for (size_t k = 0; k < req.len; k++)
		enc[k] = buf[k] ^ 0x5a;
	if (send_all(up, enc, req.len, 0))
		die("sending the encrypted request");
	close(up);
	got = read_blob(pu[0], &glen, "the upstream");
	waitpid(u, NULL, 0);
	expect_equal("the TLS upstream, decrypted", got, glen, req.p, req.len);
	close(client.fd);
	client.fd = -1;
	finish_sink(&client, &glen, &err);
	if (!on)
		return;
	if (!(proc_flags() & LIBRA_PROC_F_TLS_USER))
		die("LIBRA_IOC_LIST_PROCS does not show the process as terminating TLS");
	if (stat_now(LIBRA_STAT_TLS_PROCESSES) == tls_before)
		die("tls_processes did not count it");
	/* from now on nothing it receives is anchored */
	before = stat_now(LIBRA_STAT_BYTES_ANCHORED);
	client2 = start_peer(req2.p, req2.len, 0);
	buf = recv_stream(client2.fd, req2.len, 64 * KiB);
	expect_equal("the second upload as received", buf, req2.len, req2.p, req2.len);
	if (stat_now(LIBRA_STAT_BYTES_ANCHORED) != before)
		die("a process speaking TLS still got anchors");
	close(client2.fd);
	client2.fd = -1;
	finish_sink(&client2, &glen, &err);
}

/* MSG_ZEROCOPY: one stock call, the tokens written out first. */
static void case_zerocopy(void)
{
	struct received r = receive_response(200 * KiB, 15);
	struct sink s = start_sink("GET /1 HTTP/1.1\r\nHost: f\r\n\r\n", 0);
	int one = 1, err;
	uint8_t *got;
	size_t glen;

	read_headers(s.fd);
	if (setsockopt(s.fd, SOL_SOCKET, SO_ZEROCOPY, &one, sizeof(one)))
		die("SO_ZEROCOPY: %s", strerror(errno));
	if (send_all(s.fd, r.buf, r.sent.len, MSG_ZEROCOPY))
		die("send(MSG_ZEROCOPY): %s", strerror(errno));
	got = finish_sink(&s, &glen, &err);
	expect_equal("the client", got, glen, r.sent.p, r.sent.len);
}

/*
 * io_uring, raw (no liburing): one ring, one SQE at a time. Enough to send
 * with IORING_OP_SEND_ZC as a program would.
 */
struct uring {
	int fd;
	struct io_uring_params p;
	uint8_t *sq, *cq;
	struct io_uring_sqe *sqes;
	size_t sq_len, cq_len, sqes_len;
};

static void uring_setup(struct uring *u)
{
	memset(u, 0, sizeof(*u));
	u->fd = syscall(__NR_io_uring_setup, 8, &u->p);
	if (u->fd < 0)
		die("io_uring_setup: %s", strerror(errno));
	u->sq_len = u->p.sq_off.array + u->p.sq_entries * sizeof(uint32_t);
	u->cq_len = u->p.cq_off.cqes + u->p.cq_entries * sizeof(struct io_uring_cqe);
	u->sqes_len = u->p.sq_entries * sizeof(struct io_uring_sqe);
	u->sq = mmap(NULL, u->sq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, u->fd,
		     IORING_OFF_SQ_RING);
	u->cq = mmap(NULL, u->cq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, u->fd,
		     IORING_OFF_CQ_RING);
	u->sqes = mmap(NULL, u->sqes_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, u->fd,
		       IORING_OFF_SQES);
	if (u->sq == MAP_FAILED || u->cq == MAP_FAILED || u->sqes == (void *)MAP_FAILED)
		die("mapping the io_uring: %s", strerror(errno));
}

static void uring_close(struct uring *u)
{
	munmap(u->sq, u->sq_len);
	munmap(u->cq, u->cq_len);
	munmap(u->sqes, u->sqes_len);
	close(u->fd);
}

/* Submits @sqe (if any) and waits for a completion; returns its res, *flags its flags. */
static int32_t uring_run(struct uring *u, const struct io_uring_sqe *sqe, uint32_t *flags)
{
	uint32_t *tail = (uint32_t *)(u->sq + u->p.sq_off.tail);
	uint32_t mask = *(uint32_t *)(u->sq + u->p.sq_off.ring_mask);
	uint32_t t = *tail, idx = t & mask;

	if (sqe) {
		u->sqes[idx] = *sqe;
		((uint32_t *)(u->sq + u->p.sq_off.array))[idx] = idx;
		__atomic_store_n(tail, t + 1, __ATOMIC_RELEASE);
	}
	for (;;) {
		uint32_t *head = (uint32_t *)(u->cq + u->p.cq_off.head);
		uint32_t ctail = __atomic_load_n((uint32_t *)(u->cq + u->p.cq_off.tail), __ATOMIC_ACQUIRE);

		if (*head != ctail) {
			uint32_t cmask = *(uint32_t *)(u->cq + u->p.cq_off.ring_mask);
			const struct io_uring_cqe *c = (const struct io_uring_cqe *)(u->cq + u->p.cq_off.cqes) +
							(*head & cmask);
			int32_t res = c->res;

			*flags = c->flags;
			__atomic_store_n(head, *head + 1, __ATOMIC_RELEASE);
			return res;
		}
		if (syscall(__NR_io_uring_enter, u->fd, sqe ? 1 : 0, 1, IORING_ENTER_GETEVENTS, NULL, 0) < 0 &&
		    errno != EINTR)
			die("io_uring_enter: %s", strerror(errno));
		sqe = NULL;
	}
}

/*
 * io_uring's SEND_ZC (the pages pinned, not copied, as MSG_ZEROCOPY's): the
 * buffer with its tokens goes out through the ring; the tokens must be
 * written out first, the far end gets the body.
 */
static void case_uring_send_zc(void)
{
	struct received r = receive_response(200 * KiB, 17);
	struct sink s = start_sink("GET /1 HTTP/1.1\r\nHost: f\r\n\r\n", 0);
	uint64_t before = stat_now(LIBRA_STAT_BYTES_MATERIALIZED);
	struct uring u;
	uint8_t *got;
	size_t glen, off = 0;
	int err, pending = 0;

	read_headers(s.fd);
	uring_setup(&u);
	while (off < r.sent.len || pending) {
		struct io_uring_sqe sqe = { .opcode = IORING_OP_SEND_ZC, .fd = s.fd,
					    .addr = (uintptr_t)(r.buf + off), .len = r.sent.len - off,
					    .msg_flags = MSG_NOSIGNAL };
		uint32_t flags;
		int32_t res = uring_run(&u, off < r.sent.len && !pending ? &sqe : NULL, &flags);

		if (flags & IORING_CQE_F_NOTIF) {
			pending--;	/* the kernel is done with the pages */
			continue;
		}
		if (res < 0)
			die("IORING_OP_SEND_ZC: %s", strerror(-res));
		if (flags & IORING_CQE_F_MORE)
			pending++;
		off += res;
	}
	uring_close(&u);
	got = finish_sink(&s, &glen, &err);
	expect_equal("the client", got, glen, r.sent.p, r.sent.len);
	if (on && stat_now(LIBRA_STAT_BYTES_MATERIALIZED) == before)
		die("nothing was written out: the tokens did not pass the egress guard");
}

/* Sets module parameter @name to @value; its old value goes to @old. */
static void set_param(const char *name, const char *value, char old[32])
{
	char path[128];
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/module/libra/parameters/%s", name);
	fd = open(path, O_RDWR);
	if (fd < 0)
		die("%s: %s", path, strerror(errno));
	n = read(fd, old, 31);
	old[n > 0 ? n : 0] = 0;
	if (pwrite(fd, value, strlen(value), 0) != (ssize_t)strlen(value))
		die("setting %s to %s: %s", name, value, strerror(errno));
	close(fd);
}

/* How a response lies in the process while the collector judges it unsent. */
enum unsent_how {
	UNSENT_DROPPED,		/* its bytes moved elsewhere and its buffer cleared, as a freed buffer reused */
	UNSENT_HELD,		/* where it was received */
	UNSENT_HELD_PRESSED,	/* where it was received, with anchored memory over half a 1 MiB budget */
};

/*
 * Receives a response with anchor_unsent_ms at 300 and lets 3 s go by, long
 * enough for the collector to judge it unsent. Returns the bytes to send.
 */
static uint8_t *receive_then_wait_unsent(struct received *r, enum unsent_how how)
{
	char old_unsent[32], old_limit[32];
	uint8_t *out;

	set_param("anchor_unsent_ms", "300", old_unsent);
	if (how == UNSENT_HELD_PRESSED)
		set_param("anchor_limit_mb", "1", old_limit);
	*r = receive_response(how == UNSENT_HELD_PRESSED ? 640 * KiB : 64 * KiB, 16);
	out = r->buf;
	if (how == UNSENT_DROPPED) {
		out = malloc(r->sent.len);
		if (!out)
			die("out of memory");
		memcpy(out, r->buf, r->sent.len);
		memset(r->buf, 0xa5, r->sent.len);
	}
	sleep(3);
	set_param("anchor_unsent_ms", old_unsent, old_unsent);
	if (how == UNSENT_HELD_PRESSED)
		set_param("anchor_limit_mb", old_limit, old_limit);
	return out;
}

/*
 * Sends @out, the @r->sent.len bytes of a response received before, to a
 * client: every byte must reach it, and no anchor expire since @expired.
 */
static void send_whole(const uint8_t *out, const struct received *r, uint64_t expired,
		       const char *held)
{
	size_t glen;
	int e;
	uint8_t *got = send_to_client(out, r->sent.len, &glen, &e);

	if (e)
		die("sending the response: %s", strerror(-e));
	expect_equal("the client", got, glen, r->sent.p, r->sent.len);
	if (on && stat_now(LIBRA_STAT_ANCHORS_EXPIRED) != expired)
		die("anchors_expired counted %llu for %s",
		    (unsigned long long)(stat_now(LIBRA_STAT_ANCHORS_EXPIRED) - expired), held);
	free(got);
}

/* Sends what receive_then_wait_unsent() gave: the expiry's refusal, or every byte. */
static void send_unsent(enum unsent_how how)
{
	uint64_t expired = stat_now(LIBRA_STAT_ANCHORS_EXPIRED);
	struct received r;
	uint8_t *out = receive_then_wait_unsent(&r, how), *got;
	size_t glen;
	int e;

	if (!on || how == UNSENT_HELD) {
		send_whole(out, &r, expired, "a response still held");
		return;
	}
	got = send_to_client(out, r.sent.len, &glen, &e);
	if (!e || has_magic(got, glen) || glen >= r.sent.len)
		die("an expired token was sent (send %s, %zu bytes at the client)", e ? "failed" : "ok", glen);
	if (stat_now(LIBRA_STAT_ANCHORS_EXPIRED) == expired)
		die("anchors_expired did not count");
}

/* A response the proxy dropped (its tokens gone from where they were written): released, its tokens refused. */
static void case_expired(void)
{
	send_unsent(UNSENT_DROPPED);
}

/*
 * A response none of which went out for longer than anchor_unsent_ms, its
 * tokens still where they were written: one the proxy holds behind earlier
 * responses on a slow connection. It stays, and goes out whole.
 */
static void case_unsent_held(void)
{
	send_unsent(UNSENT_HELD);
}

/* The same, with anchored memory over half the budget: released at anchor_unsent_ms all the same. */
static void case_unsent_pressed(void)
{
	send_unsent(UNSENT_HELD_PRESSED);
}

/*
 * The upstream connection a whole response arrived on ends (its FIN read,
 * the proxy closes it) before any of the body went out: a proxy with
 * buffering does that behind a slow client, and sends the body later. It
 * goes out whole, nothing expired.
 */
static void case_origin_closed(void)
{
	uint64_t expired = stat_now(LIBRA_STAT_ANCHORS_EXPIRED);
	struct received r = receive_response(64 * KiB, 29);

	close(r.fd);
	send_whole(r.buf, &r, expired, "a response the proxy still sends");
}

/*
 * Two responses queued back to back, the second close-delimited (no
 * Content-Length): the program reads part of the first and closes. The
 * parser ran ahead of the reads into the second, but the first is the
 * one cut off with the connection: its unsent anchors go at the close,
 * not with the collector minutes later.
 */
static void case_origin_cut_behind_close(void)
{
	static const char gets[] = "GET /1 HTTP/1.1\r\nHost: f\r\n\r\nGET /2 HTTP/1.1\r\nHost: f\r\n\r\n";
	static const char close_hdr[] = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n";
	struct msg m[2] = { make_response(64 * KiB, 33) };
	struct backend b = { .msgs = m, .nmsgs = 2 };
	uint64_t expired = stat_now(LIBRA_STAT_ANCHORS_EXPIRED);
	uint64_t before = stat_now(LIBRA_STAT_BYTES_ANCHORED);
	size_t want = m[0].hdr + 24 * KiB;
	uint8_t *got;
	int fd, tries;

	m[1].hdr = sizeof(close_hdr) - 1;
	m[1].len = m[1].hdr + 16 * KiB;
	m[1].p = malloc(m[1].len);
	memcpy(m[1].p, close_hdr, m[1].hdr);
	memset(m[1].p + m[1].hdr, 'b', m[1].len - m[1].hdr);
	fd = connect_to(start_backend(&b));
	if (send_all(fd, gets, sizeof(gets) - 1, 0))
		die("sending the requests");
	usleep(300000);	/* both responses queued before the first read */
	got = recv_stream(fd, want, 8 * KiB);
	check_received(got, m[0].p, want);
	expect_anchored(before);
	close(fd);
	for (tries = 0; on && tries < 40 && stat_now(LIBRA_STAT_ANCHORS_EXPIRED) == expired; tries++)
		usleep(50000);
	if (on && stat_now(LIBRA_STAT_ANCHORS_EXPIRED) == expired)
		die("the cut response's anchors outlived its connection");
	free(got);
	free(m[0].p);
	free(m[1].p);
}

/* ------------------------------------------------------- kernel TLS */

/*
 * Kernel TLS without a handshake, set up as the kernel's own selftests do
 * (tools/testing/selftests/net/tls.c): both ends take the same fixed key,
 * iv, salt and record sequence, the proxy's socket for TLS_TX, the peer's
 * for TLS_RX, so what the peer decrypts is exactly what the proxy's sends
 * carried, and no TLS library is needed.
 */
struct ktls_suite {
	const char *name;
	uint16_t version, cipher;
};

static const struct ktls_suite ktls_suites[] = {
	{ "TLS 1.2 AES-GCM-128", TLS_1_2_VERSION, TLS_CIPHER_AES_GCM_128 },
	{ "TLS 1.2 AES-GCM-256", TLS_1_2_VERSION, TLS_CIPHER_AES_GCM_256 },
	{ "TLS 1.2 ChaCha20-Poly1305", TLS_1_2_VERSION, TLS_CIPHER_CHACHA20_POLY1305 },
	{ "TLS 1.3 AES-GCM-128", TLS_1_3_VERSION, TLS_CIPHER_AES_GCM_128 },
	{ "TLS 1.3 AES-GCM-256", TLS_1_3_VERSION, TLS_CIPHER_AES_GCM_256 },
	{ "TLS 1.3 ChaCha20-Poly1305", TLS_1_3_VERSION, TLS_CIPHER_CHACHA20_POLY1305 },
};
/* The cases that are not about ciphers: TLS 1.3 AES-GCM-128, which every kTLS kernel has. */
#define KTLS_DEFAULT (&ktls_suites[3])

struct ktls_keys {
	union {
		struct tls_crypto_info info;
		struct tls12_crypto_info_aes_gcm_128 gcm128;
		struct tls12_crypto_info_aes_gcm_256 gcm256;
		struct tls12_crypto_info_chacha20_poly1305 chacha;
	};
	socklen_t len;
};

static void ktls_keys(struct ktls_keys *k, const struct ktls_suite *s)
{
	/* key, iv, salt and rec_seq: the same bytes at both ends */
	memset(k, 0x3c, sizeof(*k));
	switch (s->cipher) {
	case TLS_CIPHER_AES_GCM_128:
		k->len = sizeof(k->gcm128);
		break;
	case TLS_CIPHER_AES_GCM_256:
		k->len = sizeof(k->gcm256);
		break;
	default:
		k->len = sizeof(k->chacha);
		break;
	}
	k->info.version = s->version;
	k->info.cipher_type = s->cipher;
}

/* How the peer reads. */
struct ktls_reader {
	size_t plain;		/* bytes read in the clear before TLS_RX: a handshake */
	int rcvbuf;		/* SO_RCVBUF (0: the default, autotuned) */
	size_t chunk;		/* bytes a read (0: 64 KiB) */
	unsigned int delay_us;	/* a pause between reads */
	unsigned int wait_us;	/* a pause before the first read */
};

/*
 * The far end of a kernel-TLS connection: a fork child that accepts, reads
 * the reader's plain bytes as they come, sets TLS_RX and reads what kernel
 * TLS decrypts to EOF. It is not opted in (only the case's own process
 * is, not its children), and libra does not hook kernel-TLS receives:
 * what it reads is what stock kTLS decrypted.
 */
struct ktls_peer {
	const struct ktls_suite *suite;
	int fd;			/* the proxy's end; TLS_TX once ktls_tx() set it */
	int lfd;
	pid_t pid;
	int out[2];		/* the peer's TLS_RX errno, read error and bytes, to the proxy */
	bool tx_refused;	/* the kernel lacks the suite: the peer's result is no test */
};

static struct ktls_peer ktls_connect(const struct ktls_suite *s, const struct ktls_reader *rd)
{
	struct ktls_peer p = { .suite = s };
	uint16_t port;

	p.lfd = listen_on(&port);
	/* on the listener: the window the handshake advertises already follows it */
	if (rd->rcvbuf)
		setsockopt(p.lfd, SOL_SOCKET, SO_RCVBUF, &rd->rcvbuf, sizeof(rd->rcvbuf));
	if (pipe(p.out))
		die("pipe: %s", strerror(errno));
	p.pid = fork();
	if (p.pid == 0) {
		size_t chunk = rd->chunk ?: 64 * KiB, cap = 1024 * KiB, n = 0;
		uint8_t *b = malloc(cap);
		int fd = accept_one(p.lfd), rx = 0, err = 0;
		struct ktls_keys k;

		close(p.out[0]);
		ktls_keys(&k, s);
		if (rd->plain && recv(fd, b, rd->plain, MSG_WAITALL) != (ssize_t)rd->plain)
			rx = EPROTO;
		else if (setsockopt(fd, IPPROTO_TCP, TCP_ULP, "tls", sizeof("tls")) ||
			 setsockopt(fd, SOL_TLS, TLS_RX, &k, k.len))
			rx = errno;
		else
			n = rd->plain;
		if (rd->wait_us)
			usleep(rd->wait_us);
		/* read to the end whatever happened: a peer that stops reading fails the proxy's sends */
		for (;;) {
			ssize_t r;

			if (cap - n < chunk)
				b = realloc(b, cap *= 2);
			r = read(fd, b + n, chunk);
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0) {
				err = -errno;
				break;
			}
			if (!r)
				break;
			n += r;
			if (rd->delay_us)
				usleep(rd->delay_us);
		}
		/* a proxy that died first has said why: no word of the peer's then */
		if (write(p.out[1], &rx, sizeof(rx)) != sizeof(rx))
			_exit(1);
		write_all(p.out[1], &err, sizeof(err));
		write_blob(p.out[1], b, n);
		_exit(0);
	}
	close(p.out[1]);
	p.fd = connect_to(port);
	return p;
}

/*
 * Kernel TLS on the proxy's end: TLS_TX with the peer's keys. 0, or -errno
 * when the kernel lacks the suite (the case says so and goes on without it).
 */
static int ktls_tx(struct ktls_peer *p)
{
	struct ktls_keys k;

	ktls_keys(&k, p->suite);
	if (setsockopt(p->fd, IPPROTO_TCP, TCP_ULP, "tls", sizeof("tls")))
		die("TCP_ULP \"tls\": %s (is the tls module loaded?)", strerror(errno));
	if (!setsockopt(p->fd, SOL_TLS, TLS_TX, &k, k.len))
		return 0;
	if (errno != ENOENT && errno != EINVAL && errno != EOPNOTSUPP)
		die("TLS_TX %s: %s", p->suite->name, strerror(errno));
	p->tx_refused = true;
	return -errno;
}

/* A peer on the default suite, kernel TLS set up on the proxy's end. */
static struct ktls_peer ktls_open(const struct ktls_reader *rd)
{
	struct ktls_peer p = ktls_connect(KTLS_DEFAULT, rd);
	int e = ktls_tx(&p);

	if (e)
		die("the kernel refused %s: %s", p.suite->name, strerror(-e));
	return p;
}

/* Closes the proxy's end (unless the caller took it) and collects what the peer read. */
static uint8_t *ktls_finish(struct ktls_peer *p, size_t *len, int *err)
{
	uint8_t *got;
	int rx;

	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
	if (read(p->out[0], &rx, sizeof(rx)) != sizeof(rx) ||
	    read(p->out[0], err, sizeof(*err)) != sizeof(*err))
		die("the kTLS peer died");
	got = read_blob(p->out[0], len, "the kTLS peer");
	waitpid(p->pid, NULL, 0);
	close(p->lfd);
	close(p->out[0]);
	if (rx && !p->tx_refused)
		die("the kTLS peer's TLS_RX (%s): %s", p->suite->name, strerror(rx));
	return got;
}

/* What the peer decrypted, to its EOF, must be @want. */
static void ktls_expect(struct ktls_peer *p, const uint8_t *want, size_t wlen, const char *what)
{
	size_t glen;
	int err;
	uint8_t *got = ktls_finish(p, &glen, &err);

	if (err)
		die("%s: its read failed after %zu of %zu bytes: %s", what, glen, wlen, strerror(-err));
	expect_equal(what, got, glen, want, wlen);
	free(got);
}

/* The regions of a received buffer (libra on), for a case that sends it: @max at most. */
static size_t list_regions(const uint8_t *buf, const uint8_t *sent, size_t len,
			   struct region *reg, size_t max)
{
	size_t n = scan_received(buf, sent, len, reg, max);

	if (n > max)
		die("%zu regions: more than the case keeps (%zu)", n, max);
	return n;
}

static bool region_at(const struct region *reg, size_t n, size_t at)
{
	for (size_t i = 0; i < n; i++)
		if (reg[i].at == at)
			return true;
	return false;
}

static size_t region_bytes(const struct region *reg, size_t n)
{
	size_t sum = 0;

	for (size_t i = 0; i < n; i++)
		sum += reg[i].len;
	return sum;
}

/*
 * Libra on: regions that stood whole and untouched in one buffer a
 * kernel-TLS send was given (@whole bytes of them) go out from the
 * anchored pages, encrypted by the kernel, not written out in the
 * program's memory first. At least 90% of them must count as zero-copy.
 */
static void expect_zero_copy(uint64_t before, size_t whole, const char *what)
{
	uint64_t zc;

	if (!on)
		return;
	zc = stat_now(LIBRA_STAT_BYTES_ZERO_COPY_SENT) - before;
	say("%s: %llu of %zu bytes of whole regions went out zero-copy", what,
	    (unsigned long long)zc, whole);
	if (zc < whole / 10 * 9)
		die("%s: %llu bytes went out zero-copy, not 90%% of the %zu bytes of whole regions sent",
		    what, (unsigned long long)zc, whole);
}

/*
 * What a peer got before a visible failure: a strict prefix of @want, no
 * token's magic and no zero fill in it.
 */
static void expect_prefix(const char *what, const uint8_t *got, size_t glen,
			  const uint8_t *want, size_t wlen)
{
	static const uint8_t zeros[64];

	if (glen >= wlen)
		die("%s: %zu bytes, the whole %zu: yet the send failed", what, glen, wlen);
	if (has_magic(got, glen))
		die("%s: a token's magic is in the %zu bytes it got", what, glen);
	for (size_t i = 0; i < glen; i++)
		if (got[i] != want[i])
			die("%s: byte %zu of the %zu it got is 0x%02x, expected 0x%02x%s", what, i, glen,
			    got[i], want[i],
			    !memcmp(got + i, zeros, glen - i < sizeof(zeros) ? glen - i : sizeof(zeros)) ?
			    " (zero fill)" : "");
}

/*
 * A received response sent on a kernel-TLS socket with one write of the
 * whole buffer, over TLS 1.2 and 1.3 with each cipher the kernel has (a
 * fresh connection and response each): the peer decrypts the backend's
 * bytes, and with libra on the regions went out from the anchored pages
 * (zero-copy). A suite the kernel refuses is skipped and said; if it
 * refuses all, the case fails.
 */
static void case_ktls_ciphers(void)
{
	static const struct ktls_reader rd;
	int ran = 0;

	for (size_t i = 0; i < ARRAY_LEN(ktls_suites); i++) {
		const struct ktls_suite *s = &ktls_suites[i];
		/* received first: a backend forked later would hold the kTLS socket open past its close */
		struct received r = receive_response(1024 * KiB, 40 + i);
		struct ktls_peer p = ktls_connect(s, &rd);
		struct region reg[256];
		size_t nreg = list_regions(r.buf, r.sent.p, r.sent.len, reg, ARRAY_LEN(reg)), glen;
		uint64_t zc;
		int e = ktls_tx(&p), err;

		if (e) {
			say("%s: the kernel refuses it (TLS_TX: %s): skipped", s->name, strerror(-e));
			free(ktls_finish(&p, &glen, &err));
		} else {
			zc = stat_now(LIBRA_STAT_BYTES_ZERO_COPY_SENT);
			write_all(p.fd, r.buf, r.sent.len);
			ktls_expect(&p, r.sent.p, r.sent.len, s->name);
			expect_zero_copy(zc, region_bytes(reg, nreg), s->name);
			ran++;
		}
		close(r.fd);
		free(r.buf);
		free(r.sent.p);
	}
	if (!ran)
		die("the kernel refuses every suite: nothing was tested");
}

/*
 * A region the program's own writes cut in two on kernel TLS: the bytes up
 * to it, its first half, the rest. Stock sends it as it is; libra on may
 * send none of a region that goes on past the buffer a call was given, so
 * that call fails (EIO) and the peer gets a strict prefix of the
 * response, with no token and no zero fill in it; or all of it, right.
 */
static void ktls_cut_region(void)
{
	static const struct ktls_reader rd;
	struct received r = receive_response(192 * KiB, 51);
	struct region reg[64];
	size_t nreg = list_regions(r.buf, r.sent.p, r.sent.len, reg, ARRAY_LEN(reg)), a, cut, glen;
	struct ktls_peer p;
	uint8_t *got;
	int e, err;

	if (on && nreg < 2)
		die("%zu region(s) in the response: the case needs two", nreg);
	a = on ? reg[1].at : 64 * KiB;
	cut = a + (on ? reg[1].len / 2 : 20000);
	p = ktls_open(&rd);
	e = send_all(p.fd, r.buf, a, 0);
	if (!e)
		e = send_all(p.fd, r.buf + a, cut - a, 0);
	if (!e)
		e = send_all(p.fd, r.buf + cut, r.sent.len - cut, 0);
	got = ktls_finish(&p, &glen, &err);
	if (!e) {
		if (err)
			die("the kTLS peer of the cut writes: its read failed: %s", strerror(-err));
		expect_equal("the kTLS peer of the cut writes", got, glen, r.sent.p, r.sent.len);
		return;
	}
	say("the write cutting a region: %s; the peer got %zu of %zu bytes (read: %s)", strerror(-e), glen,
	    r.sent.len, err ? strerror(-err) : "EOF");
	if (!on)
		die("sending: %s", strerror(-e));
	if (e != -EIO)
		die("the write cutting a region failed with %s, not EIO", strerror(-e));
	expect_prefix("the kTLS peer of the cut writes", got, glen, r.sent.p, r.sent.len);
}

/*
 * kTLS with buffers at odd addresses and odd receive sizes (into buf + 3,
 * the first recv 16380 bytes, then 10007 a recv), sent with writev() of
 * several received pieces a call, each its own iovec or one iovec over
 * several: the first call holds headers of odd length before a region,
 * and a region starting 16380 bytes into the call, so that the call's
 * first TLS record (16 KiB of plaintext) ends inside its token. Then a
 * region cut by the program's writes (ktls_cut_region()).
 */
static void case_ktls_misaligned(void)
{
	static const struct ktls_reader rd;
	struct msg m = make_response(300 * KiB + 1, 50);	/* 43 bytes of headers */
	struct backend b = { .msgs = &m, .nmsgs = 1, .request_first = true };
	uint64_t before = stat_now(LIBRA_STAT_BYTES_ANCHORED), zc;
	uint8_t *mem = malloc(m.len + 3), *buf = mem + 3;
	size_t ends[512], nch = 0, at = 0, nreg;
	struct region reg[512];
	struct iovec iov[8];
	struct ktls_peer p;
	int fd, k, e;

	if (!(m.hdr & 1))
		die("the headers are %zu bytes: the case needs an odd length", m.hdr);
	memset(mem, STALE, m.len + 3);
	fd = upstream(start_backend(&b));
	if (recv(fd, buf, 16380, MSG_WAITALL) != 16380)
		die("the first recv: %s", strerror(errno));
	ends[nch++] = at = 16380;
	/* the region that starts there: whole in this recv */
	if (recv(fd, buf + at, 10007, MSG_WAITALL) != 10007)
		die("the second recv: %s", strerror(errno));
	ends[nch++] = at += 10007;
	while (at < m.len) {
		ssize_t n = recv(fd, buf + at, m.len - at < 10007 ? m.len - at : 10007, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("recv after %zu of %zu bytes: %s", at, m.len, n ? strerror(errno) : "EOF");
		if (nch == ARRAY_LEN(ends))
			die("more than %zu recvs", nch);
		ends[nch++] = at += n;
	}
	nreg = list_regions(buf, m.p, m.len, reg, ARRAY_LEN(reg));
	expect_anchored(before);
	if (on && !region_at(reg, nreg, 16380))
		die("no region starts at 16380: no token crosses a record boundary");

	p = ktls_open(&rd);
	zc = stat_now(LIBRA_STAT_BYTES_ZERO_COPY_SENT);
	/* the headers and a region, then a region at 16380: one iovec each */
	iov[0] = (struct iovec){ buf, ends[0] };
	iov[1] = (struct iovec){ buf + ends[0], ends[1] - ends[0] };
	if ((e = writev_all(p.fd, iov, 2)))
		die("writev: %s", strerror(-e));
	/* then in turn four received pieces as four iovecs, three as one iovec */
	for (size_t c = 2, round = 0; c < nch; round++) {
		size_t take = round & 1 ? 3 : 4;

		if (take > nch - c)
			take = nch - c;
		if (round & 1) {
			iov[0] = (struct iovec){ buf + ends[c - 1], ends[c + take - 1] - ends[c - 1] };
			k = 1;
		} else {
			for (k = 0; k < (int)take; k++)
				iov[k] = (struct iovec){ buf + ends[c + k - 1], ends[c + k] - ends[c + k - 1] };
		}
		if ((e = writev_all(p.fd, iov, k)))
			die("writev of pieces %zu-%zu: %s", c, c + take - 1, strerror(-e));
		c += take;
	}
	ktls_expect(&p, m.p, m.len, "the kTLS peer of the writev()s");
	expect_zero_copy(zc, region_bytes(reg, nreg), "writev");
	close(fd);
	ktls_cut_region();
}

/*
 * A region much larger than a TLS record: a 256 KiB body received with
 * one recv() (one region or a few) and sent with one write(), which the
 * kernel cuts into 17 records.
 */
static void case_ktls_records(void)
{
	static const struct ktls_reader rd;
	struct msg m = make_response(256 * KiB, 52);
	struct backend b = { .msgs = &m, .nmsgs = 1, .request_first = true };
	uint64_t before = stat_now(LIBRA_STAT_BYTES_ANCHORED), zc;
	uint8_t *buf = malloc(m.len);
	struct region reg[64];
	struct ktls_peer p;
	size_t nreg;
	int fd;

	memset(buf, STALE, m.len);
	fd = upstream(start_backend(&b));
	if (recv(fd, buf, m.len, MSG_WAITALL) != (ssize_t)m.len)
		die("recv: %s", strerror(errno));
	nreg = list_regions(buf, m.p, m.len, reg, ARRAY_LEN(reg));
	expect_anchored(before);
	if (on)
		say("one recv, %zu region(s)", nreg);
	p = ktls_open(&rd);
	zc = stat_now(LIBRA_STAT_BYTES_ZERO_COPY_SENT);
	write_all(p.fd, buf, m.len);
	ktls_expect(&p, m.p, m.len, "the kTLS peer");
	expect_zero_copy(zc, region_bytes(reg, nreg), "one write");
	close(fd);
}

/*
 * kTLS with writev()s of many small iovecs: 97 bytes each, IOV_MAX a call,
 * so every token and region straddles iovec boundaries and one call holds
 * a thousand segments. The token scan reads a call's data in order through
 * one iterator (not a fresh copy advanced per 512 bytes, which is quadratic
 * in the segments): it must find every token wherever the iovecs cut it,
 * and the regions go zero-copy.
 */
static void case_ktls_iovecs(void)
{
	static const struct ktls_reader rd;
	static struct iovec iov[IOV_MAX];
	struct received r = receive_response(256 * KiB + 7, 54);
	size_t len = r.sent.len, at = 0, calls = 0, nreg;
	struct region reg[64];
	struct ktls_peer p;
	uint64_t zc;
	int e;

	nreg = list_regions(r.buf, r.sent.p, len, reg, ARRAY_LEN(reg));
	p = ktls_open(&rd);
	zc = stat_now(LIBRA_STAT_BYTES_ZERO_COPY_SENT);
	while (at < len) {
		int n = 0;

		for (size_t o = at; o < len && n < IOV_MAX; o += 97)
			iov[n++] = (struct iovec){ r.buf + o, len - o < 97 ? len - o : 97 };
		if ((e = writev_all(p.fd, iov, n)))
			die("writev of %d iovecs at %zu: %s", n, at, strerror(-e));
		at += (size_t)n * 97 < len - at ? (size_t)n * 97 : len - at;
		calls++;
	}
	if (on)
		say("%zu region(s) sent in %zu writev()s of 97-byte iovecs", nreg, calls);
	ktls_expect(&p, r.sent.p, len, "the kTLS peer of the iovecs");
	expect_zero_copy(zc, region_bytes(reg, nreg), "writev of 97-byte iovecs");
	close(r.fd);
}

/*
 * A peer that reads slowly (a small receive buffer, a pause between reads)
 * and a proxy with a small send buffer: kernel TLS waits for room. First
 * with blocking sends, which wait. Then non-blocking: sends stop short,
 * anywhere in a region, and the program polls for POLLOUT and sends again
 * from where each stopped. Libra on may send part of a region from its
 * pages; the rest must then be in the program's buffer, real bytes, for the
 * resend to carry. Regions a send took whole count zero-copy; a run in
 * which no send stopped short tested no partial region and fails.
 */
static void case_ktls_wait_space(void)
{
	static const struct ktls_reader slow = { .rcvbuf = 16 * KiB, .chunk = 8 * KiB, .delay_us = 2000 };
	int sndbuf = 16 * KiB;

	for (int nb = 0; nb < 2; nb++) {
		/* regions of 12 KiB: a non-blocking send takes some whole, some in part */
		struct received r = receive_chunked(384 * KiB, 53 + nb, 12 * KiB);
		struct region reg[128];
		size_t nreg = list_regions(r.buf, r.sent.p, r.sent.len, reg, ARRAY_LEN(reg));
		size_t off = 0, whole = 0, ri = 0, calls = 0, shorts = 0;
		struct ktls_peer p = ktls_open(&slow);
		const char *how = nb ? "non-blocking sends" : "blocking sends";
		uint64_t zc;

		setsockopt(p.fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
		if (nb)
			fcntl(p.fd, F_SETFL, fcntl(p.fd, F_GETFL) | O_NONBLOCK);
		zc = stat_now(LIBRA_STAT_BYTES_ZERO_COPY_SENT);
		while (off < r.sent.len) {
			struct pollfd pf = { .fd = p.fd, .events = POLLOUT };
			ssize_t w = send(p.fd, r.buf + off, r.sent.len - off, MSG_NOSIGNAL);

			if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
				if (poll(&pf, 1, 10000) != 1)
					die("%s: no POLLOUT in 10 s", how);
				continue;
			}
			if (w <= 0)
				die("%s: send at %zu: %s", how, off, w ? strerror(errno) : "0 bytes");
			calls++;
			shorts += (size_t)w < r.sent.len - off;
			/* a region this call took from its token to its end went whole */
			for (; ri < nreg && reg[ri].at + reg[ri].len <= off + w; ri++)
				if (reg[ri].at >= off)
					whole += reg[ri].len;
			off += w;
		}
		say("%s: %zu send calls, %zu of them short", how, calls, shorts);
		ktls_expect(&p, r.sent.p, r.sent.len, how);
		expect_zero_copy(zc, whole, how);
		if (nb && !shorts)
			die("no non-blocking send stopped short: no region was sent in part");
		close(r.fd);
		free(r.buf);
		free(r.sent.p);
	}
}

/*
 * A response sent whole on kernel TLS, then the socket closed right after
 * the last write; then the same with shutdown(SHUT_WR) right after it. The
 * peer has not read yet (a small receive buffer, a pause first), so bytes
 * are still queued at the close: in TCP's queue, in kernel TLS's records
 * or in libra's hands, every one must reach the peer before the FIN.
 */
static void case_ktls_close_pending(void)
{
	static const struct ktls_reader late = { .rcvbuf = 16 * KiB, .wait_us = 300000 };

	for (int sh = 0; sh < 2; sh++) {
		struct received r = receive_response(384 * KiB, 70 + sh);
		struct region reg[256];
		size_t nreg = list_regions(r.buf, r.sent.p, r.sent.len, reg, ARRAY_LEN(reg));
		struct ktls_peer p = ktls_open(&late);
		const char *how = sh ? "shutdown(SHUT_WR) after the last write" : "close() after the last write";
		uint64_t zc = stat_now(LIBRA_STAT_BYTES_ZERO_COPY_SENT);
		int fd = p.fd, queued;

		write_all(fd, r.buf, r.sent.len);
		if (ioctl(fd, SIOCOUTQ, &queued))
			die("SIOCOUTQ: %s", strerror(errno));
		say("%s: %d bytes not yet acknowledged", how, queued);
		if (sh) {
			if (shutdown(fd, SHUT_WR))
				die("shutdown: %s", strerror(errno));
			p.fd = -1;	/* closed once the peer read to its EOF */
		}
		ktls_expect(&p, r.sent.p, r.sent.len, how);
		if (sh)
			close(fd);
		expect_zero_copy(zc, region_bytes(reg, nreg), how);
		close(r.fd);
		free(r.buf);
		free(r.sent.p);
	}
}

/*
 * Two threads sending on one kernel-TLS socket, each a received response
 * of 16 KiB regions, to a slow reader through a 16 KiB send buffer: every
 * send waits for room halfway through a region. Kernel TLS lets one send
 * call finish before another starts (its tx_lock), and so does libra: the
 * peer decrypts one response whole, then the other, either order.
 */
static void case_ktls_two_senders(void)
{
	static const struct ktls_reader slow = { .rcvbuf = 16 * KiB, .chunk = 8 * KiB, .delay_us = 1000 };
	struct received r[2] = { receive_chunked(256 * KiB, 81, 16 * KiB),
				 receive_chunked(256 * KiB, 82, 16 * KiB) };
	struct region reg[2][64];
	size_t nreg[2], whole = 0, glen;
	struct ktls_peer p = ktls_open(&slow);
	uint64_t zc = stat_now(LIBRA_STAT_BYTES_ZERO_COPY_SENT);
	int sndbuf = 16 * KiB, err;
	struct sender t[2];
	pthread_t th[2];
	uint8_t *got, *ab, *ba;

	for (int i = 0; i < 2; i++) {
		nreg[i] = list_regions(r[i].buf, r[i].sent.p, r[i].sent.len, reg[i], ARRAY_LEN(reg[i]));
		whole += region_bytes(reg[i], nreg[i]);
	}
	setsockopt(p.fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	for (int i = 0; i < 2; i++) {
		t[i] = (struct sender){ .fd = p.fd, .p = r[i].buf, .len = r[i].sent.len };
		pthread_create(&th[i], NULL, send_thread, &t[i]);
		usleep(10000);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	if (t[0].err || t[1].err)
		die("a sender failed: %s / %s", strerror(-t[0].err), strerror(-t[1].err));
	got = ktls_finish(&p, &glen, &err);
	if (err)
		die("the kTLS peer's read failed after %zu bytes: %s", glen, strerror(-err));
	if (glen != r[0].sent.len + r[1].sent.len)
		die("the kTLS peer got %zu bytes, %zu were sent", glen, r[0].sent.len + r[1].sent.len);
	if (has_magic(got, glen))
		die("a token's bytes reached the kTLS peer");
	ab = concat(r[0].sent.p, r[0].sent.len, r[1].sent.p, r[1].sent.len, "", 0);
	ba = concat(r[1].sent.p, r[1].sent.len, r[0].sent.p, r[0].sent.len, "", 0);
	if (memcmp(got, ab, glen) && memcmp(got, ba, glen))
		die("the kTLS peer's bytes are neither send after the other");
	expect_zero_copy(zc, whole, "two senders");
	for (int i = 0; i < 2; i++)
		close(r[i].fd);
}

/*
 * kTLS from a file: the received response written to a file (libra writes
 * the regions' real bytes out in the program's memory first, as for any
 * file), then sent on kernel TLS with sendfile(), and on a second
 * connection with splice() through a pipe.
 */
static void case_ktls_sendfile(void)
{
	static const struct ktls_reader rd;
	struct received r = receive_response(512 * KiB + 5, 80);
	uint64_t before = stat_now(LIBRA_STAT_BYTES_MATERIALIZED);
	char path[] = "/tmp/failsafe-XXXXXX";
	int fd = mkstemp(path), pp[2];
	struct ktls_peer p;

	if (fd < 0)
		die("mkstemp: %s", strerror(errno));
	unlink(path);
	write_all(fd, r.buf, r.sent.len);
	if (on && stat_now(LIBRA_STAT_BYTES_MATERIALIZED) == before)
		die("nothing was written out for the file");

	p = ktls_open(&rd);
	for (off_t off = 0; off < (off_t)r.sent.len;) {
		ssize_t n = sendfile(p.fd, fd, &off, r.sent.len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("sendfile at %lld: %s", (long long)off, n ? strerror(errno) : "0 bytes");
	}
	ktls_expect(&p, r.sent.p, r.sent.len, "the kTLS peer of sendfile()");

	p = ktls_open(&rd);
	if (pipe(pp))
		die("pipe: %s", strerror(errno));
	for (loff_t off = 0; off < (loff_t)r.sent.len;) {
		ssize_t n = splice(fd, &off, pp[1], NULL, r.sent.len - off < 65536 ? r.sent.len - off : 65536, 0);

		if (n <= 0)
			die("splice from the file at %lld: %s", (long long)off, n ? strerror(errno) : "0 bytes");
		while (n) {
			ssize_t k = splice(pp[0], NULL, p.fd, NULL, n, 0);

			if (k <= 0)
				die("splice to the kTLS socket: %s", k ? strerror(errno) : "0 bytes");
			n -= k;
		}
	}
	ktls_expect(&p, r.sent.p, r.sent.len, "the kTLS peer of splice()");
	close(pp[0]);
	close(pp[1]);
	close(fd);
	close(r.fd);
}

/*
 * kTLS after a handshake in user space, as nginx with kTLS does it. A
 * response received first (anchored); then, on a fresh connection, a TLS
 * handshake record in the clear; the handshake is open until kernel TLS is
 * set up on that socket: meanwhile the process gets no new anchors (a
 * response received then comes in full) and what it held was written out
 * in its memory at the handshake. Then TLS_TX: the process gets anchors
 * again, and a response received after goes out zero-copy. The peer reads
 * the hello in the clear, sets TLS_RX and decrypts the three responses.
 * Kernel TLS is not TLS in user space: in the end the process is not
 * flagged LIBRA_PROC_F_TLS_USER.
 */
static void case_ktls_handshake(void)
{
	static const uint8_t hello[] = { 0x16, 0x03, 0x01, 0x00, 0x05, 'h', 'e', 'l', 'l', 'o' };
	static const struct ktls_reader rd = { .plain = sizeof(hello) };
	struct msg m2 = make_response(96 * KiB, 91), m3 = make_response(256 * KiB, 92);
	struct backend b2 = { .msgs = &m2, .nmsgs = 1, .request_first = true };
	struct backend b3 = { .msgs = &m3, .nmsgs = 1, .request_first = true };
	struct received r1 = receive_response(128 * KiB, 90);
	/* forked before the kTLS connection: a child holding it would keep its FIN back */
	uint16_t port2 = start_backend(&b2), port3 = start_backend(&b3);
	struct ktls_peer p = ktls_connect(KTLS_DEFAULT, &rd);
	uint64_t before, zc;
	struct region reg[64];
	size_t nreg, wlen;
	uint8_t *buf2, *buf3, *want;
	int fd2, fd3, e;

	if ((e = send_all(p.fd, hello, sizeof(hello), 0)))
		die("sending the handshake: %s", strerror(-e));
	if (on)
		expect_equal("the response held at the handshake", r1.buf, r1.sent.len, r1.sent.p, r1.sent.len);

	/* the handshake is open: nothing anchored */
	before = stat_now(LIBRA_STAT_BYTES_ANCHORED);
	fd2 = upstream(port2);
	buf2 = recv_stream(fd2, m2.len, 64 * KiB);
	expect_equal("the response received during the handshake", buf2, m2.len, m2.p, m2.len);
	if (on && stat_now(LIBRA_STAT_BYTES_ANCHORED) != before)
		die("a response received while the handshake was open was anchored");

	if ((e = ktls_tx(&p)))
		die("the kernel refused %s: %s", p.suite->name, strerror(-e));
	/* kernel TLS is set up: anchors again */
	before = stat_now(LIBRA_STAT_BYTES_ANCHORED);
	fd3 = upstream(port3);
	buf3 = recv_stream(fd3, m3.len, 64 * KiB);
	nreg = list_regions(buf3, m3.p, m3.len, reg, ARRAY_LEN(reg));
	expect_anchored(before);

	write_all(p.fd, r1.buf, r1.sent.len);
	write_all(p.fd, buf2, m2.len);
	zc = stat_now(LIBRA_STAT_BYTES_ZERO_COPY_SENT);
	write_all(p.fd, buf3, m3.len);
	wlen = sizeof(hello) + r1.sent.len + m2.len + m3.len;
	want = malloc(wlen);
	memcpy(want, hello, sizeof(hello));
	memcpy(want + sizeof(hello), r1.sent.p, r1.sent.len);
	memcpy(want + sizeof(hello) + r1.sent.len, m2.p, m2.len);
	memcpy(want + sizeof(hello) + r1.sent.len + m2.len, m3.p, m3.len);
	ktls_expect(&p, want, wlen, "the kTLS peer");
	expect_zero_copy(zc, region_bytes(reg, nreg), "the response received after TLS_TX");
	if (on && (proc_flags() & LIBRA_PROC_F_TLS_USER))
		die("its handshake ended in kernel TLS, yet the process is flagged as terminating TLS"
		    " in user space (flags 0x%x)", proc_flags());
	close(r1.fd);
	close(fd2);
	close(fd3);
}

/*
 * A TLS handshake opened by a process in the middle of kernel-TLS sends, as
 * a new client connects to nginx while it sends a response through kernel
 * TLS: the response must come out right. Its regions are cut by the
 * program's writes (nginx's 16 KiB buffer), once inside a token (the start
 * is held) and once in a zero fill (the region goes on in the next write),
 * and the handshake opens on another connection between the two writes of
 * each cut. The handshake writes the process's regions out: the held
 * token start poisons them instead, the region cut in its fill goes on
 * from its real bytes, and one not begun leaves as the program's bytes. That connection then ends without kernel TLS: a
 * process that has used kernel TLS is not marked as terminating TLS in user
 * space for it.
 */
static void case_ktls_handshake_midway(void)
{
	static const uint8_t hello[] = { 0x16, 0x03, 0x01, 0x00, 0x05, 'h', 'e', 'l', 'l', 'o' };
	static const struct ktls_reader rd;
	struct received r = receive_response(192 * KiB, 93);
	struct region reg[64];
	size_t nreg = list_regions(r.buf, r.sent.p, r.sent.len, reg, ARRAY_LEN(reg));
	size_t cuts[2], at = 0;
	struct ktls_peer p;
	uint64_t zc;
	uint8_t got[sizeof(hello)];
	uint16_t port;
	int lfd, e;

	if (on && nreg < 3)
		die("%zu region(s) in the response: the case needs three", nreg);
	cuts[0] = on ? reg[1].at + 10 : 70000;			/* inside the token */
	cuts[1] = on ? reg[2].at + reg[2].len / 2 : 140000;	/* inside the zero fill */
	lfd = listen_on(&port);
	p = ktls_open(&rd);
	zc = stat_now(LIBRA_STAT_BYTES_ZERO_COPY_SENT);
	for (int i = 0; i < 2; i++) {
		int fd, peer;

		if ((e = send_all(p.fd, r.buf + at, cuts[i] - at, 0)))
			die("sending up to the cut: %s", strerror(-e));
		at = cuts[i];
		/* a handshake opens on a new connection, which never sets up kernel TLS */
		fd = connect_to(port);
		peer = accept_one(lfd);
		if ((e = send_all(fd, hello, sizeof(hello), 0)))
			die("sending the handshake: %s", strerror(-e));
		if (recv(peer, got, sizeof(got), MSG_WAITALL) != sizeof(got))
			die("the handshake's peer: %s", strerror(errno));
		close(fd);
		close(peer);
		if (on)
			say("after the handshake at %zu: zero copy %llu, written out %llu, holds expired %llu", at,
			    (unsigned long long)stat_now(LIBRA_STAT_BYTES_ZERO_COPY_SENT),
			    (unsigned long long)stat_now(LIBRA_STAT_BYTES_MATERIALIZED),
			    (unsigned long long)stat_now(LIBRA_STAT_TX_HOLDS_EXPIRED));
	}
	if (on)
		say("regions at %zu+%zu, %zu+%zu, %zu+%zu; cuts at %zu, %zu", reg[0].at, reg[0].len,
		    reg[1].at, reg[1].len, reg[2].at, reg[2].len, cuts[0], cuts[1]);
	if ((e = send_all(p.fd, r.buf + at, r.sent.len - at, 0)))
		die("sending the rest: %s", strerror(-e));
	ktls_expect(&p, r.sent.p, r.sent.len, "the kTLS peer");
	/*
	 * What matters is above: every byte right, no reset. How much went out
	 * zero-copy depends on what the handshakes found (a region not begun is
	 * written out at one, and leaves as the program's bytes): the region
	 * sent before the first must have.
	 */
	expect_zero_copy(zc, region_bytes(reg, nreg < 1 ? nreg : 1), "the region sent before the handshakes");
	if (on && (proc_flags() & LIBRA_PROC_F_TLS_USER))
		die("a process using kernel TLS was marked as terminating TLS in user space (flags 0x%x)",
		    proc_flags());
	close(lfd);
	close(r.fd);
}

/*
 * A kernel-TLS send whose last byte could begin a token (0xf7, the magic's
 * first): libra holds it until the program's next send decides it. Here no
 * next send comes: the peer must still get every byte, from the hold's
 * expiry (tx_hold_ms) while the connection stays open, and before the FIN
 * at close() and at shutdown(SHUT_WR) right after the send. The process
 * holds tokens, so its kTLS sends are libra's.
 */
static void case_ktls_held_tail(void)
{
	static const uint8_t tail[] = "the last byte is the first of a token's magic: \xf7";
	const size_t n = sizeof(tail) - 1;
	struct received r = receive_response(64 * KiB, 94);

	for (int how = 0; how < 3; how++) {
		static const char *const what[] = { "left open", "closed", "shut down" };
		struct ktls_keys k;
		uint16_t port;
		int lfd = listen_on(&port), out[2], ready[2], fd, e;
		size_t got = 0;
		uint8_t buf[128];
		char c = 0;
		pid_t pid;

		if (pipe(out) || pipe(ready))
			die("pipe: %s", strerror(errno));
		pid = fork();
		if (pid == 0) {
			/* the peer: what arrives within 2 s, without waiting for the proxy's close */
			struct timeval tv = { .tv_sec = 2 };
			int pfd = accept_one(lfd);

			ktls_keys(&k, KTLS_DEFAULT);
			if (setsockopt(pfd, IPPROTO_TCP, TCP_ULP, "tls", sizeof("tls")) ||
			    setsockopt(pfd, SOL_TLS, TLS_RX, &k, k.len))
				die("the peer's kernel TLS: %s", strerror(errno));
			/* set up before the proxy sends and closes: a closed connection takes no ULP */
			write_all(ready[1], &c, 1);
			setsockopt(pfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
			while (got < n) {
				ssize_t m = read(pfd, buf + got, sizeof(buf) - got);

				if (m <= 0)
					break;
				got += m;
			}
			write_blob(out[1], buf, got);
			_exit(0);
		}
		close(out[1]);
		close(ready[1]);
		fd = connect_to(port);
		ktls_keys(&k, KTLS_DEFAULT);
		if (setsockopt(fd, IPPROTO_TCP, TCP_ULP, "tls", sizeof("tls")) ||
		    setsockopt(fd, SOL_TLS, TLS_TX, &k, k.len))
			die("kernel TLS: %s", strerror(errno));
		if (read(ready[0], &c, 1) != 1)
			die("the kTLS peer did not set up kernel TLS");
		close(ready[0]);
		uint64_t expired = stat_now(LIBRA_STAT_TX_HOLDS_EXPIRED);

		if ((e = send_all(fd, tail, n, 0)))
			die("sending: %s", strerror(-e));
		if (how == 1)
			close(fd);
		else if (how == 2)
			shutdown(fd, SHUT_WR);
		{
			size_t glen;
			uint8_t *g = read_blob(out[0], &glen, "the kTLS peer");

			expect_equal(what[how], g, glen, tail, n);
			free(g);
		}
		/* the last byte was held, and only the hold's expiry sent it */
		if (on && how == 0 && stat_now(LIBRA_STAT_TX_HOLDS_EXPIRED) == expired)
			die("left open: no hold expired, so no byte was held: the case tests nothing");
		waitpid(pid, NULL, 0);
		if (how != 1)
			close(fd);
		close(out[0]);
		close(lfd);
	}
	close(r.fd);
}

/* A response received, and where a send @k bytes into its first token ends. */
static size_t receive_token_cut(struct received *r, size_t k, uint64_t seed)
{
	struct region reg[8];

	*r = receive_response(64 * KiB, seed);
	if (!on)
		return 4096 + k;
	if (list_regions(r->buf, r->sent.p, r->sent.len, reg, ARRAY_LEN(reg)) < 1)
		die("no region in the response");
	return reg[0].at + k;
}

/* Sends @r's response on @fd up to @cut, the rest after four hold periods: the second send's error. */
static int send_token_late_on(int fd, const struct received *r, size_t k, size_t cut)
{
	int e = send_all(fd, r->buf, cut, 0);

	if (e)
		die("sending up to %zu bytes into the token: %s", k, strerror(-e));
	usleep(400 * 1000);	/* four times tx_hold_ms */
	return send_all(fd, r->buf + cut, r->sent.len - cut, 0);
}

/*
 * What @who got of a response sent @k bytes into a token (up to @cut) and
 * the rest after its hold expired (@e: the second send's error): the
 * response whole, or a failed connection that carried nothing of the
 * token past the start that went at the hold's expiry.
 */
static void expect_whole_or_failed(const char *who, size_t k, size_t cut, const struct received *r,
				   const uint8_t *got, size_t glen, int e)
{
	if (!e && glen == r->sent.len && !memcmp(got, r->sent.p, glen))
		return;
	if (!on || !e)
		die("%zu into the token: %s got %zu bytes of %zu, %s (send %s)", k, who, glen, r->sent.len,
		    glen == r->sent.len ? "different" : "short", e ? strerror(-e) : "ok");
	/* before the token, the bytes are the response's */
	if (memcmp(got, r->sent.p, glen < cut - k ? glen : cut - k) || glen > cut)
		die("%zu into the token: the connection failed, but %s got wrong bytes first", k, who);
	say("%zu into the token: the connection failed (%s) after %zu bytes", k, strerror(-e), glen);
}

/*
 * A program sends a response in two pieces, the first ending @k bytes into
 * a token, and the rest only after tx_hold_ms has passed (nginx's
 * limit_rate, any paced writer). A start shorter than the magic goes as the
 * bytes it is when its hold expires; what follows it is then no token to
 * libra's scan. The client must get the response whole, or the connection
 * must fail: never the token's rest and its zero fill as body bytes.
 */
static void send_token_late(size_t k, uint64_t seed)
{
	struct received r;
	size_t cut = receive_token_cut(&r, k, seed), glen;
	uint64_t refused = stat_now(LIBRA_STAT_TOKENS_REFUSED);
	struct sink s = start_sink("GET /1 HTTP/1.1\r\nHost: f\r\n\r\n", 0);
	uint8_t *got;
	int err, e;

	read_headers(s.fd);
	e = send_token_late_on(s.fd, &r, k, cut);
	got = finish_sink(&s, &glen, &err);
	expect_whole_or_failed("the client", k, cut, &r, got, glen, e);
	if (e && stat_now(LIBRA_STAT_TOKENS_REFUSED) == refused)
		die("%zu into the token: the connection failed without a refusal counted", k);
	free(got);
	close(r.fd);
}

static void case_token_late(void)
{
	for (size_t k = 1; k <= 8; k++)
		send_token_late(k, 100 + k);
}

/*
 * token-late over kernel TLS: a send that ends 1-7 bytes into a token, the
 * rest 400 ms later. The peer decrypts the response whole, or the
 * connection fails before any of the token's rest goes.
 */
static void case_ktls_token_late(void)
{
	static const struct ktls_reader rd;

	for (size_t k = 1; k < 8; k++) {
		struct received r;
		size_t cut = receive_token_cut(&r, k, 110 + k), glen;
		struct ktls_peer p = ktls_open(&rd);
		uint8_t *got;
		int err, e = send_token_late_on(p.fd, &r, k, cut);

		got = ktls_finish(&p, &glen, &err);
		expect_whole_or_failed("the kTLS peer", k, cut, &r, got, glen, e);
		free(got);
		close(r.fd);
	}
}

/*
 * A kernel-TLS send's last byte could begin a token, and the socket is
 * full: the program has been told to wait, and sends the rest when it is
 * writable (nginx stops at a full socket with a token cut anywhere in its
 * 16 KiB buffer). The hold must not expire into the stream while there is
 * no room (three of its periods go by with the peer not reading); once the
 * peer drains the socket, the hold's expiry sends the byte, with no further
 * send and before any close: the peer gets every byte.
 */
static void case_ktls_held_full(void)
{
	static const struct ktls_reader late = { .rcvbuf = 16 * KiB, .wait_us = 3000000 };
	const size_t cap = 4 * 1024 * KiB;
	uint8_t *want = malloc(cap), chunk[4 * KiB];
	struct received r = receive_response(64 * KiB, 95);
	int sndbuf = 16 * KiB;
	uint64_t expired = 0;
	struct ktls_peer p;
	size_t n = 0;
	ssize_t m;

	for (size_t i = 0; i < sizeof(chunk); i++)
		chunk[i] = 'a' + i % 26;
	p = ktls_open(&late);
	setsockopt(p.fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	/*
	 * Until the socket takes no more: the peer reads nothing for 3 s. A
	 * send refused for room can be passing (the peer's ACKs free it an
	 * instant later); full is no room for 200 ms.
	 */
	for (;;) {
		struct pollfd pf = { .fd = p.fd, .events = POLLOUT };

		if (n + sizeof(chunk) >= cap - 1)
			die("the socket took %zu bytes and is still not full", n);
		m = send(p.fd, chunk, sizeof(chunk), MSG_DONTWAIT);
		if (m > 0) {
			memcpy(want + n, chunk, m);
			n += m;
			continue;
		}
		if (errno != EAGAIN)
			die("filling the socket: %s", strerror(errno));
		if (poll(&pf, 1, 200) == 0)
			break;
	}
	if (on)
		expired = stat_now(LIBRA_STAT_TX_HOLDS_EXPIRED);
	want[n] = 0xf7;	/* the magic's first byte */
	/* held at once with libra; stock waits for room, until the peer reads */
	if (send(p.fd, want + n, 1, 0) != 1)
		die("sending the last byte: %s", strerror(errno));
	n++;
	if (on) {
		struct pollfd pf = { .fd = p.fd, .events = POLLOUT };
		uint64_t now;
		bool room;

		usleep(300 * 1000);	/* three times tx_hold_ms, and the peer still not reading */
		/*
		 * Room only grows from the fill on (the peer's ACKs free it, nothing
		 * else is sent): a socket without room now had none when the hold
		 * expired, if it did. The peer's kernel may reopen its window
		 * before it reads (collapsing its queue), which gives room: the
		 * program is told it may write, and the expiry may send the byte.
		 */
		now = stat_now(LIBRA_STAT_TX_HOLDS_EXPIRED);
		room = poll(&pf, 1, 0) == 1 && (pf.revents & POLLOUT);
		if (now != expired && !room)
			die("the hold expired while the socket had no room for it");
		say("300 ms after the held byte: %s, the hold %s", room ? "room" : "no room",
		    now != expired ? "expired" : "waiting");
		/* the peer reads from 3 s on: the re-armed hold goes once there is room */
		for (int i = 0; i < 100 && stat_now(LIBRA_STAT_TX_HOLDS_EXPIRED) == expired; i++)
			usleep(50 * 1000);
		if (stat_now(LIBRA_STAT_TX_HOLDS_EXPIRED) == expired)
			die("the held byte never went after the socket drained");
		say("%zu bytes filled the socket; the held last byte went after it drained", n - 1);
	}
	ktls_expect(&p, want, n, "the kTLS peer");
	free(want);
	close(r.fd);
}

/*
 * The handshake's last byte is the first of a token's magic, and kernel TLS
 * is set up right after it, as OpenSSL does once its flight is written:
 * nothing of the handshake may be held (a held byte would go out later,
 * encrypted by kernel TLS, and the client's handshake break).
 */
static void case_ktls_handshake_tail(void)
{
	static const uint8_t hello[] = { 0x16, 0x03, 0x01, 0x00, 0x05, 'h', 'e', 'l', 'l', 0xf7 };
	static const uint8_t after[] = "after the handshake";
	static const struct ktls_reader rd = { .plain = sizeof(hello) };
	struct received r = receive_response(64 * KiB, 95);
	struct ktls_peer p = ktls_connect(KTLS_DEFAULT, &rd);
	uint8_t want[sizeof(hello) + sizeof(after) - 1];
	int e;

	if ((e = send_all(p.fd, hello, sizeof(hello), 0)))
		die("sending the handshake: %s", strerror(-e));
	if ((e = ktls_tx(&p)))
		die("the kernel refused %s: %s", p.suite->name, strerror(-e));
	usleep(250 * 1000);	/* past tx_hold_ms: a held byte would have gone by now */
	if ((e = send_all(p.fd, after, sizeof(after) - 1, 0)))
		die("sending after the handshake: %s", strerror(-e));
	memcpy(want, hello, sizeof(hello));
	memcpy(want + sizeof(hello), after, sizeof(after) - 1);
	ktls_expect(&p, want, sizeof(want), "the kTLS peer");
	close(r.fd);
}

struct fs_case {
	const char *name;
	void (*run)(void);
};

static const struct fs_case cases[] = {
	{ "unix-socketpair", case_unix_socketpair },
	{ "unix-cut", case_unix_cut },
	{ "pipe", case_pipe },
	{ "file", case_file },
	{ "unframed-interleave", case_unframed_interleave },
	{ "short-body-then-next", case_short_body_then_next },
	{ "rechunk-split-token", case_rechunk_split_token },
	{ "rst-waitall", case_rst_waitall },
	{ "rst-lowat", case_rst_lowat },
	{ "urgent", case_urgent },
	{ "two-senders", case_two_senders },
	{ "readv-buffers", case_readv_buffers },
	{ "readv-part-to-pipe", case_readv_part_to_pipe },
	{ "reconnect", case_reconnect },
	{ "stale-token", case_stale_token },
	{ "send-after-shutdown", case_send_after_shutdown },
	{ "fork-child", case_fork_child },
	{ "fork-successor", case_fork_successor },
	{ "tls-upload", case_tls_upload },
	{ "zerocopy", case_zerocopy },
	{ "uring-send-zc", case_uring_send_zc },
	{ "expired", case_expired },
	{ "token-late", case_token_late },
	{ "unsent-held", case_unsent_held },
	{ "unsent-pressed", case_unsent_pressed },
	{ "origin-closed", case_origin_closed },
	{ "origin-cut-behind-close", case_origin_cut_behind_close },
	{ "ktls-ciphers", case_ktls_ciphers },
	{ "ktls-misaligned", case_ktls_misaligned },
	{ "ktls-records", case_ktls_records },
	{ "ktls-iovecs", case_ktls_iovecs },
	{ "ktls-wait-space", case_ktls_wait_space },
	{ "ktls-close-pending", case_ktls_close_pending },
	{ "ktls-two-senders", case_ktls_two_senders },
	{ "ktls-sendfile", case_ktls_sendfile },
	{ "ktls-handshake", case_ktls_handshake },
	{ "ktls-handshake-midway", case_ktls_handshake_midway },
	{ "ktls-held-tail", case_ktls_held_tail },
	{ "ktls-held-full", case_ktls_held_full },
	{ "ktls-token-late", case_ktls_token_late },
	{ "ktls-handshake-tail", case_ktls_handshake_tail },
};
#define NCASES (sizeof(cases) / sizeof(cases[0]))

static bool selected(const char *list, const char *name)
{
	const char *p = list;
	size_t n = strlen(name);

	if (!list)
		return true;
	while ((p = strstr(p, name))) {
		if ((p == list || p[-1] == ',') && (p[n] == ',' || !p[n]))
			return true;
		p += n;
	}
	return false;
}

static uint64_t stats_at_start[__LIBRA_STAT_MAX];

static void get_stats(uint64_t *v)
{
	struct libra_stats req = { .count = __LIBRA_STAT_MAX, .values = (uintptr_t)v };

	memset(v, 0, sizeof(uint64_t) * __LIBRA_STAT_MAX);
	if (libra_fd >= 0)
		ioctl(libra_fd, LIBRA_IOC_GET_STATS, &req);
}

/* This process's sockets as libra tracks them: role, flags, why a direction stepped aside. */
static void print_sockets(void)
{
	static struct libra_socket_info info[64];
	struct libra_socket_list req = { .count = 64, .entries = (uintptr_t)info, .tgid = getpid() };

	if (ioctl(libra_fd, LIBRA_IOC_LIST_SOCKETS, &req))
		return;
	for (uint32_t i = 0; i < req.count; i++)
		printf("case %s on: socket %u->%u role %u flags 0x%x rx_aside %u tx_aside %u anchored %llu zc %llu\n",
		       case_name, info[i].local_port, info[i].remote_port, info[i].role, info[i].flags,
		       info[i].rx_aside, info[i].tx_aside,
		       (unsigned long long)info[i].values[LIBRA_SOCKET_STAT_BYTES_ANCHORED],
		       (unsigned long long)info[i].values[LIBRA_SOCKET_STAT_BYTES_ZERO_COPY_SENT]);
}

/* What libra did during the run, for whoever reads a failure. */
static void print_deltas(void)
{
	static const struct { enum libra_stat s; const char *name; } shown[] = {
		{ LIBRA_STAT_BYTES_ANCHORED, "anchored" },
		{ LIBRA_STAT_BYTES_ZERO_COPY_SENT, "zero_copy" },
		{ LIBRA_STAT_BYTES_MATERIALIZED, "materialized" },
		{ LIBRA_STAT_TOKENS_REFUSED, "refused" },
		{ LIBRA_STAT_TOKENS_REJECTED, "rejected" },
		{ LIBRA_STAT_REGIONS_CUT, "regions_cut" },
		{ LIBRA_STAT_TX_RESETS, "tx_resets" },
		{ LIBRA_STAT_ANCHORS_EXPIRED, "expired" },
		{ LIBRA_STAT_FALLBACK_DESYNC, "desync" },
		{ LIBRA_STAT_PARSER_ERRORS, "parser_errors" },
	};
	uint64_t v[__LIBRA_STAT_MAX];
	char line[512];
	int n = 0;

	if (!on)
		return;
	get_stats(v);
	for (size_t i = 0; i < sizeof(shown) / sizeof(shown[0]); i++)
		n += snprintf(line + n, sizeof(line) - n, " %s %llu", shown[i].name,
			      (unsigned long long)(v[shown[i].s] - stats_at_start[shown[i].s]));
	printf("case %s on: libra:%s; process flags 0x%x\n", case_name, line, proc_flags());
	print_sockets();
	fflush(stdout);
}

static bool run_case(const struct fs_case *c, bool opted_in)
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		case_name = c->name;
		on = opted_in;
		alarm(RUN_TIMEOUT_S);
		if (on) {
			get_stats(stats_at_start);
			atexit(print_deltas);
			optin_self();
		}
		c->run();
		say("passed");
		exit(0);
	}
	waitpid(pid, &st, 0);
	if (WIFSIGNALED(st))
		fprintf(stderr, "case %s %s: FAILED: killed by signal %d%s\n", c->name,
			opted_in ? "on" : "off", WTERMSIG(st), WTERMSIG(st) == SIGALRM ? " (timeout)" : "");
	return WIFEXITED(st) && !WEXITSTATUS(st);
}

int main(int argc, char **argv)
{
	const char *only = NULL;
	int failed = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--only") && i + 1 < argc) {
			only = argv[++i];
		} else if (!strcmp(argv[i], "--list")) {
			for (size_t k = 0; k < NCASES; k++)
				puts(cases[k].name);
			return 0;
		} else {
			fprintf(stderr, "usage: failsafe [--only NAME[,NAME...]] [--list]\n");
			return 2;
		}
	}
	libra_fd = open("/dev/" LIBRA_DEVICE_NAME, O_RDWR);
	if (libra_fd < 0) {
		perror("failsafe: /dev/libra");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	for (size_t k = 0; k < NCASES; k++) {
		if (!selected(only, cases[k].name))
			continue;
		for (int o = 0; o < 2; o++)
			if (!run_case(&cases[k], o))
				failed++;
	}
	printf("failsafe: %d run(s) failed\n", failed);
	return failed ? 1 : 0;
}
