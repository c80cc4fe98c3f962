// SPDX-License-Identifier: GPL-2.0
/*
 * The hooks on tcp_recvmsg and tcp_sendmsg (and tcp_sendpage where it
 * exists), and on tcp_shutdown, tcp_close and inet_release while some
 * socket holds bytes a send took but libra has not sent yet (tx_owed.c;
 * inet_release: a kernel-TLS socket's, sent before its TLS is taken down),
 * on sock_common_setsockopt at the level SOL_TLS while a TLS handshake is
 * open (tls.c: kernel TLS set up for sending ends it), and on inet_sendpage
 * (6.1) for kernel-TLS sockets (ktls.c).
 *
 * An ftrace callback runs at the entry of every call. It counts the call and,
 * when the calling process is opted in, redirects the call to libra's handler
 * by rewriting the saved instruction pointer (FTRACE_OPS_FL_IPMODIFY). Every
 * other call continues into the stock function untouched. The handler calls
 * the stock function itself; the callback recognises that call by its return
 * address lying inside this module and lets it through, which is what keeps
 * the redirect from looping.
 *
 * The egress guard's hooks (the sendmsg of the inet, inet6 and unix socket
 * families, generic_perform_write, iomap_file_buffered_write, pipe_write)
 * are redirected only for a process that received tokens (proc.c): their
 * handler writes out the tokens the call carries (egress.c), then calls the
 * stock function. A family's sendmsg is where every send on its sockets
 * passes (sendmsg, write, io_uring): plain TCP is left to the tcp_sendmsg
 * hook, a kernel-TLS socket set up for sending goes to ktls.c, every other
 * socket (AF_UNIX, UDP, MPTCP) is guarded there. Sockets of other families
 * are not looked at.
 *
 * Kernel sockets (CIFS, NFS), which send in their caller's context, are
 * never redirected.
 *
 * Lifetime: a redirected call holds a reference on this module from the
 * callback until the handler returns, so rmmod refuses ("in use") while any
 * handler runs. Between the handler's module_put() and its final return
 * instruction the task is not at a voluntary context switch, so after the
 * hooks are unregistered synchronize_rcu_tasks() waits out such tasks before
 * the module text can go.
 */
#include <linux/fs.h>
#include <linux/ftrace.h>
#include <linux/module.h>
#include <linux/net.h>
#include <linux/tls.h>
#include <linux/trace_recursion.h>
#include <net/inet_common.h>
#include <net/inet_connection_sock.h>
#include <net/sock.h>
#include <net/tcp.h>

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
 * The ftrace callbacks proper: each runs libra_hook_NAME() under ftrace's
 * recursion guard, taken here rather than by ftrace's assist function
 * (FTRACE_OPS_FL_RECURSION), which would cost every TCP call on the machine
 * one more indirect call. The guard disables preemption while it is held.
 */
#define LIBRA_FTRACE_CALLBACK(name)							\
static void notrace libra_ftrace_##name(unsigned long ip, unsigned long parent_ip,	\
					struct ftrace_ops *ops, struct ftrace_regs *fregs)	\
{											\
	int bit = ftrace_test_recursion_trylock(ip, parent_ip);				\
											\
	if (bit < 0)									\
		return;									\
	libra_hook_##name(ip, parent_ip, ops, fregs);					\
	ftrace_test_recursion_unlock(bit);						\
}

/*
 * Runs with preemption disabled at the entry of the traced function, in the
 * caller's context. Receives are redirected for opted-in processes; sends
 * also for any process holding anchors, whose tokens must never leave as
 * they are. If so, a module reference has been taken for the handler.
 */
static bool notrace libra_should_redirect(struct ftrace_regs *fregs, bool sending)
{
	struct sock *sk = (struct sock *)libra_ftrace_arg0(fregs);

	if (sk->sk_kern_sock)
		return false;
	if (sending && libra_proc_guarded(current))
		return try_module_get(THIS_MODULE);
	if (!libra_optin_any())
		return false;
	if (!libra_optin_match(current, sk))
		return false;
	return try_module_get(THIS_MODULE);
}

static __always_inline void libra_hook_recvmsg(unsigned long ip, unsigned long parent_ip,
					       struct ftrace_ops *ops, struct ftrace_regs *fregs)
{
	if (within_module(parent_ip, THIS_MODULE))
		return;
	libra_stat_inc(LIBRA_STAT_RECVMSG_CALLS);
	if (libra_should_redirect(fregs, false))
		libra_ftrace_set_ip(fregs, (unsigned long)libra_tcp_recvmsg);
}
LIBRA_FTRACE_CALLBACK(recvmsg)

static __always_inline void libra_hook_sendmsg(unsigned long ip, unsigned long parent_ip,
					       struct ftrace_ops *ops, struct ftrace_regs *fregs)
{
	if (within_module(parent_ip, THIS_MODULE))
		return;
	libra_stat_inc(LIBRA_STAT_SENDMSG_CALLS);
	if (libra_should_redirect(fregs, true))
		libra_ftrace_set_ip(fregs, (unsigned long)libra_tcp_sendmsg);
}
LIBRA_FTRACE_CALLBACK(sendmsg)

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

static __always_inline void libra_hook_sendpage(unsigned long ip, unsigned long parent_ip,
						struct ftrace_ops *ops, struct ftrace_regs *fregs)
{
	if (within_module(parent_ip, THIS_MODULE))
		return;
	libra_stat_inc(LIBRA_STAT_SENDMSG_CALLS);
	if (libra_should_redirect(fregs, true))
		libra_ftrace_set_ip(fregs, (unsigned long)libra_tcp_sendpage);
}
LIBRA_FTRACE_CALLBACK(sendpage)
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

/* close() of an inet socket: a kernel-TLS one sends what it holds while its TLS is up. */
static int libra_inet_release(struct socket *sock)
{
	int ret;

	libra_handler_enter();
	if (sock->sk && libra_ktls_tx(sock->sk))
		libra_ktls_release(sock->sk);
	ret = inet_release(sock);
	libra_handler_leave();
	return ret;
}

/*
 * setsockopt(SOL_TLS, ...) while TLS handshakes are open: TLS_TX set up
 * ends the one on that socket (tls.c).
 */
static int libra_sock_common_setsockopt(struct socket *sock, int level, int optname,
					sockptr_t optval, unsigned int optlen)
{
	int ret;

	libra_handler_enter();
	ret = sock_common_setsockopt(sock, level, optname, optval, optlen);
	if (!ret && optname == TLS_TX && sock->sk)
		libra_tls_tx_set_up(sock->sk);
	libra_handler_leave();
	return ret;
}

static __always_inline void libra_hook_setsockopt(unsigned long ip, unsigned long parent_ip,
						  struct ftrace_ops *ops, struct ftrace_regs *fregs)
{
	if (within_module(parent_ip, THIS_MODULE) || !libra_tls_handshakes_open() ||
	    regs_get_kernel_argument(ftrace_get_regs(fregs), 1) != SOL_TLS)
		return;
	if (try_module_get(THIS_MODULE))
		libra_ftrace_set_ip(fregs, (unsigned long)libra_sock_common_setsockopt);
}
LIBRA_FTRACE_CALLBACK(setsockopt)

#ifdef LIBRA_HAVE_SENDPAGE
/* A kernel-TLS socket's sendpage (sendfile, splice) on 6.1: ktls.c settles what it holds first. */
static ssize_t libra_inet_sendpage(struct socket *sock, struct page *page, int offset,
				   size_t size, int flags)
{
	ssize_t ret;

	libra_handler_enter();
	ret = libra_ktls_sendpage(sock, page, offset, size, flags);
	libra_handler_leave();
	return ret;
}

static __always_inline void libra_hook_inet_sendpage(unsigned long ip, unsigned long parent_ip,
						     struct ftrace_ops *ops, struct ftrace_regs *fregs)
{
	struct socket *sock = (struct socket *)libra_ftrace_arg0(fregs);

	if (within_module(parent_ip, THIS_MODULE) || !sock->sk || !libra_ktls_tx(sock->sk))
		return;
	if (!libra_proc_guarded(current) &&
	    !(libra_optin_any() && libra_optin_task_selected(current)))
		return;
	if (try_module_get(THIS_MODULE))
		libra_ftrace_set_ip(fregs, (unsigned long)libra_inet_sendpage);
}
LIBRA_FTRACE_CALLBACK(inet_sendpage)
#endif

/* Plain TCP, whose sends the tcp_sendmsg hook handles itself. */
static inline bool libra_tcp_handles(const struct sock *sk)
{
	return sk->sk_type == SOCK_STREAM && sk->sk_protocol == IPPROTO_TCP &&
	       (sk->sk_family == AF_INET || sk->sk_family == AF_INET6) &&
	       READ_ONCE(sk->sk_prot)->sendmsg == libra_sym.tcp_sendmsg;
}

static const char *libra_sock_kind(const struct sock *sk)
{
	switch (sk->sk_family) {
	case AF_UNIX:
		return "an AF_UNIX socket";
	case AF_INET:
	case AF_INET6:
		if (libra_ktls_tx(sk))
			return "a kernel-TLS socket";
		return sk->sk_protocol == IPPROTO_TCP ? "a TCP socket libra does not handle" :
		       "an IP socket";
	default:
		return "a socket";
	}
}

/* HTTP/3 builds its TLS in user space: a QUIC handshake marks the process (tls.c). */
static void libra_quic_check(const struct sock *sk, const struct msghdr *msg)
{
	struct iov_iter it = msg->msg_iter;
	u8 b[5];

	if (sk->sk_protocol != IPPROTO_UDP || iov_iter_count(&it) < sizeof(b) ||
	    copy_from_iter(b, sizeof(b), &it) != sizeof(b))
		return;
	if (libra_quic_long_header(b, sizeof(b)))
		libra_tls_mark(current, "sent QUIC (HTTP/3)");
}

/*
 * A socket send libra's tcp_sendmsg handler does not see (the callback
 * leaves plain TCP alone): a kernel-TLS socket set up for sending is
 * ktls.c's, a QUIC handshake marks the process, and elsewhere the guard
 * writes out the tokens the call carries.
 */
static int libra_guard_sendmsg(struct socket *sock, struct msghdr *msg, size_t size,
			       int (*stock)(struct socket *, struct msghdr *, size_t))
{
	struct sock *sk = sock->sk;
	int ret = 0;

	libra_handler_enter();
	if (libra_ktls_tx(sk)) {
		ret = libra_ktls_sendmsg(sock, msg, size, stock);
		goto out;
	}
	libra_quic_check(sk, msg);
	if (libra_proc_guarded(current) &&
	    libra_guard_iter(&msg->msg_iter, size, NULL, LIBRA_EGRESS_STREAM, libra_sock_kind(sk)))
		ret = -EIO;
	if (!ret)
		ret = stock(sock, msg, size);
out:
	libra_handler_leave();
	return ret;
}

#define LIBRA_GUARD_SENDMSG(fn)								\
static int libra_guard_##fn(struct socket *sock, struct msghdr *msg, size_t size)	\
{											\
	return libra_guard_sendmsg(sock, msg, size, libra_sym.fn);			\
}
LIBRA_GUARD_SENDMSG(inet_sendmsg)
LIBRA_GUARD_SENDMSG(inet6_sendmsg)
LIBRA_GUARD_SENDMSG(unix_stream_sendmsg)
LIBRA_GUARD_SENDMSG(unix_dgram_sendmsg)
LIBRA_GUARD_SENDMSG(unix_seqpacket_sendmsg)

/* A buffered write to a file or a pipe: the guard, then the stock function. */
static ssize_t libra_guard_write(struct kiocb *iocb, struct iov_iter *i, enum libra_egress kind,
				 const char *where, ssize_t (*stock)(struct kiocb *, struct iov_iter *))
{
	ssize_t ret = -EIO;

	libra_handler_enter();
	if (!libra_guard_iter(i, iov_iter_count(i), NULL, kind, where))
		ret = stock(iocb, i);
	libra_handler_leave();
	return ret;
}

static ssize_t libra_guard_generic_perform_write(struct kiocb *iocb, struct iov_iter *i)
{
	return libra_guard_write(iocb, i, LIBRA_EGRESS_WHOLE, "a file", libra_sym.generic_perform_write);
}

static ssize_t libra_guard_pipe_write(struct kiocb *iocb, struct iov_iter *i)
{
	return libra_guard_write(iocb, i, LIBRA_EGRESS_STREAM, "a pipe", libra_sym.pipe_write);
}

/* xfs and others on iomap: 3 arguments on 6.1, 4 from 6.6; the 4th is passed through */
static ssize_t libra_guard_iomap_file_buffered_write(struct kiocb *iocb, struct iov_iter *i,
						     const void *ops, void *private)
{
	ssize_t ret = -EIO;

	libra_handler_enter();
	if (!libra_guard_iter(i, iov_iter_count(i), NULL, LIBRA_EGRESS_WHOLE, "a file"))
		ret = libra_sym.iomap_file_buffered_write(iocb, i, ops, private);
	libra_handler_leave();
	return ret;
}

/* The guard's hooks: any call of a process that received tokens. */
static void notrace libra_ftrace_guard(unsigned long ip, unsigned long parent_ip,
				       struct ftrace_ops *ops, struct ftrace_regs *fregs);
static void notrace libra_ftrace_guard_sock(unsigned long ip, unsigned long parent_ip,
					    struct ftrace_ops *ops, struct ftrace_regs *fregs);

struct libra_hook {
	const char *name;
	struct ftrace_ops ops;
	bool registered;
	void *settle;		/* libra_ftrace_settle's or libra_ftrace_guard's handler */
};

/*
 * tcp_shutdown, tcp_close and inet_release: they must first send what a
 * send took and held back, so they are redirected while some socket holds
 * such bytes; the socket's owner may be any process.
 */
static __always_inline void libra_hook_settle(unsigned long ip, unsigned long parent_ip,
					      struct ftrace_ops *ops, struct ftrace_regs *fregs)
{
	if (within_module(parent_ip, THIS_MODULE) || !libra_tx_any_held())
		return;
	if (try_module_get(THIS_MODULE))
		libra_ftrace_set_ip(fregs, (unsigned long)container_of(ops, struct libra_hook, ops)->settle);
}
LIBRA_FTRACE_CALLBACK(settle)

#define LIBRA_HOOK_FLAGS (FTRACE_OPS_FL_SAVE_REGS | FTRACE_OPS_FL_IPMODIFY)

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
	{ .name = "inet_release", .ops = { .func = libra_ftrace_settle, .flags = LIBRA_HOOK_FLAGS },
	  .settle = libra_inet_release },
	{ .name = "sock_common_setsockopt", .ops = { .func = libra_ftrace_setsockopt, .flags = LIBRA_HOOK_FLAGS } },
#ifdef LIBRA_HAVE_SENDPAGE
	{ .name = "inet_sendpage", .ops = { .func = libra_ftrace_inet_sendpage, .flags = LIBRA_HOOK_FLAGS } },
#endif
#define LIBRA_GUARD_HOOK(fn, cb) \
	{ .name = #fn, .ops = { .func = cb, .flags = LIBRA_HOOK_FLAGS }, \
	  .settle = libra_guard_##fn }
	LIBRA_GUARD_HOOK(inet_sendmsg, libra_ftrace_guard_sock),
	LIBRA_GUARD_HOOK(inet6_sendmsg, libra_ftrace_guard_sock),
	LIBRA_GUARD_HOOK(unix_stream_sendmsg, libra_ftrace_guard_sock),
	LIBRA_GUARD_HOOK(unix_dgram_sendmsg, libra_ftrace_guard_sock),
	LIBRA_GUARD_HOOK(unix_seqpacket_sendmsg, libra_ftrace_guard_sock),
	LIBRA_GUARD_HOOK(generic_perform_write, libra_ftrace_guard),
	LIBRA_GUARD_HOOK(iomap_file_buffered_write, libra_ftrace_guard),
	LIBRA_GUARD_HOOK(pipe_write, libra_ftrace_guard),
};

static __always_inline void libra_hook_guard(unsigned long ip, unsigned long parent_ip,
					     struct ftrace_ops *ops, struct ftrace_regs *fregs)
{
	if (within_module(parent_ip, THIS_MODULE) || !libra_proc_guarded(current))
		return;
	if (try_module_get(THIS_MODULE))
		libra_ftrace_set_ip(fregs, (unsigned long)container_of(ops, struct libra_hook, ops)->settle);
}
LIBRA_FTRACE_CALLBACK(guard)

/*
 * The socket families' sendmsg: for a process that received tokens, or one
 * an entry selects (its TLS and QUIC must be seen before it gets any), on
 * every socket but plain TCP. Plain TCP must not be redirected here: the
 * family's sendmsg tail-calls tcp_sendmsg, whose hook would then take this
 * module's handler for its caller and let the call through unhandled.
 */
static __always_inline void libra_hook_guard_sock(unsigned long ip, unsigned long parent_ip,
						  struct ftrace_ops *ops, struct ftrace_regs *fregs)
{
	struct socket *sock = (struct socket *)libra_ftrace_arg0(fregs);
	struct sock *sk = sock->sk;

	if (within_module(parent_ip, THIS_MODULE) || !sk || sk->sk_kern_sock ||
	    libra_tcp_handles(sk))
		return;
	if (!libra_proc_guarded(current) &&
	    !(libra_optin_any() && libra_optin_task_selected(current)))
		return;
	if (try_module_get(THIS_MODULE))
		libra_ftrace_set_ip(fregs, (unsigned long)container_of(ops, struct libra_hook, ops)->settle);
}
LIBRA_FTRACE_CALLBACK(guard_sock)

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
