// SPDX-License-Identifier: GPL-2.0
/*
 * Per-socket state for opted-in TCP sockets.
 *
 * Entries are created by the handlers, in process context, under the
 * socket's lock, and freed when the kernel destroys the socket: a kprobe on
 * tcp_v4_destroy_sock (sk_prot->destroy of both IPv4 and IPv6 TCP sockets)
 * unlinks the entry and frees it after an RCU grace period. Everything in
 * struct libra_sock except the hash linkage and what is set at adoption
 * (owner, addresses) is protected by the socket lock: no handler runs on a
 * socket that is being destroyed, because destruction needs the last file
 * reference gone. The one reader without that lock is LIBRA_IOC_LIST_SOCKETS
 * (libra_sock_list()): under RCU, it reads the owner and addresses, which
 * never change, and role, min_body, stats[] and each direction's
 * passthrough and aside_reason with READ_ONCE; their writers, under the
 * socket lock, use WRITE_ONCE. Nothing else is read without the lock, and
 * the reader never touches the struct sock (its memory may be reused for
 * another socket by then: TCP sockets are SLAB_TYPESAFE_BY_RCU).
 *
 * Locking: libra_sock_lock guards the hash table; lookups are RCU.
 */
#include <linux/hashtable.h>
#include <linux/kprobes.h>
#include <linux/pid.h>
#include <linux/slab.h>
#include <net/inet_sock.h>
#include <net/sock.h>
#include <net/tcp.h>

#include "libra.h"

#define LIBRA_SOCK_HASH_BITS 12
static DEFINE_HASHTABLE(libra_socks, LIBRA_SOCK_HASH_BITS);
static DEFINE_SPINLOCK(libra_sock_lock);
static atomic_t libra_sock_count = ATOMIC_INIT(0);
static atomic64_t libra_sock_next_id = ATOMIC64_INIT(0);

u64 libra_socks_tracked(void)
{
	return atomic_read(&libra_sock_count);
}

/* The counters a socket keeps for itself: enum libra_socket_stat + 1, 0 for none. */
static const u8 libra_sock_stat_slot[__LIBRA_STAT_MAX] = {
#define LIBRA_SOCK_STAT(name) [LIBRA_STAT_##name] = LIBRA_SOCKET_STAT_##name + 1
	LIBRA_SOCK_STAT(MESSAGES_PARSED),
	LIBRA_SOCK_STAT(BYTES_METADATA_COPIED),
	LIBRA_SOCK_STAT(BYTES_ANCHORED),
	LIBRA_SOCK_STAT(BYTES_ZERO_COPY_SENT),
	LIBRA_SOCK_STAT(BYTES_FALLBACK_COPIED),
	LIBRA_SOCK_STAT(TOKENS_REJECTED),
	LIBRA_SOCK_STAT(TOKENS_UNFRAMED),
	LIBRA_SOCK_STAT(TX_HOLDS_EXPIRED),
	LIBRA_SOCK_STAT(TX_RESETS),
#undef LIBRA_SOCK_STAT
};
static_assert(__LIBRA_SOCKET_STAT_MAX <= LIBRA_SOCKET_STAT_SLOTS,
	      "struct libra_socket_info has room for every per-socket counter");
/* the ABI: the same layout for 32- and 64-bit callers (compat_ptr_ioctl) */
static_assert(sizeof(struct libra_socket_info) == 184 && sizeof(struct libra_socket_list) == 32,
	      "LIBRA_IOC_LIST_SOCKETS structures as <linux/libra.h> documents them");

/*
 * Counts @delta of @stat for @ls: system-wide, for the opt-in entry that
 * adopted it and, if it keeps that counter, for the socket itself, so the
 * three always count the same events. Caller holds the socket lock.
 */
void notrace libra_sock_add(struct libra_sock *ls, enum libra_stat stat, u64 delta)
{
	u8 slot = libra_sock_stat_slot[stat];

	libra_scope_add(ls->scope, stat, delta);
	if (slot)
		WRITE_ONCE(ls->stats[slot - 1], ls->stats[slot - 1] + delta);
}

static struct libra_sock *libra_sock_find(const struct sock *sk)
{
	struct libra_sock *ls;

	hash_for_each_possible_rcu(libra_socks, ls, node, (unsigned long)sk)
		if (ls->sk == sk)
			return ls;
	return NULL;
}

/* The state of @sk if libra keeps any. Caller holds the socket lock. */
struct libra_sock *libra_sock_lookup(struct sock *sk)
{
	struct libra_sock *ls;

	sock_owned_by_me(sk);
	rcu_read_lock();
	ls = libra_sock_find(sk);
	rcu_read_unlock();
	return ls;
}

/*
 * Libra adopts a socket only at the very start of both directions of its
 * stream, the only place it knows a message begins. A socket that carried
 * traffic before its process was opted in stays on the stock path.
 */
static bool libra_sock_at_stream_start(const struct sock *sk)
{
	const struct tcp_sock *tp = tcp_sk(sk);

	return tp->bytes_received == tp->rcv_nxt - tp->copied_seq &&
	       tp->bytes_sent == 0 && tp->write_seq == tp->snd_una;
}

/*
 * The entry that adopted @ls was removed: count it, and take its minimum
 * body and limit, under whatever entry matches now (if none, the socket
 * keeps its settings and counts only system-wide).
 */
static void libra_sock_rescope(struct libra_sock *ls, struct task_struct *task)
{
	struct libra_scope *scope;
	u32 min_body = libra_optin_adopt(task, ls->sk, &scope);

	libra_scope_socket(ls->scope, -1);
	libra_scope_put(ls->scope);
	ls->scope = scope;
	libra_scope_socket(scope, 1);
	if (min_body)
		WRITE_ONCE(ls->min_body, min_body);
}

/* Who and where, as LIBRA_IOC_LIST_SOCKETS reports it; fixed once connected. */
static void libra_sock_note_identity(struct libra_sock *ls, const struct sock *sk,
				     struct task_struct *task)
{
	const struct inet_sock *inet = inet_sk(sk);

	ls->owner = get_pid(task_tgid(task));
	ls->family = sk->sk_family;
	ls->local_port = inet->inet_num;
	ls->remote_port = ntohs(inet->inet_dport);
#if IS_ENABLED(CONFIG_IPV6)
	if (sk->sk_family == AF_INET6) {
		memcpy(ls->local_addr, &sk->sk_v6_rcv_saddr, sizeof(ls->local_addr));
		memcpy(ls->remote_addr, &sk->sk_v6_daddr, sizeof(ls->remote_addr));
		return;
	}
#endif
	memcpy(ls->local_addr, &inet->inet_saddr, sizeof(inet->inet_saddr));
	memcpy(ls->remote_addr, &inet->inet_daddr, sizeof(inet->inet_daddr));
}

/*
 * The state of @sk, created on first use by @task. Caller holds the socket
 * lock. A socket of a process that is not opted in (it only holds anchors)
 * gets state for sending but never anchors what it receives.
 */
struct libra_sock *libra_sock_get(struct sock *sk, struct task_struct *task)
{
	struct libra_sock *ls = libra_sock_lookup(sk);

	if (ls) {
		if (unlikely(libra_scope_retired(ls->scope)))
			libra_sock_rescope(ls, task);
		return ls;
	}
	if (sk->sk_state != TCP_ESTABLISHED && sk->sk_state != TCP_CLOSE_WAIT)
		return NULL;

	ls = kzalloc(sizeof(*ls), GFP_KERNEL);
	if (!ls)
		return NULL;
	ls->sk = sk;
	INIT_LIST_HEAD(&ls->tx_held_node);
	ls->id = atomic64_inc_return(&libra_sock_next_id);
	libra_sock_note_identity(ls, sk, task);
	ls->role = LIBRA_ROLE_UNKNOWN;
	ls->rx.aside_reason = LIBRA_SOCKET_ASIDE_NONE;
	ls->tx.aside_reason = LIBRA_SOCKET_ASIDE_NONE;
	ls->min_body = libra_optin_adopt(task, sk, &ls->scope);
	libra_scope_socket(ls->scope, 1);
	if (!ls->min_body)
		/* not opted in: this process only holds anchors, it gets no new ones */
		ls->rx.passthrough = true;
	if (!libra_sock_at_stream_start(sk)) {
		ls->role = LIBRA_ROLE_PASS;
		libra_sock_add(ls, LIBRA_STAT_FALLBACK_NOT_ADOPTED, 1);
	}
	ls->rx.next_seq = tcp_sk(sk)->copied_seq;

	spin_lock_bh(&libra_sock_lock);
	hash_add_rcu(libra_socks, &ls->node, (unsigned long)sk);
	atomic_inc(&libra_sock_count);
	spin_unlock_bh(&libra_sock_lock);
	return ls;
}

/*
 * Who spoke first decides which parser runs where: the requests a socket
 * carries are parsed for their methods, the responses for their framing.
 * Request bodies a server-side socket receives are anchored like response
 * bodies, but as resendable (see struct libra_anchor): a proxy may resend
 * one to another upstream (proxy_next_upstream), so sending does not free
 * it; the response completing on this socket does (libra_sock_pop_method).
 */
void libra_sock_set_role(struct libra_sock *ls, enum libra_sock_role role)
{
	WRITE_ONCE(ls->role, role);
	if (role == LIBRA_ROLE_CLIENT) {
		ls->rx.ctx.direction = LIBRA_PARSE_RESPONSE;
		ls->tx.ctx.direction = LIBRA_PARSE_REQUEST;
	} else {
		ls->rx.ctx.direction = LIBRA_PARSE_REQUEST;
		ls->tx.ctx.direction = LIBRA_PARSE_RESPONSE;
	}
}

void libra_sock_push_method(struct libra_sock *ls, u8 method, u64 msg_id)
{
	u8 slot = (ls->method_head + ls->method_count) % LIBRA_METHOD_QUEUE;

	if (ls->method_count == LIBRA_METHOD_QUEUE) {
		ls->methods_lost = true;
		return;
	}
	ls->methods[slot] = method;
	ls->method_msgs[slot] = msg_id;
	ls->method_count++;
}

/*
 * A response is complete. On the server side of a proxy that answers the
 * oldest request received: a body of it that went on upstream can no longer
 * be resent, so its anchors go.
 */
void libra_sock_pop_method(struct libra_sock *ls)
{
	u64 msg_id;

	if (!ls->method_count)
		return;
	msg_id = ls->method_msgs[ls->method_head];
	ls->method_head = (ls->method_head + 1) % LIBRA_METHOD_QUEUE;
	ls->method_count--;
	if (ls->role == LIBRA_ROLE_SERVER && ls->request_anchors)
		libra_anchor_release_answered(msg_id);
}

/* Whether request @msg_id, received here, still awaits its response. */
bool libra_sock_request_pending(const struct libra_sock *ls, u64 msg_id)
{
	u8 i;

	for (i = 0; i < ls->method_count; i++)
		if (ls->method_msgs[(ls->method_head + i) % LIBRA_METHOD_QUEUE] == msg_id)
			return true;
	return false;
}

/* The method of the request the next response answers; UNKNOWN if not sure. */
u8 libra_sock_peek_method(const struct libra_sock *ls)
{
	if (ls->methods_lost || !ls->method_count)
		return LIBRA_HTTP_METHOD_UNKNOWN;
	return ls->methods[ls->method_head];
}

static void libra_sock_free_rcu(struct rcu_head *rcu)
{
	struct libra_sock *ls = container_of(rcu, struct libra_sock, rcu);

	libra_scope_put(ls->scope);
	put_pid(ls->owner);
	kfree(ls->tx_scan_buf);
	kfree(ls);
}

/* One socket as LIBRA_IOC_LIST_SOCKETS reports it. Under RCU, without the socket lock. */
static void libra_sock_fill(const struct libra_sock *ls, struct libra_socket_info *o)
{
	unsigned int i;

	memset(o, 0, sizeof(*o));
	o->id = ls->id;
	/* its number lingers in the struct pid after the process is gone: not shown */
	o->tgid = pid_has_task(ls->owner, PIDTYPE_TGID) ? pid_vnr(ls->owner) : 0;
	o->family = ls->family;
	o->local_port = ls->local_port;
	o->remote_port = ls->remote_port;
	memcpy(o->local_addr, ls->local_addr, sizeof(o->local_addr));
	memcpy(o->remote_addr, ls->remote_addr, sizeof(o->remote_addr));
	o->role = READ_ONCE(ls->role);
	if (READ_ONCE(ls->rx.passthrough))
		o->flags |= LIBRA_SOCKET_F_RX_ASIDE;
	if (READ_ONCE(ls->tx.passthrough))
		o->flags |= LIBRA_SOCKET_F_TX_ASIDE;
	if (!READ_ONCE(ls->min_body))
		o->flags |= LIBRA_SOCKET_F_NOT_OPTED_IN;
	o->rx_aside = READ_ONCE(ls->rx.aside_reason);
	o->tx_aside = READ_ONCE(ls->tx.aside_reason);
	for (i = 0; i < __LIBRA_SOCKET_STAT_MAX; i++)
		o->values[i] = READ_ONCE(ls->stats[i]);
}

/*
 * Fills at most @count entries with the tracked sockets @owner adopted (all
 * when NULL) and returns how many there are. A walk of the whole table under
 * RCU: it never waits for a socket lock, so a busy socket is listed as its
 * counters stand, each read once.
 */
u32 libra_sock_list(struct libra_socket_info *out, u32 count, struct pid *owner)
{
	struct libra_sock *ls;
	unsigned int bkt;
	u32 n = 0;

	rcu_read_lock();
	hash_for_each_rcu(libra_socks, bkt, ls, node) {
		if (owner && ls->owner != owner)
			continue;
		if (n < count)
			libra_sock_fill(ls, &out[n]);
		n++;
	}
	rcu_read_unlock();
	return n;
}

static void libra_sock_unlink(struct libra_sock *ls)
{
	int i;

	lockdep_assert_held(&libra_sock_lock);
	hash_del_rcu(&ls->node);
	atomic_dec(&libra_sock_count);
	libra_scope_socket(ls->scope, -1);
	libra_tx_held_forget(ls);
	if (ls->tx_cont)
		libra_anchor_put(ls->tx_cont);
	/* a response cut off with its connection is never sent again */
	for (i = 0; i < LIBRA_TX_MSGS; i++)
		if (ls->tx_msgs[i])
			libra_anchor_abandon_msg(ls->tx_msgs[i]);
	/* request bodies that arrived here: nobody can ask to resend them now */
	if (ls->request_anchors)
		libra_anchor_release_origin(ls->id);
	call_rcu(&ls->rcu, libra_sock_free_rcu);
}

static int libra_sock_destroy_probe(struct kprobe *p, struct pt_regs *regs)
{
	struct sock *sk = (struct sock *)regs_get_kernel_argument(regs, 0);
	struct libra_sock *ls;

	if (!atomic_read(&libra_sock_count))
		return 0;
	spin_lock_bh(&libra_sock_lock);
	ls = libra_sock_find(sk);
	if (ls)
		libra_sock_unlink(ls);
	spin_unlock_bh(&libra_sock_lock);
	return 0;
}

static struct kprobe libra_sock_destroy_kp = {
	.symbol_name = "tcp_v4_destroy_sock",
	.pre_handler = libra_sock_destroy_probe,
};

int libra_sock_init(void)
{
	int err = register_kprobe(&libra_sock_destroy_kp);

	if (err)
		pr_err("cannot probe tcp_v4_destroy_sock: %d\n", err);
	return err;
}

/* After the hooks are gone: nothing can find or create entries any more. */
void libra_sock_exit(void)
{
	struct libra_sock *ls;
	struct hlist_node *tmp;
	unsigned int bkt;

	unregister_kprobe(&libra_sock_destroy_kp);
	spin_lock_bh(&libra_sock_lock);
	hash_for_each_safe(libra_socks, bkt, tmp, ls, node)
		libra_sock_unlink(ls);
	spin_unlock_bh(&libra_sock_lock);
	rcu_barrier();
}
