// SPDX-License-Identifier: GPL-2.0
/*
 * TLS: a process that encrypts what it sends can carry a token into a TLS
 * record where no hook of libra's can see it (user-space TLS). Kernel TLS
 * encrypts in the kernel, after libra has seen the plaintext: its sends go
 * through ktls.c, which sends whole regions from the anchored pages.
 *
 * Either way a TLS connection starts with a handshake built in user space
 * (OpenSSL sets up kernel TLS once the keys are known), and libra cannot
 * tell from its records whether application data will follow in user space
 * or through the kernel (TLS 1.3 encrypts its handshake too). So a
 * handshake record at the very start of what a process sends on a TCP
 * connection (a ServerHello, a ClientHello to an upstream) opens a
 * handshake on that socket: while any of its handshakes is open the
 * process gets no anchors (rx.c asks libra_proc_refuses_anchors()), and
 * the regions it holds are written out at the opening (below), so no
 * record it builds in the meantime can carry a token. The handshake ends
 * when kernel TLS is set up for sending on the socket (the process goes on
 * getting anchors), or when the connection ends without it: then the
 * process, unless it has set up kernel TLS before (a client that gave up
 * a handshake must not switch libra off for it), terminates TLS in user
 * space and is marked for good.
 *
 * What else marks a process for good, by its own sends only (what a
 * remote peer sends cannot switch libra off for anyone): a TLS record at
 * the start of a send on a connection libra first saw mid-stream (one that
 * predates the opt-in), or a QUIC long-header packet (HTTP/3) sent over
 * UDP.
 *
 * Tokens it received before may still be in its memory. At a mark or an
 * opening, every region still anchored for it is written out where its
 * token was received (egress.c's check first: token and untouched zero
 * fill), so a TLS record built later from that memory carries the real
 * bytes: an upload read from a plain client and then proxied to a TLS
 * upstream is right from the first byte. A region that cannot be written
 * out there (the program moved or copied it, as HAProxy copies what it
 * receives) poisons the process until it is gone: meanwhile any TLS
 * application data record the process sends in user space resets that
 * connection (counted, logged), since it might carry a copy. So does the
 * very record that marks the process on a connection that predates the
 * opt-in, if the process held anchors then: it was encrypted before libra
 * saw it.
 */
#include <linux/sched.h>
#include <linux/string.h>
#include <net/sock.h>

#include "libra.h"

/*
 * Whether @b (@n bytes, at least 3 needed) starts like a TLS record: a
 * content type (handshake only, if @handshake), version 3.x, and a length
 * a record may have.
 */
bool libra_tls_record_start(const u8 *b, u32 n, bool handshake)
{
	if (n < 3 || b[1] != 3 || b[2] > 4)
		return false;
	if (handshake ? b[0] != 0x16 : b[0] < 0x14 || b[0] > 0x18)
		return false;
	return n < 5 || ((u32)b[3] << 8 | b[4]) <= 16384 + 2048;
}

/*
 * Whether @b (@n bytes, at least 5 needed) starts a QUIC long-header packet
 * (an Initial or Handshake: header form and fixed bits set) of version 1, 2
 * or a draft: HTTP/3, whose TLS is built in user space like any other.
 */
bool libra_quic_long_header(const u8 *b, u32 n)
{
	u32 version;

	if (n < 5 || (b[0] & 0xc0) != 0xc0)
		return false;
	version = (u32)b[1] << 24 | (u32)b[2] << 16 | (u32)b[3] << 8 | b[4];
	return version == 1 || version == 0x6b3343cf || (version >> 8) == 0xff0000;
}

/*
 * Whether @b (@n bytes, at least 9 needed) starts an HTTP/2 connection as
 * its sender: the client preface, or a server's SETTINGS frame (length a
 * multiple of 6, type 4, no flags, stream 0).
 */
bool libra_h2_start(const u8 *b, u32 n)
{
	u32 len;

	if (n >= 9 && !memcmp(b, "PRI * HTT", 9))
		return true;
	if (n < 9 || b[3] != 0x04 || b[4] || b[5] || b[6] || b[7] || b[8])
		return false;
	len = (u32)b[0] << 16 | (u32)b[1] << 8 | b[2];
	return len % 6 == 0 && len <= 16384;
}

#define LIBRA_TLS_BATCH 32

/* Writes out every anchored region of @p that stands untouched where it was received. */
static void libra_tls_materialize_all(struct libra_proc *p)
{
	struct libra_anchor *batch[LIBRA_TLS_BATCH];
	unsigned int n, i, skip = 0;
	/*
	 * A kernel-TLS send holding the start of a token (ktls.c) cannot be
	 * told which region it is: none is written out under it (its rest would
	 * come as real bytes, and the start be taken for the program's own).
	 */
	bool held = libra_tx_proc_ktls_holding(p->tgid);

	do {
		n = libra_anchor_grab_proc(p, batch, LIBRA_TLS_BATCH, skip);
		for (i = 0; i < n; i++) {
			struct libra_anchor *a = batch[i];

			/* a region left listed is stepped over next time */
			if (held || !a->uaddr || libra_materialize_at(a, a->uaddr, NULL)) {
				libra_anchor_poison(a);
				skip++;
			} else if (a->resendable) {
				skip++;	/* a request body stays, for a resend */
			}
			libra_anchor_put(a);
		}
	} while (n == LIBRA_TLS_BATCH);
}

/*
 * @task (current) terminates TLS in user space: it gets no anchors from now
 * on. Returns whether it held anchors when it was first marked (never for
 * a mark it already had).
 */
bool libra_tls_mark(struct task_struct *task, const char *how)
{
	struct libra_proc *p = libra_proc_get(task_tgid(task));
	bool had;

	if (!p || !libra_proc_flag(p, LIBRA_PROC_TLS_USER))
		return false;
	libra_stat_inc(LIBRA_STAT_TLS_PROCESSES);
	had = READ_ONCE(p->nr_anchors);
	pr_info("%s[%d] %s: it gets no anchors from now on (kernel TLS would let libra go on: nginx 'ssl_conf_command Options KTLS;')\n",
		task->comm, task_tgid_nr(task), how);
	if (had)
		libra_tls_materialize_all(p);
	return had;
}

/* Handshakes open system-wide: the setsockopt hook looks only while there are. */
static atomic_t libra_tls_open = ATOMIC_INIT(0);

bool libra_tls_handshakes_open(void)
{
	return atomic_read(&libra_tls_open);
}

/*
 * Current sent the first record of a TLS handshake on @ls: no anchors for
 * it until the handshake ends. Caller holds the socket lock.
 */
void libra_tls_handshake_begin(struct libra_sock *ls)
{
	struct libra_proc *p = libra_proc_get(task_tgid(current));

	sock_owned_by_me(ls->sk);
	libra_sock_set_flag(ls, LIBRA_SOCKET_F_TLS);
	if (!p || ls->tls_tgid)
		return;
	libra_sock_set_flag(ls, LIBRA_SOCKET_F_TLS_HANDSHAKE);
	atomic_inc(&libra_tls_open);
	atomic_inc(&p->tls_handshakes);
	ls->tls_tgid = get_pid(task_tgid(current));
	if (!cmpxchg64(&p->tls_since_ns, 0, ktime_get_boottime_ns()))
		pr_info("%s[%d] sent a TLS handshake: no anchors while one is open; kernel TLS set up after it lets libra go on\n",
			current->comm, task_tgid_nr(current));
	/*
	 * Regions a kernel-TLS send is in the middle of (nginx's 16 KiB buffer
	 * cuts them) go on from the bytes written out (ktls.c checks them
	 * against the anchor); one whose token start such a send holds is not
	 * written out but poisons the process (libra_tls_materialize_all()).
	 */
	if (READ_ONCE(p->nr_anchors))
		libra_tls_materialize_all(p);
}

/*
 * The handshake open on @ls ends: with kernel TLS set up for sending on
 * it (@ktls; the socket lock held), or with the connection (any context:
 * nothing here sleeps or touches user memory).
 */
void libra_tls_handshake_end(struct libra_sock *ls, bool ktls)
{
	struct pid *tgid = xchg(&ls->tls_tgid, NULL);
	struct libra_proc *p;

	if (!tgid)
		return;
	if (ktls)
		WRITE_ONCE(ls->flags, ls->flags & ~LIBRA_SOCKET_F_TLS_HANDSHAKE);
	rcu_read_lock();
	p = libra_proc_lookup(tgid);
	if (p) {
		/* marked before the count drops: no window where anchors are given */
		if (ktls)
			libra_proc_flag(p, LIBRA_PROC_TLS_KERNEL);
		else if (!test_bit(LIBRA_PROC_TLS_KERNEL, &p->flags) &&
			 libra_proc_flag(p, LIBRA_PROC_TLS_USER)) {
			libra_stat_inc(LIBRA_STAT_TLS_PROCESSES);
			pr_info("pid %d ended a TLS connection that never set up kernel TLS: it terminates TLS in user space and gets no anchors from now on (nginx: 'ssl_conf_command Options KTLS;')\n",
				pid_nr(tgid));
		}
		smp_mb__before_atomic();
		atomic_dec(&p->tls_handshakes);
	}
	rcu_read_unlock();
	atomic_dec(&libra_tls_open);
	put_pid(tgid);
}

/*
 * setsockopt(SOL_TLS, TLS_TX) succeeded on @sk: kernel TLS takes over the
 * sends the handshake led to (OpenSSL sets it up as soon as the keys are
 * known), so the handshake open there ends now, before the process reads
 * the request whose response it will send that way.
 */
void libra_tls_tx_set_up(struct sock *sk)
{
	struct libra_sock *ls;

	lock_sock(sk);
	ls = libra_sock_lookup(sk);
	if (ls && ls->tls_tgid && libra_ktls_tx(sk)) {
		libra_sock_set_flag(ls, LIBRA_SOCKET_F_KTLS);
		libra_tls_handshake_end(ls, true);
	}
	release_sock(sk);
}

/*
 * Whether @task must get no anchors, and the counter that says why: it
 * terminates TLS in user space or has a handshake open, or it sent a token where libra does not follow the framing
 * (egress.c).
 */
bool libra_proc_refuses_anchors(struct task_struct *task, enum libra_stat *why)
{
	struct libra_proc *p;
	unsigned long flags;

	bool handshakes;

	rcu_read_lock();
	p = libra_proc_lookup(task_tgid(task));
	flags = p ? READ_ONCE(p->flags) : 0;
	handshakes = p && atomic_read(&p->tls_handshakes);
	rcu_read_unlock();
	if ((flags & BIT(LIBRA_PROC_TLS_USER)) || handshakes) {
		*why = LIBRA_STAT_FALLBACK_TLS;
		return true;
	}
	if (flags & BIT(LIBRA_PROC_UNFRAMED)) {
		*why = LIBRA_STAT_FALLBACK_EGRESS;
		return true;
	}
	return false;
}

/* Whether TLS records @task sends may carry a copy of a token (see above). */
bool libra_tls_proc_poisoned(struct task_struct *task)
{
	struct libra_proc *p;
	bool poisoned;

	rcu_read_lock();
	p = libra_proc_lookup(task_tgid(task));
	poisoned = p && READ_ONCE(p->poisoned);
	rcu_read_unlock();
	return poisoned;
}
