// SPDX-License-Identifier: GPL-2.0
/*
 * Receive: selective copy for opted-in sockets.
 *
 * The parser runs over the unread head of the receive queue and records
 * where bodies lie, as extents of TCP sequence space. A receive then walks
 * forward from copied_seq: bytes outside an anchorable extent go to the
 * caller through the stock tcp_recvmsg, never past the point the parser has
 * vouched for; bytes inside one are anchored (page references, no copy), the
 * token is written where they would have started, and the caller's buffer
 * is advanced past them, so the call returns the count stock would.
 *
 * Invariant: no byte leaves the queue before the parser has consumed it (or
 * skipped it as body). If that ever fails — a splice read, a race with the
 * stock path — copied_seq passes next_seq unseen, libra notices at the next
 * call and steps aside for the rest of the connection: correct, just slower.
 */
#include <linux/moduleparam.h>
#include <linux/sched/signal.h>
#include <linux/uio.h>
#include <net/sock.h>
#include <net/tcp.h>

#include "libra.h"

/* Body regions shorter than this are copied: a token and an anchor cost more. */
#define LIBRA_MIN_REGION	1024
/* Bodies longer than this are not tracked in 32-bit sequence space. */
#define LIBRA_MAX_TRACKED_BODY	(1U << 30)
#define LIBRA_MAX_HEADER_BYTES	16384
/*
 * Bytes offered to the parser at a time, unless it asks for more. Metadata
 * is short and the window is copied: a window of everything queued copied up
 * to 32 KiB of the body behind the headers too. A unit longer than this
 * takes more calls (NEED_MORE consumes the window).
 */
#define LIBRA_PARSE_WINDOW_STEP	2048

/*
 * Request bodies (uploads) are anchored like response bodies, as resendable
 * (struct libra_anchor). Off, the receive side anchors only what a client
 * socket receives. A body refused before it was read (413 of a chunked
 * upload) keeps its anchors until the proxy closes that connection.
 */
static bool anchor_request_bodies = true;
module_param(anchor_request_bodies, bool, 0644);
MODULE_PARM_DESC(anchor_request_bodies,
		 "Anchor request bodies (uploads) too, not only response bodies (default on)");

static int libra_stock_recvmsg(struct sock *sk, struct msghdr *msg, size_t len,
			       int flags, int *addr_len)
{
	return libra_sym.tcp_recvmsg(sk, msg, len, flags, addr_len);
}

/* Sequence number just past the last byte in the receive queue. */
static u32 libra_rxq_end(const struct sock *sk)
{
	const struct sk_buff *last = skb_peek_tail(&sk->sk_receive_queue);

	return last ? TCP_SKB_CB(last)->seq + last->len : tcp_sk(sk)->copied_seq;
}

struct libra_rxq_window {
	struct sock *sk;
	u32 seq;
};

static int libra_rxq_fill(void *dst, u32 len, void *arg)
{
	struct libra_rxq_window *w = arg;
	struct sk_buff *skb;
	u32 seq = w->seq;

	skb_queue_walk(&w->sk->sk_receive_queue, skb) {
		u32 start = TCP_SKB_CB(skb)->seq, end = start + skb->len, n;

		if (!len)
			break;
		if (!before(seq, end))
			continue;
		if (before(seq, start))
			return -EINVAL;
		n = min(len, end - seq);
		if (skb_copy_bits(skb, seq - start, dst, n))
			return -EFAULT;
		dst += n;
		len -= n;
		seq += n;
	}
	return len ? -EINVAL : 0;
}

void libra_dir_step_aside(struct libra_sock *ls, struct libra_dir *d, enum libra_stat reason)
{
	if (!d->passthrough) {
		libra_sock_add(ls, reason, 1);
		WRITE_ONCE(d->aside_reason, reason);
	}
	WRITE_ONCE(d->passthrough, true);
}

static void libra_dir_push_extent(struct libra_dir *d, u32 start, u32 end, bool chunk)
{
	d->ext[(d->ext_head + d->ext_count) % LIBRA_EXTENTS] =
		(struct libra_extent){ .start = start, .end = end, .msg_id = d->msg_id,
				       .chunk = chunk };
	d->ext_count++;
}

/* Applies one parser verdict to @d; false when parsing must stop for now. */
bool libra_dir_apply_verdict(struct libra_sock *ls, struct libra_dir *d, u32 min_extent)
{
	const struct libra_parse_ctx *c = &d->ctx;
	u32 meta_end = d->next_seq + c->metadata_len;

	switch (c->verdict) {
	case LIBRA_PARSE_NEED_MORE:
		d->next_seq = meta_end;
		d->need_min = max_t(u32, c->need_min, 1);
		return false;
	case LIBRA_PARSE_METADATA:
		break;
	default:
		libra_dir_step_aside(ls, d, LIBRA_STAT_PARSER_ERRORS);
		return false;
	}

	libra_sock_add(ls, LIBRA_STAT_MESSAGES_PARSED, 1);
	d->need_min = 0;
	if (c->flags & LIBRA_PARSE_F_MESSAGE_START)
		d->msg_id = libra_anchor_new_msg_id();
	if (c->direction == LIBRA_PARSE_REQUEST && (c->flags & LIBRA_PARSE_F_MESSAGE_START))
		libra_sock_push_method(ls, c->message_method, d->msg_id);
	if (c->direction == LIBRA_PARSE_RESPONSE && (c->flags & LIBRA_PARSE_F_MESSAGE_END) &&
	    !(c->flags & LIBRA_PARSE_F_INTERIM))
		libra_sock_pop_method(ls);

	switch (c->body_kind) {
	case LIBRA_BODY_NONE:
		if (c->flags & LIBRA_PARSE_F_MESSAGE_END)
			d->ended_msg_id = d->msg_id;
		d->next_seq = meta_end;
		return true;
	case LIBRA_BODY_CONTENT_LENGTH:
	case LIBRA_BODY_CHUNK:
		if (c->body_len > LIBRA_MAX_TRACKED_BODY) {
			libra_dir_step_aside(ls, d, LIBRA_STAT_FALLBACK_SMALL_BODY);
			return false;
		}
		if (c->body_len >= min_extent)
			libra_dir_push_extent(d, meta_end, meta_end + (u32)c->body_len,
					      c->body_kind == LIBRA_BODY_CHUNK);
		d->next_seq = meta_end + (u32)c->body_len;
		return true;
	case LIBRA_BODY_CLOSE_DELIMITED:
		d->next_seq = meta_end;
		d->to_close = true;
		return false;
	default:
		libra_dir_step_aside(ls, d, LIBRA_STAT_PARSER_ERRORS);
		return false;
	}
}

/*
 * One parser call over @avail bytes at d->next_seq that @fill copies out.
 * Returns 0 with the verdict in d->ctx, or a negative errno after stepping
 * aside.
 */
int libra_dir_parse(struct libra_sock *ls, struct libra_dir *d, u32 avail,
		    int (*fill)(void *dst, u32 len, void *arg), void *arg)
{
	u64 t0;
	int err;

	d->ctx.max_header_bytes = LIBRA_MAX_HEADER_BYTES;
	avail = min(avail, max_t(u32, LIBRA_PARSE_WINDOW_STEP, d->need_min));
	/* a response to a request libra did not see makes the parser step aside */
	if (d->ctx.direction == LIBRA_PARSE_RESPONSE)
		d->ctx.request_method = libra_sock_peek_method(ls);
	t0 = libra_clock();
	err = libra_parser_run(&d->ctx, avail, fill, arg);
	libra_time_add(LIBRA_STAT_TIME_PARSE_NS, t0);
	if (err) {
		libra_dir_step_aside(ls, d, err == -ENOENT ? LIBRA_STAT_FALLBACK_NO_PARSER
						   : LIBRA_STAT_PARSER_ERRORS);
		return err;
	}
	if (d->ctx.verdict == LIBRA_PARSE_STEP_ASIDE &&
	    d->ctx.direction == LIBRA_PARSE_RESPONSE &&
	    d->ctx.request_method == LIBRA_HTTP_METHOD_UNKNOWN) {
		libra_dir_step_aside(ls, d, LIBRA_STAT_FALLBACK_UNKNOWN_METHOD);
		return -EPROTO;
	}
	return 0;
}

/*
 * Parses whatever is queued and not yet parsed. Socket lock held. Even fewer
 * bytes than the parser asked for (need_min) are offered: stock would return
 * them rather than wait, and the parser takes any window.
 */
static void libra_rx_parse(struct libra_sock *ls, struct sock *sk)
{
	struct libra_dir *d = &ls->rx;

	while (!d->passthrough && !d->to_close && d->ext_count < LIBRA_EXTENTS) {
		u32 end = libra_rxq_end(sk), avail;
		struct libra_rxq_window w = { .sk = sk, .seq = d->next_seq };
		int err;

		if (!after(end, d->next_seq))
			return;
		avail = end - d->next_seq;
		err = libra_dir_parse(ls, d, avail, libra_rxq_fill, &w);
		if (err)
			return;
		if (!libra_dir_apply_verdict(ls, d, ls->role == LIBRA_ROLE_CLIENT || anchor_request_bodies
						    ? ls->min_body : U32_MAX) &&
		    (d->ctx.verdict != LIBRA_PARSE_NEED_MORE || !d->ctx.metadata_len))
			return;	/* NEED_MORE took the window: offer the next one */
	}
}

/* Drops extents behind copied_seq; checks nothing was consumed unparsed. */
static void libra_rx_sync(struct libra_sock *ls, struct sock *sk)
{
	struct libra_dir *d = &ls->rx;
	u32 cs = tcp_sk(sk)->copied_seq;

	while (d->ext_count && !after(d->ext[d->ext_head].end, cs)) {
		d->ext_head = (d->ext_head + 1) % LIBRA_EXTENTS;
		d->ext_count--;
	}
	if (!d->to_close && after(cs, d->next_seq))
		libra_dir_step_aside(ls, d, LIBRA_STAT_FALLBACK_DESYNC);
	if (!d->passthrough)
		libra_rx_parse(ls, sk);
}

/*
 * Where the bytes at @cs stand. Returns how many bytes from @cs may be
 * anchored (0: none) and in *copy_limit how many may be copied the stock way
 * before the next anchorable byte or the parser's frontier.
 */
static u32 libra_rx_classify(const struct libra_dir *d, u32 cs, u32 *copy_limit,
			     u64 *msg_id)
{
	if (d->passthrough) {
		*copy_limit = U32_MAX;
		return 0;
	}
	if (d->ext_count) {
		const struct libra_extent *e = &d->ext[d->ext_head];

		if (!before(cs, e->start)) {
			*copy_limit = 0;
			*msg_id = e->msg_id;
			return e->end - cs;
		}
		*copy_limit = e->start - cs;
		return 0;
	}
	if (d->to_close) {
		if (!before(cs, d->next_seq)) {
			*copy_limit = 0;
			*msg_id = d->msg_id;
			return U32_MAX;
		}
		*copy_limit = d->next_seq - cs;
		return 0;
	}
	*copy_limit = after(d->next_seq, cs) ? d->next_seq - cs : 0;
	return 0;
}

static int libra_rx_consume_actor(read_descriptor_t *desc, struct sk_buff *skb,
				  unsigned int offset, size_t len)
{
	size_t n = min_t(size_t, len, desc->count);

	desc->count -= n;
	return n;
}

/*
 * Anchors @n queued bytes at copied_seq: token into the caller's buffer,
 * bytes off the queue. Returns bytes accounted to the caller, 0 when libra
 * declined (the caller copies instead), or -EFAULT.
 */
static int libra_rx_anchor(struct libra_sock *ls, struct sock *sk, struct msghdr *msg,
			   u32 n, u64 msg_id)
{
	struct tcp_sock *tp = tcp_sk(sk);
	read_descriptor_t desc = { .count = n };
	struct libra_anchor *a;
	struct libra_token tok;
	int consumed;
	u64 t0;

	if (libra_anchor_msg_abandoned(msg_id))
		return 0;
	/* a request already answered (413, say) is being discarded: copy it */
	if (ls->role == LIBRA_ROLE_SERVER && !libra_sock_request_pending(ls, msg_id))
		return 0;
	t0 = libra_clock();
	a = libra_anchor_build(sk, tp->copied_seq, n, msg_id, ls->scope);
	libra_time_add(LIBRA_STAT_TIME_ANCHOR_BUILD_NS, t0);
	if (!a)
		return 0;
	if (ls->role == LIBRA_ROLE_SERVER) {
		a->resendable = true;
		a->origin = ls->id;
		ls->request_anchors = true;
	}
	libra_token_make(&tok, a->id, n, current->tgid);
	if (copy_to_iter(&tok, sizeof(tok), &msg->msg_iter) != sizeof(tok)) {
		libra_anchor_discard(a);
		return -EFAULT;
	}
	consumed = tcp_read_sock(sk, &desc, libra_rx_consume_actor);
	if (WARN_ON_ONCE(consumed != n)) {
		/* cannot happen with the lock held and the bytes queued; the
		 * token is in user space already, so keep the anchor coherent */
		libra_anchor_discard(a);
		return consumed > 0 ? -EIO : -EFAULT;
	}
	iov_iter_advance(&msg->msg_iter, n - sizeof(tok));
	libra_anchor_publish(a);
	libra_sock_add(ls, LIBRA_STAT_BYTES_ANCHORED, n);
	return n;
}

/*
 * The stock wait for data, under the socket lock: returns 0 when data may be
 * queued now, 1 when the stock path should answer (end of stream, error,
 * closed: it will find the queue empty and say so), or a negative errno.
 */
static int libra_rx_wait(struct sock *sk, long *timeo)
{
	if (sock_flag(sk, SOCK_DONE) || sk->sk_err || (sk->sk_shutdown & RCV_SHUTDOWN) ||
	    sk->sk_state == TCP_CLOSE)
		return 1;
	if (!*timeo)
		return -EAGAIN;
	if (signal_pending(current))
		return sock_intr_errno(*timeo);
	/* as stock: sleep until an skb past the queued ones comes, even when
	 * bytes are queued (fewer than the parser needs to go on) */
	sk_wait_data(sk, timeo, skb_peek_tail(&sk->sk_receive_queue));
	return 0;
}

/*
 * Moves @iter past empty buffers at its front (a readv() may pass some). An
 * advance by 0 does that for iovec iterators: it walks over every segment
 * the offset has reached, and an empty one is reached at once.
 */
static void libra_iov_iter_skip_empty(struct iov_iter *iter)
{
	if (iov_iter_count(iter))
		iov_iter_advance(iter, 0);
}

int libra_rx_recvmsg(struct sock *sk, struct msghdr *msg, size_t len, int flags,
		     int *addr_len)
{
	struct libra_sock *ls;
	long timeo;
	size_t copied = 0;
	int ret = 0, target;

	if (flags & (MSG_PEEK | MSG_OOB | MSG_ERRQUEUE) || !len)
		return libra_stock_recvmsg(sk, msg, len, flags, addr_len);

	lock_sock(sk);
	ls = libra_sock_get(sk, current);
	if (!ls || ls->role == LIBRA_ROLE_PASS || !libra_parser_attached())
		goto stock_unlocked;
	timeo = sock_rcvtimeo(sk, flags & MSG_DONTWAIT);
	/* as stock: MSG_WAITALL and SO_RCVLOWAT say how much to wait for */
	target = sock_rcvlowat(sk, flags & MSG_WAITALL, len);

	while (copied < len) {
		struct tcp_sock *tp = tcp_sk(sk);
		u32 cs = tp->copied_seq, queued, anchorable, copy_limit = 0;
		u64 msg_id = 0;
		size_t want = len - copied;

		if (ls->role == LIBRA_ROLE_UNKNOWN && after(libra_rxq_end(sk), cs))
			libra_sock_set_role(ls, LIBRA_ROLE_SERVER);
		if (ls->role == LIBRA_ROLE_PASS)
			goto stock_unlocked;
		/*
		 * Nobody spoke yet: wait here, not in the stock path, which would
		 * consume the first message unparsed; whoever speaks first decides.
		 */
		if (ls->role != LIBRA_ROLE_UNKNOWN) {
			libra_rx_sync(ls, sk);
			if (ls->rx.passthrough)
				goto stock_unlocked;
		}

		queued = ls->role == LIBRA_ROLE_UNKNOWN ? 0 : libra_rxq_end(sk) - cs;
		anchorable = queued ? libra_rx_classify(&ls->rx, cs, &copy_limit, &msg_id) : 0;
		if (anchorable) {
			u32 n = min3((u32)min_t(size_t, want, U32_MAX), anchorable, queued);
			int r = 0;

			/*
			 * A region never spans two buffers of a readv(): the program
			 * may send them apart, with framing of its own in between.
			 * Empty buffers are passed over, as copying passes them.
			 */
			if (!iov_iter_single_seg_count(&msg->msg_iter))
				libra_iov_iter_skip_empty(&msg->msg_iter);
			n = min_t(size_t, n, iov_iter_single_seg_count(&msg->msg_iter));

			/*
			 * MSG_TRUNC discards what it counts: nothing to anchor, but
			 * it goes through here so the parser keeps its place.
			 */
			if (flags & MSG_TRUNC)
				r = 0;
			else if (n >= LIBRA_MIN_REGION)
				r = libra_rx_anchor(ls, sk, msg, n, msg_id);
			else
				libra_sock_add(ls, LIBRA_STAT_FALLBACK_SMALL_BODY, 1);
			if (r < 0) {
				ret = r;
				break;
			}
			if (r > 0) {
				copied += r;
				continue;
			}
			/* declined: copy the region the stock way */
			copy_limit = n;
		}
		if (!queued || !copy_limit) {
			/* nothing queued, or nothing the parser would take: wait for more */
			int w;

			if (copied >= target)
				break;
			w = libra_rx_wait(sk, &timeo);
			if (w < 0) {
				ret = w;
				break;
			}
			if (w > 0)
				goto stock_unlocked;
			continue;
		}

		/* Stock copy of at most copy_limit bytes, lock dropped around it. */
		release_sock(sk);
		ret = libra_stock_recvmsg(sk, msg, min_t(size_t, want, copy_limit),
					  copied ? flags | MSG_DONTWAIT : flags, addr_len);
		lock_sock(sk);
		if (ret <= 0)
			break;
		/* body bytes libra declined to anchor are not metadata */
		if (!(flags & MSG_TRUNC))
			libra_sock_add(ls, anchorable ? LIBRA_STAT_BYTES_FALLBACK_COPIED
						      : LIBRA_STAT_BYTES_METADATA_COPIED, ret);
		copied += ret;
		ret = 0;
	}
	release_sock(sk);
	if (copied)
		return copied;
	return ret == -EAGAIN && (flags & MSG_DONTWAIT || !timeo) ? -EAGAIN : ret;

stock_unlocked:
	release_sock(sk);
	if (copied) {
		ret = libra_stock_recvmsg(sk, msg, len - copied, flags | MSG_DONTWAIT, addr_len);
		return ret > 0 ? copied + ret : copied;
	}
	return libra_stock_recvmsg(sk, msg, len, flags, addr_len);
}
