// SPDX-License-Identifier: GPL-2.0
/*
 * Bytes a send took but has not sent yet. A token cut off by the end of a
 * send call (a program splitting its own buffer, HAProxy's ring wrapping)
 * cannot be decided until the rest comes: its start is held (owed) and
 * decided with the next call's bytes, which must then go after it. Owed
 * bytes are settled before anything that follows them, at shutdown and at
 * close, or after tx_hold_ms when no more comes; a start that turns out to
 * be a token libra must not stand in for fails the connection.
 *
 * Locking: the socket lock and the send claim (tx.c): the hold timer and
 * shutdown leave owed bytes to a send in progress.
 */
#include <linux/module.h>
#include <linux/uio.h>
#include <linux/workqueue.h>
#include <net/sock.h>
#include <net/tcp.h>

#include "compat.h"
#include "tx.h"

/*
 * Sends @len bytes of libra's own memory (held bytes, on the stack), so they
 * are copied even when the caller's call splices its pages (sendfile() and
 * splice() on kernels without sendpage): a slab page cannot be spliced.
 */
int libra_tx_send_raw(struct sock *sk, int flags, const void *data, u32 len)
{
	struct msghdr msg = { .msg_flags = flags & ~(MSG_SPLICE_PAGES | MSG_ZEROCOPY) };
	struct kvec kv = { .iov_base = (void *)data, .iov_len = len };

	iov_iter_kvec(&msg.msg_iter, ITER_SOURCE, &kv, 1, len);
	return tcp_sendmsg_locked(sk, &msg, len);
}

/*
 * Sends the owed bytes, decided: as the anchor's (LIBRA_OWED_ANCHOR) or as
 * they are. Returns 0 when all went, or a negative errno. A send may drop
 * the socket lock while it waits for room: what it sends is copied first,
 * and the entry is checked again after.
 */
static int libra_tx_send_owed(struct sock *sk, struct libra_sock *ls, int flags)
{
	while (ls->tx_owed_len) {
		bool framing = ls->tx_owed_framing & 1;
		u8 run_bytes[LIBRA_TX_OWED_MAX];
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
			struct libra_anchor_part part = { ls->tx_cont, ls->tx_cont_off, run };

			kref_get(&part.a->ref);
			ret = libra_tx_send_anchor(sk, &part, 1, flags, flags & MSG_MORE);
			libra_anchor_put(part.a);
			if (READ_ONCE(ls->dead))
				return -EPIPE;
			if (ret > 0) {
				ls->tx_cont_off += ret;
				libra_sock_add(ls, LIBRA_STAT_BYTES_ZERO_COPY_SENT, ret);
			}
		} else {
			memcpy(run_bytes, ls->tx_owed, run);
			ret = libra_tx_send_raw(sk, flags, run_bytes, run);
			if (READ_ONCE(ls->dead))
				return -EPIPE;
		}
		if (ret <= 0)
			return ret ?: -EAGAIN;
		ret = min_t(u32, ret, ls->tx_owed_len);
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
 * taken), or a negative errno when the owed bytes could not all be sent
 * (-ECONNRESET: they were a token libra must not stand in for, and the
 * connection was reset).
 */
int libra_tx_settle_owed(struct libra_tx_call *call)
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
			 * after a 0xf7 of a copied body, 1 in 256): plain bytes.
			 * Decided before this call's bytes could lengthen them,
			 * which would hide a real token starting there from the
			 * scan that follows.
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
			if (have + got >= 8) {
				/* the whole magic, and no telling whether a token follows */
				libra_tx_refuse(call, NULL, LIBRA_TOKEN_GONE, "a held token start");
				return -ECONNRESET;
			}
			ls->tx_owed_state = LIBRA_OWED_RAW;
		} else {
			enum libra_token_verdict why;
			struct libra_anchor *a = libra_anchor_lookup(&tok, &why);

			if (a && why == LIBRA_TOKEN_FOREIGN) {
				/* an ancestor's token cut by a send: no memory to write it out in */
				libra_anchor_put(a);
				libra_tx_refuse(call, &tok, why, "a held token start");
				return -ECONNRESET;
			} else if (a && libra_tx_start_region(call, a, ls->tx_owed_msg_id)) {
				ls->tx_owed_state = LIBRA_OWED_ANCHOR;
			} else if (a) {
				/* a region of a stream libra does not frame: nowhere to continue it */
				libra_anchor_put(a);
				libra_tx_refuse(call, &tok, LIBRA_TOKEN_LIVE, "a held token start, unframed");
				return -ECONNRESET;
			} else if (why == LIBRA_TOKEN_NOT_OURS) {
				libra_sock_add(ls, LIBRA_STAT_TOKENS_REJECTED, 1);
				ls->tx_owed_state = LIBRA_OWED_RAW;
			} else {
				libra_tx_refuse(call, &tok, why, "a held token start");
				return -ECONNRESET;
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
u32 libra_tx_owe(struct libra_tx_call *call, u32 k)
{
	struct libra_sock *ls = call->ls;

	if (k >= LIBRA_TOKEN_BYTES || !libra_tx_peek(call, 0, ls->tx_owed, k))
		return 0;
	/* the message the token starts in: its region continues there */
	ls->tx_owed_msg_id = libra_tx_framed(ls) ? libra_tx_body_msg(ls, ls->tx_pos) : 0;
	libra_tx_consume(call, k);
	ls->tx_owed_len = k;
	ls->tx_owed_framing = 0;
	ls->tx_owed_state = LIBRA_OWED_CANDIDATE;
	return k;
}


/*
 * Sockets holding owed bytes. A shutdown or close settles them first (the
 * hooks redirect those calls while any socket is listed), and any hold is
 * settled after tx_hold_ms by libra_tx_hold_work if no send came first:
 * even where the framing promises more bytes, a program may take its time
 * (a chunked stream paced by its upstream), and stock would have sent them.
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
void libra_tx_held_update(struct libra_sock *ls)
{
	bool listed = !list_empty(&ls->tx_held_node);
	bool timed = ls->tx_owed_len && ls->tx_owed_state == LIBRA_OWED_CANDIDATE;

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

/* Whether a kernel-TLS socket of process @tgid holds bytes now (ktls.c). */
bool libra_tx_proc_ktls_holding(struct pid *tgid)
{
	struct libra_sock *ls;
	bool found = false;

	if (!libra_tx_any_held())
		return false;
	spin_lock_bh(&libra_tx_held_lock);
	list_for_each_entry(ls, &libra_tx_held, tx_held_node)
		if (ls->owner == tgid && (READ_ONCE(ls->flags) & LIBRA_SOCKET_F_KTLS)) {
			found = true;
			break;
		}
	spin_unlock_bh(&libra_tx_held_lock);
	return found;
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
	if (READ_ONCE(ls->flags) & LIBRA_SOCKET_F_KTLS) {
		err = libra_ktls_flush_held(sk, ls);
		libra_tx_held_update(ls);
		return err;
	}
	if (ls->tx_owed_state == LIBRA_OWED_CANDIDATE) {
		u8 start[LIBRA_TOKEN_BYTES];
		u32 body = libra_tx_owed_body(ls, start);

		/*
		 * The whole magic and no rest: it may be a token whose rest the
		 * program has not sent yet. Sent as bytes it would be wrong;
		 * the connection fails instead (the caller resets it).
		 */
		if (body >= 8) {
			libra_refuse_count(NULL, ls, "a send's last bytes",
					   "a token's start whose rest never came");
			return -ECONNRESET;
		}
		ls->tx_owed_state = LIBRA_OWED_RAW;
		ls->tx_raw_magic = body;	/* the next body bytes tell whether it was a token */
	}
	WRITE_ONCE(sk->sk_sndbuf, max(sndbuf, sk->sk_wmem_queued + (int)SKB_TRUESIZE(SKB_MAX_HEAD(0))));
	err = libra_tx_send_owed(sk, ls, MSG_DONTWAIT);
	WRITE_ONCE(sk->sk_sndbuf, sndbuf);
	ls->tx_expect_seq = tcp_sk(sk)->write_seq;	/* libra's own bytes: no desync */
	libra_tx_held_update(ls);
	return err;
}

/*
 * The program's next @got body bytes, @next, after a token start of
 * ls->tx_raw_magic bytes went out as bytes at its hold's expiry: whether
 * they complete a token of libra's. Then its start is on the wire and its
 * rest must not follow as the program's bytes: true, counted and logged
 * (the caller fails the connection). Bytes that only continue the magic
 * are decided with the next ones.
 */
bool libra_tx_raw_start_continues(struct libra_sock *ls, const u8 *next, u32 got)
{
	u32 m = ls->tx_raw_magic, want = LIBRA_TOKEN_BYTES - m;
	enum libra_token_verdict why;
	struct libra_token tok;
	struct libra_anchor *a;

	ls->tx_raw_magic = 0;
	if (memcmp(next, LIBRA_TOKEN_MAGIC + m, min(got, 8 - m)))
		return false;	/* the start was the program's own bytes */
	if (got < want && m + got < 8) {
		ls->tx_raw_magic = m + got;
		return false;
	}
	if (got >= want) {
		memcpy(&tok, LIBRA_TOKEN_MAGIC, m);
		memcpy((u8 *)&tok + m, next, want);
		a = libra_anchor_lookup(&tok, &why);
		if (a)
			libra_anchor_put(a);
		else if (why == LIBRA_TOKEN_NOT_OURS)
			return false;	/* the magic, in the program's own bytes */
	}
	libra_refuse_count(NULL, ls, "a send",
			   "a token whose start went out as bytes when its hold expired");
	return true;
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
	if (ls && ls->tx_busy) {
		/* a send is in progress: it settles them; look again later */
		spin_lock_bh(&libra_tx_held_lock);
		if (!list_empty(&ls->tx_held_node))
			ls->tx_hold_expires = jiffies + libra_tx_hold_jiffies();
		spin_unlock_bh(&libra_tx_held_lock);
	} else if (ls && ls->tx_owed_len && ls->tx_owed_state == LIBRA_OWED_CANDIDATE &&
		   !ls->tx_hold_expires && (READ_ONCE(ls->flags) & LIBRA_SOCKET_F_KTLS) &&
		   !sk_stream_is_writeable(sk)) {
		/*
		 * A kernel-TLS socket with no room: the program waits to be told
		 * it is writable and sends the rest then (nginx's 16 KiB buffer
		 * cuts tokens anywhere, and stops at a full socket). Its start
		 * sent now as bytes would be wrong; look again later.
		 */
		spin_lock_bh(&libra_tx_held_lock);
		if (!list_empty(&ls->tx_held_node))
			ls->tx_hold_expires = jiffies + libra_tx_hold_jiffies();
		spin_unlock_bh(&libra_tx_held_lock);
	} else if (ls && ls->tx_owed_len && ls->tx_owed_state == LIBRA_OWED_CANDIDATE &&
		   !ls->tx_hold_expires) {
		int err;

		libra_sock_add(ls, LIBRA_STAT_TX_HOLDS_EXPIRED, 1);
		err = libra_tx_flush_owed(sk, ls);
		if (err == -ECONNRESET) {
			libra_tx_abort(sk, ls, false);
		} else if (err) {
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


/* shutdown(SHUT_WR or SHUT_RDWR), before the stock tcp_shutdown(); inet_shutdown() holds the socket lock. */
void libra_tx_shutdown(struct sock *sk, int how)
{
	struct libra_sock *ls;

	sock_owned_by_me(sk);
	if (!(how & SEND_SHUTDOWN))
		return;
	ls = libra_sock_lookup(sk);
	/* with a send in progress, it settles them when it ends (libra_tx_settle_at_release) */
	if (ls && ls->tx_owed_len && !ls->tx_busy) {
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

/*
 * A send ends while the socket was shut down for writing under it (another
 * thread's shutdown() found the send in progress and left the owed bytes).
 */
void libra_tx_settle_at_release(struct sock *sk, struct libra_sock *ls)
{
	u8 shut = sk->sk_shutdown;

	if (!ls->tx_owed_len || !(shut & SEND_SHUTDOWN) || ls->dead)
		return;
	WRITE_ONCE(sk->sk_shutdown, shut & ~SEND_SHUTDOWN);
	if (libra_tx_flush_owed(sk, ls)) {
		WRITE_ONCE(sk->sk_shutdown, shut);
		libra_tx_abort(sk, ls, false);
		return;
	}
	WRITE_ONCE(sk->sk_shutdown, shut);
}

/*
 * close(), before the stock tcp_close() runs: no send can be in progress on
 * it. On a connection already reset by its peer the bytes have nowhere to
 * go and nothing is reset.
 */
void libra_tx_close(struct sock *sk)
{
	struct libra_sock *ls;

	lock_sock(sk);
	ls = libra_sock_lookup(sk);
	if (ls && ls->tx_owed_len && libra_tx_flush_owed(sk, ls) && !READ_ONCE(sk->sk_err) &&
	    sk->sk_state != TCP_CLOSE)
		libra_tx_abort(sk, ls, true);
	release_sock(sk);
}
