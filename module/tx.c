// SPDX-License-Identifier: GPL-2.0
/*
 * Send: anchored-payload reuse.
 *
 * A process that holds anchors has what it sends scanned for tokens. Bytes
 * before a valid token go out the stock way; at the token, the anchored
 * pages go out instead of the region's bytes in user memory, which hold only
 * the token and unspecified bytes. A region sent in pieces continues where
 * the previous piece stopped (tx_cont): a stream's next bytes are always the
 * ones after those already sent. A token that is forged, stale, damaged or
 * another process's is sent as the bytes it is, and counted.
 *
 * On a socket where this process is the HTTP client, the requests it sends
 * are parsed too, so the response parser knows which answer a HEAD.
 * Anything sent behind libra's back (write_seq moved without it) stops that
 * tracking, and with it response parsing: never a guess.
 */
#include <linux/slab.h>
#include <linux/uio.h>
#include <net/sock.h>
#include <net/tcp.h>

#include "compat.h"
#include "libra.h"

#define LIBRA_SCAN_CHUNK 2048

/* Where libra_tx_send_plain() takes bytes from. */
struct libra_tx_source {
	struct msghdr *msg;	/* sendmsg: the caller's message */
	struct page *page;	/* sendpage: the caller's page ... */
	int page_off;		/* ... and the offset of the iterator's start in it */
	int flags;
};

static int libra_tx_send_plain(struct sock *sk, struct libra_tx_source *src,
			       struct iov_iter *iter, size_t n, bool more)
{
	size_t orig = iov_iter_count(iter);
	int ret;

	if (src->page) {
		/* the caller's own page: sent by reference, as stock sendpage would */
		ret = libra_compat_send_page(sk, src->page, src->page_off, n, src->flags, more);
		if (ret > 0) {
			iov_iter_advance(iter, ret);
			src->page_off += ret;
		}
		return ret;
	} else {
		unsigned int saved = src->msg->msg_flags;

		iov_iter_truncate(iter, n);
		if (more)
			src->msg->msg_flags |= MSG_MORE;
		ret = tcp_sendmsg_locked(sk, src->msg, n);
		src->msg->msg_flags = saved;
		iov_iter_reexpand(iter, iov_iter_count(iter) + (orig - n));
		return ret;
	}
}

/*
 * The offset in the next @len bytes of @iter of the first valid token, with
 * its anchor referenced in *found; @len with *found NULL when there is none.
 * A token cut off by the end of the data makes the scan stop before it, so
 * the caller sends up to there and the rest comes with its next call.
 */
static size_t libra_tx_find_token(const struct iov_iter *iter, size_t len,
				  u8 *buf, struct libra_anchor **found)
{
	size_t base = 0;

	*found = NULL;
	while (base < len) {
		size_t n = min_t(size_t, len - base, LIBRA_SCAN_CHUNK), i = 0;
		bool last = base + n == len;
		struct iov_iter it = *iter;

		iov_iter_advance(&it, base);
		if (copy_from_iter(buf, n, &it) != n)
			return base ?: len;	/* unreadable: the stock path reports the fault */
		while (i < n) {
			const u8 *p = memchr(buf + i, LIBRA_TOKEN_MAGIC[0], n - i);
			struct libra_token tok;

			if (!p)
				break;
			i = p - buf;
			if (n - i < LIBRA_TOKEN_BYTES) {
				if (!last)
					break;	/* the next chunk overlaps and sees it whole */
				if (!memcmp(p, LIBRA_TOKEN_MAGIC, min_t(size_t, n - i, 8)))
					return base + i ?: len;
				i++;
				continue;
			}
			if (!memcmp(p, LIBRA_TOKEN_MAGIC, 8)) {
				memcpy(&tok, p, sizeof(tok));
				*found = libra_anchor_lookup(&tok);
				if (*found)
					return base + i;
				libra_stat_inc(LIBRA_STAT_TOKENS_REJECTED);
			}
			i++;
		}
		if (last)
			break;
		base += n - (LIBRA_TOKEN_BYTES - 1);
	}
	return len;
}

/* Sends [off, off + n) of @a; returns bytes sent or a negative errno. */
static int libra_tx_send_anchor(struct sock *sk, struct libra_anchor *a, u32 off, u32 n,
				int flags, bool more)
{
	u32 i, sent = 0;

	for (i = 0; i < a->nr_pieces && sent < n; i++) {
		const struct bio_vec *bv = &a->pieces[i];
		u32 take, last;
		int ret;

		if (off >= bv->bv_len) {
			off -= bv->bv_len;
			continue;
		}
		take = min(bv->bv_len - off, n - sent);
		last = !more && sent + take == n;
		ret = libra_compat_send_page(sk, bv->bv_page, bv->bv_offset + off, take,
					     flags, !last);
		if (ret <= 0)
			return sent ? sent : (ret ?: -EAGAIN);
		sent += ret;
		if (ret < take)
			break;
		off = 0;
	}
	return sent;
}

static int libra_tx_fill_iter(void *dst, u32 len, void *arg)
{
	struct iov_iter *it = arg;

	return copy_from_iter(dst, len, it) == len ? 0 : -EFAULT;
}

/*
 * Parses the @n request bytes just sent from @sent (an iterator positioned
 * at their start): each request's method goes into the socket's queue.
 */
static void libra_tx_parse(struct libra_sock *ls, const struct iov_iter *sent, u32 n)
{
	struct libra_dir *d = &ls->tx;
	u32 start = ls->tx_pos, end = start + n;

	while (!d->passthrough && before(d->next_seq, end)) {
		struct iov_iter it = *sent;
		u32 skip, avail;
		int err;

		if (before(d->next_seq, start)) {
			/* bytes went out that the parser needed but never saw */
			libra_dir_step_aside(d, LIBRA_STAT_FALLBACK_DESYNC);
			break;
		}
		skip = d->next_seq - start;
		avail = end - d->next_seq;
		iov_iter_advance(&it, skip);
		d->ctx.max_header_bytes = 16384;
		err = libra_parser_run(&d->ctx, avail, libra_tx_fill_iter, &it);
		if (err) {
			libra_dir_step_aside(d, err == -ENOENT ? LIBRA_STAT_FALLBACK_NO_PARSER
							   : LIBRA_STAT_PARSER_ERRORS);
			break;
		}
		if (!libra_dir_apply_verdict(ls, d, false) || d->to_close)
			break;
	}
	ls->tx_pos = end;
}

static void libra_tx_check_sync(struct libra_sock *ls, struct sock *sk)
{
	if (ls->tx_synced && tcp_sk(sk)->write_seq != ls->tx_expect_seq) {
		/* sent behind libra's back: requests unknown from here on */
		libra_dir_step_aside(&ls->tx, LIBRA_STAT_FALLBACK_DESYNC);
		ls->methods_lost = true;
	}
}

static int libra_tx_run(struct sock *sk, struct libra_sock *ls, struct libra_tx_source *src,
			struct iov_iter *iter, bool scan)
{
	u8 *buf = NULL;
	size_t total = 0;
	int err = 0;

	if (ls->role == LIBRA_ROLE_UNKNOWN && iov_iter_count(iter))
		libra_sock_set_role(ls, LIBRA_ROLE_CLIENT);
	libra_tx_check_sync(ls, sk);
	if (scan || ls->tx_cont) {
		buf = kmalloc(LIBRA_SCAN_CHUNK, GFP_KERNEL);
		if (!buf) {
			err = -ENOMEM;
			goto out;
		}
	}

	while (iov_iter_count(iter)) {
		size_t remaining = iov_iter_count(iter), plain = remaining;
		struct libra_anchor *a = NULL;
		int ret;

		if (ls->tx_cont) {
			struct libra_anchor *c = ls->tx_cont;
			u32 k = min_t(size_t, remaining, c->len - ls->tx_cont_off);

			ret = libra_tx_send_anchor(sk, c, ls->tx_cont_off, k, src->flags,
						   remaining > k);
			if (ret < 0) {
				err = ret;
				break;
			}
			iov_iter_advance(iter, ret);
			ls->tx_pos += ret;
			ls->tx_cont_off += ret;
			total += ret;
			libra_stat_add(LIBRA_STAT_BYTES_ZERO_COPY_SENT, ret);
			if (ls->tx_cont_off == c->len) {
				ls->tx_cont = NULL;
				libra_anchor_sent(c);
				libra_anchor_put(c);
			}
			if (ret < k)
				break;
			continue;
		}

		if (buf)
			plain = libra_tx_find_token(iter, remaining, buf, &a);
		if (plain) {
			struct iov_iter before_send = *iter;

			ret = libra_tx_send_plain(sk, src, iter, plain, a != NULL);
			if (ret <= 0) {
				if (a)
					libra_anchor_put(a);
				err = ret;
				break;
			}
			if (ls->role == LIBRA_ROLE_CLIENT && !ls->tx.passthrough)
				libra_tx_parse(ls, &before_send, ret);
			else
				ls->tx_pos += ret;
			total += ret;
			if (ret < plain) {
				if (a)
					libra_anchor_put(a);
				break;
			}
			if (!a && plain < remaining)
				break;	/* a token cut off at the end: the caller resends it */
		}
		if (a) {
			ls->tx_cont = a;
			ls->tx_cont_off = 0;
			if (ls->role == LIBRA_ROLE_CLIENT)
				/* request bodies are not parsed past an anchor */
				libra_dir_step_aside(&ls->tx, LIBRA_STAT_FALLBACK_DESYNC);
		}
	}
out:
	kfree(buf);
	ls->tx_expect_seq = tcp_sk(sk)->write_seq;
	ls->tx_synced = true;
	return total ? total : err;
}

int libra_tx_sendmsg(struct sock *sk, struct msghdr *msg, size_t size)
{
	struct libra_tx_source src = { .msg = msg, .flags = msg->msg_flags };
	struct libra_sock *ls;
	int ret;

	if (msg->msg_flags & (MSG_ZEROCOPY | MSG_FASTOPEN | MSG_OOB) || !size)
		return libra_sym.tcp_sendmsg(sk, msg, size);

	lock_sock(sk);
	ls = libra_sock_get(sk, current);
	if (!ls) {
		release_sock(sk);
		return libra_sym.tcp_sendmsg(sk, msg, size);
	}
	ret = libra_tx_run(sk, ls, &src, &msg->msg_iter, libra_proc_has_anchors(current));
	release_sock(sk);
	return ret;
}

#ifdef LIBRA_HAVE_SENDPAGE
/* sendfile() and splice() on kernels that still have sendpage. */
int libra_tx_sendpage(struct sock *sk, struct page *page, int offset, size_t size, int flags)
{
	struct libra_tx_source src = { .page = page, .page_off = offset, .flags = flags };
	struct bio_vec bv = { .bv_page = page, .bv_offset = offset, .bv_len = size };
	struct libra_sock *ls;
	struct iov_iter iter;
	int ret;

	lock_sock(sk);
	ls = libra_sock_get(sk, current);
	if (!ls) {
		ret = libra_compat_send_page(sk, page, offset, size, flags, false);
		release_sock(sk);
		return ret;
	}
	iov_iter_bvec(&iter, ITER_SOURCE, &bv, 1, size);
	ret = libra_tx_run(sk, ls, &src, &iter, libra_proc_has_anchors(current));
	release_sock(sk);
	return ret;
}
#endif
