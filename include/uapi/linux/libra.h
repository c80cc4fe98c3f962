/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * libra.h - the one interface between the libra kernel module and user space.
 *
 * The module registers a misc character device, /dev/libra. Every request is
 * an ioctl on a file descriptor of that device. The device only opens for a
 * caller with CAP_NET_ADMIN in the initial user namespace, and every ioctl
 * checks the opener's credentials again, so a descriptor passed to an
 * unprivileged process grants nothing.
 *
 * Versioning: LIBRA_ABI_VERSION increases whenever a structure or ioctl below
 * changes incompatibly. User space asks with LIBRA_IOC_GET_VERSION first and
 * refuses to talk to a module whose ABI version differs. Counters are an
 * indexed array (enum libra_stat) so new ones can be appended without an ABI
 * break: a caller passes how many slots it has, the module fills at most that
 * many and says how many it knows.
 *
 * Layout rules: fixed-width types only, explicit padding, 64-bit fields
 * 8-byte aligned, user pointers carried as __aligned_u64.
 */
#ifndef _UAPI_LINUX_LIBRA_H
#define _UAPI_LINUX_LIBRA_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define LIBRA_ABI_VERSION	1
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
	__LIBRA_STAT_MAX
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
 * @ports. Bodies shorter than @min_body bytes are copied as usual.
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
};

/* LIBRA_IOC_LIST_OPTINS: copy the opt-in table to user memory. */
struct libra_optin_list {
	__u32 count;		/* in: slots at @entries; out: slots written */
	__u32 total;		/* out: entries in the table */
	__aligned_u64 entries;	/* in: user pointer to struct libra_optin[count] */
};

#define LIBRA_IOC_GET_VERSION	_IOR(LIBRA_IOC_MAGIC, 0x00, struct libra_version)
#define LIBRA_IOC_GET_STATS	_IOWR(LIBRA_IOC_MAGIC, 0x01, struct libra_stats)
/* EEXIST if opted in already, ESRCH if no such process, ENOSPC if full, EINVAL if malformed */
#define LIBRA_IOC_OPTIN_ADD	_IOW(LIBRA_IOC_MAGIC, 0x02, struct libra_optin)
/* matched by pid or cgroup_id; ENOENT if not opted in */
#define LIBRA_IOC_OPTIN_DEL	_IOW(LIBRA_IOC_MAGIC, 0x03, struct libra_optin)
#define LIBRA_IOC_LIST_OPTINS	_IOWR(LIBRA_IOC_MAGIC, 0x04, struct libra_optin_list)

#endif /* _UAPI_LINUX_LIBRA_H */
