// SPDX-License-Identifier: GPL-2.0
/*
 * Processes libra knows: those that received tokens (or were forked from
 * one), those opted in that used a socket, and those seen speaking TLS.
 *
 * A process that ever received a token may hold one in its memory for the
 * rest of its life, live or spent, and so may a child it forks: every send
 * and write of such a process is looked at for tokens (LIBRA_PROC_TOKENS),
 * opted in or not, so that a spent token is refused rather than sent as
 * bytes. The hooks ask here on each call; with no such process anywhere,
 * the answer costs one atomic read.
 *
 * Lifetime: an entry is made on first need and stays while its process
 * lives (the TLS mark must outlast the anchors it stops); the anchor
 * collector (anchor.c) removes it once the process is gone and its anchors
 * are released. Entries are looked up under RCU and freed after a grace
 * period.
 *
 * Locking: libra_proc_lock guards the table. The anchor bookkeeping of an
 * entry (anchors, nr_anchors, anchored_bytes, poisoned) belongs to anchor.c
 * and is guarded by libra_anchor_lock, taken outside libra_proc_lock when
 * both are held. flags are atomic bit operations.
 */
#include <linux/hashtable.h>
#include <linux/kprobes.h>
#include <linux/pid.h>
#include <linux/rculist.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/sched/clock.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>

#include "libra.h"

#define LIBRA_PROC_HASH_BITS 8
static DEFINE_HASHTABLE(libra_procs, LIBRA_PROC_HASH_BITS);
static DEFINE_SPINLOCK(libra_proc_lock);
static atomic_t libra_proc_count = ATOMIC_INIT(0);
static atomic_t libra_proc_tokens = ATOMIC_INIT(0);	/* entries with LIBRA_PROC_TOKENS */

static struct libra_proc *libra_proc_find(struct pid *tgid)
{
	struct libra_proc *p;

	hash_for_each_possible_rcu(libra_procs, p, node, (unsigned long)tgid)
		if (p->tgid == tgid)
			return p;
	return NULL;
}

u32 libra_procs_known(void)
{
	return atomic_read(&libra_proc_count);
}

/* The entry of @tgid, if any. Caller in an RCU read section, or holding an anchor of it. */
struct libra_proc *libra_proc_lookup(struct pid *tgid)
{
	if (!atomic_read(&libra_proc_count))
		return NULL;
	return libra_proc_find(tgid);
}

/*
 * The entry of @tgid, made if there is none. Process context. NULL without
 * memory: the caller then does without (no anchor, no mark it could keep).
 */
struct libra_proc *libra_proc_get(struct pid *tgid)
{
	return libra_proc_get_gfp(tgid, GFP_KERNEL_ACCOUNT);
}

struct libra_proc *libra_proc_get_gfp(struct pid *tgid, gfp_t gfp)
{
	struct libra_proc *p, *fresh;

	rcu_read_lock();
	p = libra_proc_find(tgid);
	rcu_read_unlock();
	if (p)
		return p;
	fresh = kzalloc(sizeof(*fresh), gfp);
	if (!fresh)
		return NULL;
	fresh->tgid = get_pid(tgid);
	INIT_LIST_HEAD(&fresh->anchors);

	spin_lock_bh(&libra_proc_lock);
	p = libra_proc_find(tgid);
	if (!p) {
		p = fresh;
		fresh = NULL;
		hash_add_rcu(libra_procs, &p->node, (unsigned long)tgid);
		atomic_inc(&libra_proc_count);
	}
	spin_unlock_bh(&libra_proc_lock);
	if (fresh) {
		put_pid(fresh->tgid);
		kfree(fresh);
	}
	return p;
}

/* The hooks ask on every TCP send, socket send, file write and pipe write in the system. */
bool notrace libra_proc_guarded(struct task_struct *task)
{
	return atomic_read(&libra_proc_tokens) && libra_proc_flagged(task, LIBRA_PROC_TOKENS);
}

/*
 * A process forks (kprobe on wake_up_new_task, in the parent's context):
 * the child's memory is a copy of the parent's, tokens included.
 */
static int libra_proc_fork_probe(struct kprobe *kp, struct pt_regs *regs)
{
	struct task_struct *child = (struct task_struct *)regs_get_kernel_argument(regs, 0);
	struct libra_proc *p;

	if (!thread_group_leader(child) || !libra_proc_guarded(current))
		return 0;
	p = libra_proc_get_gfp(task_tgid(child), GFP_ATOMIC);
	if (p)
		libra_proc_flag(p, LIBRA_PROC_TOKENS);
	return 0;
}

static struct kprobe libra_proc_fork_kp = {
	.symbol_name = "wake_up_new_task",
	.pre_handler = libra_proc_fork_probe,
};

int libra_proc_init(void)
{
	int err = register_kprobe(&libra_proc_fork_kp);

	if (err)
		pr_err("cannot probe wake_up_new_task: %d\n", err);
	return err;
}

bool notrace libra_proc_flagged(struct task_struct *task, unsigned int bit)
{
	struct libra_proc *p;
	bool set;

	rcu_read_lock();
	p = libra_proc_lookup(task_tgid(task));
	set = p && test_bit(bit, &p->flags);
	rcu_read_unlock();
	return set;
}

/* Sets @bit on @p; true if it was not set before. */
bool libra_proc_flag(struct libra_proc *p, unsigned int bit)
{
	if (test_bit(bit, &p->flags) || test_and_set_bit(bit, &p->flags))
		return false;
	if (bit == LIBRA_PROC_TOKENS)
		atomic_inc(&libra_proc_tokens);
	if (bit == LIBRA_PROC_TLS_USER || bit == LIBRA_PROC_TLS_KERNEL)
		cmpxchg64(&p->tls_since_ns, 0, ktime_get_boottime_ns());
	return true;
}

static void libra_proc_free_rcu(struct rcu_head *rcu)
{
	struct libra_proc *p = container_of(rcu, struct libra_proc, rcu);

	put_pid(p->tgid);
	kfree(p);
}

static void libra_proc_unhash(struct libra_proc *p)
{
	lockdep_assert_held(&libra_proc_lock);
	hash_del_rcu(&p->node);
	atomic_dec(&libra_proc_count);
	if (test_bit(LIBRA_PROC_TOKENS, &p->flags))
		atomic_dec(&libra_proc_tokens);
	call_rcu(&p->rcu, libra_proc_free_rcu);
}

/*
 * Removes the entries whose process is gone and that hold no anchor any
 * more. The caller (anchor.c's collector) released their anchors first and
 * holds libra_anchor_lock, which guards nr_anchors.
 */
void libra_proc_reap(void)
{
	struct libra_proc *p;
	struct hlist_node *tmp;
	unsigned int bkt;

	spin_lock_bh(&libra_proc_lock);
	hash_for_each_safe(libra_procs, bkt, tmp, p, node) {
		if (p->nr_anchors || pid_has_task(p->tgid, PIDTYPE_TGID))
			continue;
		libra_proc_unhash(p);
	}
	spin_unlock_bh(&libra_proc_lock);
}

/* Calls @fn on every entry, under RCU: @fn must not sleep. */
void libra_proc_for_each(void (*fn)(struct libra_proc *p, void *arg), void *arg)
{
	struct libra_proc *p;
	unsigned int bkt;

	rcu_read_lock();
	hash_for_each_rcu(libra_procs, bkt, p, node)
		fn(p, arg);
	rcu_read_unlock();
}

static void libra_proc_fill(const struct libra_proc *p, struct libra_proc_info *o)
{
	memset(o, 0, sizeof(*o));
	o->tgid = pid_has_task(p->tgid, PIDTYPE_TGID) ? pid_vnr(p->tgid) : 0;
	if (test_bit(LIBRA_PROC_OPTED_IN, &p->flags))
		o->flags |= LIBRA_PROC_F_OPTED_IN;
	if (test_bit(LIBRA_PROC_TLS_USER, &p->flags))
		o->flags |= LIBRA_PROC_F_TLS_USER;
	if (test_bit(LIBRA_PROC_TLS_KERNEL, &p->flags))
		o->flags |= LIBRA_PROC_F_TLS_KERNEL;
	if (READ_ONCE(p->poisoned))
		o->flags |= LIBRA_PROC_F_TLS_RESETTING;
	if (test_bit(LIBRA_PROC_UNFRAMED, &p->flags))
		o->flags |= LIBRA_PROC_F_UNFRAMED_EGRESS;
	if (atomic_read(&p->tls_handshakes))
		o->flags |= LIBRA_PROC_F_TLS_HANDSHAKE;
	o->anchors = READ_ONCE(p->nr_anchors);
	o->anchored_bytes = READ_ONCE(p->anchored_bytes);
	o->tls_since_ns = READ_ONCE(p->tls_since_ns);
	o->materialized_bytes = atomic64_read(&p->materialized);
	o->tokens_refused = atomic64_read(&p->refused);
}

/* Fills at most @count entries; returns how many there are. */
u32 libra_proc_list(struct libra_proc_info *out, u32 count)
{
	struct libra_proc *p;
	unsigned int bkt;
	u32 n = 0;

	rcu_read_lock();
	hash_for_each_rcu(libra_procs, bkt, p, node) {
		if (n < count)
			libra_proc_fill(p, &out[n]);
		n++;
	}
	rcu_read_unlock();
	return n;
}

/*
 * At unload, after the hooks and every anchor are gone. The tokens still in
 * processes' memory are spent from now on: a next load has another key, so
 * they are no token of its, and go as the bytes they are.
 */
void libra_proc_exit(void)
{
	struct libra_proc *p;
	struct hlist_node *tmp;
	unsigned int bkt;

	unregister_kprobe(&libra_proc_fork_kp);
	spin_lock_bh(&libra_proc_lock);
	hash_for_each_safe(libra_procs, bkt, tmp, p, node)
		libra_proc_unhash(p);
	spin_unlock_bh(&libra_proc_lock);
	rcu_barrier();
}
