/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * libra_http.h - what user space (daemon, tests, benchmark) needs to talk to
 * the HTTP/1.1 framing parser: the parser ABI of the uapi header, plus the
 * file name the object is installed under. The parsing logic itself lives in
 * libra_http_core.h; the BPF entry point in libra_http.bpf.c.
 *
 * Named libra_http*, not http_parser*, so it never shadows libhttp-parser's
 * <http_parser.h>, which the differential test includes next to it.
 */
#ifndef LIBRA_BPF_LIBRA_HTTP_H
#define LIBRA_BPF_LIBRA_HTTP_H

#include <linux/types.h>
#include <linux/libra.h>

/* Object file, installed to ${CMAKE_INSTALL_LIBDIR}/libra/bpf/ */
#define LIBRA_HTTP_BPF_OBJECT	"libra_http.bpf.o"
/* Its one program (SEC("tc"), BPF_PROG_TYPE_SCHED_CLS) */
#define LIBRA_HTTP_BPF_PROGRAM	"libra_http_parse"

#ifdef __cplusplus
static_assert(sizeof(struct libra_parse_ctx) == 120, "parser ABI layout changed");
#else
_Static_assert(sizeof(struct libra_parse_ctx) == 120, "parser ABI layout changed");
#endif

#endif /* LIBRA_BPF_LIBRA_HTTP_H */
