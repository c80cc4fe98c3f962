/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * libra.h - the one interface between the libra kernel module and user space.
 *
 * The module registers a misc character device, /dev/libra. Every request is
 * an ioctl on a file descriptor of that device. The device only opens for a
 * caller with CAP_NET_ADMIN in the initial user namespace, and every ioctl
 * checks the caller's credentials as well as the opener's, so a descriptor
 * passed to an unprivileged process grants nothing.
 *
 * Versioning: LIBRA_ABI_VERSION increases whenever a structure or ioctl below
 * changes incompatibly. User space asks with LIBRA_IOC_GET_VERSION first and
 * refuses to talk to a module whose ABI version differs. Counters are an
 * indexed array (enum libra_stat) so new ones can be appended without an ABI
 * break: a caller passes how many slots it has, the module fills at most that
 * many and says how many it knows. The same holds for the per-socket counters
 * of LIBRA_IOC_LIST_SOCKETS, within the room its structure reserves. A new
 * ioctl is not an incompatible change: an older module answers it ENOTTY.
 *
 * Layout rules: fixed-width types only, explicit padding, 64-bit fields
 * 8-byte aligned, user pointers carried as __aligned_u64.
 */
#ifndef _UAPI_LINUX_LIBRA_H
#define _UAPI_LINUX_LIBRA_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define LIBRA_ABI_VERSION	2
#define LIBRA_DEVICE_NAME	"libra"		/* /dev/libra */
#define LIBRA_VERSION_LEN	32

/* 0xB7 is not claimed in Documentation/userspace-api/ioctl/ioctl-number.rst */
#define LIBRA_IOC_MAGIC		0xB7

/* LIBRA_IOC_GET_VERSION: what module answers on this device. */
struct libra_version {
	__u32 abi_version;			/* out: LIBRA_ABI_VERSION */
	__u32 stat_count;			/* out: __LIBRA_STAT_MAX of the module */
	char module_version[LIBRA_VERSION_LEN];	/* out: NUL-terminated */
};

/*
 * Counters, monotonically increasing since the module was loaded unless
 * marked as a gauge. Never renumber; append only.
 */
enum libra_stat {
	/* calls to tcp_recvmsg seen by the hook, opted in or not */
	LIBRA_STAT_RECVMSG_CALLS,
	/* calls to tcp_sendmsg seen by the hook, opted in or not */
	LIBRA_STAT_SENDMSG_CALLS,
	/* tcp_recvmsg calls of opted-in processes, handled by libra */
	LIBRA_STAT_RECVMSG_ENGAGED,
	/* tcp_sendmsg calls of opted-in processes, handled by libra */
	LIBRA_STAT_SENDMSG_ENGAGED,
	/* gauge: entries in the opt-in table */
	LIBRA_STAT_OPTIN_ENTRIES,
	/* gauge: libra calls in flight (inside a libra handler right now) */
	LIBRA_STAT_CALLS_IN_FLIGHT,
	/* gauge: sockets libra keeps state for */
	LIBRA_STAT_SOCKETS_TRACKED,
	/* HTTP metadata units the parser completed (start lines+headers, chunk lines) */
	LIBRA_STAT_MESSAGES_PARSED,
	/* bytes of opted-in receives copied to user space the stock way */
	LIBRA_STAT_BYTES_METADATA_COPIED,
	/* body bytes received into anchors instead of being copied to user space */
	LIBRA_STAT_BYTES_ANCHORED,
	/* anchored bytes sent without copying from user space */
	LIBRA_STAT_BYTES_ZERO_COPY_SENT,
	/* body bytes libra could have anchored but copied (see the FALLBACK_* reasons) */
	LIBRA_STAT_BYTES_FALLBACK_COPIED,
	/* gauges: anchored memory now, its peak since load, and its limit */
	LIBRA_STAT_ANCHORED_BYTES_NOW,
	LIBRA_STAT_ANCHORED_BYTES_PEAK,
	LIBRA_STAT_ANCHORED_BYTES_LIMIT,
	/* gauge: live anchors */
	LIBRA_STAT_ANCHORS_NOW,
	/* the parser stepped aside (not HTTP/1.x, ambiguous or invalid) */
	LIBRA_STAT_PARSER_ERRORS,
	/* fallbacks: why a body region was copied or a connection passed through */
	LIBRA_STAT_FALLBACK_BUDGET,		/* anchored-memory limit reached */
	LIBRA_STAT_FALLBACK_SMALL_BODY,		/* body or region under the minimum, or a body
						 * over 1 GiB (not tracked: the direction steps aside) */
	LIBRA_STAT_FALLBACK_NO_PARSER,		/* sockets adopted while no parser was attached:
						 * their receives take the stock path for good */
	LIBRA_STAT_FALLBACK_DESYNC,		/* stream consumed behind libra's back (splice, race) */
	LIBRA_STAT_FALLBACK_NOT_ADOPTED,	/* socket had traffic before opt-in */
	LIBRA_STAT_FALLBACK_UNKNOWN_METHOD,	/* response whose request method is unknown */
	LIBRA_STAT_FALLBACK_PAGE_COPIED,	/* bytes anchored by kernel copy: slab heads or shared frags */
	/* bytes in sent data that looked like a token but carry no valid MAC: sent as they are */
	LIBRA_STAT_TOKENS_REJECTED,
	/* anchors released: sent in full, expired, their message or process gone, or unload */
	LIBRA_STAT_ANCHORS_RELEASED,
	/*
	 * no longer counted (always 0): a token where the outbound framing is
	 * unknown is written out in the program's memory (BYTES_MATERIALIZED)
	 */
	LIBRA_STAT_TOKENS_UNFRAMED,
	/*
	 * token starts cut off by a send whose rest did not come within
	 * tx_hold_ms: sent as they were, or (the token's whole magic) the
	 * connection reset
	 */
	LIBRA_STAT_TX_HOLDS_EXPIRED,
	/*
	 * connections libra reset: held bytes that could not be queued at
	 * shutdown or close, a token it could not stand in for, TLS data that
	 * may carry a token, a region in progress when the framing was lost
	 */
	LIBRA_STAT_TX_RESETS,
	/*
	 * Time spent, in nanoseconds of local_clock() summed over all cpus: where
	 * libra's share of a proxy's CPU time goes. Wall time of each span, so it
	 * includes time the task was blocked or preempted inside it (opted-in
	 * proxies use non-blocking sockets, so that is rare: lock contention,
	 * preemption). The spans nest: the handlers contain the others.
	 */
	/* inside libra's tcp_recvmsg handler, stock copies of metadata included */
	LIBRA_STAT_TIME_RX_HANDLER_NS,
	/* inside libra's tcp_sendmsg (and tcp_sendpage) handler */
	LIBRA_STAT_TIME_TX_HANDLER_NS,
	/* building anchors on receive (libra_anchor_build: page references, copies of slab frags) */
	LIBRA_STAT_TIME_ANCHOR_BUILD_NS,
	/* running the BPF framing parser, both directions, window copy included */
	LIBRA_STAT_TIME_PARSE_NS,
	/* scanning sent body bytes for tokens, token lookups included */
	LIBRA_STAT_TIME_TOKEN_SCAN_NS,
	/* sending anchored pages (do_tcp_sendpages / MSG_SPLICE_PAGES) */
	LIBRA_STAT_TIME_PAGE_SEND_NS,
	/*
	 * The fail-safe rules (docs/design.md, "Where a token may go"). Where an
	 * anchored region's bytes are about to leave a process by a path libra
	 * cannot send anchored pages on (a file, a pipe, an AF_UNIX or kernel-TLS
	 * socket, a TCP stream whose framing libra does not follow, MSG_ZEROCOPY),
	 * libra writes the region's real bytes into the program's memory first,
	 * where the token and its zero fill stood: the stock path then carries
	 * exactly the bytes stock Linux would. Bytes written that way:
	 */
	LIBRA_STAT_BYTES_MATERIALIZED,
	/*
	 * Tokens libra could not stand in for (their anchor is gone, their
	 * region was altered in the program's memory, or they belong to another
	 * process): the call failed and the connection was reset (TCP) or the
	 * write failed with EIO, never sent as bytes.
	 */
	LIBRA_STAT_TOKENS_REFUSED,
	/*
	 * processes seen terminating TLS in user space: they get no anchors
	 * (a handshake that ends in kernel TLS does not count)
	 */
	LIBRA_STAT_TLS_PROCESSES,
	/*
	 * body regions copied, not anchored, because their process terminates
	 * TLS in user space or has a TLS handshake open
	 */
	LIBRA_STAT_FALLBACK_TLS,
	/* TLS connections reset: TLS data sent while tokens it might carry were live */
	LIBRA_STAT_TLS_RESETS,
	/* connections whose receives took the stock path for good: urgent data (MSG_OOB) was ahead */
	LIBRA_STAT_FALLBACK_URGENT,
	/*
	 * anchors released unsent because nothing can send them any more: their
	 * message never started going out and its connection is gone, or they
	 * waited anchor_unsent_ms (a response the proxy dropped: its first token
	 * gone from where it was received) or anchor_idle_ms
	 */
	LIBRA_STAT_ANCHORS_EXPIRED,
	/* regions whose message ended before the region did: the rest is never sent */
	LIBRA_STAT_REGIONS_CUT,
	/* opt-in entries removed because every process they name has exited */
	LIBRA_STAT_OPTIN_EXPIRED,
	/*
	 * per-socket state discarded at tcp_disconnect(): connect(AF_UNSPEC), a
	 * close with SO_LINGER 0, libra's own resets (a reconnected socket starts
	 * afresh)
	 */
	LIBRA_STAT_SOCKETS_RESET,
	/* requests queued past the pipelining bound: that connection stops anchoring */
	LIBRA_STAT_FALLBACK_PIPELINE,
	/* writing the zero fill behind tokens on receive */
	LIBRA_STAT_TIME_ZERO_FILL_NS,
	/* writing anchored bytes into a program's memory (BYTES_MATERIALIZED) */
	LIBRA_STAT_TIME_MATERIALIZE_NS,
	/*
	 * response bodies not anchored because a proxy may compress them: the
	 * request accepted a content coding, the response has none and is
	 * textual (nginx's default gzip would compress the token)
	 */
	LIBRA_STAT_FALLBACK_TRANSFORMABLE,
	/*
	 * body regions copied, not anchored, because their process sent a token
	 * where libra does not follow the framing (an AF_UNIX or other non-TCP
	 * socket, a TCP stream it stepped aside on, a pipe): it would cut a
	 * region there one day (HAProxy's ring buffer) where no hook could tell
	 */
	LIBRA_STAT_FALLBACK_EGRESS,
	/*
	 * of BYTES_ZERO_COPY_SENT, those sent through kernel TLS: regions that
	 * stood whole in the buffer of a send on a kernel-TLS socket, encrypted
	 * by the kernel from the anchored pages
	 */
	LIBRA_STAT_BYTES_KTLS_SENT,
	__LIBRA_STAT_MAX
};

/*
 * The token. Where libra keeps a body region of @len bytes anchored, the
 * receiving program's buffer holds this structure at the region's start and
 * zero bytes after it, to the region's end: never anything the buffer held
 * before. Sending the region on from the same process over an HTTP/1.x TCP
 * stream sends the anchored bytes, and so does sending it whole (token and
 * untouched zero fill inside one buffer of the call) on a kernel-TLS socket;
 * sending it anywhere else (a file, a pipe, an AF_UNIX socket, an unframed
 * stream) first writes the real bytes into the program's memory in its place. @mac is a keyed MAC (SipHash,
 * secret chosen at module load) over id and len, so tokens cannot be forged
 * and carry no kernel address; an anchor is found only by the process that
 * received it, and a valid token libra cannot stand in for fails the call
 * that carries it rather than leave as bytes.
 */
#define LIBRA_TOKEN_MAGIC	"\xf7LIBRA\x01\xf7"	/* 8 bytes */
#define LIBRA_TOKEN_BYTES	32

struct libra_token {
	__u8 magic[8];
	__u64 id;
	__u32 len;		/* bytes of the region, this token included */
	__u32 reserved;
	__u64 mac;
};

/* LIBRA_IOC_ATTACH_PARSER: the framing parser (see the parser ABI below). */
struct libra_parser_attach {
	__s32 prog_fd;		/* a loaded BPF_PROG_TYPE_SCHED_CLS program, or -1 to detach */
	__u32 flags;		/* must be 0 */
};

/* LIBRA_IOC_GET_STATS: copy counters to user memory. */
struct libra_stats {
	__u32 count;		/* in: slots at @values; out: slots written */
	__u32 known;		/* out: __LIBRA_STAT_MAX of the module */
	__aligned_u64 values;	/* in: user pointer to __u64[count] */
};

/*
 * Opt-in. An entry selects sockets by the process that uses them: either a
 * thread group (pid, optionally with its descendants, forked now or later)
 * or a cgroup v2 (cgroup_id: the inode number of its directory, with every
 * cgroup below it). Optionally only sockets whose local or peer port is in
 * @ports. Bodies shorter than @min_body bytes are copied as usual. The
 * entry's sockets together hold at most @anchor_limit bytes anchored (and the
 * whole system at most the global limit): past it, bodies are copied.
 */
#define LIBRA_OPTIN_F_DESCENDANTS	(1U << 0)	/* pid entry: and its children */
#define LIBRA_OPTIN_F_CGROUP		(1U << 1)	/* select by @cgroup_id, not @pid */
#define LIBRA_OPTIN_F_ALL		(LIBRA_OPTIN_F_DESCENDANTS | LIBRA_OPTIN_F_CGROUP)

#define LIBRA_OPTIN_MAX			1024	/* entries in the table */
#define LIBRA_OPTIN_MAX_PORTS		16
#define LIBRA_MIN_BODY_DEFAULT		16384	/* used when @min_body is 0 */

struct libra_optin {
	__s32 pid;		/* thread group id, in the caller's pid namespace */
	__u32 flags;		/* LIBRA_OPTIN_F_* */
	__aligned_u64 cgroup_id;	/* with LIBRA_OPTIN_F_CGROUP */
	__u32 min_body;		/* bytes; 0 means LIBRA_MIN_BODY_DEFAULT */
	__u16 nr_ports;		/* 0: every port */
	__u16 reserved;		/* must be 0 */
	__u16 ports[LIBRA_OPTIN_MAX_PORTS];	/* host byte order */
	__aligned_u64 anchor_limit;	/* bytes; 0: only the global limit */
};

/* LIBRA_IOC_LIST_OPTINS: copy the opt-in table to user memory. */
struct libra_optin_list {
	__u32 count;		/* in: slots at @entries; out: slots written */
	__u32 total;		/* out: entries in the table */
	__aligned_u64 entries;	/* in: user pointer to struct libra_optin[count] */
};

/*
 * LIBRA_IOC_OPTIN_STATS: the counters of one opt-in entry (selected by @entry
 * as for LIBRA_IOC_OPTIN_DEL), for the sockets adopted under it since it was
 * added. Slots as for LIBRA_IOC_GET_STATS; a counter kept only system-wide
 * (for example the hook call counts) reads 0 and its bit in @counted is clear.
 */
struct libra_optin_stats {
	struct libra_optin entry;	/* in: pid or cgroup_id, and flags */
	__u32 count;			/* in: slots at @values; out: slots written */
	__u32 known;			/* out: __LIBRA_STAT_MAX of the module */
	__aligned_u64 counted;		/* out: bit i set when values[i] is kept per entry */
	__aligned_u64 values;		/* in: user pointer to __u64[count] */
};

/* LIBRA_IOC_SET_ANCHOR_LIMIT: the global anchored-memory limit. */
struct libra_anchor_limit {
	__aligned_u64 bytes;	/* a multiple of 1 MiB; lowering it never evicts */
};

/*
 * LIBRA_IOC_LIST_SOCKETS: the sockets libra keeps state for, with their own
 * counters. A socket is tracked from the first receive or send libra handles
 * on it (its adoption) until the kernel destroys it; its counters start at 0
 * then and go with it, so they cover the socket's whole life but only while
 * it lives (the per-entry counters of LIBRA_IOC_OPTIN_STATS keep what closed
 * sockets did). The list is a snapshot taken under RCU: a socket adopted or
 * destroyed while it is taken may or may not be in it, and the counters of
 * one socket are read one by one while traffic may move them.
 */
enum libra_socket_role {
	LIBRA_SOCKET_ROLE_UNKNOWN = 0,	/* no data moved yet */
	LIBRA_SOCKET_ROLE_CLIENT = 1,	/* it spoke first: it sends requests, receives responses */
	LIBRA_SOCKET_ROLE_SERVER = 2,	/* the peer spoke first: it receives requests */
	LIBRA_SOCKET_ROLE_PASS = 3,	/* had traffic before it was adopted: stock path only */
};

/*
 * The counters kept per socket: each counts, for this socket alone, exactly
 * the events the enum libra_stat counter of the same name counts (the module
 * adds to both at the same place). Never renumber; append only, up to
 * LIBRA_SOCKET_STAT_SLOTS.
 */
enum libra_socket_stat {
	LIBRA_SOCKET_STAT_MESSAGES_PARSED,		/* LIBRA_STAT_MESSAGES_PARSED */
	LIBRA_SOCKET_STAT_BYTES_METADATA_COPIED,	/* LIBRA_STAT_BYTES_METADATA_COPIED */
	LIBRA_SOCKET_STAT_BYTES_ANCHORED,		/* LIBRA_STAT_BYTES_ANCHORED */
	LIBRA_SOCKET_STAT_BYTES_ZERO_COPY_SENT,		/* LIBRA_STAT_BYTES_ZERO_COPY_SENT */
	LIBRA_SOCKET_STAT_BYTES_FALLBACK_COPIED,	/* LIBRA_STAT_BYTES_FALLBACK_COPIED */
	LIBRA_SOCKET_STAT_TOKENS_REJECTED,		/* LIBRA_STAT_TOKENS_REJECTED */
	LIBRA_SOCKET_STAT_TOKENS_UNFRAMED,		/* LIBRA_STAT_TOKENS_UNFRAMED */
	LIBRA_SOCKET_STAT_TX_HOLDS_EXPIRED,		/* LIBRA_STAT_TX_HOLDS_EXPIRED */
	LIBRA_SOCKET_STAT_TX_RESETS,			/* LIBRA_STAT_TX_RESETS */
	LIBRA_SOCKET_STAT_BYTES_MATERIALIZED,		/* LIBRA_STAT_BYTES_MATERIALIZED */
	LIBRA_SOCKET_STAT_TOKENS_REFUSED,		/* LIBRA_STAT_TOKENS_REFUSED */
	LIBRA_SOCKET_STAT_REGIONS_CUT,			/* LIBRA_STAT_REGIONS_CUT */
	__LIBRA_SOCKET_STAT_MAX
};
#define LIBRA_SOCKET_STAT_SLOTS		16	/* room in struct libra_socket_info */

/* struct libra_socket_info flags */
#define LIBRA_SOCKET_F_RX_ASIDE		(1U << 0) /* receive stepped aside for good: stock path */
#define LIBRA_SOCKET_F_TX_ASIDE		(1U << 1) /* send stepped aside for good: sent as written */
#define LIBRA_SOCKET_F_NOT_OPTED_IN	(1U << 2) /* adopted by a process that was not opted
						   * in but held anchors: its sends are
						   * looked at for tokens, nothing it
						   * receives is anchored (LIBRA_SOCKET_F_RX_ASIDE
						   * is set, with no reason) */
#define LIBRA_SOCKET_F_TLS		(1U << 3) /* carries TLS */
#define LIBRA_SOCKET_F_KTLS		(1U << 4) /* kernel TLS sends on it: anchored pages go out
						   * through the kernel's encryption */
#define LIBRA_SOCKET_F_TLS_HANDSHAKE	(1U << 5) /* its TLS handshake, built in user space, is
						   * open: its process gets no anchors until
						   * kernel TLS is set up on it or it closes */
#define LIBRA_SOCKET_ASIDE_NONE		0xffff	/* rx_aside/tx_aside: no reason counted */

struct libra_socket_info {
	__aligned_u64 id;	/* unique for the module's lifetime, never reused */
	__s32 tgid;		/* thread group whose call adopted it, in the caller's pid
				 * namespace; 0 if it exited or is not visible there */
	__u16 family;		/* AF_INET or AF_INET6 */
	__u8 role;		/* enum libra_socket_role */
	__u8 flags;		/* LIBRA_SOCKET_F_* */
	__u16 local_port;	/* host byte order */
	__u16 remote_port;	/* host byte order */
	/*
	 * Why a direction stepped aside (LIBRA_SOCKET_F_RX_ASIDE/_TX_ASIDE):
	 * the enum libra_stat counter that counted it (LIBRA_STAT_PARSER_ERRORS
	 * or a LIBRA_STAT_FALLBACK_*), else LIBRA_SOCKET_ASIDE_NONE.
	 */
	__u16 rx_aside;
	__u16 tx_aside;
	/*
	 * Network byte order, as at adoption (a tracked socket is connected and
	 * its addresses never change). AF_INET: the address in the first 4
	 * bytes, the rest zero. AF_INET6: 16 bytes (an IPv4 peer of a dual-stack
	 * socket shows as ::ffff:a.b.c.d).
	 */
	__u8 local_addr[16];
	__u8 remote_addr[16];
	/* enum libra_socket_stat: [i] is counter i; slots from __LIBRA_SOCKET_STAT_MAX on read 0 */
	__aligned_u64 values[LIBRA_SOCKET_STAT_SLOTS];
};					/* 184 bytes */

#define LIBRA_SOCKET_LIST_MAX		65536	/* entries one call fills, at most */

/*
 * LIBRA_IOC_LIST_SOCKETS: as LIBRA_IOC_LIST_OPTINS, @count slots in, slots
 * written out, and @total how many sockets matched: when @total exceeds
 * @count, ask again with more room (sockets come and go between calls).
 */
struct libra_socket_list {
	__u32 count;		/* in: slots at @entries; out: slots written */
	__u32 total;		/* out: tracked sockets that matched @tgid */
	__aligned_u64 entries;	/* in: user pointer to struct libra_socket_info[count] */
	__s32 tgid;		/* in: only sockets this thread group adopted (caller's pid
				 * namespace); 0: every socket */
	__u32 flags;		/* in: must be 0 */
	__u32 stat_count;	/* out: __LIBRA_SOCKET_STAT_MAX of the module */
	__u32 reserved;		/* in: must be 0 */
};

/*
 * LIBRA_IOC_LIST_PROCS: the processes libra knows of: those opted in that
 * used a socket since, and those holding anchors. For each, whether libra
 * accelerates it and, if not, why (LIBRA_PROC_F_*).
 */
#define LIBRA_PROC_F_OPTED_IN		(1U << 0) /* an opt-in entry selects it */
#define LIBRA_PROC_F_TLS_USER		(1U << 1) /* it terminates TLS in user space */
#define LIBRA_PROC_F_TLS_KERNEL		(1U << 2) /* it sends on kernel-TLS sockets (accelerated) */
#define LIBRA_PROC_F_TLS_RESETTING	(1U << 3) /* TLS seen while tokens it got before were live:
						   * its TLS data is refused until they are gone */
#define LIBRA_PROC_F_UNFRAMED_EGRESS	(1U << 4) /* it sent a token where libra does not follow the
						   * framing (AF_UNIX, a stream libra stepped aside
						   * on, a pipe): it gets no more anchors */
#define LIBRA_PROC_F_TLS_HANDSHAKE	(1U << 5) /* a TLS handshake of its is open: no anchors
						   * until kernel TLS is set up on that socket
						   * or it closes */

struct libra_proc_info {
	__s32 tgid;			/* caller's pid namespace; 0 if not visible there */
	__u32 flags;			/* LIBRA_PROC_F_* */
	__aligned_u64 anchors;		/* live anchors it holds */
	__aligned_u64 anchored_bytes;	/* their bytes */
	__aligned_u64 tls_since_ns;	/* CLOCK_BOOTTIME of the first TLS seen, 0 if none */
	__aligned_u64 materialized_bytes;	/* anchored bytes written into its memory */
	__aligned_u64 tokens_refused;	/* tokens of it that could not be stood in for */
};					/* 48 bytes */

#define LIBRA_PROC_LIST_MAX		65536

struct libra_proc_list {
	__u32 count;		/* in: slots at @entries; out: slots written */
	__u32 total;		/* out: processes known */
	__aligned_u64 entries;	/* in: user pointer to struct libra_proc_info[count] */
	__u32 flags;		/* in: must be 0 */
	__u32 reserved;		/* in: must be 0 */
};

#define LIBRA_IOC_GET_VERSION	_IOR(LIBRA_IOC_MAGIC, 0x00, struct libra_version)
#define LIBRA_IOC_GET_STATS	_IOWR(LIBRA_IOC_MAGIC, 0x01, struct libra_stats)
/* EEXIST if opted in already, ESRCH if no such process, ENOSPC if full, EINVAL if malformed */
#define LIBRA_IOC_OPTIN_ADD	_IOW(LIBRA_IOC_MAGIC, 0x02, struct libra_optin)
/* matched by pid or cgroup_id; ENOENT if not opted in (an exited process's entry is gone by itself) */
#define LIBRA_IOC_OPTIN_DEL	_IOW(LIBRA_IOC_MAGIC, 0x03, struct libra_optin)
#define LIBRA_IOC_LIST_OPTINS	_IOWR(LIBRA_IOC_MAGIC, 0x04, struct libra_optin_list)
/* EINVAL if not a SCHED_CLS program whose name starts with "libra_"; the module holds a reference until replaced */
#define LIBRA_IOC_ATTACH_PARSER	_IOW(LIBRA_IOC_MAGIC, 0x05, struct libra_parser_attach)
/* ENOENT if no such entry */
#define LIBRA_IOC_OPTIN_STATS	_IOWR(LIBRA_IOC_MAGIC, 0x06, struct libra_optin_stats)
/* EINVAL if not a multiple of 1 MiB or 0 */
#define LIBRA_IOC_SET_ANCHOR_LIMIT _IOW(LIBRA_IOC_MAGIC, 0x07, struct libra_anchor_limit)
/* ESRCH if @tgid names no thread group; EINVAL if it is negative or flags or reserved are set */
#define LIBRA_IOC_LIST_SOCKETS	_IOWR(LIBRA_IOC_MAGIC, 0x08, struct libra_socket_list)
/* EINVAL if flags or reserved are set */
#define LIBRA_IOC_LIST_PROCS	_IOWR(LIBRA_IOC_MAGIC, 0x09, struct libra_proc_list)

/* ---- parser ABI ---- */
/*
 * The eBPF framing parser: how the module asks "where does the metadata end
 * and how is the body framed" about the unread head of one direction of a
 * TCP stream. Owned by bpf/ (see bpf/libra_http.bpf.c and docs/http-support.md).
 *
 * Program type: BPF_PROG_TYPE_SCHED_CLS (libbpf SEC("tc")), run as a plain
 * function over an skb the module builds:
 *   - the module copies a window of the unread head of the receive queue,
 *     metadata bytes only (never the body), at most LIBRA_PARSE_WINDOW_MAX
 *     bytes, into a private linear skb right after a struct libra_parse_ctx,
 *     calls bpf_compute_data_pointers(skb) and bpf_prog_run_pin_on_cpu()
 *     (what sockmap's stream parser and cls_bpf do), then reads the verdict
 *     back from the same struct. Body bytes are never copied or shown to the
 *     program: it returns their length and the module skips over them.
 *   - The program reads its input and writes its output with direct packet
 *     access (data/data_end), so it needs a type with direct packet read AND
 *     write. BPF_PROG_TYPE_SK_SKB (the sockmap parser type) was the first
 *     choice but has no BPF_PROG_TEST_RUN (sk_skb_prog_ops is empty on 6.1
 *     and on 6.18), so it could not be tested without a guest. SCHED_CLS has
 *     direct read/write access, bpf_loop, and bpf_prog_test_run_skb, which
 *     hands the program data_in from its first byte (the 14 bytes an
 *     Ethernet header would take are re-pushed for L2 types), so the host
 *     tests run the very object the daemon loads. The program uses no tc
 *     helper and no skb field other than data/data_end. The module reuses
 *     its skb from one call to the next (of any connection): a program must
 *     keep nothing in it, and reads only what lies before data_end.
 *   - It uses only bpf_loop (5.17+) and direct packet access: it loads on
 *     Debian's 6.1 kernel and on newer ones.
 *
 * Calling convention:
 *   - One struct libra_parse_ctx per direction of a connection. The module
 *     zero-fills it when it starts tracking the connection (the zero state
 *     means "at the start of a message") and frees it with the socket.
 *     Between calls it keeps @state unchanged; everything else it sets anew.
 *   - A window starts at the first stream byte the parser has not consumed:
 *     after NEED_MORE, previous start + metadata_len; after METADATA, previous
 *     start + metadata_len + the body bytes (body_len for CONTENT_LENGTH and
 *     CHUNK). The window may end anywhere; avail may be 0.
 *   - Verdicts:
 *     NEED_MORE   all metadata_len (== avail) bytes were consumed as metadata
 *                 of a unit that is not complete yet; call again once at least
 *                 need_min more bytes arrived. need_max is how many more bytes
 *                 the unit may grow before the parser steps aside (offer at
 *                 least that many if you can, up to LIBRA_PARSE_WINDOW_MAX).
 *     METADATA    the first metadata_len bytes are metadata (copy them as the
 *                 stock path would), followed by a body framed as body_kind:
 *                   NONE            no body; next byte starts the next unit
 *                   CONTENT_LENGTH  body_len body bytes (> 0)
 *                   CHUNK           body_len bytes of chunk data (> 0); the
 *                                   CRLF after it, the next chunk-size line,
 *                                   the last chunk and trailers are metadata
 *                                   of the next unit
 *                   CLOSE_DELIMITED the body runs to the end of the stream;
 *                                   do not call the parser again
 *                 flags say where the unit stands in the message (_F_*)
 *                 and, on a MESSAGE_START unit, what its header says about
 *                 content codings (LIBRA_PARSE_F_CODINGS_KNOWN below).
 *     STEP_ASIDE  not HTTP/1.x, or anything ambiguous or invalid: pass the
 *                 rest of this direction through untouched, never call again.
 *                 metadata_len is the offset in this window of the byte that
 *                 decided it (diagnostics only). Sticky in @state.
 *     INVALID     the ctx itself is wrong (abi_version, direction, sizes):
 *                 treat like STEP_ASIDE.
 *     The program also returns the verdict as its return value.
 *   - A response parser needs the method of the request it answers:
 *     request_method (UNKNOWN if the module does not know it: the parser
 *     steps aside). A request parser reports each request's method in
 *     message_method on its MESSAGE_START unit, so the module can queue it:
 *     one of enum libra_http_method, never UNKNOWN (a request line whose
 *     method is no token makes it step aside).
 *     An INTERIM (1xx) response does not consume the queued method; any other
 *     MESSAGE_END does.
 */
#define LIBRA_PARSER_ABI_VERSION	1
#define LIBRA_PARSE_STATE_BYTES		64	/* opaque per-direction state */
#define LIBRA_PARSE_WINDOW_MAX		32768	/* bytes after the ctx, at most */

enum libra_parse_direction {
	LIBRA_PARSE_REQUEST = 1,	/* client to server */
	LIBRA_PARSE_RESPONSE = 2,	/* server to client */
};

enum libra_http_method {
	LIBRA_HTTP_METHOD_UNKNOWN = 0,	/* response: the module does not know which
					 * request it answers: makes the parser
					 * step aside */
	LIBRA_HTTP_METHOD_GET,
	LIBRA_HTTP_METHOD_HEAD,
	LIBRA_HTTP_METHOD_POST,
	LIBRA_HTTP_METHOD_PUT,
	LIBRA_HTTP_METHOD_DELETE,
	LIBRA_HTTP_METHOD_CONNECT,
	LIBRA_HTTP_METHOD_OPTIONS,
	LIBRA_HTTP_METHOD_TRACE,
	LIBRA_HTTP_METHOD_PATCH,
	/*
	 * Any other method: a token (RFC 9110 tchar, 1 to 32 bytes) that is
	 * none of the above, which are matched case-sensitively (WebDAV's
	 * PROPFIND and MKCOL, "FOO", and "get", which is not GET). Its body is
	 * framed like any request's (RFC 9112 6.3: Transfer-Encoding,
	 * Content-Length or none), and a response to it like a response to
	 * GET: only HEAD and CONNECT are special. A parser that predates this
	 * value steps aside on such a request, and on a response to it.
	 */
	LIBRA_HTTP_METHOD_OTHER,
};

enum libra_parse_verdict {
	LIBRA_PARSE_INVALID = 0,
	LIBRA_PARSE_NEED_MORE = 1,
	LIBRA_PARSE_METADATA = 2,
	LIBRA_PARSE_STEP_ASIDE = 3,
};

enum libra_parse_body {
	LIBRA_BODY_NONE = 0,
	LIBRA_BODY_CONTENT_LENGTH = 1,
	LIBRA_BODY_CHUNK = 2,
	LIBRA_BODY_CLOSE_DELIMITED = 3,
};

/* METADATA flags */
#define LIBRA_PARSE_F_MESSAGE_START	(1U << 0) /* unit begins with a start line */
#define LIBRA_PARSE_F_MESSAGE_END	(1U << 1) /* message ends after this unit's body */
#define LIBRA_PARSE_F_INTERIM		(1U << 2) /* 1xx response; final one follows */
#define LIBRA_PARSE_F_LAST_MESSAGE	(1U << 3) /* Connection: close / HTTP/1.0:
						   * bytes after it make the parser
						   * step aside */
/*
 * Content codings, so the module can leave alone a body a proxy may still
 * compress (nginx's gzip, HAProxy's compression). Reported on MESSAGE_START
 * units only, about that message's header (never its trailers); never on
 * other units. Header field names and codings are case-insensitive; several
 * fields of one name combine. None of them makes the parser step aside.
 *
 * A parser that implements them sets LIBRA_PARSE_F_CODINGS_KNOWN on every
 * MESSAGE_START unit. Without it (an older parser) the other three bits are
 * clear and say nothing: the module must treat the codings as unknown, never
 * as "no Accept-Encoding"; the reading that never anchors a body a proxy
 * might compress is that the request may accept a coding and the response
 * is uncoded and textual.
 *
 * A request parser reports LIBRA_PARSE_F_ACCEPTS_CODING on the request's
 * MESSAGE_START unit (the module keeps it with the queued request_method for
 * the response that answers it); a response parser reports _CONTENT_CODED
 * and _TEXTUAL. Each bit is clear in the other direction.
 */
#define LIBRA_PARSE_F_ACCEPTS_CODING	(1U << 4) /* request: an Accept-Encoding field
						   * names a content-coding other than
						   * "identity" ("*" counts; so does a
						   * coding with q=0), or is malformed */
#define LIBRA_PARSE_F_CONTENT_CODED	(1U << 5) /* response: a well-formed Content-Encoding
						   * field names a coding other than
						   * "identity" */
#define LIBRA_PARSE_F_TEXTUAL		(1U << 6) /* response: no Content-Type field, or
						   * one whose media type (before any
						   * ";", OWS ignored) has type "text",
						   * is application/ json, javascript,
						   * ecmascript, xml or x-javascript, or
						   * ends in +json or +xml (rss+xml,
						   * atom+xml, image/svg+xml, problem+json
						   * ...), or is malformed */
#define LIBRA_PARSE_F_CODINGS_KNOWN	(1U << 7) /* MESSAGE_START: the three bits above
						   * are reported (this parser knows them) */

struct libra_parse_ctx {
	/* in: set by the module before every call */
	__u32 abi_version;		/* LIBRA_PARSER_ABI_VERSION */
	__u8 direction;			/* enum libra_parse_direction */
	__u8 request_method;		/* response: enum libra_http_method */
	__u16 reserved0;		/* zero */
	__u32 avail;			/* window bytes that follow this struct */
	__u32 max_header_bytes;		/* max bytes of one metadata unit, > 0 */
	/* in/out: owned by the program, zero at connection start */
	__u8 state[LIBRA_PARSE_STATE_BYTES];
	/* out */
	__u32 verdict;			/* enum libra_parse_verdict */
	__u32 body_kind;		/* enum libra_parse_body (METADATA) */
	__u32 metadata_len;		/* bytes of the window consumed as metadata */
	__u32 flags;			/* LIBRA_PARSE_F_* (METADATA) */
	__u64 body_len;			/* CONTENT_LENGTH, CHUNK: body bytes */
	__u32 need_min;			/* NEED_MORE: more bytes needed, at least */
	__u32 need_max;			/* NEED_MORE: more bytes allowed, at most */
	__u16 status_code;		/* response MESSAGE_START: status code */
	__u8 message_method;		/* request MESSAGE_START: enum libra_http_method */
	__u8 reserved1[5];		/* zero */
};					/* 120 bytes */
/* ---- end parser ABI ---- */

#endif /* _UAPI_LINUX_LIBRA_H */
