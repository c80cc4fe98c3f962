// SPDX-License-Identifier: GPL-2.0
/*
 * The hooks on tcp_recvmsg and tcp_sendmsg (and tcp_sendpage where it
 * exists), and on tcp_shutdown and tcp_close while some socket holds bytes a
 * send took but libra has not sent yet (tx.c).
 *
 * An ftrace callback runs at the entry of every call. It counts the call and,
 * when the calling process is opted in, redirects the call to libra's handler
 * by rewriting the saved instruction pointer (FTRACE_OPS_FL_IPMODIFY). Every
 * other call continues into the stock function untouched. The handler calls
 * the stock function itself; the callback recognises that call by its return
 * address lying inside this module and lets it through, which is what keeps
 * the redirect from looping.
 *
 * Lifetime: a redirected call holds a reference on this module from the
 * callback until the handler returns, so rmmod refuses ("in use") while any
 * handler runs. Between the handler's module_put() and its final return
 * instruction the task is not at a voluntary context switch, so after the
 * hooks are unregistered synchronize_rcu_tasks() waits out such tasks before
 * the module text can go.
 */
#include <linux/ftrace.h>
#include <linux/module.h>
#include <net/sock.h>

#include "compat.h"
#include "libra.h"

static atomic64_t libra_in_flight = ATOMIC64_INIT(0);

u64 libra_hooks_in_flight(void)
{
	return atomic64_read(&libra_in_flight);
}

static void libra_handler_enter(void)
{
	atomic64_inc(&libra_in_flight);
}

static void libra_handler_leave(void)
{
	atomic64_dec(&libra_in_flight);
	module_put(THIS_MODULE);
}

static int libra_tcp_recvmsg(struct sock *sk, struct msghdr *msg, size_t len,
			     int flags, int *addr_len)
{
	u64 t0;
	int ret;

	libra_handler_enter();
	libra_stat_inc(LIBRA_STAT_RECVMSG_ENGAGED);
	t0 = libra_clock();
	ret = libra_rx_recvmsg(sk, msg, len, flags, addr_len);
	libra_time_add(LIBRA_STAT_TIME_RX_HANDLER_NS, t0);
	libra_handler_leave();
	return ret;
}

static int libra_tcp_sendmsg(struct sock *sk, struct msghdr *msg, size_t size)
{
	u64 t0;
	int ret;

	libra_handler_enter();
	libra_stat_inc(LIBRA_STAT_SENDMSG_ENGAGED);
	t0 = libra_clock();
	ret = libra_tx_sendmsg(sk, msg, size);
	libra_time_add(LIBRA_STAT_TIME_TX_HANDLER_NS, t0);
	libra_handler_leave();
	return ret;
}

/*
 * Runs with preemption disabled at the entry of the traced function, in the
 * caller's context. Receives are redirected for opted-in processes; sends
 * also for any process holding anchors, whose tokens must never leave as
 * they are. If so, a module reference has been taken for the handler.
 */
static bool notrace libra_should_redirect(struct ftrace_regs *fregs, bool sending)
{
	struct sock *sk;

	if (sending && libra_proc_has_anchors(current))
		return try_module_get(THIS_MODULE);
	if (!libra_optin_any())
		return false;
	sk = (struct sock *)libra_ftrace_arg0(fregs);
	if (!libra_optin_match(current, sk))
		return false;
	return try_module_get(THIS_MODULE);
}

static void notrace libra_ftrace_recvmsg(unsigned long ip, unsigned long parent_ip,
					 struct ftrace_ops *ops, struct ftrace_regs *fregs)
{
	if (within_module(parent_ip, THIS_MODULE))
		return;
	libra_stat_inc(LIBRA_STAT_RECVMSG_CALLS);
	if (libra_should_redirect(fregs, false))
		libra_ftrace_set_ip(fregs, (unsigned long)libra_tcp_recvmsg);
}

static void notrace libra_ftrace_sendmsg(unsigned long ip, unsigned long parent_ip,
					 struct ftrace_ops *ops, struct ftrace_regs *fregs)
{
	if (within_module(parent_ip, THIS_MODULE))
		return;
	libra_stat_inc(LIBRA_STAT_SENDMSG_CALLS);
	if (libra_should_redirect(fregs, true))
		libra_ftrace_set_ip(fregs, (unsigned long)libra_tcp_sendmsg);
}

#ifdef LIBRA_HAVE_SENDPAGE
/* sendfile() and splice() reach TCP here, not through tcp_sendmsg. */
static int libra_tcp_sendpage(struct sock *sk, struct page *page, int offset,
			      size_t size, int flags)
{
	u64 t0;
	int ret;

	libra_handler_enter();
	libra_stat_inc(LIBRA_STAT_SENDMSG_ENGAGED);
	t0 = libra_clock();
	ret = libra_tx_sendpage(sk, page, offset, size, flags);
	libra_time_add(LIBRA_STAT_TIME_TX_HANDLER_NS, t0);
	libra_handler_leave();
	return ret;
}

static void notrace libra_ftrace_sendpage(unsigned long ip, unsigned long parent_ip,
					  struct ftrace_ops *ops, struct ftrace_regs *fregs)
{
	if (within_module(parent_ip, THIS_MODULE))
		return;
	libra_stat_inc(LIBRA_STAT_SENDMSG_CALLS);
	if (libra_should_redirect(fregs, true))
		libra_ftrace_set_ip(fregs, (unsigned long)libra_tcp_sendpage);
}
#endif

static void libra_tcp_shutdown(struct sock *sk, int how)
{
	libra_handler_enter();
	libra_tx_shutdown(sk, how);
	libra_sym.tcp_shutdown(sk, how);
	libra_handler_leave();
}

static void libra_tcp_close(struct sock *sk, long timeout)
{
	libra_handler_enter();
	libra_tx_close(sk);
	tcp_close(sk, timeout);
	libra_handler_leave();
}

struct libra_hook {
	const char *name;
	struct ftrace_ops ops;
	bool registered;
	void *settle;		/* libra_ftrace_settle's handler */
};

/*
 * tcp_shutdown and tcp_close: they must first send what a send took and
 * held back, so they are redirected while some socket holds such bytes;
 * the socket's owner may be any process.
 */
static void notrace libra_ftrace_settle(unsigned long ip, unsigned long parent_ip,
					struct ftrace_ops *ops, struct ftrace_regs *fregs)
{
	if (within_module(parent_ip, THIS_MODULE) || !libra_tx_any_held())
		return;
	if (try_module_get(THIS_MODULE))
		libra_ftrace_set_ip(fregs, (unsigned long)container_of(ops, struct libra_hook, ops)->settle);
}

#define LIBRA_HOOK_FLAGS (FTRACE_OPS_FL_SAVE_REGS | FTRACE_OPS_FL_RECURSION | \
			  FTRACE_OPS_FL_IPMODIFY)

static struct libra_hook libra_hooks[] = {
	{ .name = "tcp_recvmsg", .ops = { .func = libra_ftrace_recvmsg, .flags = LIBRA_HOOK_FLAGS } },
	{ .name = "tcp_sendmsg", .ops = { .func = libra_ftrace_sendmsg, .flags = LIBRA_HOOK_FLAGS } },
#ifdef LIBRA_HAVE_SENDPAGE
	{ .name = "tcp_sendpage", .ops = { .func = libra_ftrace_sendpage, .flags = LIBRA_HOOK_FLAGS } },
#endif
	{ .name = "tcp_shutdown", .ops = { .func = libra_ftrace_settle, .flags = LIBRA_HOOK_FLAGS },
	  .settle = libra_tcp_shutdown },
	{ .name = "tcp_close", .ops = { .func = libra_ftrace_settle, .flags = LIBRA_HOOK_FLAGS },
	  .settle = libra_tcp_close },
};

static int libra_hook_install(struct libra_hook *hook)
{
	int err;

	/* By name, so ftrace finds the patch site itself (after ENDBR64 with IBT). */
	err = ftrace_set_filter(&hook->ops, (unsigned char *)hook->name,
				strlen(hook->name), 0);
	if (err) {
		pr_err("cannot filter ftrace on %s: %d\n", hook->name, err);
		return err;
	}
	err = register_ftrace_function(&hook->ops);
	if (err) {
		pr_err("cannot hook %s: %d\n", hook->name, err);
		goto err_free_filter;
	}
	hook->registered = true;
	return 0;

err_free_filter:
	ftrace_free_filter(&hook->ops);
	return err;
}

static void libra_hook_remove(struct libra_hook *hook)
{
	if (!hook->registered)
		return;
	unregister_ftrace_function(&hook->ops);
	ftrace_free_filter(&hook->ops);
	hook->registered = false;
}

int libra_hooks_install(void)
{
	int i, err;

	for (i = 0; i < ARRAY_SIZE(libra_hooks); i++) {
		err = libra_hook_install(&libra_hooks[i]);
		if (err)
			goto err_remove_installed;
	}
	return 0;

err_remove_installed:
	while (--i >= 0)
		libra_hook_remove(&libra_hooks[i]);
	synchronize_rcu_tasks();
	return err;
}

void libra_hooks_remove(void)
{
	int i;

	for (i = ARRAY_SIZE(libra_hooks) - 1; i >= 0; i--)
		libra_hook_remove(&libra_hooks[i]);
	synchronize_rcu_tasks();
	WARN_ON(atomic64_read(&libra_in_flight));
}
