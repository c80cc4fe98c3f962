// SPDX-License-Identifier: GPL-2.0
/*
 * Anchors: body bytes taken off a receive queue without copying them to user
 * space, held as page references until the receiving process sends them on.
 *
 * What may be held by reference follows the splice rules: page fragments of
 * an skb whose frags are not shared with a sender that may still write them
 * (SKBFL_SHARED_FRAG: sendpage/splice'd pages), and a linear head only when
 * it lives in a page fragment (head_frag). Anything else — a kmalloc'd head,
 * shared frags, a page sendpage_ok() refuses — is copied into fresh pages,
 * which still spares the copy to user space; device memory the CPU cannot
 * read is not anchored at all.
 *
 * Every anchor belongs to one HTTP message (struct libra_msg: its regions,
 * where it arrived, whether any of it went out and when last) and to the
 * process that received it (struct libra_proc). It goes away:
 *  - sent in full (a response body part is never sent twice); a request
 *    body's stays, since a proxy may resend a request to another upstream,
 *    until the response to it completes or the connection it came on ends;
 *  - when the connection a message was going out on goes away: the rest of
 *    that message can never be sent;
 *  - when the connection a message arrived on goes away before any region
 *    of it went out (a client that reset after the headers: the proxy
 *    closes the upstream and drops the body);
 *  - when its message was idle (no region of it arrived or went out) for
 *    anchor_unsent_ms, if none of it ever went out and its first token is
 *    no longer where it was written (a response the proxy dropped while
 *    keeping both connections open), or for anchor_idle_ms otherwise, or
 *    for a request body (the proxy may still be connecting upstream). A
 *    token still in place is a response the proxy holds behind earlier ones
 *    on a slow connection (pipelining, HTTP/2 streams); while anchored
 *    memory is over half the budget it goes at anchor_unsent_ms all the
 *    same. A token whose anchor expired is refused where it shows up (the
 *    call fails), never sent as bytes;
 *  - when its process is gone, or at unload.
 * libra_anchor_table holds one reference on every live anchor; a sender
 * takes another for as long as it uses one. The anchors of one receive (the
 * buffers of a readv()) share one struct libra_pages: it stays charged until
 * the last of them is released (@holders), and pinned until the last is
 * freed after its RCU grace (@ref), as a lone anchor's pages always were.
 * While any anchor is live the module holds a reference on itself, so rmmod
 * refuses rather than free pages in flight.
 *
 * Locking: libra_anchor_lock (BH) guards the message table, every message,
 * the per-process anchor lists and counts (struct libra_proc), and the
 * links of every anchor; lookups by id are RCU. libra_proc_lock nests
 * inside it.
 */
#include <linux/bvec.h>
#include <linux/hashtable.h>
#include <linux/highmem.h>
#include <linux/jiffies.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/pid.h>
#include <linux/sched.h>
#include <linux/sched/task.h>
#include <linux/skbuff.h>
#include <linux/slab.h>
#include <linux/workqueue.h>
#include <net/tcp.h>

#include "compat.h"
#include "libra.h"

static unsigned long anchor_limit_mb = 256;
module_param(anchor_limit_mb, ulong, 0644);
MODULE_PARM_DESC(anchor_limit_mb, "Anchored memory limit in MiB; past it bodies are copied as usual");

static unsigned int anchor_unsent_ms = 5000;
module_param(anchor_unsent_ms, uint, 0644);
MODULE_PARM_DESC(anchor_unsent_ms,
		 "A response none of whose anchored regions went out, and whose first token is gone from where it was written, is released after this many ms idle");

static unsigned int anchor_idle_ms = 120000;
module_param(anchor_idle_ms, uint, 0644);
MODULE_PARM_DESC(anchor_idle_ms,
		 "A message partly sent, or a request body, is released after this many ms idle");

/* One HTTP message with anchored regions. Under libra_anchor_lock. */
struct libra_msg {
	struct hlist_node node;		/* libra_msgs */
	struct list_head idle_node;	/* libra_msgs_idle: least recently active first */
	struct list_head anchors;	/* its live anchors */
	u64 id;
	unsigned long active;		/* jiffies: a region of it last arrived or went out */
	bool started;			/* a region of it went out */
	bool request;			/* a request body: the proxy may still be connecting upstream */
	bool held;			/* unsent at anchor_unsent_ms, its first token still in place */
};

#define LIBRA_ANCHOR_HASH_BITS 12
static DEFINE_HASHTABLE(libra_anchor_table, LIBRA_ANCHOR_HASH_BITS);
static DEFINE_HASHTABLE(libra_msgs, LIBRA_ANCHOR_HASH_BITS);
static LIST_HEAD(libra_msgs_idle);
static atomic64_t libra_anchor_next_msg_id = ATOMIC64_INIT(0);
/*
 * Messages abandoned lately: a proxy may still read the rest of such a body
 * after the connection it was going to is gone; that rest is copied, not
 * anchored, since it can never be sent. Best effort: an anchor made of a
 * message the ring forgot expires like any unsent one.
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

/* The parameter is MiB; a value whose bytes would not fit in 64 bits means no limit to speak of. */
u64 libra_anchor_limit(void)
{
	unsigned long mb = READ_ONCE(anchor_limit_mb);

	return mb > (U64_MAX >> 20) ? U64_MAX : (u64)mb << 20;
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

u64 notrace libra_anchors_now(void)
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

static void libra_pages_free(struct libra_pages *p)
{
	u32 i;

	for (i = 0; i < p->nr_pieces; i++)
		put_page(p->pieces[i].bv_page);
	libra_scope_put(p->scope);
	kvfree(p);
}

static void libra_pages_release(struct kref *ref)
{
	libra_pages_free(container_of(ref, struct libra_pages, ref));
}

/* The memory goes with the last anchor over the pages, after its RCU grace, as an anchor's does. */
static void libra_pages_put(struct libra_pages *p)
{
	kref_put(&p->ref, libra_pages_release);
}

/* The charge goes when the last anchor over the pages is released (or discarded), as an anchor's did. */
static void libra_pages_unhold(struct libra_pages *p)
{
	if (atomic_dec_and_test(&p->holders)) {
		atomic64_sub(p->charged, &libra_anchored_bytes);
		libra_scope_uncharge(p->scope, p->charged);
	}
}

static void libra_anchor_release(struct kref *ref);

static void libra_anchor_free(struct libra_anchor *a)
{
	if (a->next)
		kref_put(&a->next->ref, libra_anchor_release);
	if (a->pages)
		libra_pages_put(a->pages);
	put_pid(a->owner);
	libra_scope_put(a->scope);
	kfree(a->spare_msg);
	kfree(a);
}

static void libra_anchor_free_rcu(struct rcu_head *rcu)
{
	libra_anchor_free(container_of(rcu, struct libra_anchor, rcu));
}

static void libra_anchor_release(struct kref *ref)
{
	struct libra_anchor *a = container_of(ref, struct libra_anchor, ref);

	libra_pages_unhold(a->pages);
	libra_scope_add(a->scope, LIBRA_STAT_ANCHORS_RELEASED, 1);
	call_rcu(&a->rcu, libra_anchor_free_rcu);
	if (atomic_dec_and_test(&libra_anchor_count))
		module_put(THIS_MODULE);
}

void libra_anchor_put(struct libra_anchor *a)
{
	kref_put(&a->ref, libra_anchor_release);
}

static struct libra_msg *libra_msg_find(u64 id)
{
	struct libra_msg *m;

	lockdep_assert_held(&libra_anchor_lock);
	hash_for_each_possible(libra_msgs, m, node, id)
		if (m->id == id)
			return m;
	return NULL;
}

/*
 * Unlinks @a from the tables, its message and its process; true if it was
 * linked (the caller then owns the table's reference). A message goes with
 * its last anchor.
 */
static bool libra_anchor_unlink(struct libra_anchor *a)
{
	struct libra_msg *m = a->msg;

	lockdep_assert_held(&libra_anchor_lock);
	if (hlist_unhashed(&a->node))
		return false;
	hash_del_rcu(&a->node);
	list_del(&a->msg_node);
	list_del(&a->proc_node);
	WRITE_ONCE(a->proc->nr_anchors, a->proc->nr_anchors - 1);
	WRITE_ONCE(a->proc->anchored_bytes, a->proc->anchored_bytes - a->charged);
	if (a->poisoned)
		WRITE_ONCE(a->proc->poisoned, a->proc->poisoned - 1);
	a->msg = NULL;
	if (list_empty(&m->anchors)) {
		hash_del(&m->node);
		list_del(&m->idle_node);
		kfree(m);
	}
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

/* Moves @a to @dead if it is linked; under the lock. */
static void libra_anchor_doom(struct libra_anchor *a, struct hlist_head *dead, bool expired)
{
	if (!libra_anchor_unlink(a))
		return;
	hlist_add_head(&a->dead, dead);
	if (expired)
		libra_scope_add(a->scope, LIBRA_STAT_ANCHORS_EXPIRED, 1);
}

/* Puts every anchor on @dead, which the caller filled under the lock. */
static void libra_anchor_put_all(struct hlist_head *dead)
{
	struct libra_anchor *a;
	struct hlist_node *tmp;

	hlist_for_each_entry_safe(a, tmp, dead, dead)
		libra_anchor_put(a);
}

/* Dooms every anchor of @m (it may be freed with its last anchor). */
static void libra_msg_doom(struct libra_msg *m, struct hlist_head *dead, bool expired,
			   bool (*keep)(const struct libra_anchor *a))
{
	struct libra_anchor *a, *tmp;

	list_for_each_entry_safe(a, tmp, &m->anchors, msg_node) {
		bool last = list_is_last(&a->msg_node, &m->anchors);

		if (!keep || !keep(a))
			libra_anchor_doom(a, dead, expired);
		if (last)
			break;	/* @m may be gone */
	}
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
	struct libra_msg *m;
	HLIST_HEAD(dead);

	spin_lock_bh(&libra_anchor_lock);
	WRITE_ONCE(libra_abandoned_msgs[libra_abandoned_next], msg_id);
	libra_abandoned_next = (libra_abandoned_next + 1) % LIBRA_ABANDONED_MSGS;
	m = libra_msg_find(msg_id);
	if (m)
		libra_msg_doom(m, &dead, false, NULL);
	spin_unlock_bh(&libra_anchor_lock);
	libra_anchor_put_all(&dead);
}

/*
 * The anchor a token names, referenced, with *why LIVE (the caller's) or
 * FOREIGN (another process's: only its descendants may have its tokens,
 * libra_anchor_ancestral()); or NULL with *why saying what the token is:
 * not libra's (forged, damaged, or bytes that merely look like one: the
 * program's own bytes), or libra's with its anchor gone.
 */
struct libra_anchor *libra_anchor_lookup(const struct libra_token *tok, enum libra_token_verdict *why)
{
	struct libra_anchor *a, *found = NULL;

	if (!libra_token_valid(tok)) {
		*why = LIBRA_TOKEN_NOT_OURS;
		return NULL;
	}
	*why = LIBRA_TOKEN_GONE;
	rcu_read_lock();
	hash_for_each_possible_rcu(libra_anchor_table, a, node, tok->id) {
		if (a->id != tok->id || a->len != tok->len)
			continue;
		if (kref_get_unless_zero(&a->ref)) {
			found = a;
			*why = a->owner == task_tgid(current) ? LIBRA_TOKEN_LIVE : LIBRA_TOKEN_FOREIGN;
		}
		break;
	}
	rcu_read_unlock();
	return found;
}

/*
 * Whether @a's owner is an ancestor of the calling process: a fork child
 * holds its parent's tokens in the memory it was given, and stock would
 * have given it the bytes.
 */
bool libra_anchor_ancestral(const struct libra_anchor *a)
{
	struct task_struct *t = current;
	bool found = false;
	int depth;

	rcu_read_lock();
	for (depth = 0; depth < 64 && !found; depth++) {
		struct task_struct *parent = rcu_dereference(t->real_parent);

		if (!parent || parent == t)
			break;
		t = parent;
		found = task_tgid(t) == a->owner;
	}
	rcu_read_unlock();
	return found;
}

const char *libra_token_verdict_name(enum libra_token_verdict why)
{
	switch (why) {
	case LIBRA_TOKEN_LIVE:
		return "live";
	case LIBRA_TOKEN_NOT_OURS:
		return "not libra's (no MAC of this load)";
	case LIBRA_TOKEN_GONE:
		return "its anchor is gone (sent in full, released or expired)";
	case LIBRA_TOKEN_FOREIGN:
		return "another process's anchor";
	}
	return "?";
}

/* A region of @a's message starts going out (or is written out by copy): it is alive. */
void libra_anchor_touch(struct libra_anchor *a)
{
	spin_lock_bh(&libra_anchor_lock);
	if (a->msg) {
		a->msg->started = true;
		a->msg->active = jiffies;
		list_move_tail(&a->msg->idle_node, &libra_msgs_idle);
	}
	spin_unlock_bh(&libra_anchor_lock);
}

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

static bool libra_anchor_unsent(const struct libra_anchor *a)
{
	return !a->sent_once;
}

/*
 * The response to request @msg_id is complete: the parts of its body that
 * went upstream cannot be resent. Parts never sent stay until the connection
 * they arrived on ends, in case the proxy still streams them.
 */
void libra_anchor_release_answered(u64 msg_id)
{
	struct libra_msg *m;
	HLIST_HEAD(dead);

	spin_lock_bh(&libra_anchor_lock);
	m = libra_msg_find(msg_id);
	if (m)
		libra_msg_doom(m, &dead, false, libra_anchor_unsent);
	spin_unlock_bh(&libra_anchor_lock);
	libra_anchor_put_all(&dead);
}

/*
 * The connection with id @origin, adopted by @owner, is gone. Request
 * bodies that arrived on it can no longer be asked for again; response
 * bodies that arrived on it cut off (messages from @cut_from on, 0: none)
 * and of which nothing went out never will (the proxy gave up on the
 * message). A response that arrived whole may still go out after its
 * connection ended (a buffering proxy behind a slow client): it stays, for
 * the collector. Only @owner's anchors can have come from it.
 */
void libra_anchor_release_origin(u64 origin, struct pid *owner, u64 cut_from)
{
	struct libra_anchor *a, *tmp;
	struct libra_proc *p;
	HLIST_HEAD(dead);

	rcu_read_lock();
	p = libra_proc_lookup(owner);
	rcu_read_unlock();
	if (!p)
		return;
	spin_lock_bh(&libra_anchor_lock);
	list_for_each_entry_safe(a, tmp, &p->anchors, proc_node) {
		if (a->origin != origin)
			continue;
		if (a->resendable)
			libra_anchor_doom(a, &dead, false);
		else if (!a->msg->started && cut_from && a->msg_id >= cut_from)
			libra_anchor_doom(a, &dead, true);
	}
	spin_unlock_bh(&libra_anchor_lock);
	libra_anchor_put_all(&dead);
}

/*
 * References to up to @max live anchors of @p, oldest first, in @out;
 * returns how many. The caller puts each.
 */
unsigned int libra_anchor_grab_proc(struct libra_proc *p, struct libra_anchor **out,
				    unsigned int max, unsigned int skip)
{
	struct libra_anchor *a;
	unsigned int n = 0;

	spin_lock_bh(&libra_anchor_lock);
	list_for_each_entry(a, &p->anchors, proc_node) {
		if (n == max)
			break;
		if (skip) {
			skip--;
			continue;
		}
		if (kref_get_unless_zero(&a->ref))
			out[n++] = a;
	}
	spin_unlock_bh(&libra_anchor_lock);
	return n;
}

/*
 * @a could not be written out where its token was received, so a copy of
 * its token may be anywhere in the process's memory: until it is gone, TLS
 * the process sends may carry it (tls.c).
 */
void libra_anchor_poison(struct libra_anchor *a)
{
	spin_lock_bh(&libra_anchor_lock);
	if (!hlist_unhashed(&a->node) && !a->poisoned) {
		a->poisoned = true;
		WRITE_ONCE(a->proc->poisoned, a->proc->poisoned + 1);
	}
	spin_unlock_bh(&libra_anchor_lock);
}

/* Building the pages of a receive's anchors from the receive queue. */
struct libra_anchor_builder {
	struct libra_pages *p;
	u32 max_pieces;
	struct page *copy_page;	/* current page for bytes that must be copied */
	u32 copy_used;
	u64 copied;		/* bytes that went through copy_page */
	/*
	 * What the pieces pin: a reference holds the whole (compound) page, so
	 * the budget is charged the size of each distinct page, not the bytes
	 * of the region (the same page twice in a row is counted once).
	 */
	u64 charged;
	struct page *last_head;
};

static int libra_builder_add_ref(struct libra_anchor_builder *b, struct page *page,
				 u32 off, u32 len)
{
	struct libra_pages *p = b->p;
	struct bio_vec *last = p->nr_pieces ? &p->pieces[p->nr_pieces - 1] : NULL;

	if (last && last->bv_page == page && last->bv_offset + last->bv_len == off) {
		last->bv_len += len;
		return 0;
	}
	if (p->nr_pieces == b->max_pieces)
		return -E2BIG;
	if (compound_head(page) != b->last_head) {
		b->last_head = compound_head(page);
		b->charged += page_size(b->last_head);
	}
	get_page(page);
	p->pieces[p->nr_pieces++] = (struct bio_vec){ .bv_page = page, .bv_offset = off, .bv_len = len };
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
			b->copy_page = alloc_page(GFP_KERNEL_ACCOUNT);
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
	bool frags_ok = !skb_has_shared_frag(skb);
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
	/* device memory the CPU cannot read (devmem TCP): not libra's to hold */
	if (len && skb_shinfo(skb)->nr_frags && !libra_skb_frags_readable(skb))
		return -EINVAL;
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
 * The pages of @len bytes of @sk's receive queue from sequence @seq, pinned
 * and charged to @scope and the budget (NULL: over it, or out of memory).
 * *@copied says how many of the bytes had to be copied into fresh pages.
 */
static struct libra_pages *libra_pages_build(struct sock *sk, u32 seq, u32 len,
					     struct libra_scope *scope, u64 *copied)
{
	struct libra_anchor_builder b = { };
	struct sk_buff *skb, *first = skb_peek(&sk->sk_receive_queue);
	u32 pieces = 0, want = len, s = seq;
	int err = 0;

	if (!first)
		return NULL;
	skb = first;
	skb_queue_walk_from(&sk->sk_receive_queue, skb) {
		u32 start = TCP_SKB_CB(skb)->seq, end = start + skb->len;

		if (!want)
			break;	/* the queue is in sequence order: the rest lies beyond */
		if (!before(s, end))
			continue;
		pieces += libra_skb_count_pieces(skb);
		want -= min(want, end - s);
		s = end;
	}
	pieces += len / PAGE_SIZE + 1;	/* copied bytes may straddle pages */

	b.p = kvzalloc(struct_size(b.p, pieces, pieces), GFP_KERNEL_ACCOUNT);
	if (!b.p)
		return NULL;
	b.max_pieces = pieces;

	want = len;
	s = seq;
	skb = first;
	skb_queue_walk_from(&sk->sk_receive_queue, skb) {
		u32 start = TCP_SKB_CB(skb)->seq, end = start + skb->len, n;

		if (!before(s, end))
			continue;
		n = min(want, end - s);
		err = libra_builder_add_skb(&b, skb, s - start, n);
		if (err)
			break;
		want -= n;
		s += n;
		if (!want)
			break;
	}
	if (b.copy_page)
		put_page(b.copy_page);
	if (err || want)
		goto err_free;

	if (!libra_scope_charge(scope, b.charged)) {
		libra_scope_add(scope, LIBRA_STAT_FALLBACK_BUDGET, 1);
		goto err_free;
	}
	if (!libra_anchor_charge(b.charged)) {
		libra_scope_add(scope, LIBRA_STAT_FALLBACK_BUDGET, 1);
		libra_scope_uncharge(scope, b.charged);
		goto err_free;
	}
	kref_init(&b.p->ref);
	atomic_set(&b.p->holders, 1);	/* the build's own, as the reference */
	b.p->charged = b.charged;
	b.p->scope = libra_scope_get(scope);
	*copied = b.copied;
	return b.p;

err_free:
	libra_pages_free(b.p);
	return NULL;
}

/*
 * Anchors over @nr consecutive ranges of @sk's receive queue from sequence
 * @seq, of @lens[i] bytes each (the buffers of one readv(): a region and a
 * token each), for message @msg_id arriving on libra socket @origin, over
 * one set of pages built in one walk of the queue, without consuming the
 * bytes. The caller holds the socket lock and has checked those bytes are
 * queued. Returns how many were built into @out: the first ones, up to where
 * memory said no (none: the caller copies; also when the budget says no).
 * Everything publishing needs is allocated here, so that once the tokens
 * are in user space nothing can fail.
 */
unsigned int libra_anchor_build(struct sock *sk, u32 seq, const u32 *lens, unsigned int nr,
				u64 msg_id, u64 origin, struct libra_scope *scope,
				struct libra_anchor **out)
{
	struct libra_pages *pages;
	struct libra_proc *proc;
	u32 total = 0, piece = 0, off = 0, done = 0;
	u64 copied = 0, shared = 0;
	unsigned int i;

	sock_owned_by_me(sk);
	proc = libra_proc_get(task_tgid(current));
	if (!proc)
		return 0;
	for (i = 0; i < nr; i++)
		total += lens[i];
	pages = libra_pages_build(sk, seq, total, scope, &copied);
	if (!pages)
		return 0;
	for (i = 0; i < nr; i++) {
		struct libra_anchor *a = kzalloc(sizeof(*a), GFP_KERNEL_ACCOUNT);

		if (!a)
			break;
		/* the first carries the message: libra_anchor_publish() links them all at once */
		if (!i) {
			a->spare_msg = kzalloc(sizeof(*a->spare_msg), GFP_KERNEL_ACCOUNT);
			if (!a->spare_msg) {
				kfree(a);
				break;
			}
			a->page_copied = copied;
		}
		kref_get(&pages->ref);
		atomic_inc(&pages->holders);
		a->pages = pages;
		a->first_piece = piece;
		a->first_off = off;
		a->len = lens[i];
		/* its share of the charge, for its process's figures; the last takes the rest */
		done += lens[i];
		a->charged = (i + 1 < nr ? div_u64(pages->charged * done, total) : pages->charged) - shared;
		shared += a->charged;
		kref_init(&a->ref);
		a->scope = libra_scope_get(scope);
		a->owner = get_pid(task_tgid(current));
		a->proc = proc;
		a->id = libra_token_new_id();
		a->msg_id = msg_id;
		a->origin = origin;
		out[i] = a;
		off += lens[i];
		libra_pages_seek(pages, &piece, &off);
	}
	/* the build's own: the anchors hold theirs */
	libra_pages_unhold(pages);
	libra_pages_put(pages);
	return i;
}

/*
 * Copies @len bytes of @a's region from byte @off of it into @to, a piece
 * at a time; stops at the first piece @to does not take whole. Returns the
 * bytes of the pieces it took whole.
 */
u32 libra_anchor_copy_to_iter(const struct libra_anchor *a, u32 off, u32 len, struct iov_iter *to)
{
	struct libra_piece_iter it;
	struct bio_vec bv;
	u32 done = 0;

	libra_piece_iter_init(&it, a, off, len);
	while (libra_piece_next(&it, &bv)) {
		if (copy_page_to_iter(bv.bv_page, bv.bv_offset, bv.bv_len, to) != bv.bv_len)
			break;
		done += bv.bv_len;
	}
	return done;
}

/*
 * Publishes @nr built anchors of one message (libra_anchor_build()), whose
 * tokens went to user space at @uaddr[i] (0 if not user memory): from now
 * on their tokens find them.
 */
void libra_anchor_publish(struct libra_anchor **as, const unsigned long *uaddr, unsigned int nr)
{
	struct libra_anchor *first = as[0];
	struct libra_msg *m;
	unsigned int i;

	for (i = 0; i < nr; i++) {
		as[i]->uaddr = uaddr[i];
		if (as[i]->page_copied)
			libra_scope_add(as[i]->scope, LIBRA_STAT_FALLBACK_PAGE_COPIED, as[i]->page_copied);
	}
	libra_proc_flag(first->proc, LIBRA_PROC_TOKENS);
	if (atomic_add_return(nr, &libra_anchor_count) == nr)
		__module_get(THIS_MODULE);
	spin_lock_bh(&libra_anchor_lock);
	m = libra_msg_find(first->msg_id);
	if (!m) {
		m = first->spare_msg;
		first->spare_msg = NULL;
		m->id = first->msg_id;
		m->request = first->resendable;
		INIT_LIST_HEAD(&m->anchors);
		hash_add(libra_msgs, &m->node, m->id);
		list_add_tail(&m->idle_node, &libra_msgs_idle);
	}
	/* more of it arriving keeps it alive: a slow upload is not an abandoned one */
	m->active = jiffies;
	list_move_tail(&m->idle_node, &libra_msgs_idle);
	for (i = 0; i < nr; i++) {
		struct libra_anchor *a = as[i];

		if (i + 1 < nr) {
			kref_get(&as[i + 1]->ref);
			a->next = as[i + 1];
		}
		a->msg = m;
		list_add_tail(&a->msg_node, &m->anchors);
		list_add_tail(&a->proc_node, &a->proc->anchors);
		WRITE_ONCE(a->proc->nr_anchors, a->proc->nr_anchors + 1);
		WRITE_ONCE(a->proc->anchored_bytes, a->proc->anchored_bytes + a->charged);
		hash_add_rcu(libra_anchor_table, &a->node, a->id);
	}
	spin_unlock_bh(&libra_anchor_lock);
	kfree(first->spare_msg);
	first->spare_msg = NULL;
}

/* Drops an anchor that was built but never published (its token never reached user space). */
void libra_anchor_discard(struct libra_anchor *a)
{
	libra_pages_unhold(a->pages);
	libra_anchor_free(a);
}

/* The collector's walk: processes gone, messages idle too long. */
static void libra_anchor_collect_dead_procs(struct libra_proc *p, void *arg)
{
	struct libra_anchor *a, *tmp;

	if (!READ_ONCE(p->nr_anchors) || pid_has_task(p->tgid, PIDTYPE_TGID))
		return;
	spin_lock_bh(&libra_anchor_lock);
	list_for_each_entry_safe(a, tmp, &p->anchors, proc_node)
		libra_anchor_doom(a, arg, false);
	spin_unlock_bh(&libra_anchor_lock);
}

/*
 * Whether @a's token is still where it was written in its owner's memory:
 * what tells a response the proxy holds from one it dropped. Reads another
 * process's memory, so it may sleep; a page that cannot be read counts as
 * the token gone.
 */
static bool libra_anchor_token_in_place(const struct libra_anchor *a)
{
	struct libra_token want, got;
	struct task_struct *t;
	int n;

	t = get_pid_task(a->owner, PIDTYPE_TGID);
	if (!t)
		return false;
	n = access_process_vm(t, a->uaddr, &got, sizeof(got), 0);
	put_task_struct(t);
	libra_token_make(&want, a->id, a->len);
	return n == sizeof(got) && !memcmp(&got, &want, sizeof(got));
}

/* Unsent messages whose tokens one collector pass looks for; the rest wait a pass. */
#define LIBRA_UNSENT_CHECKS 16
struct libra_unsent_check {
	u64 msg_id;
	struct libra_anchor *first;	/* referenced */
};

/*
 * Whether @m, unsent at its deadline, is looked at before it goes: not
 * under budget pressure, and only if its first token went to user memory.
 */
static struct libra_anchor *libra_msg_to_check(struct libra_msg *m)
{
	struct libra_anchor *a;

	lockdep_assert_held(&libra_anchor_lock);
	if (atomic64_read(&libra_anchored_bytes) > libra_anchor_limit() / 2)
		return NULL;
	a = list_first_entry(&m->anchors, struct libra_anchor, msg_node);
	if (!a->uaddr)
		return NULL;
	kref_get(&a->ref);
	return a;
}

static void libra_anchor_collect(struct work_struct *work)
{
	unsigned long now = jiffies, unsent_wait = msecs_to_jiffies(READ_ONCE(anchor_unsent_ms)),
		      idle_wait = msecs_to_jiffies(READ_ONCE(anchor_idle_ms));
	struct libra_unsent_check checks[LIBRA_UNSENT_CHECKS];
	unsigned int i, nr_checks = 0;
	struct libra_msg *m, *tmp;
	HLIST_HEAD(dead);

	libra_proc_for_each(libra_anchor_collect_dead_procs, &dead);

	spin_lock_bh(&libra_anchor_lock);
	list_for_each_entry_safe(m, tmp, &libra_msgs_idle, idle_node) {
		bool unsent = !m->started && !m->request && !m->held;
		struct libra_anchor *first;

		if (time_before(now, m->active + min(unsent_wait, idle_wait)))
			break;	/* the rest were active later */
		if (time_before(now, m->active + (unsent ? unsent_wait : idle_wait)))
			continue;
		if (unsent && nr_checks == LIBRA_UNSENT_CHECKS)
			continue;
		first = unsent ? libra_msg_to_check(m) : NULL;
		if (first) {
			checks[nr_checks++] = (struct libra_unsent_check){ m->id, first };
			continue;
		}
		libra_msg_doom(m, &dead, true, NULL);
	}
	libra_proc_reap();
	spin_unlock_bh(&libra_anchor_lock);

	for (i = 0; i < nr_checks; i++) {
		bool held = libra_anchor_token_in_place(checks[i].first);

		spin_lock_bh(&libra_anchor_lock);
		m = libra_msg_find(checks[i].msg_id);
		/* it may have gone out, or more of it arrived, while its token was read */
		if (m && !m->started && held)
			m->held = true;
		else if (m && !m->started && !time_before(jiffies, m->active + unsent_wait))
			libra_msg_doom(m, &dead, true, NULL);
		spin_unlock_bh(&libra_anchor_lock);
		libra_anchor_put(checks[i].first);
	}
	libra_anchor_put_all(&dead);
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
