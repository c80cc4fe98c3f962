// SPDX-License-Identifier: GPL-2.0
/*
 * Running the framing parser: the BPF program librad attaches (see the
 * parser ABI in <linux/libra.h>). The module copies a window of metadata
 * bytes after a struct libra_parse_ctx into a private linear skb and runs the
 * program over it the way cls_bpf and sockmap's stream parser run theirs.
 *
 * Locking: libra_parser_lock serialises attach/detach; the program pointer is
 * read under RCU and the old program is put after a grace period, so a
 * parse in progress keeps using the program it started with.
 *
 * Each CPU keeps the skb of its last run (libra_parser_spare): a parse runs
 * for every metadata unit of every opted-in socket, and allocating, zeroing
 * and freeing a fresh skb and its buffer cost about as much as the program
 * itself. A run takes the spare with this_cpu_xchg(), so it owns it outright
 * while its fill sleeps or it moves to another CPU, and offers it back to
 * whichever CPU it ends on; a spare that finds its slot taken is freed.
 */
#include <linux/bpf.h>
#include <linux/filter.h>
#include <linux/netdevice.h>
#include <linux/skbuff.h>
#include <net/net_namespace.h>

#include "compat.h"
#include "libra.h"

static struct bpf_prog __rcu *libra_parser_prog;
static DEFINE_MUTEX(libra_parser_lock);
static DEFINE_PER_CPU(struct sk_buff *, libra_parser_spare);

/*
 * The smallest buffer a run builds: one page with its skb_shared_info, which
 * holds the ctx and the usual window (rx and tx offer 2 KiB at a time), so
 * a spare fits nearly every run. Larger windows get a buffer of their own.
 */
#define LIBRA_PARSER_SKB_BYTES	SKB_WITH_OVERHEAD(PAGE_SIZE)

int libra_parser_attach(int prog_fd)
{
	struct bpf_prog *prog = NULL, *old;

	if (prog_fd >= 0) {
		prog = bpf_prog_get_type_dev(prog_fd, BPF_PROG_TYPE_SCHED_CLS, false);
		if (IS_ERR(prog))
			return PTR_ERR(prog);
		/*
		 * A parser follows the ABI in <linux/libra.h>; an arbitrary tc
		 * program attached by mistake (the name says which) is refused
		 * rather than run over every opted-in stream.
		 */
		if (strncmp(prog->aux->name, "libra_", 6)) {
			bpf_prog_put(prog);
			return -EINVAL;
		}
	}
	mutex_lock(&libra_parser_lock);
	old = rcu_replace_pointer(libra_parser_prog, prog, lockdep_is_held(&libra_parser_lock));
	mutex_unlock(&libra_parser_lock);
	if (old) {
		synchronize_rcu();
		bpf_prog_put(old);
	}
	return 0;
}

bool libra_parser_attached(void)
{
	return rcu_access_pointer(libra_parser_prog) != NULL;
}

/* Called once no run can start or be in progress: the hooks are gone. */
void libra_parser_exit(void)
{
	int cpu;

	libra_parser_attach(-1);
	for_each_possible_cpu(cpu)
		consume_skb(xchg(per_cpu_ptr(&libra_parser_spare, cpu), NULL));
}

/* An empty linear skb with room for @len bytes: this CPU's spare, or a new one. */
static struct sk_buff *libra_parser_skb_get(u32 len)
{
	struct sk_buff *skb = this_cpu_xchg(libra_parser_spare, NULL);

	if (skb && skb_end_offset(skb) >= len)
		return skb;
	consume_skb(skb);
	return alloc_skb(max_t(u32, len, LIBRA_PARSER_SKB_BYTES), GFP_KERNEL);
}

/*
 * Gives back the skb of a run that started with @head as its buffer. It is
 * kept as the spare only if the program left it as built (a tc program can
 * reallocate, clone or extend an skb, or attach a dst: such an skb is freed
 * as usual), then emptied: the next run's program reads only the bytes that
 * run copies in, up to data_end.
 */
static void libra_parser_skb_put(struct sk_buff *skb, const unsigned char *head)
{
	if (skb->head != head || skb_is_nonlinear(skb) || skb_cloned(skb) ||
	    refcount_read(&skb->users) != 1 || skb_dst(skb) || skb->destructor ||
	    skb_end_offset(skb) > LIBRA_PARSER_SKB_BYTES) {
		consume_skb(skb);	/* a parse, not a drop: drop monitors must not count it */
		return;
	}
	skb->data = skb->head;
	skb->len = 0;
	skb_reset_tail_pointer(skb);
	if (this_cpu_cmpxchg(libra_parser_spare, NULL, skb))
		consume_skb(skb);
}

/*
 * Runs the parser over @avail window bytes that @fill copies out of the
 * stream. @ctx carries the state in and the verdict out. Returns 0, or a
 * negative errno when no parser is attached or memory is short (the caller
 * then steps aside).
 */
int libra_parser_run(struct libra_parse_ctx *ctx, u32 avail,
		     int (*fill)(void *dst, u32 len, void *arg), void *arg)
{
	const unsigned char *head;
	struct bpf_prog *prog;
	struct sk_buff *skb;
	int err;

	avail = min_t(u32, avail, LIBRA_PARSE_WINDOW_MAX);
	skb = libra_parser_skb_get(sizeof(*ctx) + avail);
	if (!skb)
		return -ENOMEM;
	head = skb->head;
	ctx->abi_version = LIBRA_PARSER_ABI_VERSION;
	ctx->avail = avail;
	skb_put_data(skb, ctx, sizeof(*ctx));
	err = fill(skb_put(skb, avail), avail, arg);
	if (err)
		goto out_free;
	/* tc programs may read ifindex and friends: give them a real device */
	skb->dev = init_net.loopback_dev;
	skb_reset_mac_header(skb);
	skb_reset_network_header(skb);

	rcu_read_lock();
	prog = rcu_dereference(libra_parser_prog);
	if (prog) {
		LIBRA_BPF_NET_CTX_DECLARE;

		bpf_compute_data_pointers(skb);
		local_bh_disable();
		libra_bpf_net_ctx_set();
		bpf_prog_run_pin_on_cpu(prog, skb);
		libra_bpf_net_ctx_clear();
		local_bh_enable();
	}
	rcu_read_unlock();
	if (!prog) {
		err = -ENOENT;
		goto out_free;
	}
	/* the program works in place; a program that shrank the packet gets nothing */
	if (skb->len < sizeof(*ctx)) {
		err = -EPROTO;
		goto out_free;
	}
	memcpy(ctx, skb->data, sizeof(*ctx));
	err = 0;
out_free:
	libra_parser_skb_put(skb, head);
	return err;
}
