// SPDX-License-Identifier: GPL-2.0
/* Native build of the parser core; compiled as C like the BPF program. */
#include "libra_http_native.h"
#include "libra_http_core.h"

__u32 libra_http_parse_window(struct libra_parse_ctx *ctx, const __u8 *window)
{
	return libra_http_parse_native(ctx, window, 1);
}

__u32 libra_http_parse_window_bytewise(struct libra_parse_ctx *ctx, const __u8 *window)
{
	return libra_http_parse_native(ctx, window, 0);
}
