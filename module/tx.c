// SPDX-License-Identifier: GPL-2.0
/*
 * Send: anchored-payload reuse.
 *
 * Libra follows the HTTP framing of what an opted-in socket sends, the way
 * it follows what it receives: the same parser maps the outgoing stream into
 * metadata (start lines, headers, chunk-size lines) and body bytes before a
 * byte of it is sent (tx_scan.c). Metadata goes out as the program wrote it.
 * In body bytes, a live token of this process starts a region: from there
 * the anchored pages go out instead of the program's bytes (the token and
 * its zero fill), and the region continues over the following body bytes
 * of the same message — across send calls, across framing the program put
 * in between (a proxy re-chunking a body), even when the framing splits the
 * token itself (tx_owed.c) — until its length is used up. A region never
 * continues into another message: one the program cut short is dropped
 * (regions_cut) when the next message's body begins. Where a region ends,
 * the one received right after it (the next buffer of the same readv())
 * is expected next: body bytes that are exactly its token, in the same
 * call or the next one, start it without a scan, a MAC and a lookup.
 *
 * Where libra cannot follow the framing (the parser stepped aside: FastCGI,
 * h2c, WebSocket, a custom method; a connection older than the opt-in;
 * bytes sent behind libra's back) no region is continued: the egress guard
 * writes each token's region into the program's memory first and the bytes
 * go the stock way (egress.c), and a region that was in progress when the
 * framing was lost fails the connection. So do MSG_ZEROCOPY, MSG_OOB and
 * MSG_FASTOPEN sends, which must stay one stock call. A token of libra's
 * that must not be stood in for (its anchor gone or another process's)
 * fails the connection: reset, counted (tokens_refused), logged. Bytes that
 * only look like a token are the program's and go as they are.
 *
 * One send at a time per socket: a send may sleep for buffer space with the
 * socket lock dropped, and what it is doing (a region, owed bytes, the
 * parser's place) spans the whole call, so a second sender on the same
 * socket (two threads, io_uring workers) waits for the first to finish
 * (ls->tx_busy), as it would wait for the socket lock. After any send that
 * may have slept, the entry is checked again: a disconnect meanwhile ends
 * the call.
 *
 * All state lives in struct libra_sock under the socket lock and the claim.
 * Positions are 32-bit offsets in the outgoing stream; ls->tx_pos is the
 * next byte to go.
 */
#include <linux/module.h>
#include <linux/sched/signal.h>
#include <linux/uio.h>
#include <net/sock.h>
#include <net/tcp.h>

#include "compat.h"
#include "tx.h"

bool libra_tx_framed(const struct libra_sock *ls)
{
	return (ls->role == LIBRA_ROLE_CLIENT || ls->role == LIBRA_ROLE_SERVER) &&
	       !ls->tx.passthrough;
}

/* The caller's next @n bytes were sent or taken: moves past them. */
void libra_tx_consume(struct libra_tx_call *call, u32 n)
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
/*
 * The pages of @nr consecutive parts of anchored regions, handed to @sink
 * LIBRA_PAGE_RUNS runs at a time, where the pages of two pieces run on
 * (the same skb fragment cut between two buffers of a readv()) as one run:
 * MSG_MORE on all but the last batch unless @more. Returns the bytes sent
 * (fewer than the parts hold: the sink took less), or a negative errno
 * when none were.
 */
int libra_anchor_send(const struct libra_anchor_part *parts, unsigned int nr, bool more,
		      libra_page_sink sink, void *to)
{
	struct bio_vec runs[LIBRA_PAGE_RUNS];
	unsigned int nr_runs = 0, j;
	u32 total = 0, sent = 0, batch = 0;
	u64 t0 = libra_clock();
	int ret = 0;

	for (j = 0; j < nr; j++)
		total += parts[j].len;
	for (j = 0; j < nr; j++) {
		struct libra_piece_iter it;
		struct bio_vec bv;

		libra_piece_iter_init(&it, parts[j].a, parts[j].off, parts[j].len);
		while (libra_piece_next(&it, &bv)) {
			struct bio_vec *last = nr_runs ? &runs[nr_runs - 1] : NULL;

			if (last && last->bv_page == bv.bv_page &&
			    last->bv_offset + last->bv_len == bv.bv_offset) {
				last->bv_len += bv.bv_len;
			} else {
				if (nr_runs == LIBRA_PAGE_RUNS) {
					ret = sink(to, runs, nr_runs, batch, true);
					if (ret > 0)
						sent += ret;
					if (ret < (int)batch)
						goto out;
					nr_runs = 0;
					batch = 0;
				}
				runs[nr_runs++] = bv;
			}
			batch += bv.bv_len;
		}
	}
	if (nr_runs) {
		ret = sink(to, runs, nr_runs, batch, more || sent + batch < total);
		if (ret > 0)
			sent += ret;
	}
out:
	libra_time_add(LIBRA_STAT_TIME_PAGE_SEND_NS, t0);
	return sent ?: (ret < 0 ? ret : -EAGAIN);
}

struct libra_tcp_dest {
	struct sock *sk;
	int flags;
};

static int libra_tx_sink(void *to, const struct bio_vec *runs, unsigned int nr, u32 len, bool more)
{
	struct libra_tcp_dest *d = to;

	return libra_compat_send_pages(d->sk, runs, nr, len, d->flags, more);
}

int libra_tx_send_anchor(struct sock *sk, const struct libra_anchor_part *parts, unsigned int nr,
			 int flags, bool more)
{
	struct libra_tcp_dest d = { .sk = sk, .flags = flags };

	return libra_anchor_send(parts, nr, more, libra_tx_sink, &d);
}

/*
 * Where libra cannot send what a program handed over as it should, the far
 * end must not see a clean end or wrong bytes: the connection is reset
 * (tcp_disconnect() sends the RST and sets ECONNRESET; the entry is
 * unlinked and ls->dead set).
 */
void libra_tx_abort(struct sock *sk, struct libra_sock *ls, bool closing)
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

/*
 * A token of libra's that must not be stood in for: counted and logged;
 * the caller resets the connection. @tok may be NULL (a start whose rest
 * never came).
 */
void libra_tx_refuse(struct libra_tx_call *call, const struct libra_token *tok,
		     enum libra_token_verdict why, const char *where)
{
	struct libra_sock *ls = call->ls;

	libra_refuse_count(NULL, ls, where, tok ? libra_token_verdict_name(why) :
			   "the magic, and no telling whether a token follows");
	net_dbg_ratelimited("token %llx len %u refused in %s: %s; sock %llu role %d tx_pos %u\n",
			    tok ? tok->id : 0, tok ? tok->len : 0, where,
			    libra_token_verdict_name(why), ls->id, ls->role, ls->tx_pos);
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

/*
 * A live token stood in the body of outgoing message @msg_id (where the
 * token starts, not where the call stands: a held start is decided with a
 * later call, whose data may begin with framing): its anchor's bytes go out
 * from here, in that message. Takes over the caller's reference. False
 * where the framing is unknown: nowhere to continue a region (the caller
 * refuses).
 */
bool libra_tx_start_region(struct libra_tx_call *call, struct libra_anchor *a, u64 msg_id)
{
	struct libra_sock *ls = call->ls;

	if (!libra_tx_framed(ls))
		return false;
	ls->tx_cont = a;
	ls->tx_cont_off = 0;
	ls->tx_cont_msg = msg_id;
	libra_tx_note_msg(ls, a);
	libra_anchor_touch(a);
	return true;
}

/*
 * Whether nothing more can go out on @sk: reset by the peer, shut down for
 * writing, closed. What libra was sending there never will be.
 */
static bool libra_tx_connection_over(const struct sock *sk)
{
	return READ_ONCE(sk->sk_err) || (READ_ONCE(sk->sk_shutdown) & SEND_SHUTDOWN) ||
	       sk->sk_state == TCP_CLOSE;
}

/*
 * The connection can send no more: the messages whose bodies were going
 * out on it are abandoned now (their anchors go, a response is never sent
 * twice), not when the program gets round to closing the socket. Held
 * bytes go with them: nothing can carry them.
 */
static void libra_tx_connection_lost(struct libra_sock *ls)
{
	int i;

	if (ls->tx_cont) {
		libra_anchor_put(ls->tx_cont);
		ls->tx_cont = NULL;
	}
	libra_tx_drop_successor(ls);
	for (i = 0; i < LIBRA_TX_MSGS; i++) {
		if (ls->tx_msgs[i])
			libra_anchor_abandon_msg(ls->tx_msgs[i]);
		ls->tx_msgs[i] = 0;
	}
	libra_tx_owed_clear(ls);
	libra_tx_held_update(ls);
}

/* The region in progress is given up: its message ended, or its framing was lost. */
static void libra_tx_cut_region(struct libra_sock *ls)
{
	libra_sock_add(ls, LIBRA_STAT_REGIONS_CUT, 1);
	libra_anchor_put(ls->tx_cont);
	ls->tx_cont = NULL;
}

/* Regions one run sends at most: the one being sent and the ones that follow it at once. */
#define LIBRA_TX_CHAIN 16

/*
 * Whether the call's bytes at @at are @next's token: where the region
 * before it ended, the token a scan would find first, of an anchor still
 * live (a send runs on into it without a scan, a MAC and a lookup).
 */
static bool libra_tx_successor(const struct libra_tx_call *call, u32 at,
			       const struct libra_anchor *next)
{
	struct libra_token want, got;

	if (hlist_unhashed_lockless(&next->node))
		return false;	/* sent, released or expired: the scan decides */
	if (!libra_tx_peek(call, at, &got, sizeof(got)))
		return false;
	libra_token_fill(&want, next->id, next->len, next->mac);
	return !memcmp(&got, &want, sizeof(got));
}

void libra_tx_drop_successor(struct libra_sock *ls)
{
	if (ls->tx_succ) {
		libra_anchor_put(ls->tx_succ);
		ls->tx_succ = NULL;
	}
}

/*
 * No region is in progress and @n bytes of a body are next: if they open
 * with the token of the region that followed the last one sent
 * (ls->tx_succ), that region starts here, as a scan would start it (a
 * live token of this process, where the body's message stands) but
 * without a scan, a MAC and a lookup. Anything else, and the scan decides.
 */
static void libra_tx_take_successor(struct libra_tx_call *call, u32 n)
{
	struct libra_sock *ls = call->ls;
	struct libra_anchor *next = ls->tx_succ;

	ls->tx_succ = NULL;
	if (n >= LIBRA_TOKEN_BYTES && !ls->tx_raw_magic && !ls->tx_owed_len &&
	    next->owner == task_tgid(current) && libra_tx_successor(call, 0, next) &&
	    libra_tx_start_region(call, next, libra_tx_body_msg(ls, ls->tx_pos)))
		return;	/* tx_cont took our reference */
	libra_anchor_put(next);
}

/*
 * Continues the region being sent over @n body bytes, and on into the
 * regions of the buffers received after it, in one run, while their tokens
 * follow one another in the call. Returns bytes sent or a negative errno
 * (-EPIPE when the entry died while the send slept), and in *@planned how
 * many it meant to send: fewer sent is a short send.
 */
static int libra_tx_continue(struct libra_tx_call *call, u32 n, bool more, u32 *planned)
{
	struct libra_sock *ls = call->ls;
	struct libra_anchor_part parts[LIBRA_TX_CHAIN];
	struct libra_anchor *done = NULL;	/* the last region that went out whole */
	bool other_bytes = false;	/* the chain met bytes that are not the next region's token */
	unsigned int nr = 1, i;
	u32 total, left;
	int ret;

	parts[0] = (struct libra_anchor_part){ ls->tx_cont, ls->tx_cont_off,
					      min(n, ls->tx_cont->len - ls->tx_cont_off) };
	total = parts[0].len;
	while (nr < LIBRA_TX_CHAIN) {
		const struct libra_anchor_part *last = &parts[nr - 1];
		struct libra_anchor *next = last->a->next;

		if (!next || last->off + last->len != last->a->len || n - total < LIBRA_TOKEN_BYTES)
			break;
		if (!libra_tx_successor(call, total, next)) {
			other_bytes = true;
			break;
		}
		parts[nr] = (struct libra_anchor_part){ next, 0, min(n - total, next->len) };
		total += parts[nr++].len;
	}
	*planned = total;
	for (i = 0; i < nr; i++)
		kref_get(&parts[i].a->ref);	/* ours, across a send that may drop the lock */
	ret = libra_tx_send_anchor(call->sk, parts, nr, call->src->flags,
				   more || total < iov_iter_count(call->iter));
	if (READ_ONCE(ls->dead)) {
		ret = -EPIPE;
		goto out;
	}
	if (ret <= 0)
		goto out;
	libra_tx_consume(call, ret);
	libra_sock_add(ls, LIBRA_STAT_BYTES_ZERO_COPY_SENT, ret);
	left = ret;
	for (i = 0; i < nr && left; i++) {
		struct libra_anchor *a = parts[i].a;
		u32 k = min(left, parts[i].len);

		if (i) {
			/* the region before it went out whole: this one is tx_cont's now */
			kref_get(&a->ref);
			ls->tx_cont = a;
			ls->tx_cont_off = 0;
			libra_tx_note_msg(ls, a);
			libra_anchor_touch(a);
		}
		ls->tx_cont_off += k;
		left -= k;
		if (ls->tx_cont_off == a->len) {
			ls->tx_cont = NULL;
			done = a;
			libra_anchor_sent(a);
			libra_anchor_put(a);	/* tx_cont's */
		}
	}
	if (!ls->tx_cont && done && done->next && !other_bytes) {
		/*
		 * The next buffer's region may follow after framing, or open the
		 * next call; where other bytes follow it in this call, the scan
		 * takes them (the same 32 bytes need not be compared again).
		 */
		kref_get(&done->next->ref);
		libra_tx_drop_successor(ls);
		ls->tx_succ = done->next;
	}
out:
	for (i = 0; i < nr; i++)
		libra_anchor_put(parts[i].a);
	return ret;
}

/*
 * Whether write_seq moved since libra's last send without libra: bytes
 * sent behind its back (framing and requests unknown from here). A FIN
 * counts one sequence number and is not such a byte.
 */
static void libra_tx_check_sync(struct libra_sock *ls, struct sock *sk)
{
	u32 ws = tcp_sk(sk)->write_seq;

	if (!ls->tx_synced || ws == ls->tx_expect_seq)
		return;
	if (ws == ls->tx_expect_seq + 1 && (sk->sk_shutdown & SEND_SHUTDOWN))
		return;
	libra_dir_step_aside(ls, &ls->tx, LIBRA_STAT_FALLBACK_DESYNC);
	ls->methods_lost = true;
}

/*
 * TLS in what the program sends (tls.c). The first bytes of a connection a
 * TLS handshake: a handshake opens on the socket. While it is open, only
 * poisoned regions can be in the process's memory: an application data
 * record may carry a copy of one, and resets the connection. A TLS record
 * on a connection libra first saw mid-stream: the process terminates TLS
 * in user space, and if it held anchors when this record was built (it was
 * encrypted before libra saw it) or holds poisoned ones, an application
 * data record may carry a token's copy: the connection is reset.
 */
static int libra_tx_tls_check(struct libra_tx_call *call)
{
	struct libra_sock *ls = call->ls;
	bool first = ls->tx_pos == 0 && !ls->tx_synced && ls->role != LIBRA_ROLE_PASS;
	u8 b[9];
	u32 n = min_t(size_t, sizeof(b), iov_iter_count(call->iter));
	bool had;

	/* HTTP past a connection's first bytes: nothing to look at, no user memory to read */
	if (!first && ls->role != LIBRA_ROLE_PASS && !(ls->flags & LIBRA_SOCKET_F_TLS))
		return 0;
	if (n < 3 || !libra_tx_peek(call, 0, b, n))
		return 0;
	if (first) {
		if (libra_tls_record_start(b, n, true)) {
			libra_tls_handshake_begin(ls);
			/* TLS records from here on, never HTTP */
			libra_dir_step_aside(ls, &ls->tx, LIBRA_STAT_FALLBACK_TLS);
		} else if (libra_h2_start(b, n)) {
			struct libra_proc *p = libra_proc_get(task_tgid(current));

			/* HTTP/2 frames cut bodies where no hook can tell: no anchors for it */
			if (p && libra_proc_flag(p, LIBRA_PROC_UNFRAMED))
				pr_info("%s[%d] speaks HTTP/2: it gets no anchors from now on\n",
					current->comm, task_tgid_nr(current));
		}
		return 0;
	}
	if (!libra_tls_record_start(b, n, false))
		return 0;
	if (ls->tls_tgid) {
		had = false;
	} else {
		libra_sock_set_flag(ls, LIBRA_SOCKET_F_TLS);
		had = libra_tls_mark(current, "sent TLS records");
	}
	if (b[0] != 0x17 || (!had && !libra_tls_proc_poisoned(current)))
		return 0;
	libra_sock_add(ls, LIBRA_STAT_TLS_RESETS, 1);
	pr_warn_ratelimited("%s[%d]: TLS data that may carry a token it received before: connection reset\n",
			    current->comm, task_tgid_nr(current));
	return -ECONNRESET;
}

/*
 * A stream libra does not frame: no region may run over it. Called before
 * any of the call's bytes go: a region left in progress from before fails
 * the connection; the egress guard writes out every token the call holds.
 */
static int libra_tx_unframed(struct libra_tx_call *call)
{
	struct libra_sock *ls = call->ls;

	if (ls->tx_cont) {
		libra_tx_cut_region(ls);
		libra_refuse_count(NULL, ls, "a send", "a region was in progress when the framing was lost");
		return -ECONNRESET;
	}
	if (!call->scan)
		return 0;
	/*
	 * No demotion here: what made libra step aside on a TCP stream may be a
	 * remote peer's doing (a request the proxy forwarded as it came), and
	 * nothing a peer sends may switch libra off for other connections. A
	 * region cut by the call fails this connection only.
	 */
	return libra_guard_iter(call->iter, iov_iter_count(call->iter), ls, LIBRA_EGRESS_WHOLE,
				"a TCP stream libra does not frame") ? -ECONNRESET : 0;
}

static int libra_tx_run(struct libra_tx_call *call)
{
	struct libra_sock *ls = call->ls;
	size_t total = 0;
	int err = 0;

	if (ls->role == LIBRA_ROLE_UNKNOWN && iov_iter_count(call->iter))
		libra_sock_set_role(ls, LIBRA_ROLE_CLIENT);
	if (libra_tx_connection_over(call->sk)) {
		libra_tx_connection_lost(ls);
		/*
		 * Nothing the call carries can go out: it fails as the stock
		 * send fails there (the socket's error, or EPIPE and SIGPIPE),
		 * before a token in it is looked at. Their anchors went with the
		 * connection; refusing them would count a failure libra did not
		 * cause (a proxy writing on to a client that reset mid-body).
		 */
		return sk_stream_error(call->sk, call->src->flags, -EPIPE);
	}
	libra_tx_check_sync(ls, call->sk);
	call->buf = ls->tx_scan_buf;
	err = libra_tx_tls_check(call);
	if (err)
		goto out;
	/*
	 * TLS records: ciphertext, where no token can stand (the process's
	 * regions were written out at the handshake), and nothing of which may
	 * be held as a token's start: kernel TLS may be set up before held
	 * bytes could go, and would encrypt them.
	 */
	if (ls->flags & LIBRA_SOCKET_F_TLS)
		call->scan = false;
	libra_tx_map(call);
	if (!libra_tx_framed(ls)) {
		err = libra_tx_unframed(call);
		if (err)
			goto out;
	}

	while (iov_iter_count(call->iter)) {
		size_t remaining;
		struct libra_anchor *a = NULL;
		enum libra_tx_hold held;
		bool body, refused;
		u32 span, n, plain;
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

		if (body && unlikely(ls->tx_raw_magic)) {
			u8 next[LIBRA_TOKEN_BYTES];
			u32 got = min_t(u32, n, LIBRA_TOKEN_BYTES - ls->tx_raw_magic);

			if (libra_tx_peek(call, 0, next, got) &&
			    libra_tx_raw_start_continues(ls, next, got)) {
				err = -ECONNRESET;
				break;
			}
		}
		if (ls->tx_succ) {
			if (body && !ls->tx_cont)
				libra_tx_take_successor(call, n);
			else
				libra_tx_drop_successor(ls);
		}
		if (body && ls->tx_cont && libra_tx_body_msg(ls, ls->tx_pos) != ls->tx_cont_msg)
			libra_tx_cut_region(ls);	/* it does not run into another message */
		if (body && ls->tx_cont) {
			u32 planned;

			ret = libra_tx_continue(call, n, false, &planned);
			if (ret < 0) {
				err = ret;
				break;
			}
			total += ret;
			if (ret < planned)
				break;	/* the socket took less */
			continue;
		}

		plain = n;
		held = LIBRA_HOLD_NONE;
		refused = false;
		if (call->scan && body) {
			u64 t0 = libra_clock();

			plain = libra_tx_find_token(call, n, &a, &held, &refused);
			libra_time_add(LIBRA_STAT_TIME_TOKEN_SCAN_NS, t0);
		} else if (call->scan && libra_tx_framed(ls) &&
			   libra_guard_iter(call->iter, n, ls, LIBRA_EGRESS_STREAM, "HTTP metadata")) {
			/* a token among headers ($request_body in a header) that could not be written out */
			err = -ECONNRESET;
			break;
		}
		if (plain) {
			/* more follows in this call only if a region does */
			ret = libra_tx_send_plain(call, plain, a || (!held && !refused && plain < remaining));
			if (READ_ONCE(ls->dead)) {
				if (a)
					libra_anchor_put(a);
				err = -EPIPE;
				break;
			}
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
		if (refused) {
			err = -ECONNRESET;
			break;
		}
		if (held) {
			/* a token cut off by the data's end, or by framing: decided with what follows */
			u32 owed = libra_tx_owe(call, n - plain);

			total += owed;
			if (!owed)
				break;
			continue;
		}
		if (a && !libra_tx_start_region(call, a, libra_tx_body_msg(ls, ls->tx_pos))) {
			libra_anchor_put(a);
			libra_tx_refuse(call, NULL, LIBRA_TOKEN_LIVE, "a send libra does not frame");
			err = -ECONNRESET;
			break;
		}
	}
out:
	if (err == -ECONNRESET && !ls->dead)
		libra_tx_abort(call->sk, ls, false);
	if (!ls->dead) {
		libra_tx_held_update(ls);
		ls->tx_expect_seq = tcp_sk(call->sk)->write_seq;
		ls->tx_synced = true;
	}
	/* a reset call reports the reset, not what went before it */
	if (err == -ECONNRESET || err == -EPIPE)
		return err == -EPIPE && total ? total : err;
	return total ? total : err;
}

/*
 * Sends that must stay one stock call (MSG_ZEROCOPY's completion
 * notifications, MSG_OOB's urgent byte, MSG_FASTOPEN's connect): the egress
 * guard writes out the tokens they carry, the parser still follows them.
 * A region or held bytes in progress cannot be put in front of them: the
 * connection fails.
 */
static int libra_tx_one_call(struct libra_tx_call *call, size_t size)
{
	struct libra_sock *ls = call->ls;
	int ret;

	if (ls->role == LIBRA_ROLE_UNKNOWN && size)
		libra_sock_set_role(ls, LIBRA_ROLE_CLIENT);
	libra_tx_check_sync(ls, call->sk);
	call->buf = ls->tx_scan_buf;
	if (ls->tx_cont || ls->tx_owed_len) {
		libra_refuse_count(NULL, ls, "a MSG_ZEROCOPY/MSG_OOB send",
				   "a region or held bytes were in progress");
		ret = -ECONNRESET;
		goto out;
	}
	libra_tx_drop_successor(ls);
	ret = libra_tx_tls_check(call);
	if (ret)
		goto out;
	if (call->scan && libra_guard_iter(call->iter, size, ls, LIBRA_EGRESS_WHOLE,
					   "a MSG_ZEROCOPY/MSG_OOB send")) {
		ret = -ECONNRESET;
		goto out;
	}
	libra_tx_map(call);
	ret = tcp_sendmsg_locked(call->sk, call->src->msg, size);
	if (ret > 0 && !READ_ONCE(ls->dead)) {
		bool body;

		ls->tx_pos += ret;
		/* the bodies it sent are behind: room for the parser to map more */
		libra_tx_span(ls, ls->tx_pos, &body);
	}
out:
	if (ret == -ECONNRESET && !ls->dead)
		libra_tx_abort(call->sk, ls, false);
	if (!ls->dead) {
		ls->tx_expect_seq = tcp_sk(call->sk)->write_seq;
		ls->tx_synced = true;
	}
	return ret;
}

/*
 * Takes the socket's send claim, waiting (socket lock dropped) while
 * another send holds it, as long as the caller's send timeout allows.
 * Returns 0, or a negative errno (-ESTALE: the entry died while waiting;
 * the caller looks again).
 */
static int libra_tx_claim(struct sock *sk, struct libra_sock *ls, int flags)
{
	DEFINE_WAIT_FUNC(wait, woken_wake_function);
	long timeo = sock_sndtimeo(sk, flags & MSG_DONTWAIT);

	while (ls->tx_busy && !ls->dead) {
		if (!timeo)
			return -EAGAIN;
		if (signal_pending(current))
			return sock_intr_errno(timeo);
		add_wait_queue(&ls->tx_wait, &wait);
		release_sock(sk);
		timeo = wait_woken(&wait, TASK_INTERRUPTIBLE, timeo);
		lock_sock(sk);
		remove_wait_queue(&ls->tx_wait, &wait);
	}
	if (ls->dead)
		return -ESTALE;
	ls->tx_busy = true;
	return 0;
}

static void libra_tx_unclaim(struct sock *sk, struct libra_sock *ls)
{
	libra_tx_settle_at_release(sk, ls);
	ls->tx_busy = false;
	wake_up_all(&ls->tx_wait);
}

/*
 * The entry of @sk with the send claim, or NULL (stock path); *err if the
 * claim failed. Caller holds the socket lock (dropped while it waits).
 */
struct libra_sock *libra_tx_enter(struct sock *sk, int flags, int *err)
{
	struct libra_sock *ls;

	*err = 0;
	for (;;) {
		ls = libra_sock_get(sk, current);
		if (!ls)
			return NULL;
		*err = libra_tx_claim(sk, ls, flags);
		if (*err != -ESTALE)
			break;
		libra_sock_put(ls);
	}
	if (*err) {
		libra_sock_put(ls);
		return NULL;
	}
	return ls;
}

void libra_tx_leave(struct sock *sk, struct libra_sock *ls)
{
	libra_tx_unclaim(sk, ls);
	libra_sock_put(ls);
}

int libra_tx_sendmsg(struct sock *sk, struct msghdr *msg, size_t size)
{
	struct libra_tx_source src = { .msg = msg, .flags = msg->msg_flags };
	struct libra_tx_call call = { .sk = sk, .src = &src, .iter = &msg->msg_iter };
	bool scan = libra_proc_guarded(current);
	int ret;

	if (!size)
		return libra_sym.tcp_sendmsg(sk, msg, size);
	lock_sock(sk);
	call.ls = libra_tx_enter(sk, msg->msg_flags, &ret);
	if (!call.ls) {
		release_sock(sk);
		if (ret)
			return ret;
		/* no state (a TFO connect, no memory): the guard still looks */
		if (scan && libra_guard_iter(&msg->msg_iter, size, NULL, LIBRA_EGRESS_WHOLE, "a TCP send"))
			return -EIO;
		return libra_sym.tcp_sendmsg(sk, msg, size);
	}
	call.scan = scan;
	if (msg->msg_flags & (MSG_ZEROCOPY | MSG_FASTOPEN | MSG_OOB))
		ret = libra_tx_one_call(&call, size);
	else
		ret = libra_tx_run(&call);
	libra_tx_leave(sk, call.ls);
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

	iov_iter_bvec(&iter, ITER_SOURCE, &bv, 1, size);
	lock_sock(sk);
	call.ls = libra_tx_enter(sk, flags, &ret);
	if (!call.ls) {
		if (!ret)
			ret = libra_compat_send_page(sk, page, offset, size, flags, false);
		release_sock(sk);
		return ret;
	}
	call.scan = libra_proc_guarded(current);
	ret = libra_tx_run(&call);
	libra_tx_leave(sk, call.ls);
	release_sock(sk);
	return ret;
}
