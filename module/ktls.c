// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel TLS: sends on a socket set up for kernel-TLS transmission
 * (TCP_ULP "tls" and TLS_TX: nginx with 'ssl_conf_command Options KTLS;').
 * The program hands the kernel plaintext and the kernel builds the records,
 * so libra sees every byte before it is encrypted, and a region goes out
 * from the anchored pages, which the kernel encrypts in place of the
 * program's bytes: on 6.1 through the TLS socket's sendpage, from 6.5 as
 * MSG_SPLICE_PAGES into its sendmsg (a device that offloads TLS takes the
 * same calls). The bytes around regions go as one stock call per run, with
 * MSG_MORE until the call's last piece, so records fill up as the stock
 * path fills them and close where the program's own call would.
 *
 * A TLS server in user space does not hand the kernel the buffers it
 * received: nginx copies a response into a 16 KiB buffer and writes that
 * (OpenSSL then sendmsg()s it whole), so a region is cut wherever the
 * buffer fills and goes on at the start of the next call. And whether a
 * response has a body at all depends on the request's method, which libra
 * cannot see when OpenSSL decrypts the requests in user space (TLS 1.3 in
 * OpenSSL 3.0 sets up kernel TLS for sending only). So libra follows the
 * plaintext stream, not the HTTP framing: a live token of the process
 * whose zero fill follows it in the stream starts a region there, and the
 * region goes on over the following bytes of the stream, within the call
 * and across calls, while they are the zero fill (checked as they come),
 * until its length is used up. A token, then nothing but the zero fill to
 * the region's end: those bytes stand for the region (the rule the egress
 * guard writes a region out by), and anything else is the program's.
 *
 * Where the stream stops being the fill before the region's end (the
 * program cut the region: a byte of its own where the fill should go on)
 * the rest may still be in the program's memory as zeros, to be sent
 * later: the connection is reset (counted, logged). A token cut by the end
 * of a call is not sent: the call reports the bytes before it, and the
 * program's retry (OpenSSL writes the rest at once) brings it whole. A
 * token libra must not stand in for (its anchor gone, another process's)
 * or whose fill was changed fails the call with EIO, as the guard fails
 * one: nothing of the token goes. A send with a control message (a record
 * of another type: a handshake message, an alert) carries no HTTP: one
 * stock call, the guard writing out what tokens it holds.
 *
 * Locking: the TLS socket's own calls take its tx_lock and then the socket
 * lock; libra holds neither across them. One send at a time per socket
 * (the send claim, tx.c); the region in progress belongs to the call while
 * it runs and goes back to the entry under the socket lock.
 *
 * What kernel TLS receives is not anchored: the kernel decrypts it straight
 * into the program's buffer (there are no plaintext pages to keep), so a
 * request body uploaded over kernel TLS is copied as it would be without
 * libra.
 */
#include <linux/highmem.h>
#include <linux/module.h>
#include <linux/uio.h>
#include <net/inet_common.h>
#include <net/inet_connection_sock.h>
#include <net/sock.h>
#include <net/tcp.h>

#include "compat.h"
#include "tx.h"

#define LIBRA_KTLS_CHUNK	512

/* Whether @sk is a TCP socket with kernel TLS set up for sending. */
bool libra_ktls_tx(const struct sock *sk)
{
	const struct tcp_ulp_ops *ulp;

	if (sk->sk_protocol != IPPROTO_TCP || sk->sk_type != SOCK_STREAM ||
	    (sk->sk_family != AF_INET && sk->sk_family != AF_INET6))
		return false;
	ulp = READ_ONCE(inet_csk(sk)->icsk_ulp_ops);
	/* TLS_TX replaces the protocol's sendmsg; the ULP alone (or TLS_RX only) does not */
	return ulp && !strcmp(ulp->name, "tls") &&
	       READ_ONCE(sk->sk_prot)->sendmsg != libra_sym.tcp_sendmsg;
}

/* One send call on a kernel-TLS socket. */
struct libra_ktls_call {
	struct socket *sock;
	struct msghdr *msg;
	int (*stock)(struct socket *, struct msghdr *, size_t);
	struct libra_sock *ls;
	struct libra_anchor *cont;	/* the region going on, taken from the entry */
	u32 cont_off;
	size_t total;			/* of the call's bytes, sent */
	bool control;			/* a record of another type (a control message) */
	bool stale_owed;		/* bytes held before kernel TLS: the connection cannot go on */
	u64 zero_copy;			/* of them, from anchored pages */
};

/*
 * Sets @it to a copy of the call's iterator at @off of its unsent data, for
 * reading on from there in order: advancing an iovec iterator walks its
 * segments, so a scan reads through one copy rather than advancing a fresh
 * one per chunk (that is quadratic in the segments of a large writev).
 */
static bool libra_ktls_iter_at(const struct msghdr *msg, size_t off, struct iov_iter *it)
{
	*it = msg->msg_iter;
	if (off > iov_iter_count(it))
		return false;
	iov_iter_advance(it, off);
	return true;
}

/* Reads the next @len bytes from @it; false past the data's end or on a fault. */
static bool libra_ktls_read(struct iov_iter *it, void *dst, size_t len)
{
	return len <= iov_iter_count(it) && copy_from_iter(dst, len, it) == len;
}

/* Copies @len bytes at @off of the call's unsent data; false past its end or on a fault. */
static bool libra_ktls_peek(const struct msghdr *msg, size_t off, void *dst, size_t len)
{
	struct iov_iter it;

	return libra_ktls_iter_at(msg, off, &it) && libra_ktls_read(&it, dst, len);
}

/* How many of the @n bytes at @off of the call's unsent data are zero before one that is not. */
static size_t libra_ktls_zero_run(const struct msghdr *msg, size_t off, size_t n)
{
	u8 buf[LIBRA_KTLS_CHUNK];
	struct iov_iter it;
	size_t done = 0;

	if (!libra_ktls_iter_at(msg, off, &it))
		return 0;
	while (done < n) {
		size_t k = min_t(size_t, n - done, sizeof(buf));
		const u8 *p;

		if (!libra_ktls_read(&it, buf, k))
			return done;
		p = memchr_inv(buf, 0, k);
		if (p)
			return done + (p - buf);
		done += k;
	}
	return n;
}

/*
 * Whether the @n bytes at @off of the call's unsent data are @a's region
 * from @a_off: its real bytes, written out into the program's memory since
 * the region began going out (a TLS handshake of a process that never set
 * up kernel TLS before writes every region out) and copied on from there.
 */
static bool libra_ktls_real_bytes(const struct msghdr *msg, size_t off, struct libra_anchor *a,
				  u32 a_off, u32 n)
{
	u8 buf[LIBRA_KTLS_CHUNK];
	struct libra_piece_iter pieces;
	struct iov_iter it;
	struct bio_vec bv;
	u32 done = 0;

	if (!libra_ktls_iter_at(msg, off, &it))
		return false;
	libra_piece_iter_init(&pieces, a, a_off, n);
	while (libra_piece_next(&pieces, &bv)) {
		u32 at;

		for (at = 0; at < bv.bv_len;) {
			u32 k = min_t(u32, bv.bv_len - at, sizeof(buf));
			u32 pg = (bv.bv_offset + at) / PAGE_SIZE, po = (bv.bv_offset + at) % PAGE_SIZE;
			u8 *vaddr;
			bool same;

			k = min_t(u32, k, PAGE_SIZE - po);
			if (!libra_ktls_read(&it, buf, k))
				return false;
			vaddr = kmap_local_page(bv.bv_page + pg);
			same = !memcmp(buf, vaddr + po, k);
			kunmap_local(vaddr);
			if (!same)
				return false;
			at += k;
			done += k;
		}
	}
	return done == n;
}

/* The token-sized bytes at @at of the unsent data, of which @buf holds the first @have. */
static bool libra_ktls_token_bytes(const struct msghdr *msg, const u8 *buf, size_t have,
				   size_t at, struct libra_token *tok)
{
	if (have >= sizeof(*tok)) {
		memcpy(tok, buf, sizeof(*tok));
		return true;
	}
	return libra_ktls_peek(msg, at, tok, sizeof(*tok));
}

/*
 * The first of libra's tokens in the call's unsent data: its offset (the
 * data's length when there is none), the anchor lookup's answer in *@a and
 * *@why. *@cut when what stands there is the start of the magic and the
 * data ends before a whole token.
 */
static size_t libra_ktls_find(const struct msghdr *msg, struct libra_anchor **a,
			      enum libra_token_verdict *why, bool *cut)
{
	size_t left = iov_iter_count(&msg->msg_iter), off = 0;
	u8 buf[LIBRA_KTLS_CHUNK];
	struct iov_iter it = msg->msg_iter;

	*a = NULL;
	*cut = false;
	while (off < left) {
		size_t n = min_t(size_t, left - off, sizeof(buf)), i = 0;

		if (!libra_ktls_read(&it, buf, n))
			return left;	/* the stock call reports the fault */
		while (i < n) {
			const u8 *p = memchr(buf + i, LIBRA_TOKEN_MAGIC[0], n - i);
			struct libra_token tok;
			size_t at, have;

			if (!p)
				break;
			i = p - buf;
			at = off + i;
			have = min_t(size_t, left - at, sizeof(tok));
			if (have < sizeof(tok)) {
				u8 head[sizeof(tok)];

				if (libra_ktls_peek(msg, at, head, have) &&
				    !memcmp(head, LIBRA_TOKEN_MAGIC, min_t(size_t, have, 8))) {
					*cut = true;
					return at;
				}
			} else if (libra_ktls_token_bytes(msg, p, n - i, at, &tok) &&
				   !memcmp(tok.magic, LIBRA_TOKEN_MAGIC, sizeof(tok.magic))) {
				*a = libra_anchor_lookup(&tok, why);
				if (*a || *why != LIBRA_TOKEN_NOT_OURS)
					return at;
			}
			i++;
		}
		off += n;
	}
	return left;
}

/* The next @n bytes of the caller's data, as the stock path sends them. */
static int libra_ktls_send_plain(struct libra_ktls_call *c, size_t n, bool more)
{
	struct msghdr *msg = c->msg;
	size_t after = msg_data_left(msg) - n;
	unsigned int saved = msg->msg_flags;
	int ret;

	iov_iter_truncate(&msg->msg_iter, n);
	if (more)
		msg->msg_flags |= MSG_MORE;
	ret = c->stock(c->sock, msg, n);
	msg->msg_flags = saved;
	iov_iter_reexpand(&msg->msg_iter, msg_data_left(msg) + after);
	if (ret > 0)
		c->total += ret;
	return ret;
}

struct libra_ktls_dest {
	struct socket *sock;
	int flags;
};

static int libra_ktls_sink(void *to, const struct bio_vec *runs, unsigned int nr, u32 len,
			  bool more)
{
	struct libra_ktls_dest *d = to;

	return libra_compat_ktls_send_pages(d->sock, runs, nr, len, d->flags, more);
}

/*
 * @n bytes of the region @a from @off, from its anchored pages, in place of
 * the call's next @n bytes (@from_call; else bytes an earlier call took).
 * Returns how many went, or a negative errno when none did.
 */
static int libra_ktls_send_anchor(struct libra_ktls_call *c, struct libra_anchor *a, u32 off, u32 n,
				  bool from_call)
{
	struct msghdr *msg = c->msg;
	struct libra_ktls_dest d = { .sock = c->sock,
				     .flags = msg->msg_flags & (MSG_DONTWAIT | MSG_NOSIGNAL) };
	bool more = (msg->msg_flags & MSG_MORE) || msg_data_left(msg) > (from_call ? n : 0);
	struct libra_anchor_part part = { a, off, n };
	int sent = libra_anchor_send(&part, 1, more, libra_ktls_sink, &d);

	if (sent <= 0)
		return sent;
	if (from_call) {
		iov_iter_advance(&msg->msg_iter, sent);
		c->total += sent;
	}
	c->zero_copy += sent;
	libra_scope_add(a->scope, LIBRA_STAT_BYTES_ZERO_COPY_SENT, sent);
	libra_scope_add(a->scope, LIBRA_STAT_BYTES_KTLS_SENT, sent);
	return sent;
}

/* ... in place of the call's next @n bytes. */
static int libra_ktls_send_region(struct libra_ktls_call *c, struct libra_anchor *a, u32 off, u32 n)
{
	return libra_ktls_send_anchor(c, a, off, n, true);
}

/* @n more bytes of the region in progress went: done (sent) when its length is used up. */
static void libra_ktls_region_went(struct libra_ktls_call *c, u32 n)
{
	struct libra_anchor *a = c->cont;

	c->cont_off += n;
	if (c->cont_off == a->len) {
		libra_anchor_sent(a);
		libra_anchor_put(a);
		c->cont = NULL;
	}
}

/*
 * The region in progress, over the call's next bytes while they are its
 * zero fill. 0 when it went as far as the call's data goes (or is done),
 * 1 when the socket took less, or a negative errno.
 */
static int libra_ktls_continue(struct libra_ktls_call *c)
{
	struct libra_anchor *a = c->cont;
	u32 n = min_t(size_t, a->len - c->cont_off, msg_data_left(c->msg));
	/* the token's own bytes, where a send took part of them, were checked whole */
	u32 fill = c->cont_off < LIBRA_TOKEN_BYTES ? min(n, LIBRA_TOKEN_BYTES - c->cont_off) : 0;
	int ret;

	if (libra_ktls_zero_run(c->msg, fill, n - fill) < n - fill &&
	    !libra_ktls_real_bytes(c->msg, fill, a, c->cont_off + fill, n - fill)) {
		libra_refuse_count(a->scope, NULL, "a kernel-TLS send",
				   "the program's bytes go on where a region's zero fill should");
		return -ECONNRESET;
	}
	ret = libra_ktls_send_region(c, a, c->cont_off, n);
	if (ret < 0)
		return ret;
	libra_ktls_region_went(c, ret);
	return ret < n;
}

/* A live token at the call's next byte: its region, as far as the call goes. Same returns. */
static int libra_ktls_start(struct libra_ktls_call *c, struct libra_anchor *a)
{
	u32 n = min_t(size_t, a->len, msg_data_left(c->msg));
	int ret;

	if (libra_ktls_zero_run(c->msg, LIBRA_TOKEN_BYTES, n - LIBRA_TOKEN_BYTES) <
	    n - LIBRA_TOKEN_BYTES) {
		libra_refuse_count(a->scope, NULL, "a kernel-TLS send", "its region was changed in memory");
		libra_anchor_put(a);
		return -EIO;
	}
	libra_anchor_touch(a);
	ret = libra_ktls_send_region(c, a, 0, n);
	if (ret < 0) {
		libra_anchor_put(a);	/* nothing went: the token is sent again, or never */
		return ret;
	}
	c->cont = a;
	c->cont_off = 0;
	libra_ktls_region_went(c, ret);
	return ret < n;
}

/* Sends @n bytes of libra's own memory (held bytes) as the program's. */
static int libra_ktls_send_kernel(struct sock *sk, const void *data, u32 n, int flags)
{
	struct msghdr msg = { .msg_flags = flags };
	struct kvec kv = { .iov_base = (void *)data, .iov_len = n };

	iov_iter_kvec(&msg.msg_iter, ITER_SOURCE, &kv, 1, n);
	return READ_ONCE(sk->sk_prot)->sendmsg(sk, &msg, n);
}

/*
 * Takes the call's last @k bytes, the start of what may be a token, as
 * held (ls->tx_owed): decided with the next call's bytes, or sent as they
 * are when tx_hold_ms passes without one (tx_owed.c). nginx writes a
 * response through a 16 KiB buffer: a token is cut wherever it fills.
 */
static void libra_ktls_hold(struct libra_ktls_call *c, u32 k)
{
	struct libra_sock *ls = c->ls;

	libra_ktls_peek(c->msg, 0, ls->tx_owed + ls->tx_owed_len, k);
	ls->tx_owed_ktls = true;
	iov_iter_advance(&c->msg->msg_iter, k);
	c->total += k;
	ls->tx_owed_len += k;
	ls->tx_owed_framing = 0;
	ls->tx_owed_msg_id = 0;
	ls->tx_owed_state = LIBRA_OWED_CANDIDATE;
}

/*
 * What the previous call held, decided with this call's first bytes: 0
 * when settled (sent as they were, or a region started from them), 1 when
 * all of this call's bytes were held too, or a negative errno.
 */
static int libra_ktls_settle_held(struct libra_ktls_call *c)
{
	struct libra_sock *ls = c->ls;
	u32 have = ls->tx_owed_len, need = LIBRA_TOKEN_BYTES - have;
	u32 got = min_t(size_t, need, msg_data_left(c->msg));
	enum libra_token_verdict why;
	struct libra_token tok;
	struct libra_anchor *a;
	int ret;

	memcpy(&tok, ls->tx_owed, have);
	if (!libra_ktls_peek(c->msg, 0, (u8 *)&tok + have, got))
		return -EFAULT;
	if (!memcmp(&tok, LIBRA_TOKEN_MAGIC, min_t(u32, have + got, 8))) {
		if (got < need) {
			libra_ktls_hold(c, got);
			return 1;
		}
		a = libra_anchor_lookup(&tok, &why);
		if (a && why == LIBRA_TOKEN_LIVE) {
			/* its first bytes were taken by the previous call: from the anchor now */
			libra_anchor_touch(a);
			ret = libra_ktls_send_anchor(c, a, 0, have, false);
			if (ret != have) {
				libra_anchor_put(a);
				if (ret > 0)
					return -ECONNRESET;	/* part of a token start: nothing can mend it */
				return ret;			/* held still: the program tries again */
			}
			libra_tx_owed_clear(ls);
			c->cont = a;
			c->cont_off = have;
			return libra_ktls_continue(c);
		}
		if (a || why != LIBRA_TOKEN_NOT_OURS) {
			/* its start went as sent: the connection cannot go on */
			libra_refuse_count(a ? a->scope : NULL, NULL, "a kernel-TLS send (a held token start)",
					   libra_token_verdict_name(why));
			if (a)
				libra_anchor_put(a);
			return -ECONNRESET;
		}
	}
	/* the program's own bytes, which only began like a token */
	ret = libra_ktls_send_kernel(c->sock->sk, ls->tx_owed, have,
				     (c->msg->msg_flags & (MSG_DONTWAIT | MSG_NOSIGNAL)) | MSG_MORE);
	if (ret != have)
		return ret > 0 ? -ECONNRESET : ret ?: -EAGAIN;
	libra_tx_owed_clear(ls);
	return 0;
}

static int libra_ktls_run(struct libra_ktls_call *c)
{
	struct msghdr *msg = c->msg;
	int ret = 0;

	if (c->ls->tx_owed_len && msg_data_left(msg)) {
		ret = libra_ktls_settle_held(c);
		if (ret)
			return ret;
	}
	if (unlikely(c->ls->tx_raw_magic) && msg_data_left(msg)) {
		u8 next[LIBRA_TOKEN_BYTES];
		u32 got = min_t(size_t, msg_data_left(msg), LIBRA_TOKEN_BYTES - c->ls->tx_raw_magic);

		if (libra_ktls_peek(msg, 0, next, got) &&
		    libra_tx_raw_start_continues(c->ls, next, got))
			return -ECONNRESET;
	}
	if (c->cont && msg_data_left(msg)) {
		ret = libra_ktls_continue(c);
		if (ret)
			return ret;
	}
	while (msg_data_left(msg)) {
		enum libra_token_verdict why = LIBRA_TOKEN_NOT_OURS;
		struct libra_anchor *a;
		size_t at;
		bool cut;

		at = libra_ktls_find(msg, &a, &why, &cut);
		if (at) {
			/* more follows in this call if a token or a held start does */
			ret = libra_ktls_send_plain(c, at, a || why != LIBRA_TOKEN_NOT_OURS || cut);
			if (ret < (int)at) {
				if (a)
					libra_anchor_put(a);
				return ret < 0 ? ret : 1;
			}
		}
		if (cut) {
			libra_ktls_hold(c, msg_data_left(msg));
			return 0;
		}
		if (!msg_data_left(msg))
			break;
		if (!a || why != LIBRA_TOKEN_LIVE) {
			libra_refuse_count(a ? a->scope : NULL, NULL, "a kernel-TLS send",
					   libra_token_verdict_name(why));
			if (a)
				libra_anchor_put(a);
			return -EIO;
		}
		ret = libra_ktls_start(c, a);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * Held bytes with nothing more to come (tx_owed.c: a hold expired, a
 * shutdown, a close): sent through kernel TLS as the bytes they are, unless
 * they hold a token's whole magic. The socket lock is held, and dropped for
 * the send with the send claim taken; the send may queue past the send
 * buffer's limit (at most 31 bytes), as tx_owed.c's flush does.
 */
int libra_ktls_flush_held(struct sock *sk, struct libra_sock *ls)
{
	u8 bytes[LIBRA_TOKEN_BYTES];
	u32 n = ls->tx_owed_len;
	int sndbuf = sk->sk_sndbuf, ret;

	sock_owned_by_me(sk);
	/* held in the clear before kernel TLS: sent now they would be encrypted */
	if (!ls->tx_owed_ktls) {
		libra_refuse_count(NULL, ls, "a kernel-TLS socket", "bytes held before kernel TLS was set up");
		return -ECONNRESET;
	}
	if (n >= 8 && !memcmp(ls->tx_owed, LIBRA_TOKEN_MAGIC, 8)) {
		libra_refuse_count(NULL, ls, "a kernel-TLS send's last bytes",
				   "a token's start whose rest never came");
		return -ECONNRESET;
	}
	/* its kernel TLS is gone (the socket is closing): nothing may go in the clear */
	if (!libra_ktls_tx(sk) || n > sizeof(bytes))
		return -ECONNRESET;
	memcpy(bytes, ls->tx_owed, n);
	ls->tx_busy = true;
	WRITE_ONCE(sk->sk_sndbuf, max(sndbuf, sk->sk_wmem_queued + (int)SKB_TRUESIZE(SKB_MAX_HEAD(0))));
	release_sock(sk);
	ret = libra_ktls_send_kernel(sk, bytes, n, MSG_DONTWAIT | MSG_NOSIGNAL);
	lock_sock(sk);
	WRITE_ONCE(sk->sk_sndbuf, sndbuf);
	ls->tx_busy = false;
	wake_up_all(&ls->tx_wait);
	if (ret != n)
		return ret < 0 ? ret : -EIO;
	libra_tx_owed_clear(ls);
	/* a start shorter than the magic: the next bytes tell whether it was a token */
	if (n < 8)
		ls->tx_raw_magic = n;
	return 0;
}

/*
 * A kernel-TLS socket is released (close()): bytes it holds go before the
 * TLS layer is taken down, after which they could only go in the clear.
 * A close that cannot send them resets the connection.
 */
void libra_ktls_release(struct sock *sk)
{
	struct libra_sock *ls;

	lock_sock(sk);
	ls = libra_sock_lookup(sk);
	if (ls && ls->tx_owed_len && !ls->tx_busy && !ls->dead &&
	    libra_ktls_flush_held(sk, ls) && !ls->dead) {
		sock_set_flag(sk, SOCK_LINGER);
		WRITE_ONCE(sk->sk_lingertime, 0);
	}
	if (ls && !ls->dead)
		libra_tx_held_update(ls);
	release_sock(sk);
}

/*
 * HTTP/2 frames cut bodies where no hook can tell (tx.c's check for plain
 * TCP): the first plaintext a kernel-TLS socket carries is looked at too.
 */
static void libra_ktls_first_bytes(struct libra_ktls_call *c)
{
	struct libra_proc *p;
	u8 b[9];

	if (c->ls->ktls_pos || !libra_ktls_peek(c->msg, 0, b, sizeof(b)) || !libra_h2_start(b, sizeof(b)))
		return;
	p = libra_proc_get(task_tgid(current));
	if (p && libra_proc_flag(p, LIBRA_PROC_UNFRAMED))
		pr_info("%s[%d] speaks HTTP/2 over kernel TLS: it gets no anchors from now on\n",
			current->comm, task_tgid_nr(current));
}

/*
 * The call's start: the entry with the send claim, and the region it had
 * in progress taken over by the call. Kernel TLS is set up on the socket:
 * a handshake open there ends. False without an entry (*@err if the claim
 * failed).
 */
static bool libra_ktls_begin(struct libra_ktls_call *c, int flags, int *err)
{
	struct sock *sk = c->sock->sk;

	lock_sock(sk);
	c->ls = libra_tx_enter(sk, flags, err);
	if (c->ls) {
		if (!(c->ls->flags & LIBRA_SOCKET_F_KTLS)) {
			struct libra_proc *p = libra_proc_get(task_tgid(current));

			libra_sock_set_flag(c->ls, LIBRA_SOCKET_F_KTLS);
			if (p)
				libra_proc_flag(p, LIBRA_PROC_TLS_KERNEL);
			libra_tls_handshake_end(c->ls, true);
		}
		c->cont = c->ls->ktls_cont;
		c->cont_off = c->ls->ktls_cont_off;
		c->ls->ktls_cont = NULL;
		/* bytes held before kernel TLS was set up belonged in the clear: too late */
		c->stale_owed = c->ls->tx_owed_len && !c->ls->tx_owed_ktls;
	}
	release_sock(sk);
	return c->ls;
}

/* The call's end, @ret what it returns: its state goes back to the entry, or the connection was reset. */
static void libra_ktls_end(struct libra_ktls_call *c, int ret)
{
	struct sock *sk = c->sock->sk;
	struct libra_sock *ls = c->ls;

	if (ret == -ECONNRESET)
		tcp_abort(sk, ECONNRESET);
	lock_sock(sk);
	if (ls->dead || ret == -ECONNRESET) {
		if (c->cont)
			libra_anchor_put(c->cont);
		libra_tx_owed_clear(ls);
	} else {
		ls->ktls_cont = c->cont;
		ls->ktls_cont_off = c->cont_off;
		if (ret > 0 && !c->control)
			ls->ktls_pos += ret;	/* application data only: HTTP/2's preface is looked for at 0 */
		libra_sock_count_own(ls, LIBRA_STAT_BYTES_ZERO_COPY_SENT, c->zero_copy);
	}
	if (!ls->dead)
		libra_tx_held_update(ls);
	libra_tx_leave(sk, ls);
	release_sock(sk);
}

/*
 * Before bytes libra does not follow go on the socket (a record of another
 * type, a page from sendfile() on 6.1): what is held goes first, as the
 * bytes it is, and a region in progress cannot go on after them.
 */
static int libra_ktls_settle_before(struct libra_ktls_call *c, const char *what)
{
	struct libra_sock *ls = c->ls;
	int ret;

	if (c->cont) {
		libra_refuse_count(c->cont->scope, NULL, "a kernel-TLS send", what);
		return -ECONNRESET;
	}
	if (!ls->tx_owed_len)
		return 0;
	if (ls->tx_owed_len >= 8 && !memcmp(ls->tx_owed, LIBRA_TOKEN_MAGIC, 8)) {
		libra_refuse_count(NULL, NULL, "a kernel-TLS send", "a token's start whose rest never came");
		return -ECONNRESET;
	}
	ret = libra_ktls_send_kernel(c->sock->sk, ls->tx_owed, ls->tx_owed_len,
				     c->msg ? c->msg->msg_flags & (MSG_DONTWAIT | MSG_NOSIGNAL) : 0);
	if (ret != ls->tx_owed_len)
		return ret > 0 ? -ECONNRESET : ret ?: -EAGAIN;
	libra_tx_owed_clear(ls);
	return 0;
}

/*
 * A send on a kernel-TLS socket by a process an opt-in selects or one that
 * holds anchors (hooks.c redirects only those).
 */
int libra_ktls_sendmsg(struct socket *sock, struct msghdr *msg, size_t size,
		       int (*stock)(struct socket *, struct msghdr *, size_t))
{
	struct libra_ktls_call c = { .sock = sock, .msg = msg, .stock = stock };
	int ret;

	if (!libra_ktls_begin(&c, msg->msg_flags, &ret)) {
		if (ret)
			return ret;
		/* no state (no memory): the guard still looks */
		if (libra_proc_guarded(current) &&
		    libra_guard_iter(&msg->msg_iter, size, NULL, LIBRA_EGRESS_WHOLE, "a kernel-TLS socket"))
			return -EIO;
		return stock(sock, msg, size);
	}
	c.control = msg->msg_controllen;
	if (c.stale_owed) {
		libra_refuse_count(NULL, NULL, "a kernel-TLS send", "bytes held before kernel TLS was set up");
		ret = -ECONNRESET;
	} else if (msg->msg_controllen || !user_backed_iter(&msg->msg_iter)) {
		/*
		 * A record of another type (a handshake message, an alert): not
		 * HTTP. Pages from sendfile() or splice() (6.5 on), or a kernel
		 * caller's memory: a token there is refused, as the guard
		 * refuses one in a file's pages.
		 */
		ret = libra_ktls_settle_before(&c, msg->msg_controllen ?
					       "a region was in progress before a record of another type" :
					       "a region was in progress before pages sent from a file");
		if (!ret && libra_proc_guarded(current) &&
		    libra_guard_iter(&msg->msg_iter, size, NULL, LIBRA_EGRESS_WHOLE, "a kernel-TLS socket"))
			ret = -EIO;
		if (!ret)
			ret = stock(sock, msg, size);
	} else if (c.cont || c.ls->tx_owed_len || libra_proc_guarded(current)) {
		libra_ktls_first_bytes(&c);
		ret = libra_ktls_run(&c);
		/* a failure after bytes went is the next call's to report; a reset is not */
		if (ret >= 0 || (ret != -ECONNRESET && c.total))
			ret = c.total;
	} else {
		libra_ktls_first_bytes(&c);
		ret = stock(sock, msg, size);
	}
	libra_ktls_end(&c, ret);
	return ret;
}

#ifdef LIBRA_HAVE_SENDPAGE
/*
 * sendfile() and splice() to a kernel-TLS socket on kernels with sendpage
 * (inet_sendpage): a file's page, no token in it (the guard wrote tokens out
 * as the file was written), but what a send held must go before it.
 */
ssize_t libra_ktls_sendpage(struct socket *sock, struct page *page, int offset, size_t size,
			    int flags)
{
	struct libra_ktls_call c = { .sock = sock };
	int ret;

	if (!libra_ktls_begin(&c, flags, &ret))
		return ret ?: inet_sendpage(sock, page, offset, size, flags);
	ret = c.stale_owed ? -ECONNRESET :
	      libra_ktls_settle_before(&c, "a region was in progress before a page sent from a file");
	if (!ret)
		ret = inet_sendpage(sock, page, offset, size, flags);
	libra_ktls_end(&c, ret);
	return ret;
}
#endif
