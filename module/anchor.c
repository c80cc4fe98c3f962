// SPDX-License-Identifier: GPL-2.0
/*
 * Anchors: body bytes taken off a receive queue without copying them to user
 * space, held as page references until the receiving process sends them on.
 *
 * What may be held by reference follows the splice rules: page fragments of
 * an skb whose frags are not shared with a sender that may still write them
 * (SKBFL_SHARED_FRAG: sendpage/splice'd pages), and a linear head only when
 * it lives in a page fragment (head_frag). Anything else — a kmalloc'd head,
 * shared or unreadable frags, a page sendpage_ok() refuses — is copied into
 * fresh pages, which still spares the copy to user space.
 *
 * Lifetime: libra_anchor_table holds one reference on every live anchor;
 * a sender takes another for as long as it uses one. The table's reference
 * goes when the anchor has been sent in full, when its process is gone (the
 * collector below), or at unload. While any anchor is live the module holds
 * a reference on itself, so rmmod refuses rather than free pages in flight.
 *
 * A response is never sent twice, so when the connection that was sending a
 * message's body goes away, whatever of that body is still anchored can
 * never be sent: libra_anchor_abandon_msg() lets it go.
 *
 * Locking: libra_anchor_lock guards both tables and the budget's peak;
 * lookups by id are RCU.
 */
#include <linux/bvec.h>
#include <linux/hashtable.h>
#include <linux/highmem.h>
#include <linux/module.h>
#include <linux/pid.h>
#include <linux/sched.h>
#include <linux/skbuff.h>
#include <linux/slab.h>
#include <linux/workqueue.h>
#include <net/tcp.h>

#include "compat.h"
#include "libra.h"

static unsigned long anchor_limit_mb = 256;
module_param(anchor_limit_mb, ulong, 0644);
MODULE_PARM_DESC(anchor_limit_mb, "Anchored memory limit in MiB; past it bodies are copied as usual");

#define LIBRA_ANCHOR_HASH_BITS 12
static DEFINE_HASHTABLE(libra_anchor_table, LIBRA_ANCHOR_HASH_BITS);
/* the same anchors by message, to drop a message's unsent rest at once */
static DEFINE_HASHTABLE(libra_anchor_msgs, LIBRA_ANCHOR_HASH_BITS);
static atomic64_t libra_anchor_next_msg_id = ATOMIC64_INIT(0);
/*
 * Messages abandoned lately: a proxy may still read the rest of such a body
 * after the connection it was going to is gone; that rest is copied, not
 * anchored, since it can never be sent.
 */
#define LIBRA_ABANDONED_MSGS 64
static u64 libra_abandoned_msgs[LIBRA_ABANDONED_MSGS];
static unsigned int libra_abandoned_next;
static DEFINE_SPINLOCK(libra_anchor_lock);
static atomic64_t libra_anchored_bytes = ATOMIC64_INIT(0);
static u64 libra_anchored_peak;
static atomic_t libra_anchor_count = ATOMIC_INIT(0);

static void libra_anchor_collect(struct work_struct *work);
static DECLARE_DELAYED_WORK(libra_anchor_collector, libra_anchor_collect);
#define LIBRA_ANCHOR_COLLECT_INTERVAL HZ

u64 libra_anchor_limit(void)
{
	return (u64)READ_ONCE(anchor_limit_mb) << 20;
}

/* Lowering the limit never evicts: it only stops new anchors past it. */
int libra_anchor_set_limit(u64 bytes)
{
	if (!bytes || bytes & ((1ULL << 20) - 1) || bytes >> 20 > ULONG_MAX)
		return -EINVAL;
	WRITE_ONCE(anchor_limit_mb, bytes >> 20);
	return 0;
}

u64 libra_anchored_now(void)
{
	return atomic64_read(&libra_anchored_bytes);
}

u64 libra_anchored_peak_bytes(void)
{
	return READ_ONCE(libra_anchored_peak);
}

u64 libra_anchors_now(void)
{
	return atomic_read(&libra_anchor_count);
}

/* Charges @bytes to the budget; false when that would pass the limit. */
static bool libra_anchor_charge(u64 bytes)
{
	u64 now = atomic64_add_return(bytes, &libra_anchored_bytes);

	if (now > libra_anchor_limit()) {
		atomic64_sub(bytes, &libra_anchored_bytes);
		return false;
	}
	if (now > READ_ONCE(libra_anchored_peak)) {
		spin_lock_bh(&libra_anchor_lock);
		if (now > libra_anchored_peak)
			WRITE_ONCE(libra_anchored_peak, now);
		spin_unlock_bh(&libra_anchor_lock);
	}
	return true;
}

static void libra_anchor_free(struct libra_anchor *a)
{
	u32 i;

	for (i = 0; i < a->nr_pieces; i++)
		put_page(a->pieces[i].bv_page);
	put_pid(a->owner);
	libra_scope_put(a->scope);
	kvfree(a);
}

static void libra_anchor_free_rcu(struct rcu_head *rcu)
{
	libra_anchor_free(container_of(rcu, struct libra_anchor, rcu));
}

static void libra_anchor_release(struct kref *ref)
{
	struct libra_anchor *a = container_of(ref, struct libra_anchor, ref);

	atomic64_sub(a->len, &libra_anchored_bytes);
	libra_scope_uncharge(a->scope, a->len);
	libra_proc_anchor_put(a->owner);
	libra_scope_add(a->scope, LIBRA_STAT_ANCHORS_RELEASED, 1);
	call_rcu(&a->rcu, libra_anchor_free_rcu);
	if (atomic_dec_and_test(&libra_anchor_count))
		module_put(THIS_MODULE);
}

void libra_anchor_put(struct libra_anchor *a)
{
	kref_put(&a->ref, libra_anchor_release);
}

/* Unlinks @a from both tables; true if it was linked. */
static bool libra_anchor_unlink(struct libra_anchor *a)
{
	lockdep_assert_held(&libra_anchor_lock);
	if (hlist_unhashed(&a->node))
		return false;
	hash_del_rcu(&a->node);
	hash_del(&a->msg_node);
	return true;
}

/* Drops the table's reference: the anchor can no longer be found. */
static void libra_anchor_unpublish(struct libra_anchor *a)
{
	bool was_published;

	spin_lock_bh(&libra_anchor_lock);
	was_published = libra_anchor_unlink(a);
	spin_unlock_bh(&libra_anchor_lock);
	if (was_published)
		libra_anchor_put(a);
}

/* Puts every anchor on @dead, which the caller filled under the lock. */
static void libra_anchor_put_all(struct hlist_head *dead)
{
	struct libra_anchor *a;
	struct hlist_node *tmp;

	hlist_for_each_entry_safe(a, tmp, dead, dead)
		libra_anchor_put(a);
}

u64 libra_anchor_new_msg_id(void)
{
	return atomic64_inc_return(&libra_anchor_next_msg_id);
}

bool libra_anchor_msg_abandoned(u64 msg_id)
{
	unsigned int i;

	for (i = 0; i < LIBRA_ABANDONED_MSGS; i++)
		if (READ_ONCE(libra_abandoned_msgs[i]) == msg_id)
			return true;
	return false;
}

/* The connection sending message @msg_id is gone: the rest of its body too. */
void libra_anchor_abandon_msg(u64 msg_id)
{
	struct libra_anchor *a;
	struct hlist_node *tmp;
	HLIST_HEAD(dead);

	spin_lock_bh(&libra_anchor_lock);
	WRITE_ONCE(libra_abandoned_msgs[libra_abandoned_next], msg_id);
	libra_abandoned_next = (libra_abandoned_next + 1) % LIBRA_ABANDONED_MSGS;
	hash_for_each_possible_safe(libra_anchor_msgs, a, tmp, msg_node, msg_id) {
		if (a->msg_id == msg_id && libra_anchor_unlink(a))
			hlist_add_head(&a->dead, &dead);
	}
	spin_unlock_bh(&libra_anchor_lock);
	libra_anchor_put_all(&dead);
}

/* The anchor a valid token names, referenced, or NULL. */
struct libra_anchor *libra_anchor_lookup(const struct libra_token *tok)
{
	struct libra_anchor *a, *found = NULL;

	if (!libra_token_valid(tok, current->tgid))
		return NULL;
	rcu_read_lock();
	hash_for_each_possible_rcu(libra_anchor_table, a, node, tok->id) {
		if (a->id == tok->id && a->len == tok->len &&
		    a->owner == task_tgid(current) && kref_get_unless_zero(&a->ref)) {
			found = a;
			break;
		}
	}
	rcu_read_unlock();
	return found;
}

/*
 * Why libra_anchor_lookup() found nothing for @tok, for the debug line of a
 * rejected token. Best effort: the table may have changed since.
 */
const char *libra_anchor_why_not(const struct libra_token *tok)
{
	const char *why = "no such anchor (sent in full, released, or never made)";
	struct libra_anchor *a;

	if (memcmp(tok->magic, LIBRA_TOKEN_MAGIC, sizeof(tok->magic)))
		return "no token magic";
	if (tok->reserved || tok->len < LIBRA_TOKEN_BYTES)
		return "malformed";
	if (!libra_token_valid(tok, current->tgid))
		return "bad MAC (damaged, forged, or another process's)";
	rcu_read_lock();
	hash_for_each_possible_rcu(libra_anchor_table, a, node, tok->id) {
		if (a->id != tok->id)
			continue;
		if (a->len != tok->len)
			why = "length mismatch";
		else if (a->owner != task_tgid(current))
			why = "another process's anchor";
		else
			why = "anchor being released";
		break;
	}
	rcu_read_unlock();
	return why;
}

/* Sent in full: a response body is never sent twice, so let it go. */
/*
 * All of @a went out. A response body's region cannot be needed again; a
 * request body's may be resent until its response is complete.
 */
void libra_anchor_sent(struct libra_anchor *a)
{
	if (!a->resendable) {
		libra_anchor_unpublish(a);
		return;
	}
	spin_lock_bh(&libra_anchor_lock);
	a->sent_once = true;
	spin_unlock_bh(&libra_anchor_lock);
}

/*
 * The response to request @msg_id is complete: the parts of its body that
 * went upstream cannot be resent. Parts never sent stay until the connection
 * they arrived on ends, in case the proxy still streams them.
 */
void libra_anchor_release_answered(u64 msg_id)
{
	struct libra_anchor *a;
	struct hlist_node *tmp;
	HLIST_HEAD(dead);

	spin_lock_bh(&libra_anchor_lock);
	hash_for_each_possible_safe(libra_anchor_msgs, a, tmp, msg_node, msg_id) {
		if (a->msg_id == msg_id && a->sent_once && libra_anchor_unlink(a))
			hlist_add_head(&a->dead, &dead);
	}
	spin_unlock_bh(&libra_anchor_lock);
	libra_anchor_put_all(&dead);
}

/* Releases every published anchor @match says yes to; a walk of the whole table. */
static void libra_anchor_release_if(bool (*match)(const struct libra_anchor *a, u64 arg),
				    u64 arg)
{
	struct libra_anchor *a;
	struct hlist_node *tmp;
	unsigned int bkt;
	HLIST_HEAD(dead);

	spin_lock_bh(&libra_anchor_lock);
	hash_for_each_safe(libra_anchor_table, bkt, tmp, a, node) {
		if (match(a, arg) && libra_anchor_unlink(a))
			hlist_add_head(&a->dead, &dead);
	}
	spin_unlock_bh(&libra_anchor_lock);
	libra_anchor_put_all(&dead);
}

static bool libra_anchor_from_origin(const struct libra_anchor *a, u64 origin)
{
	return a->resendable && a->origin == origin;
}

/* The connection request bodies arrived on is gone, and with it any resend. */
void libra_anchor_release_origin(u64 origin)
{
	libra_anchor_release_if(libra_anchor_from_origin, origin);
}

/* Building an anchor from the receive queue. */
struct libra_anchor_builder {
	struct libra_anchor *a;
	u32 max_pieces;
	struct page *copy_page;	/* current page for bytes that must be copied */
	u32 copy_used;
	u64 copied;		/* bytes that went through copy_page */
};

static int libra_builder_add_ref(struct libra_anchor_builder *b, struct page *page,
				 u32 off, u32 len)
{
	struct libra_anchor *a = b->a;
	struct bio_vec *last = a->nr_pieces ? &a->pieces[a->nr_pieces - 1] : NULL;

	if (last && last->bv_page == page && last->bv_offset + last->bv_len == off) {
		last->bv_len += len;
		return 0;
	}
	if (a->nr_pieces == b->max_pieces)
		return -E2BIG;
	get_page(page);
	a->pieces[a->nr_pieces++] = (struct bio_vec){ .bv_page = page, .bv_offset = off, .bv_len = len };
	return 0;
}

static int libra_builder_add_copy(struct libra_anchor_builder *b, const void *src, u32 len)
{
	while (len) {
		u32 n;
		int err;

		if (!b->copy_page || b->copy_used == PAGE_SIZE) {
			if (b->copy_page)
				put_page(b->copy_page);	/* the pieces hold their own refs */
			b->copy_page = alloc_page(GFP_KERNEL);
			if (!b->copy_page)
				return -ENOMEM;
			b->copy_used = 0;
		}
		n = min_t(u32, len, PAGE_SIZE - b->copy_used);
		memcpy_to_page(b->copy_page, b->copy_used, src, n);
		err = libra_builder_add_ref(b, b->copy_page, b->copy_used, n);
		if (err)
			return err;
		b->copy_used += n;
		b->copied += n;
		src += n;
		len -= n;
	}
	return 0;
}

static int libra_builder_add_page_copy(struct libra_anchor_builder *b, struct page *page,
				       u32 off, u32 len)
{
	while (len) {
		struct page *p = page + off / PAGE_SIZE;
		u32 poff = off % PAGE_SIZE, n = min_t(u32, len, PAGE_SIZE - poff);
		void *vaddr = kmap_local_page(p);
		int err = libra_builder_add_copy(b, vaddr + poff, n);

		kunmap_local(vaddr);
		if (err)
			return err;
		off += n;
		len -= n;
	}
	return 0;
}

/* Adds bytes [off, off + len) of @skb: head, frags, then frag_list. */
static int libra_builder_add_skb(struct libra_anchor_builder *b, const struct sk_buff *skb,
				 u32 off, u32 len)
{
	u32 headlen = skb_headlen(skb), pos = 0;
	bool frags_ok = !skb_has_shared_frag(skb) && libra_skb_frags_readable(skb);
	const struct sk_buff *frag_skb;
	int i, err;

	if (off < headlen) {
		u32 n = min(len, headlen - off);
		const u8 *p = skb->data + off;

		struct page *page = virt_to_head_page(p);

		if (skb->head_frag && sendpage_ok(page)) {
			err = libra_builder_add_ref(b, page, p - (u8 *)page_address(page), n);
		} else {
			err = libra_builder_add_copy(b, p, n);
		}
		if (err)
			return err;
		off += n;
		len -= n;
	}
	pos = headlen;
	for (i = 0; len && i < skb_shinfo(skb)->nr_frags; i++) {
		const skb_frag_t *frag = &skb_shinfo(skb)->frags[i];
		u32 fsize = skb_frag_size(frag), n, foff;
		struct page *page;

		if (off >= pos + fsize) {
			pos += fsize;
			continue;
		}
		foff = off - pos;
		n = min(len, fsize - foff);
		page = skb_frag_page(frag);
		if (frags_ok && sendpage_ok(page))
			err = libra_builder_add_ref(b, page, skb_frag_off(frag) + foff, n);
		else
			err = libra_builder_add_page_copy(b, page, skb_frag_off(frag) + foff, n);
		if (err)
			return err;
		off += n;
		len -= n;
		pos += fsize;
	}
	skb_walk_frags(skb, frag_skb) {
		u32 flen = frag_skb->len, n;

		if (!len)
			break;
		if (off >= pos + flen) {
			pos += flen;
			continue;
		}
		n = min(len, pos + flen - off);
		err = libra_builder_add_skb(b, frag_skb, off - pos, n);
		if (err)
			return err;
		off += n;
		len -= n;
		pos += flen;
	}
	return len ? -EINVAL : 0;
}

static u32 libra_skb_count_pieces(const struct sk_buff *skb)
{
	const struct sk_buff *frag_skb;
	u32 n = 2 + skb_shinfo(skb)->nr_frags * 2;

	skb_walk_frags(skb, frag_skb)
		n += libra_skb_count_pieces(frag_skb);
	return n;
}

/*
 * An anchor over @len bytes of @sk's receive queue from sequence @seq,
 * without consuming them. The caller holds the socket lock and has checked
 * those bytes are queued. NULL when the budget or memory says no: then the
 * caller copies.
 */
struct libra_anchor *libra_anchor_build(struct sock *sk, u32 seq, u32 len, u64 msg_id,
					struct libra_scope *scope)
{
	struct libra_anchor_builder b = { };
	struct sk_buff *skb;
	u32 pieces = 0, want = len, s = seq;
	int err = 0;

	sock_owned_by_me(sk);
	if (!libra_scope_charge(scope, len)) {
		libra_scope_add(scope, LIBRA_STAT_FALLBACK_BUDGET, 1);
		return NULL;
	}
	if (!libra_anchor_charge(len)) {
		libra_scope_add(scope, LIBRA_STAT_FALLBACK_BUDGET, 1);
		goto err_uncharge_scope;
	}
	skb_queue_walk(&sk->sk_receive_queue, skb) {
		u32 start = TCP_SKB_CB(skb)->seq, end = start + skb->len;

		if (!before(s, end) || !want)
			continue;
		pieces += libra_skb_count_pieces(skb);
		want -= min(want, end - s);
		s = end;
	}
	pieces += len / PAGE_SIZE + 1;	/* copied bytes may straddle pages */

	b.a = kvzalloc(struct_size(b.a, pieces, pieces), GFP_KERNEL);
	if (!b.a)
		goto err_uncharge;
	b.a->scope = libra_scope_get(scope);
	b.a->len = len;
	b.max_pieces = pieces;

	want = len;
	s = seq;
	skb_queue_walk(&sk->sk_receive_queue, skb) {
		u32 start = TCP_SKB_CB(skb)->seq, end = start + skb->len, n;

		if (!before(s, end) || !want)
			continue;
		n = min(want, end - s);
		err = libra_builder_add_skb(&b, skb, s - start, n);
		if (err)
			break;
		want -= n;
		s += n;
	}
	if (b.copy_page)
		put_page(b.copy_page);
	if (err || want)
		goto err_free;

	kref_init(&b.a->ref);
	b.a->owner = get_pid(task_tgid(current));
	b.a->id = libra_token_new_id();
	b.a->msg_id = msg_id;
	if (b.copied)
		libra_scope_add(scope, LIBRA_STAT_FALLBACK_PAGE_COPIED, b.copied);
	return b.a;

err_free:
	b.a->owner = NULL;
	libra_anchor_free(b.a);
err_uncharge:
	atomic64_sub(len, &libra_anchored_bytes);
err_uncharge_scope:
	libra_scope_uncharge(scope, len);
	return NULL;
}

/* Publishes a built anchor: from now on its token finds it. */
void libra_anchor_publish(struct libra_anchor *a)
{
	if (atomic_inc_return(&libra_anchor_count) == 1)
		__module_get(THIS_MODULE);
	libra_proc_anchor_get(a->owner);
	spin_lock_bh(&libra_anchor_lock);
	hash_add_rcu(libra_anchor_table, &a->node, a->id);
	hash_add(libra_anchor_msgs, &a->msg_node, a->msg_id);
	spin_unlock_bh(&libra_anchor_lock);
}

/* Drops an anchor that was built but never published (its token never reached user space). */
void libra_anchor_discard(struct libra_anchor *a)
{
	atomic64_sub(a->len, &libra_anchored_bytes);
	libra_scope_uncharge(a->scope, a->len);
	libra_anchor_free(a);
}

/* Anchors whose process has exited can never be sent: collect them. */
static bool libra_anchor_owner_gone(const struct libra_anchor *a, u64 unused)
{
	bool alive;

	rcu_read_lock();
	alive = pid_task(a->owner, PIDTYPE_TGID) != NULL;
	rcu_read_unlock();
	return !alive;
}

static void libra_anchor_collect(struct work_struct *work)
{
	libra_anchor_release_if(libra_anchor_owner_gone, 0);
	schedule_delayed_work(&libra_anchor_collector, LIBRA_ANCHOR_COLLECT_INTERVAL);
}

void libra_anchor_init(void)
{
	schedule_delayed_work(&libra_anchor_collector, LIBRA_ANCHOR_COLLECT_INTERVAL);
}

/*
 * At unload nothing is live (live anchors pin the module), but the collector
 * and RCU callbacks may still be pending.
 */
void libra_anchor_exit(void)
{
	cancel_delayed_work_sync(&libra_anchor_collector);
	rcu_barrier();
}
