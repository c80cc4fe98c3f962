/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every difference between the kernels libra builds against lives here, each
 * chosen by testing for the feature itself (a macro the kernel headers define),
 * never by comparing LINUX_VERSION_CODE.
 */
#ifndef LIBRA_COMPAT_H
#define LIBRA_COMPAT_H

#include <linux/ftrace.h>
#include <linux/ptrace.h>

/*
 * Redirecting a traced call: 6.1 names it ftrace_instruction_pointer_set();
 * later kernels renamed it ftrace_regs_set_instruction_pointer() when
 * ftrace_regs became opaque. Both are macros on x86.
 */
#if defined(ftrace_regs_set_instruction_pointer)
#define libra_ftrace_set_ip(fregs, ip) ftrace_regs_set_instruction_pointer(fregs, ip)
#elif defined(ftrace_instruction_pointer_set)
#define libra_ftrace_set_ip(fregs, ip) ftrace_instruction_pointer_set(fregs, ip)
#else
#error "libra: this kernel offers no way to redirect an ftrace'd call"
#endif

/*
 * The first argument of the traced function. The ops are registered with
 * FTRACE_OPS_FL_SAVE_REGS, so full pt_regs are always there.
 */
static __always_inline unsigned long libra_ftrace_arg0(struct ftrace_regs *fregs)
{
	return regs_get_kernel_argument(ftrace_get_regs(fregs), 0);
}

/*
 * A kprobe registered by name reports where it sits. On kernels built with
 * IBT that is after the function's ENDBR64 instruction, and an indirect call
 * must land on the ENDBR64 itself, so step back over it.
 */
#if defined(CONFIG_X86_KERNEL_IBT)
#include <asm/ibt.h>
static inline unsigned long libra_func_entry(unsigned long probed)
{
	if (is_endbr(*(u32 *)(probed - ENDBR_INSN_SIZE)))
		return probed - ENDBR_INSN_SIZE;
	return probed;
}
#else
static inline unsigned long libra_func_entry(unsigned long probed)
{
	return probed;
}
#endif

/*
 * Sending pages without copying. Kernels with sendpage (probed by Kbuild:
 * LIBRA_HAVE_SENDPAGE) use do_tcp_sendpages(); from 6.5 sendpage is gone
 * and a bvec iterator with MSG_SPLICE_PAGES does the same through
 * tcp_sendmsg_locked(). Both need the socket lock and take their own page
 * references.
 */
#include <linux/bvec.h>
#include <linux/socket.h>
#include <linux/uio.h>
#include <net/tcp.h>

/* Before 6.5 sendfile() and splice() came through sendpage, never as a flag. */
#ifndef MSG_SPLICE_PAGES
#define MSG_SPLICE_PAGES 0
#endif

#ifdef LIBRA_HAVE_SENDPAGE
/* tcp_sendpage_locked, not do_tcp_sendpages: it copies where the device has no SG and marks app-limited */
static inline int libra_compat_send_page(struct sock *sk, struct page *page, u32 off,
					 u32 len, int flags, bool more)
{
	if (more)
		flags |= MSG_MORE | MSG_SENDPAGE_NOTLAST;
	return tcp_sendpage_locked(sk, page, off, len, flags);
}
#else
static inline int libra_compat_send_page(struct sock *sk, struct page *page, u32 off,
					 u32 len, int flags, bool more)
{
	struct msghdr msg = { .msg_flags = flags | MSG_SPLICE_PAGES | (more ? MSG_MORE : 0) };
	struct bio_vec bv;

	bvec_set_page(&bv, page, len, off);
	iov_iter_bvec(&msg.msg_iter, ITER_SOURCE, &bv, 1, len);
	return tcp_sendmsg_locked(sk, &msg, len);
}
#endif

/*
 * Anchored pages into a kernel-TLS socket (ktls.c): its own sendpage
 * (tls_sw_sendpage, tls_device_sendpage) where sendpage exists, else its
 * sendmsg with MSG_SPLICE_PAGES. Both take the TLS socket's tx_lock and
 * socket lock themselves: the caller holds neither. Pages are referenced,
 * not copied, until the record is encrypted.
 */
#ifdef LIBRA_HAVE_SENDPAGE
static inline int libra_compat_ktls_send_page(struct socket *sock, struct page *page, u32 off,
					      u32 len, int flags, bool more)
{
	struct sock *sk = sock->sk;

	if (more)
		flags |= MSG_MORE | MSG_SENDPAGE_NOTLAST;
	return READ_ONCE(sk->sk_prot)->sendpage(sk, page, off, len, flags);
}
#else
static inline int libra_compat_ktls_send_page(struct socket *sock, struct page *page, u32 off,
					      u32 len, int flags, bool more)
{
	struct msghdr msg = { .msg_flags = flags | MSG_SPLICE_PAGES | (more ? MSG_MORE : 0) };
	struct sock *sk = sock->sk;
	struct bio_vec bv;

	bvec_set_page(&bv, page, len, off);
	iov_iter_bvec(&msg.msg_iter, ITER_SOURCE, &bv, 1, len);
	return READ_ONCE(sk->sk_prot)->sendmsg(sk, &msg, len);
}
#endif

/*
 * Since 6.12 an skb may carry device memory that the CPU cannot read
 * (devmem TCP); such frags are never anchored by reference.
 */
#ifdef LIBRA_HAVE_SKB_FRAGS_READABLE
#define libra_skb_frags_readable(skb) skb_frags_readable(skb)
#else
#define libra_skb_frags_readable(skb) true
#endif

/*
 * The iovec array of an ITER_IOVEC iterator: iter->iov until 6.4, then
 * iter_iov() (Kbuild probes it: LIBRA_HAVE_ITER_IOV).
 */
#ifdef LIBRA_HAVE_ITER_IOV
#define libra_iter_iov(i) iter_iov(i)
#else
#define libra_iter_iov(i) ((i)->iov)
#endif

/*
 * A BPF program run outside tc and XDP: from 6.11 the redirect helpers
 * keep their state in a per-task bpf_net_context, which the program's
 * caller must set up (LIBRA_HAVE_BPF_NET_CTX); without it, a parser that
 * called one would dereference NULL.
 */
#include <linux/filter.h>
#ifdef LIBRA_HAVE_BPF_NET_CTX
#define LIBRA_BPF_NET_CTX_DECLARE struct bpf_net_context __bpf_net_ctx, *bpf_net_ctx
#define libra_bpf_net_ctx_set() (bpf_net_ctx = bpf_net_ctx_set(&__bpf_net_ctx))
#define libra_bpf_net_ctx_clear() bpf_net_ctx_clear(bpf_net_ctx)
#else
#define LIBRA_BPF_NET_CTX_DECLARE int __maybe_unused bpf_net_ctx
#define libra_bpf_net_ctx_set() do { } while (0)
#define libra_bpf_net_ctx_clear() do { } while (0)
#endif

#endif /* LIBRA_COMPAT_H */
