// SPDX-License-Identifier: GPL-2.0
/*
 * libra_http.bpf.c - the HTTP/1.1 framing parser as a BPF program.
 *
 * Input: a linear skb holding a struct libra_parse_ctx followed by the window
 * (see the parser ABI in include/uapi/linux/libra.h). Output: written back
 * into the same struct. The program is a thin driver: it checks the window
 * really is in the packet, then feeds it byte by byte to the shared core
 * (libra_http_core.h) from a bpf_loop callback, so the verifier checks the
 * per-byte step once instead of once per byte of an unrolled loop.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "libra_http_core.h"

/* What the bpf_loop callback needs; lives on the program's stack. */
struct libra_scan {
	struct libra_parse_ctx *ctx;	/* packet pointer, sizeof(*ctx) checked */
	void *data_end;
};

static long libra_scan_byte(__u32 index, void *arg)
{
	struct libra_scan *scan = arg;
	struct libra_parse_ctx *ctx = scan->ctx;
	const __u8 *window = (const __u8 *)(ctx + 1);

	/* bounds the verifier can see; the caller already capped the count */
	if (index >= LIBRA_PARSE_WINDOW_MAX)
		return 1;
	if ((const void *)(window + index + 1) > scan->data_end)
		return 1;
	return libra_http_feed(ctx, (struct libra_http_state *)ctx->state,
			       window[index], index);
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
	bpf_loop(avail, libra_scan_byte, &scan, 0);
	libra_http_window_done(ctx, avail);
	return ctx->verdict;
}

char LICENSE[] SEC("license") = "GPL";
