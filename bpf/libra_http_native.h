/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libra_http_native.h - the parser core compiled for the host, so the fuzz
 * target, the tests' cross-check and the benchmark run the exact logic the
 * BPF program runs (libra_http_core.h), without a kernel.
 */
#ifndef LIBRA_BPF_LIBRA_HTTP_NATIVE_H
#define LIBRA_BPF_LIBRA_HTTP_NATIVE_H

#include "libra_http.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One call, like one run of the BPF program: @window holds ctx->avail bytes.
 * Returns ctx->verdict. */
__u32 libra_http_parse_window(struct libra_parse_ctx *ctx, const __u8 *window);

/* The same, feeding every byte alone (no eight-byte runs of plain bytes):
 * what the runs must be indistinguishable from. */
__u32 libra_http_parse_window_bytewise(struct libra_parse_ctx *ctx, const __u8 *window);

#ifdef __cplusplus
}
#endif

#endif /* LIBRA_BPF_LIBRA_HTTP_NATIVE_H */
