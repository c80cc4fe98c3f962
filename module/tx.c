// SPDX-License-Identifier: GPL-2.0
/*
 * Send: anchored-payload reuse.
 *
 * Libra follows the HTTP framing of what an opted-in socket sends, the way
 * it follows what it receives: the same parser maps the outgoing stream into
 * metadata (start lines, headers, chunk-size lines) and body bytes before a
 * byte of it is sent. Metadata always goes out as the program wrote it. In
 * body bytes, a valid token starts a region: from there the anchored pages
 * go out instead of the program's bytes, which hold only the token and
 * unspecified bytes, and the region continues over the following body bytes
 * — across send calls, across framing the program put in between (a proxy
 * re-chunking a body), even when the framing splits the token itself —
 * until its length is used up. A token that is forged, stale, damaged or
 * another process's goes out as the bytes it is, and is counted.
 *
 * Where the outgoing framing cannot be followed (the parser stepped aside,
 * bytes went out behind libra's back), every byte counts as body: a region
 * then continues over whatever follows it, which is right for a program that
 * forwards bodies unchanged, and the case is counted (tokens_unframed).
 *
 * All state lives in struct libra_sock under the socket lock. Positions are
 * 32-bit offsets in the outgoing stream; ls->tx_pos is the next byte to go.
 */
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/uio.h>
#include <linux/workqueue.h>
#include <net/sock.h>
#include <net/tcp.h>

#include "compat.h"
#include "libra.h"

#define LIBRA_SCAN_CHUNK 2048
/* a region's token mostly stands at its very start: read that much first */
#define LIBRA_SCAN_FIRST 64

/* Where plain bytes are taken from. */
struct libra_tx_source {
	struct msghdr *msg;	/* sendmsg: the caller's message */
	struct page *page;	/* sendpage: the caller's page ... */
	int page_off;		/* ... and where the unsent part starts in it */
	int flags;
};

/* One send call: the caller's data starts at ls->tx_pos in @iter. */
struct libra_tx_call {
	struct sock *sk;
	struct libra_sock *ls;
	struct libra_tx_source *src;
	struct iov_iter *iter;
	u8 *buf;		/* LIBRA_SCAN_CHUNK bytes of scratch */
	bool scan;		/* the process holds anchors: look for tokens */
};

static bool libra_tx_framed(const struct libra_sock *ls)
{
	return (ls->role == LIBRA_ROLE_CLIENT || ls->role == LIBRA_ROLE_SERVER) &&
	       !ls->tx.passthrough;
}

/* The caller's next @n bytes were sent or taken: moves past them. */
static void libra_tx_consume(struct libra_tx_call *call, u32 n)
{
	iov_iter_advance(call->iter, n);
	if (call->src->page)
		call->src->page_off += n;
	call->ls->tx_pos += n;
}

static int libra_tx_send_plain(struct libra_tx_call *call, size_t n, bool more)
{
	struct libra_tx_source *src = call->src;
	struct iov_iter *iter = call->iter;
	size_t orig = iov_iter_count(iter);
	int ret;

	if (src->page) {
		/* the caller's own page: by reference, as stock sendpage would */
		ret = libra_compat_send_page(call->sk, src->page, src->page_off, n,
					     src->flags, more);
		if (ret > 0) {
			iov_iter_advance(iter, ret);
			src->page_off += ret;
		}
	} else {
		unsigned int saved = src->msg->msg_flags;

		iov_iter_truncate(iter, n);
		if (more)
			src->msg->msg_flags |= MSG_MORE;
		ret = tcp_sendmsg_locked(call->sk, src->msg, n);
		src->msg->msg_flags = saved;
		iov_iter_reexpand(iter, iov_iter_count(iter) + (orig - n));
	}
	if (ret > 0)
		call->ls->tx_pos += ret;
	return ret;
}

/* Sends [off, off + n) of @a; returns bytes sent or a negative errno. */
static int libra_tx_send_anchor(struct sock *sk, struct libra_anchor *a, u32 off, u32 n,
				int flags, bool more)
{
	u64 t0 = libra_clock();
	u32 i, sent = 0;
	int err = 0;

	for (i = 0; i < a->nr_pieces && sent < n; i++) {
		const struct bio_vec *bv = &a->pieces[i];
		u32 take;
		int ret;

		if (off >= bv->bv_len) {
			off -= bv->bv_len;
			continue;
		}
		take = min(bv->bv_len - off, n - sent);
		ret = libra_compat_send_page(sk, bv->bv_page, bv->bv_offset + off, take, flags,
					     more || sent + take < n);
		if (ret <= 0) {
			err = ret ?: -EAGAIN;
			break;
		}
		sent += ret;
		if (ret < take)
			break;
		off = 0;
	}
	libra_time_add(LIBRA_STAT_TIME_PAGE_SEND_NS, t0);
	return sent ?: err;
}

/* Copies @len bytes at offset @off of the caller's unsent data into @dst. */
static bool libra_tx_peek(const struct libra_tx_call *call, size_t off, void *dst, size_t len)
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
static void libra_tx_map(struct libra_tx_call *call)
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
static u32 libra_tx_kind(const struct libra_sock *ls, u32 pos, bool *body)
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
static u32 libra_tx_span(struct libra_sock *ls, u32 pos, bool *body)
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
static u32 libra_tx_read_body(struct libra_tx_call *call, u32 pos, u8 *dst, u32 len)
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
static const struct libra_extent *libra_tx_extent_at(const struct libra_dir *d, u32 pos)
{
	u8 i;

	for (i = 0; i < d->ext_count; i++) {
		const struct libra_extent *e = &d->ext[(d->ext_head + i) % LIBRA_EXTENTS];

		if (!before(pos, e->start) && before(pos, e->end))
			return e;
	}
	return NULL;
}

enum libra_tx_hold {
	LIBRA_HOLD_NONE,
	LIBRA_HOLD_FRAMED,	/* the framing promises more bytes: held until they come */
	LIBRA_HOLD_TIMED,	/* nothing promises more: held until a send, shutdown, close or tx_hold_ms */
};

/*
 * Whether @got bytes at body position @pos, a token's start cut off by the
 * end of the caller's data, may be held back until the next call, and for
 * how long. Where the framing says more of the stream must follow they wait
 * for it: the body they are in goes on past the data (a program always
 * finishes a Content-Length or chunked body), or they are chunk data, which
 * the chunk's CRLF and at least a last chunk follow (HAProxy ends its
 * outgoing chunks anywhere, inside a token too). A body that ends there is
 * no token's. Where the body runs to the close, or the framing is unknown,
 * nothing says more will come: they are held until the program sends again,
 * shuts down or closes, or tx_hold_ms passes, and then go as they are if
 * the rest never came (the magic's first byte, 0xf7, is never in text).
 */
static enum libra_tx_hold libra_tx_may_hold(struct libra_tx_call *call, u32 pos)
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
 * A token that names no anchor of this process goes out as the bytes it is:
 * the far end gets a token instead of a body part, so count it, and say why
 * where an operator asked (dynamic debug: "module libra +p").
 */
static void libra_tx_reject(struct libra_sock *ls, const struct libra_token *tok,
			    const char *where, const char *why)
{
	libra_sock_add(ls, LIBRA_STAT_TOKENS_REJECTED, 1);
	net_dbg_ratelimited("token %llx len %u rejected %s: %s; sock %llu role %d state %d tx_pos %u owed %u\n",
			    tok->id, tok->len, where, why ?: libra_anchor_why_not(tok), ls->id,
			    ls->role, ls->sk->sk_state, ls->tx_pos, ls->tx_owed_len);
}

/*
 * The first valid token in the @n body bytes at tx_pos. Returns its offset
 * with its anchor referenced in *found, or @n with *found NULL. A candidate
 * the caller's data cuts off makes it return the candidate's offset with
 * *found NULL and *held set: the caller sends up to there, and the rest
 * comes with its next call.
 */
static u32 libra_tx_find_token(struct libra_tx_call *call, u32 n,
			       struct libra_anchor **found, enum libra_tx_hold *held)
{
	u32 base = 0;

	*found = NULL;
	*held = LIBRA_HOLD_NONE;
	while (base < n) {
		u32 len = min_t(u32, n - base, base ? LIBRA_SCAN_CHUNK : LIBRA_SCAN_FIRST), i = 0;
		bool last = base + len == n;

		if (!libra_tx_peek(call, base, call->buf, len))
			return base ?: n;	/* unreadable: the stock path reports the fault */
		while (i < len) {
			const u8 *p = memchr(call->buf + i, LIBRA_TOKEN_MAGIC[0], len - i);
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
			*found = libra_anchor_lookup(&tok);
			if (*found)
				return base + i;
			libra_tx_reject(call->ls, &tok, "in a send", NULL);
			i++;
		}
		if (last)
			break;
		base += len - (LIBRA_TOKEN_BYTES - 1);
	}
	return n;
}

/* Remembers that a body part of message @msg_id went out on this socket. */
static void libra_tx_note_msg(struct libra_sock *ls, const struct libra_anchor *a)
{
	u64 msg_id = a->msg_id;
	int i;

	/* a request body must survive its upstream connection: it may be resent */
	if (a->resendable)
		return;
	for (i = 0; i < LIBRA_TX_MSGS; i++)
		if (ls->tx_msgs[i] == msg_id)
			return;
	ls->tx_msgs[ls->tx_msgs_next] = msg_id;
	ls->tx_msgs_next = (ls->tx_msgs_next + 1) % LIBRA_TX_MSGS;
}

/* A valid token stands at tx_pos: its anchor's bytes go out from here. */
static void libra_tx_start_region(struct libra_sock *ls, struct libra_anchor *a)
{
	ls->tx_cont = a;
	ls->tx_cont_off = 0;
	libra_tx_note_msg(ls, a);
	if (!libra_tx_framed(ls))
		libra_sock_add(ls, LIBRA_STAT_TOKENS_UNFRAMED, 1);
}

enum libra_tx_owed {
	LIBRA_OWED_NONE,
	LIBRA_OWED_CANDIDATE,	/* a token's start: undecided */
	LIBRA_OWED_ANCHOR,	/* it was a token: tx_cont's bytes stand for them */
	LIBRA_OWED_RAW,		/* it was not: send them as they are */
};

/*
 * Sends @len bytes of libra's own memory (held bytes, in slab), so they are
 * copied even when the caller's call splices its pages (sendfile() and
 * splice() on kernels without sendpage): a slab page cannot be spliced.
 */
static int libra_tx_send_raw(struct sock *sk, int flags, const void *data, u32 len)
{
	struct msghdr msg = { .msg_flags = flags & ~MSG_SPLICE_PAGES };
	struct kvec kv = { .iov_base = (void *)data, .iov_len = len };

	iov_iter_kvec(&msg.msg_iter, ITER_SOURCE, &kv, 1, len);
	return tcp_sendmsg_locked(sk, &msg, len);
}

/*
 * Sends the owed bytes, decided: as the anchor's (LIBRA_OWED_ANCHOR) or as
 * they are. Returns 0 when all went, or a negative errno.
 */
static int libra_tx_send_owed(struct sock *sk, struct libra_sock *ls, int flags)
{
	while (ls->tx_owed_len) {
		bool framing = ls->tx_owed_framing & 1;
		u32 run = 1;
		int ret;

		/* an anchor's bytes stand for the token's, framing goes as written */
		if (ls->tx_owed_state == LIBRA_OWED_ANCHOR) {
			while (run < ls->tx_owed_len &&
			       !!(ls->tx_owed_framing & BIT_ULL(run)) == framing)
				run++;
		} else {
			run = ls->tx_owed_len;
		}
		if (ls->tx_owed_state == LIBRA_OWED_ANCHOR && !framing) {
			ret = libra_tx_send_anchor(sk, ls->tx_cont, ls->tx_cont_off, run, flags,
						   flags & MSG_MORE);
			if (ret > 0) {
				ls->tx_cont_off += ret;
				libra_sock_add(ls, LIBRA_STAT_BYTES_ZERO_COPY_SENT, ret);
			}
		} else {
			ret = libra_tx_send_raw(sk, flags, ls->tx_owed, run);
		}
		if (ret <= 0)
			return ret ?: -EAGAIN;
		ls->tx_owed_len -= ret;
		memmove(ls->tx_owed, ls->tx_owed + ret, ls->tx_owed_len);
		ls->tx_owed_framing = ret < 64 ? ls->tx_owed_framing >> ret : 0;
	}
	ls->tx_owed_state = LIBRA_OWED_NONE;
	return 0;
}

/* Copies the body bytes of what is owed, the token start, to @dst; returns how many. */
static u32 libra_tx_owed_body(const struct libra_sock *ls, u8 *dst)
{
	u32 i, n = 0;

	for (i = 0; i < ls->tx_owed_len; i++)
		if (!(ls->tx_owed_framing & BIT_ULL(i)))
			dst[n++] = ls->tx_owed[i];
	return n;
}

/*
 * Takes all of this call's data into what is owed, when it ends before the
 * held token start can be decided: its body bytes lengthen the start, and
 * framing among them keeps its place (HAProxy may send a chunk's CRLF and
 * the next chunk-size line on their own, after a token cut at the chunk's
 * end). Returns the bytes taken, or 0 when they do not fit or are not all
 * mapped.
 */
static u32 libra_tx_owe_more(struct libra_tx_call *call)
{
	struct libra_sock *ls = call->ls;
	u64 framing = 0;
	u32 n, off = 0;

	if (iov_iter_count(call->iter) > LIBRA_TX_OWED_MAX - ls->tx_owed_len)
		return 0;
	n = iov_iter_count(call->iter);
	while (off < n) {
		bool body;
		u32 k = min(libra_tx_kind(ls, ls->tx_pos + off, &body), n - off);

		if (!k)
			return 0;
		if (!body)
			framing |= GENMASK_ULL(ls->tx_owed_len + off + k - 1, ls->tx_owed_len + off);
		off += k;
	}
	if (!libra_tx_peek(call, 0, ls->tx_owed + ls->tx_owed_len, n))
		return 0;
	libra_tx_consume(call, n);
	ls->tx_owed_framing |= framing;
	ls->tx_owed_len += n;
	return n;
}

/*
 * Settles what a previous call left owed, before anything of this call goes
 * out. Returns 0 when nothing is owed any more, a positive count when this
 * call's bytes only lengthened a still undecided token start (they are
 * taken), or a negative errno when the owed bytes could not all be sent.
 */
static int libra_tx_settle_owed(struct libra_tx_call *call)
{
	struct libra_sock *ls = call->ls;

	if (ls->tx_owed_state == LIBRA_OWED_CANDIDATE) {
		struct libra_token tok;
		u32 have = libra_tx_owed_body(ls, (u8 *)&tok), need = LIBRA_TOKEN_BYTES - have, got;

		if (!iov_iter_count(call->iter))
			return 0;	/* nothing to decide it with */
		got = libra_tx_read_body(call, ls->tx_pos, (u8 *)&tok + have, need);
		if (memcmp(&tok, LIBRA_TOKEN_MAGIC, min_t(u32, have + got, 8))) {
			/*
			 * Body bytes that only began like a token (a send cut off
			 * after a 0xf7 of a copied body, 1 in 256): plain bytes, no
			 * rejected token. Decided before this call's bytes could
			 * lengthen them, which would hide a real token starting
			 * there from the scan that follows.
			 */
			ls->tx_owed_state = LIBRA_OWED_RAW;
		} else if (got < need && ls->tx_owed_msg_id &&
			   ls->tx_owed_msg_id == ls->tx.ended_msg_id) {
			/*
			 * Its message ended (the last chunk came): no body byte
			 * can complete it, so it was body bytes ending like a
			 * token's start.
			 */
			ls->tx_owed_state = LIBRA_OWED_RAW;
		} else if (got < need) {
			u32 taken = libra_tx_owe_more(call);

			if (taken)
				return taken;
			if (have + got >= 8)
				libra_tx_reject(ls, &tok, "cut off", "not decidable in what was held");
			ls->tx_owed_state = LIBRA_OWED_RAW;
		} else {
			struct libra_anchor *a = libra_anchor_lookup(&tok);

			if (a) {
				libra_tx_start_region(ls, a);
				ls->tx_owed_state = LIBRA_OWED_ANCHOR;
			} else {
				libra_tx_reject(ls, &tok, "completing a held start", NULL);
				ls->tx_owed_state = LIBRA_OWED_RAW;
			}
		}
	}

	return libra_tx_send_owed(call->sk, ls, call->src->flags | MSG_MORE);
}

/*
 * Takes the cut-off token start at tx_pos, the @k body bytes left of the
 * span, as owed. Framing after them (a chunk's CRLF) is not taken here:
 * libra_tx_run settles them first, with it, as it settles a next call's.
 */
static u32 libra_tx_owe(struct libra_tx_call *call, u32 k)
{
	struct libra_sock *ls = call->ls;
	const struct libra_extent *e = libra_tx_framed(ls) ? libra_tx_extent_at(&ls->tx, ls->tx_pos) : NULL;

	if (WARN_ON_ONCE(k >= LIBRA_TOKEN_BYTES) || !libra_tx_peek(call, 0, ls->tx_owed, k))
		return 0;
	ls->tx_owed_msg_id = e ? e->msg_id : 0;
	libra_tx_consume(call, k);
	ls->tx_owed_len = k;
	ls->tx_owed_framing = 0;
	ls->tx_owed_state = LIBRA_OWED_CANDIDATE;
	return k;
}

/* Continues the region being sent over @n body bytes. */
static int libra_tx_continue(struct libra_tx_call *call, u32 n, bool more)
{
	struct libra_sock *ls = call->ls;
	struct libra_anchor *a = ls->tx_cont;
	u32 k = min(n, a->len - ls->tx_cont_off);
	int ret;

	ret = libra_tx_send_anchor(call->sk, a, ls->tx_cont_off, k, call->src->flags,
				   more || k < iov_iter_count(call->iter));
	if (ret <= 0)
		return ret;
	libra_tx_consume(call, ret);
	ls->tx_cont_off += ret;
	libra_sock_add(ls, LIBRA_STAT_BYTES_ZERO_COPY_SENT, ret);
	if (ls->tx_cont_off == a->len) {
		ls->tx_cont = NULL;
		libra_anchor_sent(a);
		libra_anchor_put(a);
	}
	return ret;
}

static void libra_tx_check_sync(struct libra_sock *ls, struct sock *sk)
{
	if (ls->tx_synced && tcp_sk(sk)->write_seq != ls->tx_expect_seq) {
		/* sent behind libra's back: framing and requests unknown from here */
		libra_dir_step_aside(ls, &ls->tx, LIBRA_STAT_FALLBACK_DESYNC);
		ls->methods_lost = true;
	}
}

/*
 * Sockets holding owed bytes. A shutdown or close settles them first (the
 * hooks redirect those calls while any socket is listed), and a hold that
 * nothing promises an end to (LIBRA_HOLD_TIMED) is settled after
 * tx_hold_ms by libra_tx_hold_work.
 *
 * Locking: libra_tx_held_lock guards the list, every ls->tx_held_node and
 * ls->tx_hold_expires. A socket joins or leaves the list only under its own
 * lock (or as it is destroyed), so under the socket lock list_empty() on
 * its node is stable. The work never sleeps on a socket under the list
 * lock: it takes a reference, drops the list lock, then locks the socket.
 *
 * Owed bytes are the program's, taken and reported sent: while any socket
 * owes some, the module holds a reference on itself, so rmmod refuses
 * rather than drop them.
 */
static unsigned int tx_hold_ms = 100;
module_param(tx_hold_ms, uint, 0644);
MODULE_PARM_DESC(tx_hold_ms,
		 "How long a token start cut off by a send is held where no framing promises its rest, in ms");

static LIST_HEAD(libra_tx_held);
static DEFINE_SPINLOCK(libra_tx_held_lock);
static atomic_t libra_tx_held_count = ATOMIC_INIT(0);

static void libra_tx_hold_expire(struct work_struct *work);
static DECLARE_DELAYED_WORK(libra_tx_hold_work, libra_tx_hold_expire);

bool libra_tx_any_held(void)
{
	return atomic_read(&libra_tx_held_count);
}

static unsigned long libra_tx_hold_jiffies(void)
{
	return max(msecs_to_jiffies(READ_ONCE(tx_hold_ms)), 1UL);
}

static void libra_tx_unlist(struct libra_sock *ls)
{
	lockdep_assert_held(&libra_tx_held_lock);
	list_del_init(&ls->tx_held_node);
	if (atomic_dec_and_test(&libra_tx_held_count))
		module_put(THIS_MODULE);
}

/* Lists or unlists @ls as its owed bytes say. Caller holds the socket lock. */
static void libra_tx_held_update(struct libra_sock *ls)
{
	bool listed = !list_empty(&ls->tx_held_node);
	bool timed = ls->tx_owed_len && ls->tx_owed_state == LIBRA_OWED_CANDIDATE &&
		     ls->tx_hold_timed;

	sock_owned_by_me(ls->sk);
	if (!ls->tx_owed_len && !listed)
		return;
	spin_lock_bh(&libra_tx_held_lock);
	if (!ls->tx_owed_len) {
		libra_tx_unlist(ls);
	} else if (!listed) {
		list_add_tail(&ls->tx_held_node, &libra_tx_held);
		if (atomic_inc_return(&libra_tx_held_count) == 1)
			__module_get(THIS_MODULE);
	}
	ls->tx_hold_expires = timed ? jiffies + libra_tx_hold_jiffies() : 0;
	spin_unlock_bh(&libra_tx_held_lock);
	if (timed)
		schedule_delayed_work(&libra_tx_hold_work, libra_tx_hold_jiffies());
}

/* @ls is being destroyed: whatever it still owed goes with it. */
void libra_tx_held_forget(struct libra_sock *ls)
{
	if (list_empty(&ls->tx_held_node))
		return;
	spin_lock_bh(&libra_tx_held_lock);
	libra_tx_unlist(ls);
	spin_unlock_bh(&libra_tx_held_lock);
}

/*
 * Sends what is owed now, with no more of the program's data to come: at a
 * shutdown, a close, or when a hold expires. An undecided token start goes
 * as the bytes it is. This must not wait, and what is owed is at most
 * LIBRA_TX_OWED_MAX bytes: it is queued past the send buffer's limit if need
 * be, as the kernel queues a FIN. Returns 0, or a negative errno when even
 * that failed (memory pressure).
 */
static int libra_tx_flush_owed(struct sock *sk, struct libra_sock *ls)
{
	int sndbuf = sk->sk_sndbuf, err;

	sock_owned_by_me(sk);
	if (ls->tx_owed_state == LIBRA_OWED_CANDIDATE)
		ls->tx_owed_state = LIBRA_OWED_RAW;
	WRITE_ONCE(sk->sk_sndbuf, max(sndbuf, sk->sk_wmem_queued + (int)SKB_TRUESIZE(SKB_MAX_HEAD(0))));
	err = libra_tx_send_owed(sk, ls, MSG_DONTWAIT);
	WRITE_ONCE(sk->sk_sndbuf, sndbuf);
	ls->tx_expect_seq = tcp_sk(sk)->write_seq;	/* libra's own bytes: no desync */
	libra_tx_held_update(ls);
	return err;
}

/* Settles one expired hold; false when none is left. */
static bool libra_tx_hold_expire_one(void)
{
	struct libra_sock *ls, *found = NULL;
	struct sock *sk = NULL;

	spin_lock_bh(&libra_tx_held_lock);
	list_for_each_entry(ls, &libra_tx_held, tx_held_node) {
		if (ls->tx_hold_expires && time_after_eq(jiffies, ls->tx_hold_expires) &&
		    refcount_inc_not_zero(&ls->sk->sk_refcnt)) {
			ls->tx_hold_expires = 0;	/* claimed */
			found = ls;
			sk = ls->sk;
			break;
		}
	}
	spin_unlock_bh(&libra_tx_held_lock);
	if (!found)
		return false;

	lock_sock(sk);
	/* it may have been destroyed, or sent again, since it was claimed */
	ls = libra_sock_lookup(sk);
	if (ls && ls->tx_owed_len && ls->tx_owed_state == LIBRA_OWED_CANDIDATE &&
	    ls->tx_hold_timed && !ls->tx_hold_expires) {
		libra_sock_add(ls, LIBRA_STAT_TX_HOLDS_EXPIRED, 1);
		if (libra_tx_flush_owed(sk, ls)) {
			/* nothing could be queued: try again later */
			spin_lock_bh(&libra_tx_held_lock);
			ls->tx_hold_expires = jiffies + libra_tx_hold_jiffies();
			spin_unlock_bh(&libra_tx_held_lock);
		}
	}
	release_sock(sk);
	sock_put(sk);
	return true;
}

static void libra_tx_hold_expire(struct work_struct *work)
{
	unsigned long next = 0;
	struct libra_sock *ls;

	while (libra_tx_hold_expire_one())
		cond_resched();
	spin_lock_bh(&libra_tx_held_lock);
	list_for_each_entry(ls, &libra_tx_held, tx_held_node)
		if (ls->tx_hold_expires && (!next || time_before(ls->tx_hold_expires, next)))
			next = ls->tx_hold_expires;
	spin_unlock_bh(&libra_tx_held_lock);
	if (next)
		schedule_delayed_work(&libra_tx_hold_work,
				      time_after(next, jiffies) ? next - jiffies : 1);
}

/* After the hooks and the sockets are gone: nothing can list a socket again. */
void libra_tx_exit(void)
{
	WARN_ON(!list_empty(&libra_tx_held));
	cancel_delayed_work_sync(&libra_tx_hold_work);
}

/*
 * Where libra cannot send what a program handed over before its stream
 * ends, the far end must not see a clean end: a body delimited by the close
 * would look whole without its last bytes. The connection is reset instead.
 */
static void libra_tx_abort(struct sock *sk, struct libra_sock *ls, bool closing)
{
	libra_sock_add(ls, LIBRA_STAT_TX_RESETS, 1);
	if (closing) {
		/* SO_LINGER with a zero timeout: tcp_close() resets */
		sock_set_flag(sk, SOCK_LINGER);
		WRITE_ONCE(sk->sk_lingertime, 0);
	} else {
		tcp_disconnect(sk, 0);
	}
}

/* shutdown(SHUT_WR or SHUT_RDWR), before the stock tcp_shutdown(); inet_shutdown() holds the socket lock. */
void libra_tx_shutdown(struct sock *sk, int how)
{
	struct libra_sock *ls;

	sock_owned_by_me(sk);
	if (!(how & SEND_SHUTDOWN))
		return;
	ls = libra_sock_lookup(sk);
	if (ls && ls->tx_owed_len) {
		u8 shut = sk->sk_shutdown;
		int err;

		/* inet_shutdown() marks the socket before it calls here: these bytes come first */
		WRITE_ONCE(sk->sk_shutdown, shut & ~SEND_SHUTDOWN);
		err = libra_tx_flush_owed(sk, ls);
		WRITE_ONCE(sk->sk_shutdown, shut);
		if (err)
			libra_tx_abort(sk, ls, false);
	}
}

/* close(), before the stock tcp_close() runs. */
void libra_tx_close(struct sock *sk)
{
	struct libra_sock *ls;

	lock_sock(sk);
	ls = libra_sock_lookup(sk);
	if (ls && ls->tx_owed_len && libra_tx_flush_owed(sk, ls))
		libra_tx_abort(sk, ls, true);
	release_sock(sk);
}

static int libra_tx_run(struct libra_tx_call *call)
{
	struct libra_sock *ls = call->ls;
	size_t total = 0;
	int err = 0;

	if (ls->role == LIBRA_ROLE_UNKNOWN && iov_iter_count(call->iter))
		libra_sock_set_role(ls, LIBRA_ROLE_CLIENT);
	libra_tx_check_sync(ls, call->sk);
	if (call->scan || ls->tx_cont) {
		/* the socket's own: never live across a send, which may drop the lock */
		if (!ls->tx_scan_buf)
			ls->tx_scan_buf = kmalloc(LIBRA_SCAN_CHUNK, GFP_KERNEL);
		call->buf = ls->tx_scan_buf;
		if (!call->buf) {
			err = -ENOMEM;
			goto out;
		}
	}
	libra_tx_map(call);

	while (iov_iter_count(call->iter)) {
		size_t remaining;
		struct libra_anchor *a = NULL;
		enum libra_tx_hold held;
		u32 span, n, plain;
		bool body;
		int ret;

		/*
		 * Bytes owed by an earlier call, or by this one where framing
		 * follows a held start (a chunk's CRLF): settled before anything
		 * after them goes. Never left to a short send: a program takes
		 * one for a full socket and waits to be told it is writable, and
		 * nginx, edge-triggered, would wait for an EPOLLOUT that never
		 * comes.
		 */
		if (ls->tx_owed_len) {
			ret = libra_tx_settle_owed(call);
			if (ret < 0) {
				err = ret;
				break;
			}
			total += ret;
			if (ret > 0)
				break;	/* all of it lengthened the held start */
		}
		remaining = iov_iter_count(call->iter);
		span = libra_tx_span(ls, ls->tx_pos, &body);
		if (!span) {
			libra_tx_map(call);
			span = libra_tx_span(ls, ls->tx_pos, &body);
			if (!span)
				break;	/* nothing more can be mapped now: a short send */
		}
		n = min_t(size_t, remaining, span);

		if (body && ls->tx_cont) {
			u32 k = min(n, ls->tx_cont->len - ls->tx_cont_off);

			ret = libra_tx_continue(call, n, false);
			if (ret < 0) {
				err = ret;
				break;
			}
			total += ret;
			if (ret < k)
				break;	/* the socket took less */
			continue;
		}

		plain = n;
		held = LIBRA_HOLD_NONE;
		if (body && call->buf) {
			u64 t0 = libra_clock();

			plain = libra_tx_find_token(call, n, &a, &held);
			libra_time_add(LIBRA_STAT_TIME_TOKEN_SCAN_NS, t0);
		}
		if (plain) {
			ret = libra_tx_send_plain(call, plain, a || plain < remaining);
			if (ret < 0)
				err = ret;
			else
				total += ret;
			if (ret < (int)plain) {
				if (a)
					libra_anchor_put(a);
				break;
			}
		}
		if (held) {
			/* a token cut off by the data's end, or by framing: decided with what follows */
			u32 owed = libra_tx_owe(call, n - plain);

			total += owed;
			ls->tx_hold_timed = held == LIBRA_HOLD_TIMED;
			if (!owed)
				break;
			continue;
		}
		if (a)
			libra_tx_start_region(ls, a);
	}
out:
	libra_tx_held_update(ls);
	ls->tx_expect_seq = tcp_sk(call->sk)->write_seq;
	ls->tx_synced = true;
	return total ? total : err;
}

int libra_tx_sendmsg(struct sock *sk, struct msghdr *msg, size_t size)
{
	struct libra_tx_source src = { .msg = msg, .flags = msg->msg_flags };
	struct libra_tx_call call = { .sk = sk, .src = &src, .iter = &msg->msg_iter };
	int ret;

	if (msg->msg_flags & (MSG_ZEROCOPY | MSG_FASTOPEN | MSG_OOB) || !size)
		return libra_sym.tcp_sendmsg(sk, msg, size);

	lock_sock(sk);
	call.ls = libra_sock_get(sk, current);
	if (!call.ls) {
		release_sock(sk);
		return libra_sym.tcp_sendmsg(sk, msg, size);
	}
	call.scan = libra_proc_has_anchors(current);
	ret = libra_tx_run(&call);
	release_sock(sk);
	return ret;
}

/* sendfile() and splice() on kernels that still have sendpage. */
int libra_tx_sendpage(struct sock *sk, struct page *page, int offset, size_t size, int flags)
{
	struct libra_tx_source src = { .page = page, .page_off = offset, .flags = flags };
	struct bio_vec bv = { .bv_page = page, .bv_offset = offset, .bv_len = size };
	struct iov_iter iter;
	struct libra_tx_call call = { .sk = sk, .src = &src, .iter = &iter };
	int ret;

	lock_sock(sk);
	call.ls = libra_sock_get(sk, current);
	if (!call.ls) {
		ret = libra_compat_send_page(sk, page, offset, size, flags, false);
		release_sock(sk);
		return ret;
	}
	iov_iter_bvec(&iter, ITER_SOURCE, &bv, 1, size);
	call.scan = libra_proc_has_anchors(current);
	ret = libra_tx_run(&call);
	release_sock(sk);
	return ret;
}
