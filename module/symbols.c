// SPDX-License-Identifier: GPL-2.0
/*
 * Symbol resolution. kallsyms_lookup_name() stopped being exported in 5.7, but
 * a kprobe registered by name resolves its address for us; with it we find
 * the rest. tcp_recvmsg is exported on 6.1 and not on 6.12, so it is looked
 * up the same way everywhere rather than depending on the export list.
 */
#include <linux/kprobes.h>
#include <linux/module.h>
#include <net/inet_common.h>

#include "compat.h"
#include "libra.h"

struct libra_symbols libra_sym __read_mostly;

typedef unsigned long (*libra_kallsyms_lookup_name_t)(const char *name);

static libra_kallsyms_lookup_name_t libra_find_kallsyms_lookup_name(void)
{
	struct kprobe kp = { .symbol_name = "kallsyms_lookup_name" };
	unsigned long addr;
	int err;

	err = register_kprobe(&kp);
	if (err) {
		pr_err("cannot locate kallsyms_lookup_name through a kprobe: %d\n", err);
		return NULL;
	}
	addr = libra_func_entry((unsigned long)kp.addr);
	unregister_kprobe(&kp);
	return (libra_kallsyms_lookup_name_t)addr;
}

int libra_symbols_resolve(void)
{
	libra_kallsyms_lookup_name_t lookup = libra_find_kallsyms_lookup_name();

	if (!lookup)
		return -ENOENT;

	libra_sym.tcp_recvmsg = (void *)lookup("tcp_recvmsg");
	libra_sym.tcp_sendmsg = (void *)lookup("tcp_sendmsg");
	/* exported on 6.1, not on 6.12 */
	libra_sym.tcp_shutdown = (void *)lookup("tcp_shutdown");
#ifdef LIBRA_HAVE_SENDPAGE
	libra_sym.tcp_sendpage = (void *)lookup("tcp_sendpage");
	if (!libra_sym.tcp_sendpage) {
		pr_err("cannot resolve tcp_sendpage\n");
		return -ENOENT;
	}
#endif
	libra_sym.inet_sendmsg = inet_sendmsg;
	libra_sym.inet6_sendmsg = (void *)lookup("inet6_sendmsg");
	libra_sym.unix_stream_sendmsg = (void *)lookup("unix_stream_sendmsg");
	libra_sym.unix_dgram_sendmsg = (void *)lookup("unix_dgram_sendmsg");
	libra_sym.unix_seqpacket_sendmsg = (void *)lookup("unix_seqpacket_sendmsg");
	libra_sym.generic_perform_write = (void *)lookup("generic_perform_write");
	libra_sym.iomap_file_buffered_write = (void *)lookup("iomap_file_buffered_write");
	libra_sym.pipe_write = (void *)lookup("pipe_write");
	if (!libra_sym.tcp_recvmsg || !libra_sym.tcp_sendmsg || !libra_sym.tcp_shutdown) {
		pr_err("cannot resolve tcp_recvmsg/tcp_sendmsg/tcp_shutdown\n");
		return -ENOENT;
	}
	if (!libra_sym.inet6_sendmsg || !libra_sym.unix_stream_sendmsg ||
	    !libra_sym.unix_dgram_sendmsg || !libra_sym.unix_seqpacket_sendmsg ||
	    !libra_sym.generic_perform_write ||
	    !libra_sym.iomap_file_buffered_write || !libra_sym.pipe_write) {
		pr_err("cannot resolve the egress guard's functions\n");
		return -ENOENT;
	}
	return 0;
}
