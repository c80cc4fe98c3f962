// SPDX-License-Identifier: GPL-2.0
/*
 * libra_http.bpf.c - the HTTP/1.1 framing parser as a BPF program.
 *
 * Input: a linear skb holding a struct libra_parse_ctx followed by the window
 * (see the parser ABI in include/uapi/linux/libra.h). Output: written back
 * into the same struct. The program is a thin driver: it checks the window
 * really is in the packet, then feeds it to the shared core
 * (libra_http_core.h) from a bpf_loop callback, up to eight plain bytes and
 * the byte after them per unit, a few units per step, so the verifier checks
 * the step once instead of once per byte of an unrolled loop.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "libra_http_core.h"

/* What the bpf_loop callback needs; lives on the program's stack. */
struct libra_scan {
	struct libra_parse_ctx *ctx;	/* packet pointer, sizeof(*ctx) checked */
	void *data_end;
	__u32 avail;			/* window bytes */
	__u32 offset;			/* of the next byte to feed */
};

/*
 * One unit: the plain bytes at the start of the next eight (libra_http_run8),
 * then the byte after them, if any, alone. Returns 0 to go on.
 */
static __always_inline long libra_scan_unit(struct libra_scan *scan)
{
	struct libra_parse_ctx *ctx = scan->ctx;
	struct libra_http_state *st = (struct libra_http_state *)ctx->state;
	const __u8 *window = (const __u8 *)(ctx + 1);
	__u32 offset = scan->offset;

	/* bounds the verifier can see; the caller already capped the count */
	if (offset >= scan->avail || offset >= LIBRA_PARSE_WINDOW_MAX)
		return 1;
	if (scan->avail - offset >= 8 && (const void *)(window + offset + 8) <= scan->data_end) {
		__u32 plain = libra_http_run8(ctx, st, *(const __u64 *)(window + offset));

		if (plain >= 8) {
			scan->offset = offset + 8;
			return 0;
		}
		offset += plain;
	}
	if ((const void *)(window + offset + 1) > scan->data_end)
		return 1;
	scan->offset = offset + 1;
	return libra_http_feed(ctx, st, window[offset], offset);
}

/*
 * Units per bpf_loop step. A call of the callback costs more than a unit's
 * own work: on the host's BPF_PROG_TEST_RUN, four a call take 33-47% less
 * time per message than one, eight no less than four.
 */
#define LIBRA_SCAN_UNITS 4

/* One bpf_loop step: up to LIBRA_SCAN_UNITS units. */
static long libra_scan_step(__u32 index, void *arg)
{
	int i;

#pragma clang loop unroll(disable)
	for (i = 0; i < LIBRA_SCAN_UNITS; i++) {
		long r = libra_scan_unit(arg);

		if (r)
			return r;
	}
	return 0;
}

SEC("tc")
int libra_http_parse(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct libra_parse_ctx *ctx = data;
	struct libra_scan scan;
	__u32 window_bytes;
	__u32 avail;

	if ((void *)(ctx + 1) > data_end)
		return LIBRA_PARSE_INVALID;
	if (!libra_http_begin(ctx))
		return ctx->verdict;

	/* the module must have put every byte it announced into the skb */
	window_bytes = (__u32)(data_end - (void *)(ctx + 1));
	avail = ctx->avail;
	if (avail > window_bytes) {
		ctx->verdict = LIBRA_PARSE_INVALID;
		return LIBRA_PARSE_INVALID;
	}

	scan.ctx = ctx;
	scan.data_end = data_end;
	scan.avail = avail;
	scan.offset = 0;
	/* each step takes at least one byte: avail steps always suffice */
	bpf_loop(avail, libra_scan_step, &scan, 0);
	libra_http_window_done(ctx, avail);
	return ctx->verdict;
}

char LICENSE[] SEC("license") = "GPL";
