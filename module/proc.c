// SPDX-License-Identifier: GPL-2.0
/*
 * Processes holding anchors. A process that holds anchors must have its sends
 * looked at for tokens even after it is opted out, so the hooks ask here.
 *
 * Locking: libra_proc_lock guards the table; the hooks look entries up under
 * RCU. An entry lives while its process holds at least one anchor.
 */
#include <linux/hashtable.h>
#include <linux/pid.h>
#include <linux/rculist.h>
#include <linux/sched.h>
#include <linux/slab.h>

#include "libra.h"

struct libra_proc {
	struct hlist_node node;
	struct rcu_head rcu;
	struct pid *tgid;
	unsigned int anchors;	/* under libra_proc_lock */
};

#define LIBRA_PROC_HASH_BITS 8
static DEFINE_HASHTABLE(libra_procs, LIBRA_PROC_HASH_BITS);
static DEFINE_SPINLOCK(libra_proc_lock);

static struct libra_proc *libra_proc_find(struct pid *tgid)
{
	struct libra_proc *p;

	hash_for_each_possible_rcu(libra_procs, p, node, (unsigned long)tgid)
		if (p->tgid == tgid)
			return p;
	return NULL;
}

bool notrace libra_proc_has_anchors(struct task_struct *task)
{
	bool found;

	/* the hook asks on every TCP send in the system: no anchors, no lookup */
	if (!libra_anchors_now())
		return false;
	rcu_read_lock();
	found = libra_proc_find(task_tgid(task)) != NULL;
	rcu_read_unlock();
	return found;
}

void libra_proc_anchor_get(struct pid *tgid)
{
	struct libra_proc *p, *fresh = NULL;

	/* one per anchor received: allocate only for a process not marked yet */
	spin_lock_bh(&libra_proc_lock);
	p = libra_proc_find(tgid);
	if (p) {
		p->anchors++;
		spin_unlock_bh(&libra_proc_lock);
		return;
	}
	spin_unlock_bh(&libra_proc_lock);
	fresh = kzalloc(sizeof(*fresh), GFP_KERNEL);

	spin_lock_bh(&libra_proc_lock);
	p = libra_proc_find(tgid);
	if (!p && fresh) {
		p = fresh;
		fresh = NULL;
		p->tgid = get_pid(tgid);
		hash_add_rcu(libra_procs, &p->node, (unsigned long)tgid);
	}
	/* without memory the process is simply not marked: its sends then stay
	 * on the stock path only while it is not opted in */
	if (p)
		p->anchors++;
	spin_unlock_bh(&libra_proc_lock);
	kfree(fresh);
}

static void libra_proc_free_rcu(struct rcu_head *rcu)
{
	struct libra_proc *p = container_of(rcu, struct libra_proc, rcu);

	put_pid(p->tgid);
	kfree(p);
}

void libra_proc_anchor_put(struct pid *tgid)
{
	struct libra_proc *p;

	spin_lock_bh(&libra_proc_lock);
	p = libra_proc_find(tgid);
	if (p && !--p->anchors) {
		hash_del_rcu(&p->node);
		call_rcu(&p->rcu, libra_proc_free_rcu);
	}
	spin_unlock_bh(&libra_proc_lock);
}
