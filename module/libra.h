/* SPDX-License-Identifier: GPL-2.0 */
/* Declarations shared between the module's files; user space sees only <linux/libra.h>. */
#ifndef LIBRA_H
#define LIBRA_H

#include <linux/bvec.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/percpu.h>
#include <linux/wait.h>
#include <linux/sched/clock.h>
#include <linux/libra.h>
#include <linux/types.h>

struct kiocb;
struct msghdr;
struct pid;
struct sock;
struct socket;
struct task_struct;

/* symbols.c: kernel functions libra calls that are not exported to modules everywhere */
struct libra_symbols {
	int (*tcp_recvmsg)(struct sock *sk, struct msghdr *msg, size_t len,
			   int flags, int *addr_len);
	int (*tcp_sendmsg)(struct sock *sk, struct msghdr *msg, size_t size);
	int (*tcp_sendpage)(struct sock *sk, struct page *page, int offset,
			    size_t size, int flags);
	void (*tcp_shutdown)(struct sock *sk, int how);
	/*
	 * The egress guard's hooks call through to these: the socket families'
	 * proto_ops sendmsg (address-taken, so callable through a pointer on
	 * IBT kernels), and the buffered-write paths of files and pipes.
	 */
	int (*inet_sendmsg)(struct socket *sock, struct msghdr *msg, size_t size);
	int (*inet6_sendmsg)(struct socket *sock, struct msghdr *msg, size_t size);
	int (*unix_stream_sendmsg)(struct socket *sock, struct msghdr *msg, size_t size);
	int (*unix_dgram_sendmsg)(struct socket *sock, struct msghdr *msg, size_t size);
	int (*unix_seqpacket_sendmsg)(struct socket *sock, struct msghdr *msg, size_t size);
	ssize_t (*generic_perform_write)(struct kiocb *iocb, struct iov_iter *i);
	ssize_t (*pipe_write)(struct kiocb *iocb, struct iov_iter *from);
	/* iomap_file_buffered_write: 3 arguments on 6.1, 4 from 6.6; the 4th is passed through */
	ssize_t (*iomap_file_buffered_write)(struct kiocb *iocb, struct iov_iter *i,
					     const void *ops, void *private);
};
extern struct libra_symbols libra_sym;
int libra_symbols_resolve(void);

/* stats.c: per-cpu counters, summed on read */
int libra_stats_init(void);
void libra_stats_exit(void);
/* inline: the hooks count every TCP send and receive on the machine */
struct libra_stats_pcpu {
	u64 v[__LIBRA_STAT_MAX];
};
extern struct libra_stats_pcpu __percpu *libra_stats;
static __always_inline void libra_stat_add(enum libra_stat stat, u64 delta)
{
	this_cpu_add(libra_stats->v[stat], delta);
}
static __always_inline void libra_stat_inc(enum libra_stat stat)
{
	this_cpu_inc(libra_stats->v[stat]);
}
void libra_stats_read(u64 *values, unsigned int count);
/*
 * timing: t0 = libra_clock(); ...; libra_time_add(LIBRA_STAT_TIME_*_NS, t0);
 * only while the time_stats parameter is on: a clock read costs more than
 * some of the spans it would measure. t0 == 0 is a span begun while off.
 */
extern bool libra_time_stats;
static inline u64 libra_clock(void)
{
	return READ_ONCE(libra_time_stats) ? local_clock() : 0;
}
static inline void libra_time_add(enum libra_stat stat, u64 t0)
{
	s64 d;

	if (!t0)
		return;
	d = (s64)(local_clock() - t0);	/* another cpu's clock may lag */
	if (d > 0)
		libra_stat_add(stat, d);
}
/* ... and the same per opt-in entry: a refcounted scope */
struct libra_scope;
struct libra_scope *libra_scope_new(u64 anchor_limit);
struct libra_scope *libra_scope_get(struct libra_scope *s);
void libra_scope_put(struct libra_scope *s);
void libra_scope_add(struct libra_scope *s, enum libra_stat stat, u64 delta);
void libra_scope_socket(struct libra_scope *s, int delta);
bool libra_scope_charge(struct libra_scope *s, u64 bytes);
void libra_scope_uncharge(struct libra_scope *s, u64 bytes);
u64 libra_scope_limit(const struct libra_scope *s);
void libra_scope_retire(struct libra_scope *s);
bool libra_scope_retired(const struct libra_scope *s);
void libra_scope_read(struct libra_scope *s, u64 *values, unsigned int count, u64 *counted);

/* optin.c: which processes' sockets libra handles */
bool libra_optin_any(void);
bool libra_optin_match(struct task_struct *task, const struct sock *sk);
bool libra_optin_task_selected(struct task_struct *task);
u32 libra_optin_adopt(struct task_struct *task, const struct sock *sk,
		      struct libra_scope **scope);
struct pid *libra_optin_get_tgid(pid_t nr);
int libra_optin_add(const struct libra_optin *req);
int libra_optin_del(const struct libra_optin *req);
int libra_optin_list(struct libra_optin *out, u32 count, u32 *total);
u64 libra_optin_entries(void);
int libra_optin_read_stats(const struct libra_optin *req, u64 *values, u32 count,
			   u64 *counted);
void libra_optin_exit(void);

/* parser.c: the attached BPF framing parser */
int libra_parser_attach(int prog_fd);
bool libra_parser_attached(void);
int libra_parser_run(struct libra_parse_ctx *ctx, u32 avail,
		     int (*fill)(void *dst, u32 len, void *arg), void *arg);
void libra_parser_exit(void);

/* token.c */
void libra_token_init(void);
u64 libra_token_new_id(void);
void libra_token_make(struct libra_token *tok, u64 id, u32 len);
void libra_token_fill(struct libra_token *tok, u64 id, u32 len, u64 mac);
bool libra_token_valid(const struct libra_token *tok);

/* What a token found in outgoing bytes is (libra_anchor_lookup). */
enum libra_token_verdict {
	LIBRA_TOKEN_LIVE,	/* its anchor, this process's: stand in for it */
	LIBRA_TOKEN_NOT_OURS,	/* no valid MAC: the program's own bytes that look like one */
	LIBRA_TOKEN_GONE,	/* libra's, but its anchor is gone: refuse */
	LIBRA_TOKEN_FOREIGN,	/* libra's, another process's anchor: an ancestor's may be written out */
};
const char *libra_token_verdict_name(enum libra_token_verdict why);

/* anchor.c: body bytes held by page reference */
struct libra_msg;
struct libra_proc;
/*
 * The pages of one receive's anchors (rx.c anchors the buffers of a readv()
 * in one go): pinned and charged once for all of them, freed with the last
 * anchor over them. Read-only once built.
 */
struct libra_pages {
	struct kref ref;		/* one per anchor over them, dropped when it is freed */
	atomic_t holders;		/* anchors over them not yet released: the charge goes at 0 */
	struct libra_scope *scope;	/* charged for them; NULL if none */
	u64 charged;			/* what the pieces pin: budget bytes */
	u32 nr_pieces;
	struct bio_vec pieces[];
};
struct libra_anchor {
	struct hlist_node node;		/* libra_anchor_table, RCU */
	struct list_head msg_node;	/* msg->anchors, under libra_anchor_lock */
	struct list_head proc_node;	/* proc->anchors, under libra_anchor_lock */
	struct hlist_node dead;		/* a private list of anchors to put */
	struct libra_msg *msg;		/* the HTTP message it is a body part of; NULL once unlinked */
	struct libra_msg *spare_msg;	/* allocated by build, for publish */
	struct libra_proc *proc;	/* of @owner: valid while linked */
	/*
	 * The region of the next buffer of the same receive (rx.c anchors a
	 * readv()'s buffers in one go), referenced: where a send finds its
	 * token right after this region, it runs on into it without a lookup.
	 */
	struct libra_anchor *next;
	u64 mac;			/* its token's */
	u64 msg_id;
	u64 origin;			/* libra_sock id it arrived on */
	struct rcu_head rcu;
	struct kref ref;		/* the table's, plus one per user */
	u64 id;
	struct pid *owner;		/* thread group that received it */
	struct libra_scope *scope;	/* its counters; NULL if none */
	/* its share of @pages->charged, for its process's figures (the budget is charged per set) */
	u64 charged;
	unsigned long uaddr;		/* user address its token was written to; 0: none */
	u32 len;			/* region bytes, token included */
	struct libra_pages *pages;	/* referenced: its region is @len bytes of them from ... */
	u32 first_piece, first_off;	/* ... byte @first_off of piece @first_piece */
	u32 page_copied;		/* bytes of the set copied into fresh pages (slab heads, shared frags): the first anchor's */
	/*
	 * A request body's: sending does not release it, since a proxy may
	 * resend a request to another upstream; it goes when the response to
	 * the request is complete (if it was sent) or with the connection it
	 * arrived on (@origin).
	 */
	bool resendable;
	bool sent_once;			/* under libra_anchor_lock */
	bool poisoned;			/* under libra_anchor_lock: see libra_anchor_poison() */
};

/* Walks the pages of @len bytes of an anchor's region from byte @off of it. */
struct libra_piece_iter {
	const struct bio_vec *piece, *end;
	u32 off, left;			/* into *@piece; bytes still to walk */
};

/* Moves (*@piece, *@off) on to the piece byte *@off of it lies in (or the end). */
static inline void libra_pages_seek(const struct libra_pages *p, u32 *piece, u32 *off)
{
	for (; *piece < p->nr_pieces && *off >= p->pieces[*piece].bv_len; (*piece)++)
		*off -= p->pieces[*piece].bv_len;
}

static inline void libra_piece_iter_init(struct libra_piece_iter *it, const struct libra_anchor *a,
					 u32 off, u32 len)
{
	u32 piece = a->first_piece;

	it->off = a->first_off + off;
	libra_pages_seek(a->pages, &piece, &it->off);
	it->piece = &a->pages->pieces[piece];
	it->end = &a->pages->pieces[a->pages->nr_pieces];
	it->left = off < a->len ? min(len, a->len - off) : 0;
}

/* The next run of pages, as one bio_vec; false when the range is walked. */
static inline bool libra_piece_next(struct libra_piece_iter *it, struct bio_vec *bv)
{
	u32 n;

	if (!it->left || it->piece == it->end)
		return false;
	n = min(it->piece->bv_len - it->off, it->left);
	*bv = (struct bio_vec){ .bv_page = it->piece->bv_page,
				.bv_offset = it->piece->bv_offset + it->off, .bv_len = n };
	it->left -= n;
	it->off = 0;
	it->piece++;
	return true;
}
u32 libra_anchor_copy_to_iter(const struct libra_anchor *a, u32 off, u32 len, struct iov_iter *to);
unsigned int libra_anchor_build(struct sock *sk, u32 seq, const u32 *lens, unsigned int nr,
				u64 msg_id, u64 origin, struct libra_scope *scope,
				struct libra_anchor **out);
void libra_anchor_publish(struct libra_anchor **as, const unsigned long *uaddr, unsigned int nr);
void libra_anchor_discard(struct libra_anchor *a);
u64 libra_anchor_new_msg_id(void);
void libra_anchor_abandon_msg(u64 msg_id);
void libra_anchor_release_answered(u64 msg_id);
void libra_anchor_release_origin(u64 origin, struct pid *owner, u64 cut_from);
bool libra_anchor_msg_abandoned(u64 msg_id);
struct libra_anchor *libra_anchor_lookup(const struct libra_token *tok,
					 enum libra_token_verdict *why);
bool libra_anchor_ancestral(const struct libra_anchor *a);
void libra_anchor_touch(struct libra_anchor *a);
void libra_anchor_sent(struct libra_anchor *a);
void libra_anchor_put(struct libra_anchor *a);
unsigned int libra_anchor_grab_proc(struct libra_proc *p, struct libra_anchor **out,
				    unsigned int max, unsigned int skip);
void libra_anchor_poison(struct libra_anchor *a);
u64 libra_anchor_limit(void);
int libra_anchor_set_limit(u64 bytes);
u64 libra_anchored_now(void);
u64 libra_anchored_peak_bytes(void);
u64 libra_anchors_now(void);
void libra_anchor_init(void);
void libra_anchor_exit(void);

/* proc.c: processes libra knows (anchor holders, opted-in users, TLS speakers) */
enum {
	LIBRA_PROC_TOKENS,	/* it received tokens, or was forked from one that did */
	LIBRA_PROC_OPTED_IN,	/* an opt-in entry selected one of its sockets */
	LIBRA_PROC_TLS_USER,	/* it sent TLS records built in user space */
	LIBRA_PROC_TLS_KERNEL,	/* it set up kernel TLS for sending (informational: no refusal) */
	LIBRA_PROC_UNFRAMED,	/* it sent a token where libra does not follow the framing */
};
struct libra_proc {
	struct hlist_node node;		/* libra_procs, RCU */
	struct rcu_head rcu;
	struct pid *tgid;
	unsigned long flags;		/* LIBRA_PROC_*, atomic bit operations */
	u64 tls_since_ns;		/* CLOCK_BOOTTIME of its first TLS seen */
	atomic_t tls_handshakes;	/* its sockets whose TLS handshake is open (tls.c) */
	/* under libra_anchor_lock (anchor.c) */
	struct list_head anchors;	/* its live anchors, oldest first */
	u32 nr_anchors;
	u32 poisoned;			/* of them, with copies libra cannot find (tls.c) */
	u64 anchored_bytes;
	atomic64_t materialized;	/* anchored bytes written into its memory */
	atomic64_t refused;		/* its tokens that failed a call */
};
struct libra_proc *libra_proc_lookup(struct pid *tgid);
struct libra_proc *libra_proc_get(struct pid *tgid);
struct libra_proc *libra_proc_get_gfp(struct pid *tgid, gfp_t gfp);
int libra_proc_init(void);
bool libra_proc_guarded(struct task_struct *task);
bool libra_proc_flagged(struct task_struct *task, unsigned int bit);
bool libra_proc_flag(struct libra_proc *p, unsigned int bit);
void libra_proc_reap(void);
void libra_proc_for_each(void (*fn)(struct libra_proc *p, void *arg), void *arg);
u32 libra_proc_list(struct libra_proc_info *out, u32 count);
u32 libra_procs_known(void);
void libra_proc_exit(void);

/* sock.c: per-socket state */
/* as LIBRA_IOC_LIST_SOCKETS reports them */
enum libra_sock_role {
	LIBRA_ROLE_UNKNOWN = LIBRA_SOCKET_ROLE_UNKNOWN,	/* no data moved yet */
	LIBRA_ROLE_CLIENT = LIBRA_SOCKET_ROLE_CLIENT,	/* this process spoke first: it sends requests */
	LIBRA_ROLE_SERVER = LIBRA_SOCKET_ROLE_SERVER,	/* the peer spoke first: it sends requests to us */
	LIBRA_ROLE_PASS = LIBRA_SOCKET_ROLE_PASS,	/* not at a message boundary when first seen */
};

/* A body in sequence space, [start, end). */
struct libra_extent {
	u32 start, end;
	u64 msg_id;		/* the message the body belongs to */
	bool chunk;		/* chunk data: more of the stream must follow it */
};

#define LIBRA_EXTENTS		32
#define LIBRA_SCAN_CHUNK	2048	/* scratch for token scans, per socket */
#define LIBRA_METHOD_QUEUE	16

/* One direction of a stream, as the parser sees it (dir.c). */
struct libra_dir {
	struct libra_parse_ctx ctx;	/* the parser's state between calls */
	u32 next_seq;			/* first byte the parser has not consumed */
	u32 need_min;			/* bytes it wants before the next call */
	bool passthrough;		/* stepped aside for good */
	u16 aside_reason;		/* the enum libra_stat that counted it, or LIBRA_SOCKET_ASIDE_NONE */
	bool to_close;			/* the body runs to the end of the stream */
	u8 ext_head, ext_count;		/* bodies ahead: anchorable (rx), all (tx) */
	u64 msg_id;			/* the message being parsed */
	u64 ended_msg_id;		/* the last message parsed to an end no body follows
					 * (a last chunk, a message without body) */
	u64 whole_msg_id;		/* the last message whose end the parser has seen ... */
	u32 whole_end_seq;		/* ... and where it ends */
	bool msg_transformable;		/* rx: the message's body may be compressed by the proxy:
					 * never anchored */
	struct libra_extent ext[LIBRA_EXTENTS];
};

/*
 * Requests awaiting their responses, oldest first. Consecutive requests
 * without a body and of the same method share one entry (@count), so a
 * pipelined flood of GETs takes one; a request with a body has its own,
 * with its message id (its anchors go when its response completes).
 */
struct libra_method_entry {
	u8 method;		/* enum libra_http_method */
	bool body;		/* a request with a body: @msg_id is its */
	bool accepts_coding;	/* it accepts a content coding (or the parser cannot tell) */
	u32 count;
	u64 msg_id;
};

struct libra_sock {
	struct hlist_node node;		/* libra_socks, RCU */
	struct rcu_head rcu;
	struct kref ref;		/* the table's while linked, plus one per handler using it */
	struct sock *sk;
	/* set at adoption, never changed: read by LIBRA_IOC_LIST_SOCKETS without locks */
	struct pid *owner;		/* thread group whose call adopted it */
	u16 family, local_port, remote_port;
	u8 local_addr[16], remote_addr[16];
	unsigned long ino;		/* its socket's inode: a recycled struct sock has another */
	/*
	 * Set when the entry is unlinked (the connection was disconnected, or
	 * the socket destroyed): a handler that dropped the socket lock and
	 * finds it set stops using the entry. Written under libra_sock_lock.
	 */
	bool dead;
	/*
	 * Everything below: under the socket lock. LIBRA_IOC_LIST_SOCKETS reads
	 * role, min_body, flags, stats[] and each direction's passthrough and
	 * aside_reason without it (under RCU only, READ_ONCE): they are written
	 * with WRITE_ONCE, and a reader may see one counter moved and not yet
	 * the next (see libra_sock_list()).
	 */
	u64 stats[__LIBRA_SOCKET_STAT_MAX];	/* enum libra_socket_stat, via libra_sock_add() */
	enum libra_sock_role role;
	u32 min_body;
	u8 flags;			/* LIBRA_SOCKET_F_TLS, _KTLS, _TLS_HANDSHAKE */
	/*
	 * The process whose TLS handshake is open on this socket (tls.c): set
	 * under the socket lock, taken (xchg) by whoever ends the handshake,
	 * in any context.
	 */
	struct pid *tls_tgid;
	/*
	 * Kernel TLS (ktls.c), under the send claim: a region whose bytes go on
	 * in the program's next send, from @ktls_cont_off; the plaintext bytes
	 * sent so far.
	 */
	struct libra_anchor *ktls_cont;
	u32 ktls_cont_off;
	u64 ktls_pos;
	bool tx_owed_ktls;		/* what is owed was held by a kernel-TLS send */
	struct libra_scope *scope;	/* of the opt-in entry that adopted it */
	struct libra_dir rx, tx;
	u64 id;				/* unique for the module's lifetime */
	/*
	 * Set as the connection ends (libra_rx_cut_from()): response messages
	 * from this id on that arrived here were cut off with it; the older
	 * ones arrived whole and the proxy may still send them.
	 */
	u64 rx_cut_from;
	struct libra_method_entry methods[LIBRA_METHOD_QUEUE];
	u8 method_head, method_count;
	bool request_anchors;		/* a request body was anchored here */
	bool methods_lost;		/* a request went out unparsed, or the queue overflowed */
	/*
	 * One send at a time (tx.c): a send may sleep for buffer space with the
	 * socket lock dropped, and libra's send state spans the whole call.
	 * Another sender waits on @tx_wait until @tx_busy clears.
	 */
	bool tx_busy;
	wait_queue_head_t tx_wait;
	bool tx_synced;
	u32 tx_expect_seq;		/* write_seq after libra's last send */
	u32 tx_pos;			/* stream position of the next byte to send */
	struct libra_anchor *tx_cont;	/* region being sent in pieces ... */
	u32 tx_cont_off;		/* ... how much of it went ... */
	u64 tx_cont_msg;		/* ... and the outgoing message it belongs to */
	/*
	 * The region of the buffer received after tx_cont's, referenced, when
	 * tx_cont's went out whole at the end of a call: if the next call's
	 * body bytes open with its token, the region runs on into it without a
	 * scan, a MAC and a lookup (tx.c). Consulted once, then dropped.
	 */
	struct libra_anchor *tx_succ;
	/*
	 * Bytes the program handed over that are not sent yet: the start of
	 * what may be a token, cut off by the end of a send call, and what
	 * came after it until it can be decided, framing the program put in
	 * between included (its bits set in tx_owed_framing). Sent, as an
	 * anchor's bytes or as they are, before anything that follows them.
	 */
#define LIBRA_TX_OWED_MAX 64
	u8 tx_owed[LIBRA_TX_OWED_MAX];
	u64 tx_owed_framing;		/* bit i: tx_owed[i] is framing, never an anchor's */
	u8 tx_owed_len;
	u8 tx_owed_state;		/* enum libra_tx_owed in tx.h */
	/*
	 * How many of the magic's bytes went out as the bytes they were when
	 * a hold expired: if the next body bytes complete a token of libra's,
	 * its start is on the wire already (tx_owed.c).
	 */
	u8 tx_raw_magic;
	u64 tx_owed_msg_id;		/* the message whose body the held start is in, if known */
	struct list_head tx_held_node;	/* tx_owed.c's list of sockets owing bytes */
	unsigned long tx_hold_expires;	/* jiffies; 0: no deadline. Under libra_tx_held_lock */
#define LIBRA_TX_MSGS 4
	u64 tx_msgs[LIBRA_TX_MSGS];	/* messages whose bodies went out here, latest */
	u8 tx_msgs_next;
	u8 *tx_scan_buf;		/* scratch for token scans, allocated at adoption */
};
struct libra_sock *libra_sock_get(struct sock *sk, struct task_struct *task);
void libra_sock_count_own(struct libra_sock *ls, enum libra_stat stat, u64 delta);
void libra_sock_put(struct libra_sock *ls);
struct libra_sock *libra_sock_lookup(struct sock *sk);
void libra_sock_set_role(struct libra_sock *ls, enum libra_sock_role role);
void libra_sock_push_method(struct libra_sock *ls, u8 method, u64 msg_id, bool body,
			    bool accepts_coding);
bool libra_sock_peek_accepts_coding(const struct libra_sock *ls);
bool libra_sock_request_pending(const struct libra_sock *ls, u64 msg_id);
void libra_sock_pop_method(struct libra_sock *ls);
u8 libra_sock_peek_method(const struct libra_sock *ls);
void libra_sock_set_flag(struct libra_sock *ls, u8 flag);
u64 libra_socks_tracked(void);
void libra_sock_add(struct libra_sock *ls, enum libra_stat stat, u64 delta);
u32 libra_sock_list(struct libra_socket_info *out, u32 count, struct pid *owner);
int libra_sock_init(void);
void libra_sock_exit(void);

/* dir.c: one direction's parse state, shared by receive and send */
void libra_dir_step_aside(struct libra_sock *ls, struct libra_dir *d, enum libra_stat reason);
bool libra_dir_apply_verdict(struct libra_sock *ls, struct libra_dir *d, u32 min_extent);
int libra_dir_parse(struct libra_sock *ls, struct libra_dir *d, u32 avail,
		    int (*fill)(void *dst, u32 len, void *arg), void *arg);

u64 libra_rx_cut_from(const struct libra_sock *ls, const struct sock *sk);
/* rx.c, tx.c: the handlers opted-in calls are redirected to */
int libra_rx_recvmsg(struct sock *sk, struct msghdr *msg, size_t len, int flags,
		     int *addr_len);
int libra_tx_sendmsg(struct sock *sk, struct msghdr *msg, size_t size);
int libra_tx_sendpage(struct sock *sk, struct page *page, int offset, size_t size,
		      int flags);
void libra_tx_drop_successor(struct libra_sock *ls);
/* tx_owed.c: bytes a send held back, settled at shutdown and close */
bool libra_tx_any_held(void);
bool libra_tx_proc_ktls_holding(struct pid *tgid);
void libra_tx_held_forget(struct libra_sock *ls);
void libra_tx_shutdown(struct sock *sk, int how);
void libra_tx_close(struct sock *sk);
/* A stretch of an anchored region one send hands over: @len bytes of @a from @off. */
struct libra_anchor_part {
	struct libra_anchor *a;
	u32 off, len;
};
/*
 * Where a send's anchored pages go: @nr page runs, @len bytes in all,
 * MSG_MORE if @more. Returns the bytes taken, or a negative errno when
 * none were.
 */
typedef int (*libra_page_sink)(void *to, const struct bio_vec *runs, unsigned int nr, u32 len,
			       bool more);
int libra_anchor_send(const struct libra_anchor_part *parts, unsigned int nr, bool more,
		      libra_page_sink sink, void *to);
struct libra_sock *libra_tx_enter(struct sock *sk, int flags, int *err);
void libra_tx_leave(struct sock *sk, struct libra_sock *ls);
void libra_tx_exit(void);

/*
 * egress.c: every other way bytes leave a process holding anchors (files,
 * pipes, non-TCP and kernel-TLS sockets, TCP streams libra does not frame):
 * tokens in them are written out as their regions' bytes, in the program's
 * memory, before the stock path copies it, or the call fails.
 */
/*
 * Where the bytes go, for the guard: somewhere a token does not demote its
 * process (files, where programs write regions whole; a MSG_ZEROCOPY send;
 * a TCP stream libra stepped aside on, which a remote peer may have caused),
 * or a stream the process itself chose to speak a framing libra does not
 * follow on (AF_UNIX, a pipe; headers carrying a body), where a token
 * demotes it (egress.c).
 */
enum libra_egress {
	LIBRA_EGRESS_WHOLE,
	LIBRA_EGRESS_STREAM,
};
int libra_guard_iter(const struct iov_iter *iter, size_t len, struct libra_sock *ls,
		     enum libra_egress kind, const char *where);
int libra_materialize_at(struct libra_anchor *a, unsigned long uaddr, struct libra_sock *ls);
void libra_refuse_count(struct libra_scope *scope, struct libra_sock *ls, const char *where,
			const char *why);

/* tls.c: processes that speak TLS get no anchors */
bool libra_tls_record_start(const u8 *b, u32 n, bool handshake);
bool libra_quic_long_header(const u8 *b, u32 n);
bool libra_h2_start(const u8 *b, u32 n);
bool libra_tls_mark(struct task_struct *task, const char *how);
void libra_tls_handshake_begin(struct libra_sock *ls);
void libra_tls_handshake_end(struct libra_sock *ls, bool ktls);
bool libra_tls_handshakes_open(void);
void libra_tls_tx_set_up(struct sock *sk);

/* ktls.c: sends on kernel-TLS sockets */
bool libra_ktls_tx(const struct sock *sk);
int libra_ktls_sendmsg(struct socket *sock, struct msghdr *msg, size_t size,
		       int (*stock)(struct socket *, struct msghdr *, size_t));
int libra_ktls_flush_held(struct sock *sk, struct libra_sock *ls);
ssize_t libra_ktls_sendpage(struct socket *sock, struct page *page, int offset, size_t size,
			    int flags);
void libra_ktls_release(struct sock *sk);
bool libra_proc_refuses_anchors(struct task_struct *task, enum libra_stat *why);
bool libra_tls_proc_poisoned(struct task_struct *task);

/* hooks.c: ftrace hooks on tcp_recvmsg, tcp_sendmsg (tcp_sendpage), tcp_shutdown,
 * tcp_close, and the egress guard's: the inet, inet6 and unix sendmsg,
 * generic_perform_write, iomap_file_buffered_write and pipe_write */
int libra_hooks_install(void);
void libra_hooks_remove(void);
u64 libra_hooks_in_flight(void);

/* control.c: /dev/libra */
int libra_control_init(void);
void libra_control_exit(void);

#endif /* LIBRA_H */
