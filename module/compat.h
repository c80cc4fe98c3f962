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
 * LIBRA_HAVE_SENDPAGE) take one page run per call (do_tcp_sendpages(), a
 * kTLS socket's sendpage); from 6.5 sendpage is gone and sendmsg takes a
 * bvec iterator with MSG_SPLICE_PAGES, as many runs per call as the caller
 * has (LIBRA_PAGE_RUNS): the per-call work (the MSS, the rate sample, the
 * push) is paid once for them all. Both need the socket lock (the TCP
 * ones) or take it themselves (kTLS: its tx_lock and socket lock, held by
 * the caller neither), and take their own page references; kTLS references
 * the pages until the record is encrypted.
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
#define LIBRA_PAGE_RUNS 1

/* tcp_sendpage_locked, not do_tcp_sendpages: it copies where the device has no SG and marks app-limited */
static inline int libra_compat_send_pages(struct sock *sk, const struct bio_vec *bv,
					  unsigned int nr, u32 len, int flags, bool more)
{
	if (more)
		flags |= MSG_MORE | MSG_SENDPAGE_NOTLAST;
	return tcp_sendpage_locked(sk, bv->bv_page, bv->bv_offset, bv->bv_len, flags);
}

static inline int libra_compat_ktls_send_pages(struct socket *sock, const struct bio_vec *bv,
					       unsigned int nr, u32 len, int flags, bool more)
{
	struct sock *sk = sock->sk;

	if (more)
		flags |= MSG_MORE | MSG_SENDPAGE_NOTLAST;
	return READ_ONCE(sk->sk_prot)->sendpage(sk, bv->bv_page, bv->bv_offset, bv->bv_len, flags);
}
#else
#define LIBRA_PAGE_RUNS 16

static inline int libra_compat_send_pages(struct sock *sk, const struct bio_vec *bv,
					  unsigned int nr, u32 len, int flags, bool more)
{
	struct msghdr msg = { .msg_flags = flags | MSG_SPLICE_PAGES | (more ? MSG_MORE : 0) };

	iov_iter_bvec(&msg.msg_iter, ITER_SOURCE, bv, nr, len);
	return tcp_sendmsg_locked(sk, &msg, len);
}

static inline int libra_compat_ktls_send_pages(struct socket *sock, const struct bio_vec *bv,
					       unsigned int nr, u32 len, int flags, bool more)
{
	struct msghdr msg = { .msg_flags = flags | MSG_SPLICE_PAGES | (more ? MSG_MORE : 0) };
	struct sock *sk = sock->sk;

	iov_iter_bvec(&msg.msg_iter, ITER_SOURCE, bv, nr, len);
	return READ_ONCE(sk->sk_prot)->sendmsg(sk, &msg, len);
}
#endif

/* One page run of the caller's own (a sendpage call, a sendfile()), as stock sends it. */
static inline int libra_compat_send_page(struct sock *sk, struct page *page, u32 off,
					 u32 len, int flags, bool more)
{
	struct bio_vec bv = { .bv_page = page, .bv_offset = off, .bv_len = len };

	return libra_compat_send_pages(sk, &bv, 1, len, flags, more);
}

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
