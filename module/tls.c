// SPDX-License-Identifier: GPL-2.0
/*
 * TLS: a process that encrypts what it sends can carry a token into a TLS
 * record where no hook of libra's can see it (user-space TLS), so a process
 * seen speaking TLS gets no anchors from then on (rx.c asks
 * libra_proc_refuses_anchors()). Kernel TLS encrypts in the kernel, after the egress
 * guard has written out any token (egress.c), so its bytes are right; until
 * libra sends anchored pages through kernel TLS itself, a process using it
 * gets no anchors either.
 *
 * What marks a process, by its own sends only (what a remote peer sends
 * cannot switch libra off for anyone): a TLS handshake record at the very
 * start of what it sends on a TCP connection (a ServerHello, or a
 * ClientHello to an upstream), a TLS record at the start of a send on a
 * connection libra first saw mid-stream (one that predates the opt-in), a
 * send on a kernel-TLS socket, or a QUIC long-header packet (HTTP/3) sent
 * over UDP.
 *
 * Tokens it received before the mark may still be in its memory. At the
 * mark, every region still anchored for it is written out where its token
 * was received (egress.c's check first: token and untouched zero fill), so
 * a TLS record built later from that memory carries the real bytes: an
 * upload read from a plain client and then proxied to a TLS upstream is
 * right from the first byte. A region that cannot be written out there
 * (the program moved or copied it, as HAProxy copies what it receives)
 * poisons the process until it is gone: meanwhile any TLS record the
 * process sends on a TLS connection resets that connection (counted,
 * logged), since it might carry a copy. So does the very record that marks
 * the process on a connection that predates the opt-in, if the process held
 * anchors then: it was encrypted before libra saw it.
 */
#include <linux/sched.h>
#include <linux/string.h>

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

	do {
		n = libra_anchor_grab_proc(p, batch, LIBRA_TLS_BATCH, skip);
		for (i = 0; i < n; i++) {
			struct libra_anchor *a = batch[i];

			/* a region left listed is stepped over next time */
			if (!a->uaddr || libra_materialize_at(a, a->uaddr, NULL)) {
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
 * @task (current) speaks TLS, as @bit says. Returns whether it held anchors
 * when it was first marked (never for a mark it already had).
 */
bool libra_tls_mark(struct task_struct *task, unsigned int bit, const char *how)
{
	struct libra_proc *p = libra_proc_get(task_tgid(task));
	bool first, had;

	if (!p)
		return false;
	first = !test_bit(LIBRA_PROC_TLS_USER, &p->flags) &&
		!test_bit(LIBRA_PROC_TLS_KERNEL, &p->flags);
	if (!libra_proc_flag(p, bit) || !first)
		return false;
	libra_stat_inc(LIBRA_STAT_TLS_PROCESSES);
	had = READ_ONCE(p->nr_anchors);
	pr_info("%s[%d] %s: it gets no anchors from now on%s\n", task->comm, task_tgid_nr(task), how,
		bit == LIBRA_PROC_TLS_USER ?
		" (kernel TLS would let libra stand aside less: nginx 'ssl_conf_command Options KTLS;')" : "");
	if (had)
		libra_tls_materialize_all(p);
	return had;
}

/*
 * Whether @task must get no anchors, and the counter that says why: it
 * speaks TLS, or it sent a token where libra does not follow the framing
 * (egress.c).
 */
bool libra_proc_refuses_anchors(struct task_struct *task, enum libra_stat *why)
{
	struct libra_proc *p;
	unsigned long flags;

	rcu_read_lock();
	p = libra_proc_lookup(task_tgid(task));
	flags = p ? READ_ONCE(p->flags) : 0;
	rcu_read_unlock();
	if (flags & (BIT(LIBRA_PROC_TLS_USER) | BIT(LIBRA_PROC_TLS_KERNEL))) {
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
