// SPDX-License-Identifier: GPL-2.0
/*
 * The opt-in table: which processes' TCP sockets libra handles.
 *
 * Locking: libra_optin_lock (a mutex) serialises every writer, which are
 * only the control ioctls. The hooks read the list under RCU from the
 * context of whoever called tcp_recvmsg/tcp_sendmsg, so entries are freed
 * after a grace period. libra_optin_count mirrors the list length so the hook
 * on a machine with nothing opted in costs one atomic read.
 *
 * An entry holds a reference on the struct pid of the thread group it names,
 * so a pid number that is reused after the process exits never matches.
 *
 * Entries follow their processes. A pid entry names a thread group (the
 * root) and, with LIBRA_OPTIN_F_DESCENDANTS, every task whose chain of real
 * parents reaches it (libra_optin_task_match()). When the root's last thread
 * exits, the kernel hands its children to a subreaper or to init
 * (forget_original_parent()) before the root is gone, so from then on no
 * chain reaches the root: the entry can never match a task again, with
 * descendants or without. An entry therefore expires with its root: once
 * the thread group has no live thread (it exited: a zombie or reaped), the
 * entry is removed and counted in LIBRA_STAT_OPTIN_EXPIRED. Descendants that
 * outlive their root (a daemon that forked twice, the new master of an nginx
 * binary upgrade once the old one quits) stopped being selected when they
 * were reparented, before the expiry: opt them in by their own pid or by
 * cgroup. Sockets the entry adopted keep their state and count only
 * system-wide (libra_sock_rescope()). cgroup entries never expire: a cgroup
 * outlives its processes and takes new ones.
 *
 * Who removes them: libra_optin_reaper, a delayed work that runs every
 * second while the table holds a pid entry (never on a machine with only
 * cgroup entries or nothing opted in), and the control paths before they
 * answer: LIST_OPTINS expires every dead entry first, OPTIN_ADD does when the
 * table is full, OPTIN_DEL and OPTIN_STATS the entry they found. So no
 * control call ever lists or finds the entry of an exited process, whatever
 * the reaper's timing: OPTIN_DEL answers ENOENT for it as for any entry it
 * does not know (only the LIBRA_STAT_OPTIN_ENTRIES gauge may count it for up
 * to a second). The hooks need no check: a thread group with no live thread
 * sends and receives nothing, so its entry matches no call while it waits.
 * The reaper and the control paths remove entries as any writer does, under
 * libra_optin_lock; libra_optin_exit() cancels the reaper before it empties
 * the table.
 */
#include <linux/cgroup.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pid.h>
#include <linux/rculist.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/workqueue.h>
#include <net/inet_sock.h>
#include <net/sock.h>

#include "libra.h"

/* A descendant chain deeper than this is not searched further. */
#define LIBRA_OPTIN_MAX_DEPTH 64

struct libra_optin_entry {
	struct list_head node;		/* in libra_optins, RCU */
	struct rcu_head rcu;
	struct pid *tgid;		/* NULL for a cgroup entry */
	u64 root_start;			/* its leader's start_time: see libra_optin_task_match() */
	u64 cgroup_id;
	u32 flags;
	u32 min_body;
	u16 nr_ports;
	u16 ports[LIBRA_OPTIN_MAX_PORTS];
	struct libra_scope *scope;	/* counters and budget, shared with its sockets */
};

static DEFINE_MUTEX(libra_optin_lock);
static LIST_HEAD(libra_optins);
static atomic_t libra_optin_count = ATOMIC_INIT(0);
static unsigned int libra_optin_pid_entries;	/* under libra_optin_lock */

static void libra_optin_reap(struct work_struct *work);
static DECLARE_DELAYED_WORK(libra_optin_reaper, libra_optin_reap);
#define LIBRA_OPTIN_REAP_INTERVAL HZ

bool notrace libra_optin_any(void)
{
	return atomic_read(&libra_optin_count) > 0;
}

u64 libra_optin_entries(void)
{
	return atomic_read(&libra_optin_count);
}

static bool libra_optin_port_match(const struct libra_optin_entry *e,
				   const struct sock *sk)
{
	const struct inet_sock *inet = inet_sk(sk);
	u16 local = inet->inet_num, peer = ntohs(inet->inet_dport);
	unsigned int i;

	if (!e->nr_ports)
		return true;
	for (i = 0; i < e->nr_ports; i++)
		if (e->ports[i] == local || e->ports[i] == peer)
			return true;
	return false;
}

/*
 * The chain of real parents runs back in time: a process starts after the
 * thread that forked it, a thread after its leader, threads share their
 * leader's real parent, and a reparented orphan's new parent (a subreaper,
 * a namespace's init) is an ancestor of its old one or older than the
 * orphan. So once the walk reaches a task that started before the root's
 * leader, neither it nor anything above it can belong to the root's thread
 * group: the walk ends there, and a process started before the root (most
 * of a machine) costs one step, not its whole ancestry.
 */
static bool libra_optin_task_match(const struct libra_optin_entry *e,
				   struct task_struct *task)
{
	struct task_struct *t = task;
	int depth;

	if (e->flags & LIBRA_OPTIN_F_CGROUP) {
		struct cgroup *cgrp = task_dfl_cgroup(task);

		for (; cgrp; cgrp = cgroup_parent(cgrp))
			if (cgroup_id(cgrp) == e->cgroup_id)
				return true;
		return false;
	}

	for (depth = 0; depth < LIBRA_OPTIN_MAX_DEPTH; depth++) {
		struct task_struct *parent;

		if (task_tgid(t) == e->tgid)
			return true;
		if (!(e->flags & LIBRA_OPTIN_F_DESCENDANTS) || t->start_time < e->root_start)
			return false;
		parent = rcu_dereference(t->real_parent);
		if (parent == t || !parent)
			return false;
		t = parent;
	}
	return false;
}

static const struct libra_optin_entry *libra_optin_lookup(struct task_struct *task,
							  const struct sock *sk)
{
	const struct libra_optin_entry *e;

	if (sk->sk_family != AF_INET && sk->sk_family != AF_INET6)
		return NULL;
	list_for_each_entry_rcu(e, &libra_optins, node)
		if (libra_optin_task_match(e, task) && libra_optin_port_match(e, sk))
			return e;
	return NULL;
}

/* Whether @task's socket @sk is opted in. Called from the hooks, any context. */
bool libra_optin_match(struct task_struct *task, const struct sock *sk)
{
	bool match;

	rcu_read_lock();
	match = libra_optin_lookup(task, sk) != NULL;
	rcu_read_unlock();
	return match;
}

/*
 * Whether an entry selects @task, whatever its ports: a process that may
 * receive tokens on one port may send them on any other (TLS, QUIC).
 * Called from the hooks, any context.
 */
bool notrace libra_optin_task_selected(struct task_struct *task)
{
	const struct libra_optin_entry *e;
	bool match = false;

	rcu_read_lock();
	list_for_each_entry_rcu(e, &libra_optins, node) {
		if (libra_optin_task_match(e, task)) {
			match = true;
			break;
		}
	}
	rcu_read_unlock();
	return match;
}

/*
 * The minimum body to anchor for @task's socket @sk, 0 if not opted in, and
 * in *scope a reference on the counters of the entry that matched.
 */
u32 libra_optin_adopt(struct task_struct *task, const struct sock *sk,
		      struct libra_scope **scope)
{
	const struct libra_optin_entry *e;
	u32 min_body = 0;

	*scope = NULL;
	rcu_read_lock();
	e = libra_optin_lookup(task, sk);
	if (e) {
		min_body = e->min_body;
		*scope = libra_scope_get(e->scope);
	}
	rcu_read_unlock();
	return min_body;
}

static struct libra_optin_entry *libra_optin_find(const struct libra_optin *req,
						  struct pid *tgid)
{
	struct libra_optin_entry *e;

	lockdep_assert_held(&libra_optin_lock);
	list_for_each_entry(e, &libra_optins, node) {
		if (req->flags & LIBRA_OPTIN_F_CGROUP) {
			if ((e->flags & LIBRA_OPTIN_F_CGROUP) && e->cgroup_id == req->cgroup_id)
				return e;
		} else if (e->tgid && e->tgid == tgid) {
			return e;
		}
	}
	return NULL;
}

static int libra_optin_validate(const struct libra_optin *req)
{
	unsigned int i;

	if (req->flags & ~LIBRA_OPTIN_F_ALL || req->reserved)
		return -EINVAL;
	if (req->nr_ports > LIBRA_OPTIN_MAX_PORTS)
		return -EINVAL;
	for (i = 0; i < req->nr_ports; i++)
		if (!req->ports[i])
			return -EINVAL;
	if (req->flags & LIBRA_OPTIN_F_CGROUP)
		return req->cgroup_id && !(req->flags & LIBRA_OPTIN_F_DESCENDANTS) ? 0 : -EINVAL;
	return req->pid > 0 ? 0 : -EINVAL;
}

/* The thread group @nr names in the caller's pid namespace, referenced. */
struct pid *libra_optin_get_tgid(pid_t nr)
{
	struct pid *pid = find_get_pid(nr);
	bool is_group;

	if (!pid)
		return NULL;
	rcu_read_lock();
	is_group = pid_task(pid, PIDTYPE_TGID) != NULL;
	rcu_read_unlock();
	if (!is_group) {
		put_pid(pid);
		return NULL;
	}
	return pid;
}

/*
 * Whether the thread group @tgid names has a live thread. Its leader stays
 * attached to @tgid until the whole group is reaped, and signal->live counts
 * the threads that have not started exiting: 0 for a zombie.
 */
static bool libra_optin_tgid_alive(struct pid *tgid)
{
	struct task_struct *leader;
	bool alive;

	rcu_read_lock();
	leader = pid_task(tgid, PIDTYPE_TGID);
	alive = leader && atomic_read(&leader->signal->live) > 0;
	rcu_read_unlock();
	return alive;
}

static bool libra_optin_expired(const struct libra_optin_entry *e)
{
	return e->tgid && !libra_optin_tgid_alive(e->tgid);
}

static void libra_optin_free_rcu(struct rcu_head *rcu)
{
	struct libra_optin_entry *e = container_of(rcu, struct libra_optin_entry, rcu);

	put_pid(e->tgid);
	libra_scope_put(e->scope);
	kfree(e);
}

static void libra_optin_unlink(struct libra_optin_entry *e)
{
	lockdep_assert_held(&libra_optin_lock);
	list_del_rcu(&e->node);
	atomic_dec(&libra_optin_count);
	if (e->tgid)
		libra_optin_pid_entries--;
	libra_scope_retire(e->scope);
	call_rcu(&e->rcu, libra_optin_free_rcu);
}

/* Removes @e, whose process has exited; counted. */
static void libra_optin_expire(struct libra_optin_entry *e)
{
	libra_optin_unlink(e);
	libra_stat_inc(LIBRA_STAT_OPTIN_EXPIRED);
}

/* Removes every entry whose process has exited. */
static void libra_optin_expire_all(void)
{
	struct libra_optin_entry *e, *tmp;

	lockdep_assert_held(&libra_optin_lock);
	list_for_each_entry_safe(e, tmp, &libra_optins, node)
		if (libra_optin_expired(e))
			libra_optin_expire(e);
}

/* Every second while a pid entry is in the table: see the top of this file. */
static void libra_optin_reap(struct work_struct *work)
{
	mutex_lock(&libra_optin_lock);
	libra_optin_expire_all();
	if (libra_optin_pid_entries)
		schedule_delayed_work(&libra_optin_reaper, LIBRA_OPTIN_REAP_INTERVAL);
	mutex_unlock(&libra_optin_lock);
}

int libra_optin_add(const struct libra_optin *req)
{
	struct libra_optin_entry *e;
	struct pid *tgid = NULL;
	int err;

	err = libra_optin_validate(req);
	if (err)
		return err;
	if (!(req->flags & LIBRA_OPTIN_F_CGROUP)) {
		tgid = libra_optin_get_tgid(req->pid);
		if (!tgid)
			return -ESRCH;
		/* one that has exited (a zombie) would only expire */
		err = -ESRCH;
		if (!libra_optin_tgid_alive(tgid))
			goto err_put_pid;
	}

	e = kzalloc(sizeof(*e), GFP_KERNEL);
	if (!e) {
		err = -ENOMEM;
		goto err_put_pid;
	}
	e->tgid = tgid;
	if (tgid) {
		struct task_struct *leader;

		rcu_read_lock();
		leader = pid_task(tgid, PIDTYPE_TGID);
		/* gone meanwhile: 0 keeps the walk whole, and the entry expires */
		e->root_start = leader ? leader->start_time : 0;
		rcu_read_unlock();
	}
	e->cgroup_id = req->cgroup_id;
	e->flags = req->flags;
	e->min_body = req->min_body ?: LIBRA_MIN_BODY_DEFAULT;
	e->nr_ports = req->nr_ports;
	memcpy(e->ports, req->ports, sizeof(e->ports));
	e->scope = libra_scope_new(req->anchor_limit);
	if (!e->scope) {
		err = -ENOMEM;
		goto err_free_entry;
	}

	mutex_lock(&libra_optin_lock);
	if (libra_optin_find(req, tgid)) {
		err = -EEXIST;
		goto err_unlock;
	}
	if (atomic_read(&libra_optin_count) >= LIBRA_OPTIN_MAX)
		/* restarts must not fill the table between two reaper runs */
		libra_optin_expire_all();
	if (atomic_read(&libra_optin_count) >= LIBRA_OPTIN_MAX) {
		err = -ENOSPC;
		goto err_unlock;
	}
	list_add_tail_rcu(&e->node, &libra_optins);
	atomic_inc(&libra_optin_count);
	if (tgid) {
		/* pending already, or running and about to see this entry: either way once */
		libra_optin_pid_entries++;
		schedule_delayed_work(&libra_optin_reaper, LIBRA_OPTIN_REAP_INTERVAL);
	}
	mutex_unlock(&libra_optin_lock);
	return 0;

err_unlock:
	mutex_unlock(&libra_optin_lock);
	libra_scope_put(e->scope);
err_free_entry:
	kfree(e);
err_put_pid:
	put_pid(tgid);
	return err;
}

/* The struct pid an existing entry's key names (NULL for a cgroup key), referenced. */
static int libra_optin_key(const struct libra_optin *req, struct pid **tgid)
{
	*tgid = NULL;
	if (req->flags & LIBRA_OPTIN_F_CGROUP)
		return req->cgroup_id ? 0 : -EINVAL;
	if (req->pid <= 0)
		return -EINVAL;
	*tgid = find_get_pid(req->pid);
	return *tgid ? 0 : -ENOENT;
}

/*
 * Runs @fn on the entry @req names, under libra_optin_lock; ENOENT if none,
 * or if its process has exited (the entry expires here and then).
 */
static int libra_optin_apply(const struct libra_optin *req,
			     void (*fn)(struct libra_optin_entry *e, void *arg), void *arg)
{
	struct libra_optin_entry *e;
	struct pid *tgid;
	int err;

	err = libra_optin_key(req, &tgid);
	if (err)
		return err;
	mutex_lock(&libra_optin_lock);
	e = libra_optin_find(req, tgid);
	if (e && libra_optin_expired(e)) {
		libra_optin_expire(e);
		e = NULL;
	}
	if (e)
		fn(e, arg);
	else
		err = -ENOENT;
	mutex_unlock(&libra_optin_lock);
	put_pid(tgid);
	return err;
}

static void libra_optin_apply_unlink(struct libra_optin_entry *e, void *arg)
{
	libra_optin_unlink(e);
}

int libra_optin_del(const struct libra_optin *req)
{
	return libra_optin_apply(req, libra_optin_apply_unlink, NULL);
}

int libra_optin_list(struct libra_optin *out, u32 count, u32 *total)
{
	const struct libra_optin_entry *e;
	u32 n = 0;

	mutex_lock(&libra_optin_lock);
	/* never list an exited process's entry */
	libra_optin_expire_all();
	list_for_each_entry(e, &libra_optins, node) {
		if (n < count) {
			struct libra_optin *o = &out[n];

			memset(o, 0, sizeof(*o));
			/* 0 when the process is not visible in the caller's pid namespace */
			o->pid = e->tgid ? pid_vnr(e->tgid) : 0;
			o->flags = e->flags;
			o->cgroup_id = e->cgroup_id;
			o->min_body = e->min_body;
			o->nr_ports = e->nr_ports;
			memcpy(o->ports, e->ports, sizeof(o->ports));
			o->anchor_limit = libra_scope_limit(e->scope);
		}
		n++;
	}
	*total = n;
	mutex_unlock(&libra_optin_lock);
	return 0;
}

struct libra_optin_stats_req {
	u64 *values;
	u32 count;
	u64 *counted;
};

static void libra_optin_apply_read(struct libra_optin_entry *e, void *arg)
{
	struct libra_optin_stats_req *r = arg;

	libra_scope_read(e->scope, r->values, r->count, r->counted);
}

int libra_optin_read_stats(const struct libra_optin *req, u64 *values, u32 count,
			   u64 *counted)
{
	struct libra_optin_stats_req r = { values, count, counted };

	return libra_optin_apply(req, libra_optin_apply_read, &r);
}

void libra_optin_exit(void)
{
	struct libra_optin_entry *e, *tmp;

	/*
	 * Before taking the lock the reaper takes. Nothing queues it again: the
	 * device is gone (libra_control_exit()) and no ioctl can be running,
	 * since an open descriptor pins the module.
	 */
	cancel_delayed_work_sync(&libra_optin_reaper);
	mutex_lock(&libra_optin_lock);
	list_for_each_entry_safe(e, tmp, &libra_optins, node)
		libra_optin_unlink(e);
	mutex_unlock(&libra_optin_lock);
	/* the callbacks queued above run module code: wait for them */
	rcu_barrier();
}
