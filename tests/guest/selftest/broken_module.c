// SPDX-License-Identifier: GPL-2.0
/*
 * A deliberately broken module for the harness self-test: it warns and
 * refuses to load. Booting the module-control scenario with it in place of
 * libra.ko must fail; if the harness passes it, the harness is wrong.
 */
#include <linux/module.h>

static int __init broken_init(void)
{
	WARN(1, "libra harness self-test: deliberately broken module\n");
	return -ENODEV;
}
module_init(broken_init);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("libra test harness: a module that must fail to load");
