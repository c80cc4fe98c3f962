// SPDX-License-Identifier: GPL-2.0
/*
 * Reading what a program hands to send(), before any of it goes out: the
 * parser maps it into metadata and bodies (the outgoing framing), and body
 * bytes are scanned for tokens. Nothing here sends.
 *
 * Locking: the socket lock, and the send claim (tx.c).
 */
#include <linux/uio.h>
#include <net/tcp.h>

#include "tx.h"

/* a region's token mostly stands at its very start: read that much first */
#define LIBRA_SCAN_FIRST 64

/* Copies @len bytes at offset @off of the caller's unsent data into @dst. */
bool libra_tx_peek(const struct libra_tx_call *call, size_t off, void *dst, size_t len)
{
	struct iov_iter it = *call->iter;

	if (off + len > iov_iter_count(&it))
		return false;
	iov_iter_advance(&it, off);
	return copy_from_iter(dst, len, &it) == len;
}

struct libra_tx_window {
	const struct libra_tx_call *call;
	size_t off;
};

static int libra_tx_fill(void *dst, u32 len, void *arg)
{
	struct libra_tx_window *w = arg;

	return libra_tx_peek(w->call, w->off, dst, len) ? 0 : -EFAULT;
}

/*
 * Maps the caller's data into metadata and bodies as far as it goes, before
 * any of it is sent: the parser's frontier (tx.next_seq) moves ahead of
 * tx_pos, and tx.ext lists the bodies in between.
 */
void libra_tx_map(struct libra_tx_call *call)
{
	struct libra_sock *ls = call->ls;
	struct libra_dir *d = &ls->tx;
	u32 data_end = ls->tx_pos + iov_iter_count(call->iter);

	while (libra_tx_framed(ls) && !d->to_close && before(d->next_seq, data_end) &&
	       d->ext_count < LIBRA_EXTENTS) {
		struct libra_tx_window w = { .call = call };
		u32 avail;

		if (before(d->next_seq, ls->tx_pos)) {
			/* the parser missed bytes that went out: stop following */
			libra_dir_step_aside(ls, d, LIBRA_STAT_FALLBACK_DESYNC);
			ls->methods_lost = true;
			return;
		}
		w.off = d->next_seq - ls->tx_pos;
		avail = min_t(u32, data_end - d->next_seq, LIBRA_PARSE_WINDOW_MAX);
		if (libra_dir_parse(ls, d, avail, libra_tx_fill, &w))
			return;
		if (!libra_dir_apply_verdict(ls, d, 0) && d->ctx.verdict != LIBRA_PARSE_NEED_MORE)
			return;
	}
}

/*
 * What the byte at stream position @pos is: returns how many bytes from
 * there are of the same kind (body or not, in *body), or 0 if @pos is past
 * what is mapped.
 */
u32 libra_tx_kind(const struct libra_sock *ls, u32 pos, bool *body)
{
	const struct libra_dir *d = &ls->tx;
	u8 i;

	if (!libra_tx_framed(ls)) {
		*body = true;
		return U32_MAX;
	}
	for (i = 0; i < d->ext_count; i++) {
		const struct libra_extent *e = &d->ext[(d->ext_head + i) % LIBRA_EXTENTS];

		if (!before(pos, e->end))
			continue;
		*body = !before(pos, e->start);
		return *body ? e->end - pos : e->start - pos;
	}
	if (d->to_close && !before(pos, d->next_seq)) {
		*body = true;
		return U32_MAX;
	}
	*body = false;
	return before(pos, d->next_seq) ? d->next_seq - pos : 0;
}

/* The same, for the next byte to send: the extents behind it are dropped. */
u32 libra_tx_span(struct libra_sock *ls, u32 pos, bool *body)
{
	struct libra_dir *d = &ls->tx;

	while (d->ext_count && !after(d->ext[d->ext_head].end, pos)) {
		d->ext_head = (d->ext_head + 1) % LIBRA_EXTENTS;
		d->ext_count--;
	}
	return libra_tx_kind(ls, pos, body);
}

/*
 * Reads @len body bytes starting at body position @pos, skipping the
 * metadata between bodies: a token split by framing the program inserted is
 * read whole. Returns how many bytes the caller's data held.
 */
u32 libra_tx_read_body(struct libra_tx_call *call, u32 pos, u8 *dst, u32 len)
{
	struct libra_sock *ls = call->ls;
	u32 got = 0;

	while (got < len) {
		size_t left = iov_iter_count(call->iter);
		bool body;
		u32 off, n, span = libra_tx_kind(ls, pos, &body);

		if (!span)
			break;
		if (!body) {
			pos += span;	/* metadata between bodies */
			continue;
		}
		off = pos - ls->tx_pos;
		if (off >= left)
			break;	/* the caller's data ends before the body goes on */
		n = min3(len - got, span, (u32)min_t(size_t, left - off, U32_MAX));
		if (!libra_tx_peek(call, off, dst + got, n))
			break;
		got += n;
		pos += n;
	}
	return got;
}

/* The body extent holding stream position @pos, or NULL. */
const struct libra_extent *libra_tx_extent_at(const struct libra_dir *d, u32 pos)
{
	u8 i;

	for (i = 0; i < d->ext_count; i++) {
		const struct libra_extent *e = &d->ext[(d->ext_head + i) % LIBRA_EXTENTS];

		if (!before(pos, e->start) && before(pos, e->end))
			return e;
	}
	return NULL;
}

/* The outgoing message whose body holds stream position @pos; 0 if none known. */
u64 libra_tx_body_msg(const struct libra_sock *ls, u32 pos)
{
	const struct libra_extent *e = libra_tx_extent_at(&ls->tx, pos);

	if (e)
		return e->msg_id;
	return ls->tx.to_close && !before(pos, ls->tx.next_seq) ? ls->tx.msg_id : 0;
}

/*
 * Whether @got bytes at body position @pos, a token's start cut off by the
 * end of the caller's data, may be held back until the next call, and for
 * how long. Where the framing says more of the stream must follow they wait
 * for it: the body they are in goes on past the data (a program always
 * finishes a Content-Length or chunked body), or they are chunk data, which
 * the chunk's CRLF and at least a last chunk follow (HAProxy ends its
 * outgoing chunks anywhere, inside a token too). A body that ends there is
 * no token's. Where the body runs to the close, or the framing is unknown,
 * nothing says more will come. Either way they are held until the program
 * sends again, shuts down or closes, or tx_hold_ms passes (tx_owed.c), and
 * then go as they are if the rest never came (the magic's first byte, 0xf7,
 * is never in text).
 */
enum libra_tx_hold libra_tx_may_hold(struct libra_tx_call *call, u32 pos)
{
	struct libra_sock *ls = call->ls;
	struct libra_dir *d = &ls->tx;
	u32 data_end = ls->tx_pos + iov_iter_count(call->iter);

	if (libra_tx_framed(ls)) {
		const struct libra_extent *e = libra_tx_extent_at(d, pos);

		if (e) {
			if (after(e->end, data_end))
				return LIBRA_HOLD_FRAMED;
			/* chunk data: more chunks may follow, unless the last one was seen */
			return e->chunk && d->ended_msg_id != e->msg_id ?
			       LIBRA_HOLD_FRAMED : LIBRA_HOLD_NONE;
		}
		if (!d->to_close)
			return LIBRA_HOLD_NONE;
	}
	return LIBRA_HOLD_TIMED;
}

/*
 * The first token of libra's in the @n body bytes at tx_pos. Returns its
 * offset with its anchor referenced in *found, or @n with *found NULL. A
 * candidate the caller's data cuts off makes it return the candidate's
 * offset with *found NULL and *held set: the caller sends up to there, and
 * the rest comes with its next call. A token of libra's that must not be
 * stood in for (its anchor gone, another process's) makes it return its
 * offset with *refused set: the caller sends up to there and fails. Bytes
 * that only look like a token (no valid MAC) are the program's own.
 */
u32 libra_tx_find_token(struct libra_tx_call *call, u32 n, struct libra_anchor **found,
			enum libra_tx_hold *held, bool *refused)
{
	u32 base = 0;

	*found = NULL;
	*held = LIBRA_HOLD_NONE;
	*refused = false;
	while (base < n) {
		u32 len = min_t(u32, n - base, base ? LIBRA_SCAN_CHUNK : LIBRA_SCAN_FIRST), i = 0;
		bool last = base + len == n;

		if (!libra_tx_peek(call, base, call->buf, len))
			return base ?: n;	/* unreadable: the stock path reports the fault */
		while (i < len) {
			const u8 *p = memchr(call->buf + i, LIBRA_TOKEN_MAGIC[0], len - i);
			enum libra_token_verdict why;
			struct libra_token tok;
			u32 got;

			if (!p)
				break;
			i = p - call->buf;
			if (len - i >= LIBRA_TOKEN_BYTES) {
				memcpy(&tok, p, sizeof(tok));
				got = sizeof(tok);
			} else if (!last) {
				break;	/* the next, overlapping chunk sees it whole */
			} else {
				got = libra_tx_read_body(call, call->ls->tx_pos + base + i,
							 (u8 *)&tok, sizeof(tok));
			}
			if (memcmp(&tok, LIBRA_TOKEN_MAGIC, min_t(u32, got, 8))) {
				i++;
				continue;
			}
			if (got < sizeof(tok)) {
				*held = libra_tx_may_hold(call, call->ls->tx_pos + base + i);
				if (*held)
					return base + i;
				i++;
				continue;
			}
			*found = libra_anchor_lookup(&tok, &why);
			if (*found && why == LIBRA_TOKEN_FOREIGN) {
				struct iov_iter at = *call->iter;

				/* an ancestor's (a fork child's send): written out, or refused */
				libra_anchor_put(*found);
				*found = NULL;
				iov_iter_advance(&at, base + i);
				if (libra_guard_iter(&at, LIBRA_TOKEN_BYTES, call->ls, LIBRA_EGRESS_WHOLE,
						     "a send")) {
					*refused = true;
					return base + i;
				}
				/* the bytes there are the region's now: read them again */
				if (!libra_tx_peek(call, base, call->buf, len))
					return base ?: n;
				i++;
				continue;
			}
			if (*found)
				return base + i;
			if (why != LIBRA_TOKEN_NOT_OURS) {
				libra_tx_refuse(call, &tok, why, "a send");
				*refused = true;
				return base + i;
			}
			libra_sock_add(call->ls, LIBRA_STAT_TOKENS_REJECTED, 1);
			i++;
		}
		if (last)
			break;
		base += len - (LIBRA_TOKEN_BYTES - 1);
	}
	return n;
}

