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
 * is advanced past them, so the call returns the count stock would. The
 * rest of the region in the caller's buffer is zero-filled: whatever the
 * program does with it, nothing of what its buffer held before shows.
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

#include "compat.h"
#include "libra.h"

/* Body regions shorter than this are copied: a token and an anchor cost more. */
#define LIBRA_MIN_REGION	1024
/*
 * How far ahead of what a receive asks for the parser may run, and how many
 * of its runs one receive may cost: a pipelined flood is parsed as it is
 * read, not all at the first recv().
 */
#define LIBRA_RX_PARSE_AHEAD	65536
#define LIBRA_RX_PARSE_RUNS	64
/* Regions one receive anchors in one go at most: the buffers of a readv(), one each. */
#define LIBRA_RX_BATCH		16

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

/*
 * Parses what is queued and not yet parsed, up to @limit (a sequence number)
 * and at most *runs parser calls. Socket lock held. Even fewer bytes than
 * the parser asked for (need_min) are offered: stock would return them
 * rather than wait, and the parser takes any window.
 */
static void libra_rx_parse(struct libra_sock *ls, struct sock *sk, u32 limit, int *runs)
{
	struct libra_dir *d = &ls->rx;

	while (!d->passthrough && !d->to_close && d->ext_count < LIBRA_EXTENTS &&
	       before(d->next_seq, limit) && (*runs)-- > 0) {
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

/*
 * Drops extents behind copied_seq; checks nothing was consumed unparsed,
 * and parses on up to @limit.
 */
static void libra_rx_sync(struct libra_sock *ls, struct sock *sk, u32 limit, int *runs)
{
	struct libra_dir *d = &ls->rx;
	u32 cs = tcp_sk(sk)->copied_seq;

	while (d->ext_count && !after(d->ext[d->ext_head].end, cs)) {
		d->ext_head = (d->ext_head + 1) % LIBRA_EXTENTS;
		d->ext_count--;
	}
	if (!d->to_close && after(cs, d->next_seq)) {
		/*
		 * A FIN read counts one sequence number: the stream is over,
		 * nothing was consumed behind libra's back.
		 */
		if (cs == d->next_seq + 1 && (sk->sk_shutdown & RCV_SHUTDOWN))
			WRITE_ONCE(d->passthrough, true);
		else
			libra_dir_step_aside(ls, d, LIBRA_STAT_FALLBACK_DESYNC);
	}
	if (!d->passthrough)
		libra_rx_parse(ls, sk, limit, runs);
}

/*
 * Urgent data (MSG_OOB) is not in the stream the program reads: stock
 * tcp_recvmsg leaves the byte out (without SO_OOBINLINE) and tcp_read_sock
 * stops before it. Libra never reads across one: once an urgent byte is
 * ahead, the rest of the connection takes the stock path.
 */
static bool libra_rx_urgent_ahead(const struct sock *sk, u32 cs)
{
	const struct tcp_sock *tp = tcp_sk(sk);

	return READ_ONCE(tp->urg_data) && !before(READ_ONCE(tp->urg_seq), cs);
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
		if (!before(cs, d->next_seq) && d->msg_transformable) {
			*copy_limit = U32_MAX;	/* the rest of the stream, the stock way */
			return 0;
		}
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

/* The user address @iter writes its next byte to; 0 if not user memory. */
static unsigned long libra_iter_uaddr(const struct iov_iter *iter)
{
	if (iter_is_ubuf(iter))
		return (unsigned long)iter->ubuf + iter->iov_offset;
	if (iter_is_iovec(iter) && iter->nr_segs)
		return (unsigned long)libra_iter_iov(iter)->iov_base + iter->iov_offset;
	return 0;
}

/*
 * Moves @iter past empty buffers at its front (a readv() may pass some). An
 * advance by 0 does that for iovec iterators: it walks over every segment
 * the offset has reached, and an empty one is reached at once.
 */
static void libra_iov_iter_skip_empty(struct iov_iter *iter)
{
	if (iov_iter_count(iter) && !iov_iter_single_seg_count(iter))
		iov_iter_advance(iter, 0);
}

/*
 * How the next @avail bytes fall into the buffers of @iter, one region
 * each (a region never spans two buffers of a readv(): the program may send
 * them apart, with framing of its own in between), empty buffers passed
 * over as copying passes them: their lengths go to @lens, up to the first
 * too short to be worth a region. Returns how many; @lens[0] is the first
 * buffer's share even when it is too short (what a stock copy takes).
 * @iter is at a non-empty buffer (libra_iov_iter_skip_empty()).
 */
static unsigned int libra_rx_regions(const struct iov_iter *iter, u32 avail, u32 *lens)
{
	struct iov_iter it = *iter;
	unsigned int nr = 0;

	lens[0] = min_t(size_t, avail, iov_iter_single_seg_count(&it));
	while (nr < LIBRA_RX_BATCH && avail) {
		u32 n;

		libra_iov_iter_skip_empty(&it);
		n = min_t(size_t, avail, iov_iter_single_seg_count(&it));
		if (n < LIBRA_MIN_REGION)
			break;
		lens[nr++] = n;
		avail -= n;
		iov_iter_advance(&it, n);
	}
	return nr;
}

/*
 * Copies the first @want bytes of @as into @to: what the caller's buffers
 * get when fewer bytes left the queue than were anchored.
 */
static u32 libra_rx_copy_anchored(struct libra_anchor **as, unsigned int nr, u32 want,
				  struct iov_iter *to)
{
	u32 done = 0;
	unsigned int j;

	for (j = 0; j < nr && done < want; j++) {
		u32 k = min(want - done, as[j]->len), got = libra_anchor_copy_to_iter(as[j], 0, k, to);

		done += got;
		if (got != k)
			break;
	}
	return done;
}

/*
 * Anchors queued bytes at copied_seq as @nr regions of @lens[i] bytes, one
 * per buffer of the call (libra_rx_regions()): a token and zero fill into
 * each buffer, then the bytes off the queue, in one go. Returns bytes
 * accounted to the caller, 0 when libra declined (the caller copies
 * instead), or -EFAULT.
 */
static int libra_rx_anchor(struct libra_sock *ls, struct sock *sk, struct msghdr *msg,
			   const u32 *lens, unsigned int nr, u64 msg_id)
{
	struct tcp_sock *tp = tcp_sk(sk);
	struct libra_anchor *as[LIBRA_RX_BATCH];
	unsigned long uaddr[LIBRA_RX_BATCH];
	struct iov_iter start = msg->msg_iter;
	read_descriptor_t desc = { };
	unsigned int i, built, written;
	u32 total = 0;
	int consumed;
	u64 t0;

	if (libra_anchor_msg_abandoned(msg_id))
		return 0;
	/* a request already answered (413, say) is being discarded: copy it */
	if (ls->role == LIBRA_ROLE_SERVER && !libra_sock_request_pending(ls, msg_id))
		return 0;
	t0 = libra_clock();
	built = libra_anchor_build(sk, tp->copied_seq, lens, nr, msg_id, ls->id, ls->scope, as);
	libra_time_add(LIBRA_STAT_TIME_ANCHOR_BUILD_NS, t0);
	if (!built)
		return 0;
	/*
	 * Every token and zero fill written before a byte leaves the queue: a
	 * fault leaves the queue as it was from the buffer it hit on.
	 */
	for (written = 0; written < built; written++) {
		struct libra_anchor *a = as[written];
		struct iov_iter at;
		struct libra_token tok;
		u32 fill = a->len - sizeof(tok);

		libra_iov_iter_skip_empty(&msg->msg_iter);
		at = msg->msg_iter;
		uaddr[written] = libra_iter_uaddr(&msg->msg_iter);
		libra_token_make(&tok, a->id, a->len);
		a->mac = tok.mac;
		if (copy_to_iter(&tok, sizeof(tok), &msg->msg_iter) != sizeof(tok)) {
			msg->msg_iter = at;
			break;
		}
		t0 = libra_clock();
		if (iov_iter_zero(fill, &msg->msg_iter) != fill) {
			msg->msg_iter = at;
			break;
		}
		libra_time_add(LIBRA_STAT_TIME_ZERO_FILL_NS, t0);
		if (ls->role == LIBRA_ROLE_SERVER) {
			a->resendable = true;
			ls->request_anchors = true;
		}
		total += a->len;
	}
	for (i = written; i < built; i++)
		libra_anchor_discard(as[i]);
	if (!written) {
		msg->msg_iter = start;
		return -EFAULT;
	}
	nr = written;
	desc.count = total;
	consumed = tcp_read_sock(sk, &desc, libra_rx_consume_actor);
	if (unlikely(consumed != total)) {
		/*
		 * Not with the lock held, the bytes queued and no urgent byte
		 * among them; should it happen, the caller's buffers get the
		 * bytes that did leave the queue, from the anchors, as stock
		 * would have copied them.
		 */
		struct iov_iter to = start;
		u32 done = libra_rx_copy_anchored(as, nr, consumed > 0 ? consumed : 0, &to);

		for (i = 0; i < nr; i++)
			libra_anchor_discard(as[i]);
		msg->msg_iter = to;
		return done ?: -EFAULT;
	}
	libra_anchor_publish(as, uaddr, nr);
	libra_sock_add(ls, LIBRA_STAT_BYTES_ANCHORED, consumed);
	return consumed;
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
 * The connection of @ls ends: from which message on what arrived on it
 * was cut off (0: none, every message read whole). A message is whole
 * once the parser saw its end and the program read up to it (a
 * close-delimited one: up to the FIN); older messages are, except those
 * whose body extents are still ahead of what was read (the parser runs
 * ahead of the reads). Read as the socket is destroyed or disconnected;
 * what it gets wrong either way is kept a while or released early, as
 * before: never a byte sent wrong.
 */
u64 libra_rx_cut_from(const struct libra_sock *ls, const struct sock *sk)
{
	const struct libra_dir *d = &ls->rx;
	const struct tcp_sock *tp = tcp_sk(sk);
	u32 cs = READ_ONCE(tp->copied_seq);
	unsigned int i;

	if (!d->msg_id)
		return 0;
	/* the oldest message whose body is still ahead of the reads was cut */
	for (i = 0; i < d->ext_count; i++) {
		const struct libra_extent *e = &d->ext[(d->ext_head + i) % LIBRA_EXTENTS];

		if (after(e->end, cs))
			return min(e->msg_id, d->msg_id);
	}
	if (d->to_close && !d->passthrough)
		return (READ_ONCE(sk->sk_shutdown) & RCV_SHUTDOWN) && cs == READ_ONCE(tp->rcv_nxt)
		       ? 0 : d->msg_id;
	if (d->whole_msg_id == d->msg_id && !before(cs, d->whole_end_seq))
		return 0;
	return d->msg_id;
}

int libra_rx_recvmsg(struct sock *sk, struct msghdr *msg, size_t len, int flags,
		     int *addr_len)
{
	struct libra_sock *ls;
	int runs = LIBRA_RX_PARSE_RUNS;
	long timeo;
	size_t copied = 0;
	int ret = 0, target;

	if (flags & (MSG_PEEK | MSG_OOB | MSG_ERRQUEUE) || !len)
		return libra_stock_recvmsg(sk, msg, len, flags, addr_len);

	lock_sock(sk);
	ls = libra_sock_get(sk, current);
	if (!ls) {
		release_sock(sk);
		return libra_stock_recvmsg(sk, msg, len, flags, addr_len);
	}
	if (unlikely(ls->tls_tgid) && libra_ktls_tx(sk)) {
		/* set up after the handshake's last flight, before the process sent on it */
		libra_sock_set_flag(ls, LIBRA_SOCKET_F_KTLS);
		libra_tls_handshake_end(ls, true);
	}
	if (ls->role == LIBRA_ROLE_PASS)
		goto stock_unlocked;
	if (!libra_parser_attached()) {
		/* its stream will be read unparsed: it can never be followed again */
		libra_dir_step_aside(ls, &ls->rx, LIBRA_STAT_FALLBACK_NO_PARSER);
		goto stock_unlocked;
	}
	if (ls->rx.passthrough)
		goto stock_unlocked;
	timeo = sock_rcvtimeo(sk, flags & MSG_DONTWAIT);
	/* as stock: MSG_WAITALL and SO_RCVLOWAT say how much to wait for */
	target = sock_rcvlowat(sk, flags & MSG_WAITALL, len);

	while (copied < len) {
		struct tcp_sock *tp = tcp_sk(sk);
		u32 cs = tp->copied_seq, queued, anchorable, copy_limit = 0;
		enum libra_stat why;
		u64 msg_id = 0;
		size_t want = len - copied;

		if (ls->role == LIBRA_ROLE_UNKNOWN && after(libra_rxq_end(sk), cs))
			libra_sock_set_role(ls, LIBRA_ROLE_SERVER);
		if (ls->role == LIBRA_ROLE_PASS)
			goto stock_unlocked;
		if (!ls->rx.passthrough && libra_rx_urgent_ahead(sk, cs))
			libra_dir_step_aside(ls, &ls->rx, LIBRA_STAT_FALLBACK_URGENT);
		/*
		 * Nobody spoke yet: wait here, not in the stock path, which would
		 * consume the first message unparsed; whoever speaks first decides.
		 */
		if (ls->role != LIBRA_ROLE_UNKNOWN) {
			libra_rx_sync(ls, sk, cs + (u32)min_t(size_t, want, U32_MAX / 2) +
					      LIBRA_RX_PARSE_AHEAD, &runs);
			if (ls->rx.passthrough)
				goto stock_unlocked;
		}

		queued = ls->role == LIBRA_ROLE_UNKNOWN ? 0 : libra_rxq_end(sk) - cs;
		anchorable = queued ? libra_rx_classify(&ls->rx, cs, &copy_limit, &msg_id) : 0;
		if (anchorable) {
			u32 n = min3((u32)min_t(size_t, want, U32_MAX), anchorable, queued);
			u32 lens[LIBRA_RX_BATCH];
			unsigned int nr;
			int r = 0;

			libra_iov_iter_skip_empty(&msg->msg_iter);
			nr = libra_rx_regions(&msg->msg_iter, n, lens);
			/*
			 * MSG_TRUNC discards what it counts: nothing to anchor, but
			 * it goes through here so the parser keeps its place.
			 */
			if (flags & MSG_TRUNC) {
				r = 0;
			} else if (!nr) {
				libra_sock_add(ls, LIBRA_STAT_FALLBACK_SMALL_BODY, 1);
			} else if (libra_proc_refuses_anchors(current, &why)) {
				/* it speaks TLS, or sends bodies where libra cannot follow them */
				libra_sock_add(ls, why, 1);
			} else {
				r = libra_rx_anchor(ls, sk, msg, lens, nr, msg_id);
			}
			if (r < 0) {
				ret = r;
				break;
			}
			if (r > 0) {
				copied += r;
				continue;
			}
			/* declined: copy the region the stock way */
			copy_limit = lens[0];
		}
		if (queued && !copy_limit && runs <= 0 && !ls->rx.passthrough) {
			/*
			 * The parser's runs for this call are spent with bytes
			 * still queued and room in the buffer: go on with a fresh
			 * allowance. Never return short while bytes are here
			 * (an edge-triggered reader, nginx, takes a short read for
			 * a drained socket and waits for an edge that never comes),
			 * never wait for them either: the call's length bounds it.
			 */
			runs = LIBRA_RX_PARSE_RUNS;
			continue;
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
	libra_sock_put(ls);
	if (copied)
		return copied;
	return ret == -EAGAIN && (flags & MSG_DONTWAIT || !timeo) ? -EAGAIN : ret;

stock_unlocked:
	release_sock(sk);
	libra_sock_put(ls);
	if (copied) {
		/*
		 * What is read so far is the answer; an error or end of stream
		 * (an RST after partial data under MSG_WAITALL) stays for the
		 * next call, as stock leaves it.
		 */
		if (READ_ONCE(sk->sk_err) || READ_ONCE(sk->sk_shutdown) & RCV_SHUTDOWN ||
		    sock_flag(sk, SOCK_DONE))
			return copied;
		ret = libra_stock_recvmsg(sk, msg, len - copied, flags | MSG_DONTWAIT, addr_len);
		return ret > 0 ? copied + ret : copied;
	}
	return libra_stock_recvmsg(sk, msg, len, flags, addr_len);
}
