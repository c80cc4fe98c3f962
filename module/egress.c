// SPDX-License-Identifier: GPL-2.0
/*
 * The egress guard: every way bytes leave a process holding anchors that is
 * not libra's own HTTP/1.x send path.
 *
 * Libra sends anchored pages in place of a token only where it follows the
 * outgoing framing (tx.c, plain TCP). Anywhere else — a file, a pipe, an
 * AF_UNIX socket, a kernel-TLS socket, a TCP stream whose framing libra does
 * not know (FastCGI, h2c, WebSocket), MSG_ZEROCOPY — it cannot tell where a
 * region runs in the stream, so it does what the stock recv() would have
 * done, late: it writes the region's real bytes into the program's memory
 * where the token and its zero fill stand, and lets the stock path copy
 * them from there. A region is written only when it stands whole and
 * untouched inside one buffer the call was given (the token, then nothing
 * but the zero fill to the region's end): then those bytes can only be the
 * region, and the memory holds the stock bytes for whatever the program
 * does with it next. Where a region goes on past the buffer (HAProxy's ring
 * wrapping inside it), the call fails: libra never writes memory it was not
 * shown, however much it looks like the rest of a region. A process that
 * sends a token to a stream libra does not frame (not a file) gets no more
 * anchors, so this happens at most while the tokens it already holds drain.
 * Where that cannot be proved — the token's anchor is gone or another
 * process's, the region was changed in memory, the memory is not writable,
 * the token is in kernel memory (a page spliced from a file) — the call
 * fails with EIO and nothing of it is sent: counted (tokens_refused) and
 * logged with the reason. Bytes that only look like a token (no valid MAC)
 * are the program's own and go as they are.
 *
 * What the guard cannot see: a token copied somewhere only in part (the
 * zero fill alone carries nothing of the process's earlier data), memory
 * shared with another process, and TLS built in user space (tls.c).
 *
 * Runs in the caller's process context and may fault and sleep.
 */
#include <linux/highmem.h>
#include <linux/sched.h>
#include <linux/uaccess.h>
#include <linux/uio.h>

#include "compat.h"
#include "libra.h"

#define LIBRA_GUARD_CHUNK 512

/* Whether [uaddr, uaddr + len) of user memory is all zero. */
static bool libra_user_zero(unsigned long uaddr, u32 len)
{
	u8 buf[LIBRA_GUARD_CHUNK];

	while (len) {
		u32 n = min_t(u32, len, sizeof(buf));

		if (copy_from_user(buf, (const void __user *)uaddr, n))
			return false;
		if (memchr_inv(buf, 0, n))
			return false;
		uaddr += n;
		len -= n;
	}
	return true;
}

static int libra_materialize(struct libra_anchor *a, unsigned long uaddr, struct libra_sock *ls,
			     bool consume);

void libra_refuse_count(struct libra_scope *scope, struct libra_sock *ls, const char *where,
			const char *why)
{
	struct libra_proc *p;

	if (ls)
		libra_sock_add(ls, LIBRA_STAT_TOKENS_REFUSED, 1);
	else
		libra_scope_add(scope, LIBRA_STAT_TOKENS_REFUSED, 1);
	rcu_read_lock();
	p = libra_proc_lookup(task_tgid(current));
	if (p)
		atomic64_inc(&p->refused);
	rcu_read_unlock();
	pr_warn_ratelimited("%s[%d]: a token in %s could not be stood in for (%s): the call fails\n",
			    current->comm, task_tgid_nr(current), where, why);
}

/*
 * Writes @a's bytes into user memory at @uaddr, where its token stands
 * followed by the zero fill: checked first, so nothing is written unless
 * all of it is the untouched region. 0, or a negative errno (nothing
 * written, or the region partly written on a fault of the copy: the caller
 * fails its call either way).
 */
int libra_materialize_at(struct libra_anchor *a, unsigned long uaddr, struct libra_sock *ls)
{
	return libra_materialize(a, uaddr, ls, true);
}

/*
 * The same, where @consume says whether the bytes now leave for good (the
 * owner's own copy: the anchor counts as sent) or not (an ancestor's token
 * in a fork child's memory: the owner still holds its own).
 */
static int libra_materialize(struct libra_anchor *a, unsigned long uaddr, struct libra_sock *ls,
			     bool consume)
{
	struct libra_token tok;
	struct iov_iter to;
	struct libra_proc *p;
	u64 t0 = libra_clock();
	u32 done;

	if (copy_from_user(&tok, (const void __user *)uaddr, sizeof(tok)) ||
	    !libra_token_valid(&tok) || tok.id != a->id || tok.len != a->len)
		return -ENOENT;
	if (!libra_user_zero(uaddr + sizeof(tok), a->len - sizeof(tok)))
		return -EBUSY;
	iov_iter_ubuf(&to, ITER_DEST, (void __user *)uaddr, a->len);
	done = libra_anchor_copy_to_iter(a, 0, a->len, &to);
	libra_time_add(LIBRA_STAT_TIME_MATERIALIZE_NS, t0);
	if (done != a->len)
		return -EFAULT;
	if (ls)
		libra_sock_add(ls, LIBRA_STAT_BYTES_MATERIALIZED, a->len);
	else
		libra_scope_add(a->scope, LIBRA_STAT_BYTES_MATERIALIZED, a->len);
	rcu_read_lock();
	p = libra_proc_lookup(a->owner);
	if (p)
		atomic64_add(a->len, &p->materialized);
	rcu_read_unlock();
	if (consume) {
		libra_anchor_touch(a);
		libra_anchor_sent(a);
	}
	return 0;
}

/*
 * A process sent a token where libra does not follow the framing: the next
 * one it sends there may be cut where no hook can tell (a ring buffer
 * wrapping inside a region, framing inserted in it). It gets no more anchors
 * (rx.c), and the tokens it still holds are written out or refused as they
 * come. A file is not such a place: programs write regions to files whole.
 */
static void libra_guard_demote(enum libra_egress kind, const char *where)
{
	struct libra_proc *p;

	if (kind != LIBRA_EGRESS_STREAM)
		return;
	p = libra_proc_get(task_tgid(current));
	if (p && libra_proc_flag(p, LIBRA_PROC_UNFRAMED))
		pr_info("%s[%d] sent a token to %s, where libra does not follow the framing: it gets no anchors from now on\n",
			current->comm, task_tgid_nr(current), where);
}

/*
 * A candidate token at @uaddr, in a buffer of the call that ends at
 * @seg_end: written out (returns the region's length, to scan on after it),
 * left alone (not libra's: 0), or refused (-EIO). A region is written out
 * only whole inside that buffer: libra never writes memory the call was not
 * given, however much it looks like the rest of the region.
 */
static int libra_guard_token(unsigned long uaddr, unsigned long seg_end, struct libra_sock *ls,
			     enum libra_egress kind, const char *where)
{
	enum libra_token_verdict why;
	struct libra_token tok;
	struct libra_anchor *a;
	int err;

	/* read from memory, not from the call: the call may cut the token */
	if (copy_from_user(&tok, (const void __user *)uaddr, sizeof(tok)) ||
	    memcmp(tok.magic, LIBRA_TOKEN_MAGIC, sizeof(tok.magic)))
		return 0;
	a = libra_anchor_lookup(&tok, &why);
	if (!a && why == LIBRA_TOKEN_NOT_OURS)
		return 0;
	libra_guard_demote(kind, where);
	if (!a) {
		libra_refuse_count(NULL, ls, where, libra_token_verdict_name(why));
		return -EIO;
	}
	if (why == LIBRA_TOKEN_FOREIGN && !libra_anchor_ancestral(a)) {
		libra_refuse_count(a->scope, ls, where, libra_token_verdict_name(why));
		libra_anchor_put(a);
		return -EIO;
	}
	if (uaddr + a->len > seg_end || uaddr + a->len < uaddr) {
		libra_refuse_count(a->scope, ls, where, "its region goes on beyond the buffer sent");
		libra_anchor_put(a);
		return -EIO;
	}
	err = libra_materialize(a, uaddr, ls, why == LIBRA_TOKEN_LIVE);
	if (err)
		libra_refuse_count(a->scope, ls, where,
				   err == -EBUSY ? "its region was changed in memory" :
				   "its region could not be written where it stands");
	else
		err = a->len;
	libra_anchor_put(a);
	return err < 0 ? -EIO : err;
}

/* Scans [uaddr, uaddr + len) of user memory, in a buffer of the call that ends at @seg_end. */
static int libra_guard_user(unsigned long uaddr, size_t len, unsigned long seg_end,
			    struct libra_sock *ls, enum libra_egress kind, const char *where)
{
	u8 buf[LIBRA_GUARD_CHUNK];

	while (len) {
		size_t n = min_t(size_t, len, sizeof(buf)), i = 0;

		if (copy_from_user(buf, (const void __user *)uaddr, n))
			return 0;	/* the stock path reports the fault */
		while (i < n) {
			const u8 *p = memchr(buf + i, LIBRA_TOKEN_MAGIC[0], n - i);
			int ret;

			if (!p)
				break;
			i = p - buf;
			ret = libra_guard_token(uaddr + i, seg_end, ls, kind, where);
			if (ret < 0)
				return ret;
			if (ret) {
				/* the region's real bytes now: scan on after it */
				n = min_t(size_t, len, i + ret);
				break;
			}
			i++;
		}
		uaddr += n;
		len -= n;
	}
	return 0;
}

/* Scans pages (sendfile, splice): a live token there cannot be written out. */
static int libra_guard_bvec(const struct iov_iter *iter, size_t len, struct libra_sock *ls,
			    enum libra_egress kind, const char *where)
{
	const struct bio_vec *bv = iter->bvec;
	size_t skip = iter->iov_offset;
	unsigned long k;

	for (k = 0; len && k < iter->nr_segs; k++, bv++) {
		size_t off = skip, n;

		if (off >= bv->bv_len) {
			skip -= bv->bv_len;
			continue;
		}
		skip = 0;
		n = min(len, bv->bv_len - off);
		len -= n;
		while (n) {
			struct page *page = bv->bv_page + (bv->bv_offset + off) / PAGE_SIZE;
			u32 poff = (bv->bv_offset + off) % PAGE_SIZE;
			u32 take = min_t(size_t, n, PAGE_SIZE - poff), i = 0;
			u8 *vaddr = kmap_local_page(page);

			while (i + LIBRA_TOKEN_BYTES <= take) {
				const u8 *p = memchr(vaddr + poff + i, LIBRA_TOKEN_MAGIC[0], take - i);
				enum libra_token_verdict why;
				struct libra_token tok;
				struct libra_anchor *a;

				if (!p || p + LIBRA_TOKEN_BYTES > vaddr + poff + take)
					break;
				i = p - (vaddr + poff);
				memcpy(&tok, p, sizeof(tok));
				i++;
				if (memcmp(tok.magic, LIBRA_TOKEN_MAGIC, sizeof(tok.magic)))
					continue;
				a = libra_anchor_lookup(&tok, &why);
				if (a)
					libra_anchor_put(a);
				if (why != LIBRA_TOKEN_NOT_OURS) {
					kunmap_local(vaddr);
					libra_guard_demote(kind, where);
					libra_refuse_count(NULL, ls, where, "it is in a file's pages");
					return -EIO;
				}
			}
			kunmap_local(vaddr);
			off += take;
			n -= take;
		}
	}
	return 0;
}

/*
 * The guard over the first @len bytes @iter holds (it is not advanced).
 * @ls is the libra socket they go out on, if any, for its counters; @kind
 * says whether a token there demotes the process; @where names the path for
 * the log. Returns 0 when the bytes may go as memory now holds them, or
 * -EIO.
 */
int libra_guard_iter(const struct iov_iter *iter, size_t len, struct libra_sock *ls,
		     enum libra_egress kind, const char *where)
{
	size_t skip = iter->iov_offset;
	const struct iovec *iov;
	unsigned long k;
	int err = 0;

	len = min(len, iov_iter_count(iter));
	if (!len)
		return 0;
	if (iter_is_ubuf(iter)) {
		unsigned long base = (unsigned long)iter->ubuf;

		return libra_guard_user(base + skip, len, base + skip + iov_iter_count(iter),
					ls, kind, where);
	}
	if (iov_iter_is_bvec(iter))
		return libra_guard_bvec(iter, len, ls, kind, where);
	if (!iter_is_iovec(iter))
		return 0;	/* kernel memory of a kernel caller */
	iov = libra_iter_iov(iter);
	for (k = 0; len && k < iter->nr_segs && !err; k++, iov++) {
		unsigned long end = (unsigned long)iov->iov_base + iov->iov_len;
		unsigned long j;
		size_t n;

		if (skip >= iov->iov_len) {
			skip -= iov->iov_len;
			continue;
		}
		/* buffers that follow each other in memory are one buffer the call was given */
		for (j = k + 1; j < iter->nr_segs && (unsigned long)iov[j - k].iov_base == end; j++)
			end += iov[j - k].iov_len;
		n = min(len, iov->iov_len - skip);
		err = libra_guard_user((unsigned long)iov->iov_base + skip, n, end, ls, kind, where);
		len -= n;
		skip = 0;
	}
	return err;
}
