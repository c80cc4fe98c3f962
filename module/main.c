// SPDX-License-Identifier: GPL-2.0
/*
 * libra: selective copy for L7 proxies. Opted-in sockets get their HTTP
 * metadata copied to user space while bodies stay anchored in the kernel and
 * are reused when the proxy sends them on.
 */
#include <linux/module.h>

#include "libra.h"
#include "version.h"

static int __init libra_init(void)
{
	int err;

	err = libra_stats_init();
	if (err)
		return err;
	err = libra_symbols_resolve();
	if (err)
		goto err_free_stats;
	libra_token_init();
	err = libra_proc_init();
	if (err)
		goto err_free_stats;
	libra_anchor_init();
	err = libra_sock_init();
	if (err)
		goto err_stop_anchors;
	err = libra_hooks_install();
	if (err)
		goto err_free_socks;
	err = libra_control_init();
	if (err)
		goto err_remove_hooks;

	pr_info("version %s loaded, ABI %d\n", LIBRA_VERSION, LIBRA_ABI_VERSION);
	return 0;

err_remove_hooks:
	libra_hooks_remove();
err_free_socks:
	libra_sock_exit();
	libra_tx_exit();
err_stop_anchors:
	libra_anchor_exit();
	libra_proc_exit();
err_free_stats:
	libra_stats_exit();
	return err;
}

static void __exit libra_exit(void)
{
	libra_control_exit();
	libra_hooks_remove();
	libra_sock_exit();
	libra_tx_exit();
	libra_anchor_exit();
	libra_proc_exit();
	libra_parser_exit();
	libra_optin_exit();
	libra_stats_exit();
	pr_info("unloaded\n");
}

module_init(libra_init);
module_exit(libra_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Selective-copy socket I/O for L7 proxies");
MODULE_AUTHOR("The Libra developers");
MODULE_VERSION(LIBRA_VERSION);
