// SPDX-License-Identifier: GPL-2.0
/*
 * Per-socket state for opted-in TCP sockets.
 *
 * Entries are created by the handlers, in process context, under the
 * socket's lock, and unlinked when the connection ends: a kprobe on
 * tcp_v4_destroy_sock (sk_prot->destroy of both IPv4 and IPv6 TCP sockets)
 * and one on tcp_disconnect (connect(AF_UNSPEC), a close with SO_LINGER 0,
 * libra's own resets), after which a reconnected socket starts afresh. An
 * entry also records its socket's inode, so that if a destroy is ever
 * missed (kprobes disabled), a new socket in the same memory (TCP sockets
 * are SLAB_TYPESAFE_BY_RCU) never inherits it: the stale entry is unlinked
 * at its first lookup.
 *
 * Lifetime: a kref. The table holds one while the entry is linked; each
 * handler holds one for its call (libra_sock_get .. libra_sock_put), since
 * a send may sleep with the socket lock dropped while a disconnect unlinks
 * the entry: such a handler finds ls->dead set when it relocks and stops.
 * The last reference frees the entry after an RCU grace period.
 *
 * Locking: everything in struct libra_sock except the hash linkage, @dead
 * and what is set at adoption (owner, addresses, inode) is protected by the
 * socket lock. The one reader without that lock is LIBRA_IOC_LIST_SOCKETS
 * (libra_sock_list()): under RCU, it reads the owner and addresses, which
 * never change, and role, min_body, flags, stats[] and each direction's
 * passthrough and aside_reason with READ_ONCE; their writers, under the
 * socket lock, use WRITE_ONCE. The reader never touches the struct sock.
 * libra_sock_lock guards the hash table and @dead; lookups are RCU.
 */
#include <linux/hashtable.h>
#include <linux/kprobes.h>
#include <linux/pid.h>
#include <linux/slab.h>
#include <linux/wait.h>
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
	LIBRA_SOCK_STAT(BYTES_MATERIALIZED),
	LIBRA_SOCK_STAT(TOKENS_REFUSED),
	LIBRA_SOCK_STAT(REGIONS_CUT),
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

/*
 * Counts @delta of @stat for the socket alone, where the system and the
 * scope counted it already (ktls.c counts with each anchor). Caller holds
 * the socket lock.
 */
void libra_sock_count_own(struct libra_sock *ls, enum libra_stat stat, u64 delta)
{
	u8 slot = libra_sock_stat_slot[stat];

	sock_owned_by_me(ls->sk);
	if (slot && delta)
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

static unsigned long libra_sock_ino(const struct sock *sk)
{
	return sk->sk_socket ? SOCK_INODE(sk->sk_socket)->i_ino : 0;
}

static void libra_sock_free_rcu(struct rcu_head *rcu)
{
	struct libra_sock *ls = container_of(rcu, struct libra_sock, rcu);

	libra_scope_put(ls->scope);
	put_pid(ls->owner);
	kfree(ls->tx_scan_buf);
	kfree(ls);
}

static void libra_sock_release(struct kref *ref)
{
	struct libra_sock *ls = container_of(ref, struct libra_sock, ref);

	call_rcu(&ls->rcu, libra_sock_free_rcu);
}

void libra_sock_put(struct libra_sock *ls)
{
	kref_put(&ls->ref, libra_sock_release);
}

/*
 * What an entry holds goes when it is unlinked. No handler touches it any
 * more (the socket is destroyed, or its lock is held by the caller of
 * tcp_disconnect and any handler asleep in a send finds @dead when it
 * relocks). Any context.
 */
static void libra_sock_drop_state(struct libra_sock *ls)
{
	int i;

	libra_scope_socket(ls->scope, -1);
	libra_tls_handshake_end(ls, false);
	libra_tx_held_forget(ls);
	if (ls->tx_cont) {
		libra_anchor_put(ls->tx_cont);
		ls->tx_cont = NULL;
	}
	libra_tx_drop_successor(ls);
	if (ls->ktls_cont) {
		libra_anchor_put(ls->ktls_cont);
		ls->ktls_cont = NULL;
	}
	/* a response cut off with its connection is never sent again */
	for (i = 0; i < LIBRA_TX_MSGS; i++)
		if (ls->tx_msgs[i])
			libra_anchor_abandon_msg(ls->tx_msgs[i]);
	/*
	 * request bodies that arrived here: nobody can ask to resend them now;
	 * response bodies that arrived here and never started going out: the
	 * proxy gave up on them
	 */
	libra_anchor_release_origin(ls->id, ls->owner, ls->rx_cut_from);
}

/* Unlinks @ls if it still is linked; true if this call did. */
static bool libra_sock_unlink(struct libra_sock *ls)
{
	spin_lock_bh(&libra_sock_lock);
	if (ls->dead) {
		spin_unlock_bh(&libra_sock_lock);
		return false;
	}
	WRITE_ONCE(ls->dead, true);
	hash_del_rcu(&ls->node);
	atomic_dec(&libra_sock_count);
	spin_unlock_bh(&libra_sock_lock);
	libra_sock_drop_state(ls);
	libra_sock_put(ls);
	return true;
}

/*
 * The state of @sk, created on first use by @task, with a reference for
 * the caller (libra_sock_put() when done). Caller holds the socket lock. A
 * socket of a process that is not opted in (it only holds anchors) gets
 * state for sending but never anchors what it receives.
 */
struct libra_sock *libra_sock_get(struct sock *sk, struct task_struct *task)
{
	struct libra_sock *ls = libra_sock_lookup(sk);
	struct libra_proc *proc;

	if (ls && unlikely(ls->ino != libra_sock_ino(sk))) {
		/* a destroyed socket's entry, its destroy missed: not this one's */
		libra_sock_unlink(ls);
		ls = NULL;
	}
	if (ls) {
		if (unlikely(libra_scope_retired(ls->scope)))
			libra_sock_rescope(ls, task);
		kref_get(&ls->ref);
		return ls;
	}
	if (sk->sk_state != TCP_ESTABLISHED && sk->sk_state != TCP_CLOSE_WAIT)
		return NULL;
	/* kernel sockets (CIFS, NFS) send in their caller's context: never libra's */
	if (sk->sk_kern_sock || !sk->sk_socket)
		return NULL;

	ls = kzalloc(sizeof(*ls), GFP_KERNEL_ACCOUNT);
	if (!ls)
		return NULL;
	ls->tx_scan_buf = kmalloc(LIBRA_SCAN_CHUNK, GFP_KERNEL_ACCOUNT);
	if (!ls->tx_scan_buf) {
		kfree(ls);
		return NULL;
	}
	kref_init(&ls->ref);
	ls->sk = sk;
	ls->ino = libra_sock_ino(sk);
	INIT_LIST_HEAD(&ls->tx_held_node);
	init_waitqueue_head(&ls->tx_wait);
	ls->id = atomic64_inc_return(&libra_sock_next_id);
	ls->rx_cut_from = 1;	/* unless its end says otherwise: every message cut off */
	libra_sock_note_identity(ls, sk, task);
	ls->role = LIBRA_ROLE_UNKNOWN;
	ls->rx.aside_reason = LIBRA_SOCKET_ASIDE_NONE;
	ls->tx.aside_reason = LIBRA_SOCKET_ASIDE_NONE;
	ls->min_body = libra_optin_adopt(task, sk, &ls->scope);
	libra_scope_socket(ls->scope, 1);
	if (!ls->min_body) {
		/* not opted in: this process only holds anchors, it gets no new ones */
		ls->rx.passthrough = true;
	} else {
		proc = libra_proc_get(task_tgid(task));
		if (proc)
			libra_proc_flag(proc, LIBRA_PROC_OPTED_IN);
	}
	if (!libra_sock_at_stream_start(sk)) {
		ls->role = LIBRA_ROLE_PASS;
		libra_sock_add(ls, LIBRA_STAT_FALLBACK_NOT_ADOPTED, 1);
	}
	ls->rx.next_seq = tcp_sk(sk)->copied_seq;

	spin_lock_bh(&libra_sock_lock);
	hash_add_rcu(libra_socks, &ls->node, (unsigned long)sk);
	atomic_inc(&libra_sock_count);
	spin_unlock_bh(&libra_sock_lock);
	kref_get(&ls->ref);
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

void libra_sock_set_flag(struct libra_sock *ls, u8 flag)
{
	if (!(READ_ONCE(ls->flags) & flag))
		WRITE_ONCE(ls->flags, ls->flags | flag);
}

/*
 * A request starts. Past LIBRA_METHOD_QUEUE distinct entries awaiting
 * responses (a pipelined flood with methods or bodies that cannot share
 * one), libra no longer knows which response answers which request: the
 * connection stops anchoring what it receives, and its responses go out
 * as the program wrote them (libra_sock_peek_method says UNKNOWN).
 */
void libra_sock_push_method(struct libra_sock *ls, u8 method, u64 msg_id, bool body,
			    bool accepts_coding)
{
	struct libra_method_entry *tail = ls->method_count ?
		&ls->methods[(ls->method_head + ls->method_count - 1) % LIBRA_METHOD_QUEUE] : NULL;

	if (ls->methods_lost)
		return;
	if (tail && !body && !tail->body && tail->method == method &&
	    tail->accepts_coding == accepts_coding && tail->count < U32_MAX) {
		tail->count++;
		return;
	}
	if (ls->method_count == LIBRA_METHOD_QUEUE) {
		ls->methods_lost = true;
		libra_dir_step_aside(ls, &ls->rx, LIBRA_STAT_FALLBACK_PIPELINE);
		return;
	}
	ls->methods[(ls->method_head + ls->method_count) % LIBRA_METHOD_QUEUE] =
		(struct libra_method_entry){ .method = method, .body = body, .count = 1,
					     .accepts_coding = accepts_coding, .msg_id = msg_id };
	ls->method_count++;
}

/*
 * A response is complete. On the server side of a proxy that answers the
 * oldest request received: a body of it that went on upstream can no longer
 * be resent, so its anchors go.
 */
void libra_sock_pop_method(struct libra_sock *ls)
{
	struct libra_method_entry *head = &ls->methods[ls->method_head];

	if (!ls->method_count || ls->methods_lost)
		return;
	if (--head->count)
		return;
	ls->method_head = (ls->method_head + 1) % LIBRA_METHOD_QUEUE;
	ls->method_count--;
	if (ls->role == LIBRA_ROLE_SERVER && ls->request_anchors && head->body)
		libra_anchor_release_answered(head->msg_id);
}

/* Whether request @msg_id, received here, still awaits its response. */
bool libra_sock_request_pending(const struct libra_sock *ls, u64 msg_id)
{
	u8 i;

	for (i = 0; i < ls->method_count; i++) {
		const struct libra_method_entry *e =
			&ls->methods[(ls->method_head + i) % LIBRA_METHOD_QUEUE];

		if (e->body && e->msg_id == msg_id)
			return true;
	}
	return false;
}

/* Whether the request the next response answers accepts a content coding; true if not sure. */
bool libra_sock_peek_accepts_coding(const struct libra_sock *ls)
{
	if (ls->methods_lost || !ls->method_count)
		return true;
	return ls->methods[ls->method_head].accepts_coding;
}

/* The method of the request the next response answers; UNKNOWN if not sure. */
u8 libra_sock_peek_method(const struct libra_sock *ls)
{
	if (ls->methods_lost || !ls->method_count)
		return LIBRA_HTTP_METHOD_UNKNOWN;
	return ls->methods[ls->method_head].method;
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
	o->flags |= READ_ONCE(ls->flags) &
		    (LIBRA_SOCKET_F_TLS | LIBRA_SOCKET_F_KTLS | LIBRA_SOCKET_F_TLS_HANDSHAKE);
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

/*
 * The connection ended (destroy) or was taken apart to be reused
 * (disconnect): either way, what libra knew of its stream is over.
 */
static void libra_sock_connection_over(struct sock *sk, bool disconnect)
{
	struct libra_sock *ls;

	if (!atomic_read(&libra_sock_count))
		return;
	rcu_read_lock();
	ls = libra_sock_find(sk);
	if (ls && !kref_get_unless_zero(&ls->ref))
		ls = NULL;
	rcu_read_unlock();
	if (!ls)
		return;
	ls->rx_cut_from = libra_rx_cut_from(ls, sk);
	if (libra_sock_unlink(ls) && disconnect)
		libra_sock_add(ls, LIBRA_STAT_SOCKETS_RESET, 1);
	libra_sock_put(ls);
}

static int libra_sock_destroy_probe(struct kprobe *p, struct pt_regs *regs)
{
	libra_sock_connection_over((struct sock *)regs_get_kernel_argument(regs, 0), false);
	return 0;
}

static int libra_sock_disconnect_probe(struct kprobe *p, struct pt_regs *regs)
{
	libra_sock_connection_over((struct sock *)regs_get_kernel_argument(regs, 0), true);
	return 0;
}

static struct kprobe libra_sock_probes[] = {
	{ .symbol_name = "tcp_v4_destroy_sock", .pre_handler = libra_sock_destroy_probe },
	{ .symbol_name = "tcp_disconnect", .pre_handler = libra_sock_disconnect_probe },
};

int libra_sock_init(void)
{
	int i, err;

	for (i = 0; i < ARRAY_SIZE(libra_sock_probes); i++) {
		err = register_kprobe(&libra_sock_probes[i]);
		if (err) {
			pr_err("cannot probe %s: %d\n", libra_sock_probes[i].symbol_name, err);
			goto err_unregister;
		}
		/* without them, state would outlive connections: refuse to load */
		if (kprobe_disabled(&libra_sock_probes[i])) {
			pr_err("the kprobe on %s is disabled (debugfs kprobes/enabled?)\n",
			       libra_sock_probes[i].symbol_name);
			err = -EBUSY;
			i++;
			goto err_unregister;
		}
	}
	return 0;

err_unregister:
	while (--i >= 0)
		unregister_kprobe(&libra_sock_probes[i]);
	return err;
}

/*
 * After the hooks and probes are gone: nothing can find, create or unlink
 * entries any more but this.
 */
void libra_sock_exit(void)
{
	struct libra_sock *ls;
	struct hlist_node *tmp;
	unsigned int bkt;
	int i;

	for (i = ARRAY_SIZE(libra_sock_probes) - 1; i >= 0; i--)
		unregister_kprobe(&libra_sock_probes[i]);
	hash_for_each_safe(libra_socks, bkt, tmp, ls, node)
		libra_sock_unlink(ls);
	rcu_barrier();
}
