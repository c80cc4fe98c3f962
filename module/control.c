// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/libra: the control interface described in <linux/libra.h>.
 *
 * Only a CAP_NET_ADMIN holder in the initial user namespace may open it, and
 * every ioctl checks both the opener's credentials and the caller's, so a
 * descriptor handed to an unprivileged process is worth nothing.
 */
#include <linux/capability.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/pid.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/user_namespace.h>

#include "libra.h"
#include "version.h"

static int libra_control_open(struct inode *inode, struct file *file)
{
	if (!capable(CAP_NET_ADMIN))
		return -EPERM;
	return 0;
}

static long libra_ioctl_get_version(void __user *arg)
{
	struct libra_version v = {
		.abi_version = LIBRA_ABI_VERSION,
		.stat_count = __LIBRA_STAT_MAX,
	};

	strscpy(v.module_version, LIBRA_VERSION, sizeof(v.module_version));
	return copy_to_user(arg, &v, sizeof(v)) ? -EFAULT : 0;
}

static long libra_ioctl_get_stats(void __user *arg)
{
	u64 values[__LIBRA_STAT_MAX];
	struct libra_stats req;
	u32 n;

	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;
	n = min_t(u32, req.count, __LIBRA_STAT_MAX);
	libra_stats_read(values, n);
	if (copy_to_user(u64_to_user_ptr(req.values), values, n * sizeof(u64)))
		return -EFAULT;
	req.count = n;
	req.known = __LIBRA_STAT_MAX;
	return copy_to_user(arg, &req, sizeof(req)) ? -EFAULT : 0;
}

static long libra_ioctl_optin(void __user *arg, bool add)
{
	struct libra_optin req;

	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;
	return add ? libra_optin_add(&req) : libra_optin_del(&req);
}

/*
 * The LIBRA_IOC_LIST_* contract: of @total entries, the @n filled in (fewer
 * if fewer matched) go to the user pointer @entries_uptr and *@count says
 * how many did.
 */
static int libra_list_copy_out(u64 entries_uptr, const void *entries, size_t size, u32 n,
			       u32 total, u32 *count)
{
	n = min(n, total);
	if (copy_to_user(u64_to_user_ptr(entries_uptr), entries, n * size))
		return -EFAULT;
	*count = n;
	return 0;
}

static long libra_ioctl_list_optins(void __user *arg)
{
	struct libra_optin_list req;
	struct libra_optin *entries;
	u32 total, n;
	long err;

	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;
	n = min_t(u32, req.count, LIBRA_OPTIN_MAX);
	entries = kvcalloc(max_t(u32, n, 1), sizeof(*entries), GFP_KERNEL);
	if (!entries)
		return -ENOMEM;
	err = libra_optin_list(entries, n, &total);
	if (err)
		goto out_free;
	err = libra_list_copy_out(req.entries, entries, sizeof(*entries), n, total, &req.count);
	if (err)
		goto out_free;
	req.total = total;
	err = copy_to_user(arg, &req, sizeof(req)) ? -EFAULT : 0;
out_free:
	kvfree(entries);
	return err;
}

static long libra_ioctl_list_sockets(void __user *arg)
{
	struct libra_socket_list req;
	struct libra_socket_info *entries;
	struct pid *owner = NULL;
	u32 total, n;
	long err;

	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;
	if (req.flags || req.reserved || req.tgid < 0)
		return -EINVAL;
	if (req.tgid) {
		owner = libra_optin_get_tgid(req.tgid);
		if (!owner)
			return -ESRCH;
	}
	/*
	 * Room for the sockets tracked now, filled under RCU where nothing may
	 * sleep; sockets adopted meanwhile count only in @total.
	 */
	n = min3(req.count, (u32)LIBRA_SOCKET_LIST_MAX, (u32)libra_socks_tracked());
	entries = kvcalloc(max_t(u32, n, 1), sizeof(*entries), GFP_KERNEL);
	if (!entries) {
		err = -ENOMEM;
		goto out_put_owner;
	}
	total = libra_sock_list(entries, n, owner);
	err = libra_list_copy_out(req.entries, entries, sizeof(*entries), n, total, &req.count);
	if (err)
		goto out_free;
	req.total = total;
	req.stat_count = __LIBRA_SOCKET_STAT_MAX;
	err = copy_to_user(arg, &req, sizeof(req)) ? -EFAULT : 0;
out_free:
	kvfree(entries);
out_put_owner:
	put_pid(owner);
	return err;
}

static long libra_ioctl_optin_stats(void __user *arg)
{
	u64 values[__LIBRA_STAT_MAX];
	struct libra_optin_stats req;
	u32 n;
	int err;

	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;
	n = min_t(u32, req.count, __LIBRA_STAT_MAX);
	err = libra_optin_read_stats(&req.entry, values, n, &req.counted);
	if (err)
		return err;
	if (copy_to_user(u64_to_user_ptr(req.values), values, n * sizeof(u64)))
		return -EFAULT;
	req.count = n;
	req.known = __LIBRA_STAT_MAX;
	return copy_to_user(arg, &req, sizeof(req)) ? -EFAULT : 0;
}

static long libra_ioctl_set_anchor_limit(void __user *arg)
{
	struct libra_anchor_limit req;

	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;
	return libra_anchor_set_limit(req.bytes);
}

static long libra_ioctl_attach_parser(void __user *arg)
{
	struct libra_parser_attach req;

	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;
	if (req.flags)
		return -EINVAL;
	return libra_parser_attach(req.prog_fd);
}

static long libra_ioctl_list_procs(void __user *arg)
{
	struct libra_proc_list req;
	struct libra_proc_info *entries;
	u32 total, n;
	long err;

	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;
	if (req.flags || req.reserved)
		return -EINVAL;
	/* as for sockets: filled under RCU, processes known meanwhile count only in @total */
	n = min3(req.count, (u32)LIBRA_PROC_LIST_MAX, libra_procs_known());
	entries = kvcalloc(max_t(u32, n, 1), sizeof(*entries), GFP_KERNEL);
	if (!entries)
		return -ENOMEM;
	total = libra_proc_list(entries, n);
	err = libra_list_copy_out(req.entries, entries, sizeof(*entries), n, total, &req.count);
	if (!err) {
		req.total = total;
		err = copy_to_user(arg, &req, sizeof(req)) ? -EFAULT : 0;
	}
	kvfree(entries);
	return err;
}

static long libra_control_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *uarg = (void __user *)arg;

	/* the caller's own capability, not only the opener's: a passed descriptor grants nothing */
	if (!file_ns_capable(file, &init_user_ns, CAP_NET_ADMIN) || !capable(CAP_NET_ADMIN))
		return -EPERM;

	switch (cmd) {
	case LIBRA_IOC_GET_VERSION:
		return libra_ioctl_get_version(uarg);
	case LIBRA_IOC_GET_STATS:
		return libra_ioctl_get_stats(uarg);
	case LIBRA_IOC_OPTIN_ADD:
		return libra_ioctl_optin(uarg, true);
	case LIBRA_IOC_OPTIN_DEL:
		return libra_ioctl_optin(uarg, false);
	case LIBRA_IOC_LIST_OPTINS:
		return libra_ioctl_list_optins(uarg);
	case LIBRA_IOC_ATTACH_PARSER:
		return libra_ioctl_attach_parser(uarg);
	case LIBRA_IOC_OPTIN_STATS:
		return libra_ioctl_optin_stats(uarg);
	case LIBRA_IOC_SET_ANCHOR_LIMIT:
		return libra_ioctl_set_anchor_limit(uarg);
	case LIBRA_IOC_LIST_SOCKETS:
		return libra_ioctl_list_sockets(uarg);
	case LIBRA_IOC_LIST_PROCS:
		return libra_ioctl_list_procs(uarg);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations libra_control_fops = {
	.owner = THIS_MODULE,
	.open = libra_control_open,
	.unlocked_ioctl = libra_control_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice libra_control_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = LIBRA_DEVICE_NAME,
	.fops = &libra_control_fops,
	.mode = 0600,
};

int libra_control_init(void)
{
	return misc_register(&libra_control_dev);
}

void libra_control_exit(void)
{
	misc_deregister(&libra_control_dev);
}
