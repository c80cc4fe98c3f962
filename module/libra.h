/* SPDX-License-Identifier: GPL-2.0 */
/* Declarations shared between the module's files; user space sees only <linux/libra.h>. */
#ifndef LIBRA_H
#define LIBRA_H

#include <linux/libra.h>
#include <linux/types.h>

struct msghdr;
struct sock;
struct task_struct;

/* symbols.c: kernel functions libra calls that are not exported to modules everywhere */
struct libra_symbols {
	int (*tcp_recvmsg)(struct sock *sk, struct msghdr *msg, size_t len,
			   int flags, int *addr_len);
	int (*tcp_sendmsg)(struct sock *sk, struct msghdr *msg, size_t size);
};
extern struct libra_symbols libra_sym;
int libra_symbols_resolve(void);

/* stats.c: per-cpu counters, summed on read */
int libra_stats_init(void);
void libra_stats_exit(void);
void libra_stat_inc(enum libra_stat stat);
void libra_stat_add(enum libra_stat stat, u64 delta);
void libra_stats_read(u64 *values, unsigned int count);

/* optin.c: which processes' sockets libra handles */
bool libra_optin_any(void);
bool libra_optin_match(struct task_struct *task, const struct sock *sk);
int libra_optin_add(const struct libra_optin *req);
int libra_optin_del(const struct libra_optin *req);
int libra_optin_list(struct libra_optin *out, u32 count, u32 *total);
u64 libra_optin_entries(void);
void libra_optin_exit(void);

/* hooks.c: ftrace hooks on tcp_recvmsg and tcp_sendmsg */
int libra_hooks_install(void);
void libra_hooks_remove(void);
u64 libra_hooks_in_flight(void);

/* control.c: /dev/libra */
int libra_control_init(void);
void libra_control_exit(void);

#endif /* LIBRA_H */
