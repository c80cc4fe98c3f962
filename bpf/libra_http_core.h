/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libra_http_core.h - HTTP/1.1 message framing, one byte at a time (eight at
 * once through runs of plain bytes).
 *
 * The same code runs in two places: inside the BPF program (libra_http.bpf.c
 * drives it from a bpf_loop callback over the window) and natively (the
 * fuzz target and the tests' cross-check call libra_http_parse_native()).
 * So it is plain C over (ctx, state, byte): no helpers, no libc, no loops
 * over the input, only bounded arithmetic on values read from memory the
 * verifier does not track (the state lives in the packet), which keeps the
 * verifier's work per byte small and the same on 6.1 and on newer kernels.
 *
 * Why a byte-at-a-time state machine: everything the parser learned is in
 * struct libra_http_state, so a window may end anywhere (in a header name,
 * between CR and LF, inside a chunk-size) and the next call resumes exactly
 * there. Consumed bytes never need to be seen again, which is why NEED_MORE
 * can consume the whole window.
 *
 * Policy: accept only what is unambiguous under RFC 9112 and what common
 * parsers (libhttp-parser, the differential test's reference) agree on;
 * anything else is STEP_ASIDE, never a guess. See docs/http-support.md.
 */
#ifndef LIBRA_BPF_LIBRA_HTTP_CORE_H
#define LIBRA_BPF_LIBRA_HTTP_CORE_H

#include "libra_http.h"

#define LIBRA_CORE_INLINE static inline __attribute__((always_inline))

/* Phases of the state machine; 0 must be "at the start of a message". */
enum libra_http_phase {
	LIBRA_PH_MESSAGE_START = 0,
	LIBRA_PH_METHOD,		/* request line */
	LIBRA_PH_TARGET,
	LIBRA_PH_REQUEST_VERSION,
	LIBRA_PH_RESPONSE_VERSION,	/* status line */
	LIBRA_PH_STATUS,
	LIBRA_PH_REASON,
	LIBRA_PH_START_LINE_LF,
	LIBRA_PH_FIELD_START,		/* header and trailer fields */
	LIBRA_PH_FIELD_NAME,
	LIBRA_PH_FIELD_VALUE,
	LIBRA_PH_FIELD_LF,
	LIBRA_PH_FIELDS_END_LF,
	LIBRA_PH_CHUNK_DATA_CR,		/* chunked body */
	LIBRA_PH_CHUNK_DATA_LF,
	LIBRA_PH_CHUNK_SIZE,
	LIBRA_PH_CHUNK_BWS,
	LIBRA_PH_CHUNK_EXT,
	LIBRA_PH_CHUNK_SIZE_LF,
};

/* Facts about the message being parsed (libra_http_state.msg) */
#define LIBRA_MSG_START_IN_UNIT	(1U << 0)	/* current unit holds the start line */
#define LIBRA_MSG_HTTP10	(1U << 1)
#define LIBRA_MSG_CONTENT_LENGTH (1U << 2)
#define LIBRA_MSG_CHUNKED	(1U << 3)	/* Transfer-Encoding: chunked */
#define LIBRA_MSG_UPGRADE	(1U << 4)
#define LIBRA_MSG_CLOSE		(1U << 5)	/* Connection: ...close... */
#define LIBRA_MSG_KEEP_ALIVE	(1U << 6)	/* Connection: keep-alive */
#define LIBRA_MSG_TRAILERS	(1U << 7)	/* fields are trailers */

/* Facts that outlive a message (libra_http_state.conn) */
#define LIBRA_CONN_ASIDE	(1U << 0)	/* stepped aside, for good */
#define LIBRA_CONN_AFTER_LAST	(1U << 1)	/* last message is over */

/* Header fields whose value matters; 0 = any other field */
enum libra_http_field {
	LIBRA_FIELD_OTHER = 0,
	LIBRA_FIELD_CONTENT_LENGTH,
	LIBRA_FIELD_TRANSFER_ENCODING,
	LIBRA_FIELD_CONNECTION,
	LIBRA_FIELD_UPGRADE,
};
#define LIBRA_FIELD_CANDIDATES	4
#define LIBRA_FIELD_NAME_MAX	18

/* Where a field value is: leading OWS, the value, trailing SP */
enum libra_value_phase {
	LIBRA_VALUE_LEADING_WS = 0,
	LIBRA_VALUE_TOKEN,
	LIBRA_VALUE_TRAILING_WS,
};

#define LIBRA_CONTENT_LENGTH_DIGITS_MAX	18	/* < 10^18 < 2^60 */
#define LIBRA_CHUNK_SIZE_DIGITS_MAX	15	/* < 16^15 = 2^60 */
#define LIBRA_METHOD_CHARS_MAX		7	/* OPTIONS, CONNECT */
#define LIBRA_KEEP_ALIVE_FAILED		0xff

struct libra_http_state {
	__u64 number;		/* Content-Length or chunk-size digits so far */
	__u64 content_length;	/* of the current message */
	__u64 method_chars;	/* request method letters, packed big-endian */
	__u32 unit_bytes;	/* bytes of the current metadata unit so far */
	__u16 msg;		/* LIBRA_MSG_* */
	__u16 status;		/* response status code */
	__u8 phase;		/* enum libra_http_phase */
	__u8 conn;		/* LIBRA_CONN_* */
	__u8 method;		/* enum libra_http_method of this request */
	__u8 field;		/* enum libra_http_field being read */
	__u8 name_match;	/* bit k: name still matches candidate k */
	__u8 pos;		/* position in the current token */
	__u8 value_phase;	/* enum libra_value_phase */
	__u8 value_pos;		/* chars of "chunked"/"keep-alive" matched */
	__u8 close_pos;		/* chars of "close" matched */
	__u8 digits;		/* digits of number */
};

#ifdef __cplusplus
static_assert(sizeof(struct libra_http_state) <= LIBRA_PARSE_STATE_BYTES,
	      "parser state outgrew the ABI's opaque blob");
#else
_Static_assert(sizeof(struct libra_http_state) <= LIBRA_PARSE_STATE_BYTES,
	       "parser state outgrew the ABI's opaque blob");
#endif

/* Lower-case field names matched case-insensitively, in enum order - 1. */
static const char libra_field_names[LIBRA_FIELD_CANDIDATES][LIBRA_FIELD_NAME_MAX] = {
	"content-length", "transfer-encoding", "connection", "upgrade",
};
static const __u8 libra_field_name_lens[LIBRA_FIELD_CANDIDATES] = { 14, 17, 10, 7 };

#define LIBRA_PACK3(a, b, c) (((__u64)(a) << 16) | ((__u64)(b) << 8) | (__u64)(c))
#define LIBRA_PACK4(a, b, c, d) ((LIBRA_PACK3(a, b, c) << 8) | (__u64)(d))
#define LIBRA_PACK5(a, b, c, d, e) ((LIBRA_PACK4(a, b, c, d) << 8) | (__u64)(e))
#define LIBRA_PACK6(a, b, c, d, e, f) ((LIBRA_PACK5(a, b, c, d, e) << 8) | (__u64)(f))
#define LIBRA_PACK7(a, b, c, d, e, f, g) ((LIBRA_PACK6(a, b, c, d, e, f) << 8) | (__u64)(g))

LIBRA_CORE_INLINE __u8 libra_method_from_chars(__u64 chars)
{
	switch (chars) {
	case LIBRA_PACK3('G', 'E', 'T'): return LIBRA_HTTP_METHOD_GET;
	case LIBRA_PACK4('H', 'E', 'A', 'D'): return LIBRA_HTTP_METHOD_HEAD;
	case LIBRA_PACK4('P', 'O', 'S', 'T'): return LIBRA_HTTP_METHOD_POST;
	case LIBRA_PACK3('P', 'U', 'T'): return LIBRA_HTTP_METHOD_PUT;
	case LIBRA_PACK6('D', 'E', 'L', 'E', 'T', 'E'): return LIBRA_HTTP_METHOD_DELETE;
	case LIBRA_PACK7('C', 'O', 'N', 'N', 'E', 'C', 'T'): return LIBRA_HTTP_METHOD_CONNECT;
	case LIBRA_PACK7('O', 'P', 'T', 'I', 'O', 'N', 'S'): return LIBRA_HTTP_METHOD_OPTIONS;
	case LIBRA_PACK5('T', 'R', 'A', 'C', 'E'): return LIBRA_HTTP_METHOD_TRACE;
	case LIBRA_PACK5('P', 'A', 'T', 'C', 'H'): return LIBRA_HTTP_METHOD_PATCH;
	}
	return LIBRA_HTTP_METHOD_UNKNOWN;
}

/* "HTTP/1." - the version is then one digit, 0 or 1. */
LIBRA_CORE_INLINE __u8 libra_version_prefix_char(__u32 pos)
{
	switch (pos) {
	case 0: return 'H';
	case 1: return 'T';
	case 2: return 'T';
	case 3: return 'P';
	case 4: return '/';
	case 5: return '1';
	case 6: return '.';
	}
	return 0;
}
#define LIBRA_VERSION_PREFIX_LEN 7

LIBRA_CORE_INLINE __u8 libra_keep_alive_char(__u32 pos)
{
	switch (pos) {
	case 0: return 'k';
	case 1: return 'e';
	case 2: return 'e';
	case 3: return 'p';
	case 4: return '-';
	case 5: return 'a';
	case 6: return 'l';
	case 7: return 'i';
	case 8: return 'v';
	case 9: return 'e';
	}
	return 0;
}
#define LIBRA_KEEP_ALIVE_LEN 10

LIBRA_CORE_INLINE __u8 libra_chunked_char(__u32 pos)
{
	switch (pos) {
	case 0: return 'c';
	case 1: return 'h';
	case 2: return 'u';
	case 3: return 'n';
	case 4: return 'k';
	case 5: return 'e';
	case 6: return 'd';
	}
	return 0;
}
#define LIBRA_CHUNKED_LEN 7

LIBRA_CORE_INLINE __u8 libra_close_char(__u32 pos)
{
	switch (pos) {
	case 0: return 'c';
	case 1: return 'l';
	case 2: return 'o';
	case 3: return 's';
	case 4: return 'e';
	}
	return 0;
}
#define LIBRA_CLOSE_LEN 5

LIBRA_CORE_INLINE __u8 libra_lower(__u8 c)
{
	return (c >= 'A' && c <= 'Z') ? (__u8)(c + ('a' - 'A')) : c;
}

LIBRA_CORE_INLINE int libra_is_digit(__u8 c)
{
	return c >= '0' && c <= '9';
}

/* Hex digit value, or -1. */
LIBRA_CORE_INLINE int libra_hex_value(__u8 c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* RFC 9110 tchar */
LIBRA_CORE_INLINE int libra_is_tchar(__u8 c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || libra_is_digit(c))
		return 1;
	switch (c) {
	case '!': case '#': case '$': case '%': case '&': case '\'': case '*':
	case '+': case '-': case '.': case '^': case '_': case '`': case '|':
	case '~':
		return 1;
	}
	return 0;
}

/* field-vchar / SP / HTAB: what may appear in a field value or reason phrase */
LIBRA_CORE_INLINE int libra_is_field_char(__u8 c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/* ---- verdicts ---- */

LIBRA_CORE_INLINE int libra_step_aside(struct libra_parse_ctx *ctx,
				       struct libra_http_state *st, __u32 offset)
{
	st->conn |= LIBRA_CONN_ASIDE;
	ctx->verdict = LIBRA_PARSE_STEP_ASIDE;
	ctx->metadata_len = offset;
	return 1;
}

/* Is the connection over after this message (no keep-alive)? Errs towards
 * yes: then anything that follows makes the parser step aside. */
LIBRA_CORE_INLINE int libra_is_last_message(const struct libra_http_state *st)
{
	if (st->msg & LIBRA_MSG_CLOSE)
		return 1;
	return (st->msg & LIBRA_MSG_HTTP10) && !(st->msg & LIBRA_MSG_KEEP_ALIVE);
}

/* The unit ends with the byte at @offset: report it. */
LIBRA_CORE_INLINE int libra_emit(struct libra_parse_ctx *ctx, struct libra_http_state *st,
				 __u32 offset, __u32 body_kind, __u64 body_len, __u32 flags)
{
	if (st->msg & LIBRA_MSG_START_IN_UNIT) {
		flags |= LIBRA_PARSE_F_MESSAGE_START;
		ctx->status_code = st->status;
		ctx->message_method = st->method;
		st->msg &= ~LIBRA_MSG_START_IN_UNIT;
	}
	if (flags & LIBRA_PARSE_F_MESSAGE_END) {
		if (body_kind == LIBRA_BODY_CLOSE_DELIMITED || libra_is_last_message(st)) {
			flags |= LIBRA_PARSE_F_LAST_MESSAGE;
			st->conn |= LIBRA_CONN_AFTER_LAST;
		}
		st->phase = LIBRA_PH_MESSAGE_START;
	}
	st->unit_bytes = 0;
	ctx->verdict = LIBRA_PARSE_METADATA;
	ctx->metadata_len = offset + 1;
	ctx->body_kind = body_kind;
	ctx->body_len = body_len;
	ctx->flags = flags;
	return 1;
}

/* A message without body (or whose body the request method or status
 * rules out) ends here. */
LIBRA_CORE_INLINE int libra_emit_bodiless(struct libra_parse_ctx *ctx,
					  struct libra_http_state *st, __u32 offset,
					  __u32 extra_flags)
{
	return libra_emit(ctx, st, offset, LIBRA_BODY_NONE, 0,
			  LIBRA_PARSE_F_MESSAGE_END | extra_flags);
}

LIBRA_CORE_INLINE int libra_begin_chunk_size(struct libra_http_state *st)
{
	st->phase = LIBRA_PH_CHUNK_SIZE;
	st->number = 0;
	st->digits = 0;
	return 0;
}

/* Body framing of a request (RFC 9112 6.3), once its header is complete. */
LIBRA_CORE_INLINE int libra_request_framing(struct libra_parse_ctx *ctx,
					    struct libra_http_state *st, __u32 offset)
{
	__u16 msg = st->msg;

	/* Upgrade: the connection may switch protocols after this request. */
	if (msg & LIBRA_MSG_UPGRADE)
		return libra_step_aside(ctx, st, offset);
	if (msg & LIBRA_MSG_CHUNKED) {
		if ((msg & LIBRA_MSG_CONTENT_LENGTH) || (msg & LIBRA_MSG_HTTP10))
			return libra_step_aside(ctx, st, offset);
		return libra_begin_chunk_size(st);
	}
	if ((msg & LIBRA_MSG_CONTENT_LENGTH) && st->content_length > 0)
		return libra_emit(ctx, st, offset, LIBRA_BODY_CONTENT_LENGTH,
				  st->content_length, LIBRA_PARSE_F_MESSAGE_END);
	return libra_emit_bodiless(ctx, st, offset, 0);
}

/* Body framing of a response (RFC 9112 6.3), once its header is complete. */
LIBRA_CORE_INLINE int libra_response_framing(struct libra_parse_ctx *ctx,
					     struct libra_http_state *st, __u32 offset)
{
	__u16 msg = st->msg;
	__u16 status = st->status;
	__u8 request_method = ctx->request_method;
	int has_cl = (msg & LIBRA_MSG_CONTENT_LENGTH) != 0;
	int chunked = (msg & LIBRA_MSG_CHUNKED) != 0;

	/* Without the request's method the framing is unknowable; a response
	 * to CONNECT (2xx: tunnel) and 101 switch protocols. */
	if (request_method == LIBRA_HTTP_METHOD_UNKNOWN ||
	    request_method > LIBRA_HTTP_METHOD_PATCH ||
	    request_method == LIBRA_HTTP_METHOD_CONNECT || status == 101)
		return libra_step_aside(ctx, st, offset);
	if (chunked && (has_cl || (msg & LIBRA_MSG_HTTP10)))
		return libra_step_aside(ctx, st, offset);
	if (status < 200) {
		if (has_cl || chunked)
			return libra_step_aside(ctx, st, offset);
		return libra_emit_bodiless(ctx, st, offset, LIBRA_PARSE_F_INTERIM);
	}
	if (status == 204) {
		if (has_cl || chunked)
			return libra_step_aside(ctx, st, offset);
		return libra_emit_bodiless(ctx, st, offset, 0);
	}
	if (status == 304) {
		/* Content-Length of a 304 describes the selected representation */
		if (chunked)
			return libra_step_aside(ctx, st, offset);
		return libra_emit_bodiless(ctx, st, offset, 0);
	}
	if (request_method == LIBRA_HTTP_METHOD_HEAD)
		return libra_emit_bodiless(ctx, st, offset, 0);
	if (chunked)
		return libra_begin_chunk_size(st);
	if (has_cl) {
		if (st->content_length > 0)
			return libra_emit(ctx, st, offset, LIBRA_BODY_CONTENT_LENGTH,
					  st->content_length, LIBRA_PARSE_F_MESSAGE_END);
		return libra_emit_bodiless(ctx, st, offset, 0);
	}
	return libra_emit(ctx, st, offset, LIBRA_BODY_CLOSE_DELIMITED, 0,
			  LIBRA_PARSE_F_MESSAGE_END);
}

/* ---- phases ---- */

LIBRA_CORE_INLINE int libra_on_message_start(struct libra_parse_ctx *ctx,
					     struct libra_http_state *st, __u32 offset)
{
	/* Bytes after a Connection: close message belong to nothing. */
	if (st->conn & LIBRA_CONN_AFTER_LAST)
		return libra_step_aside(ctx, st, offset);
	st->number = 0;
	st->content_length = 0;
	st->method_chars = 0;
	st->msg = LIBRA_MSG_START_IN_UNIT;
	st->status = 0;
	st->method = LIBRA_HTTP_METHOD_UNKNOWN;
	st->field = LIBRA_FIELD_OTHER;
	st->pos = 0;
	st->phase = ctx->direction == LIBRA_PARSE_REQUEST ? LIBRA_PH_METHOD
							  : LIBRA_PH_RESPONSE_VERSION;
	return 0;
}

LIBRA_CORE_INLINE int libra_on_method(struct libra_parse_ctx *ctx, struct libra_http_state *st,
				      __u8 c, __u32 offset)
{
	if (c == ' ') {
		__u8 method = libra_method_from_chars(st->method_chars);

		/* unknown methods may have unknown framing; CONNECT tunnels */
		if (method == LIBRA_HTTP_METHOD_UNKNOWN || method == LIBRA_HTTP_METHOD_CONNECT)
			return libra_step_aside(ctx, st, offset);
		st->method = method;
		st->phase = LIBRA_PH_TARGET;
		st->pos = 0;
		return 0;
	}
	/* also rejects a CRLF before the request line and the HTTP/2 preface
	 * ("PRI" is no method) */
	if (c < 'A' || c > 'Z' || st->pos >= LIBRA_METHOD_CHARS_MAX)
		return libra_step_aside(ctx, st, offset);
	st->method_chars = (st->method_chars << 8) | c;
	st->pos++;
	return 0;
}

#define LIBRA_TARGET_ORIGIN	1	/* "/..." */
#define LIBRA_TARGET_ASTERISK	2	/* "*" */

LIBRA_CORE_INLINE int libra_on_target(struct libra_parse_ctx *ctx, struct libra_http_state *st,
				      __u8 c, __u32 offset)
{
	if (st->pos == 0) {
		/* origin-form or asterisk-form only: absolute-form (forward
		 * proxies) and authority-form (CONNECT) step aside */
		if (c == '/')
			st->pos = LIBRA_TARGET_ORIGIN;
		else if (c == '*')
			st->pos = LIBRA_TARGET_ASTERISK;
		else
			return libra_step_aside(ctx, st, offset);
		return 0;
	}
	if (c == ' ') {
		st->phase = LIBRA_PH_REQUEST_VERSION;
		st->pos = 0;
		return 0;
	}
	/* a CR or LF here is HTTP/0.9 ("GET /\r\n") */
	if (st->pos == LIBRA_TARGET_ASTERISK || c < 0x21 || c > 0x7e)
		return libra_step_aside(ctx, st, offset);
	return 0;
}

/* "HTTP/1.0" or "HTTP/1.1", then @terminator */
LIBRA_CORE_INLINE int libra_on_version(struct libra_parse_ctx *ctx, struct libra_http_state *st,
				       __u8 c, __u32 offset, __u8 terminator, __u8 next_phase)
{
	__u32 pos = st->pos;

	if (pos < LIBRA_VERSION_PREFIX_LEN) {
		if (c != libra_version_prefix_char(pos))
			return libra_step_aside(ctx, st, offset);
	} else if (pos == LIBRA_VERSION_PREFIX_LEN) {
		if (c == '0')
			st->msg |= LIBRA_MSG_HTTP10;
		else if (c != '1')
			return libra_step_aside(ctx, st, offset);
	} else {
		if (c != terminator)
			return libra_step_aside(ctx, st, offset);
		st->phase = next_phase;
		st->pos = 0;
		return 0;
	}
	st->pos = pos + 1;
	return 0;
}

LIBRA_CORE_INLINE int libra_on_status(struct libra_parse_ctx *ctx, struct libra_http_state *st,
				      __u8 c, __u32 offset)
{
	if (st->pos < 3) {
		/* exactly three digits, 100 to 599 */
		if (!libra_is_digit(c) || (st->pos == 0 && (c < '1' || c > '5')))
			return libra_step_aside(ctx, st, offset);
		st->status = (__u16)(st->status * 10 + (c - '0'));
		st->pos++;
		return 0;
	}
	if (c == ' ') {
		st->phase = LIBRA_PH_REASON;
		return 0;
	}
	if (c == '\r') {
		st->phase = LIBRA_PH_START_LINE_LF;
		return 0;
	}
	return libra_step_aside(ctx, st, offset);
}

LIBRA_CORE_INLINE int libra_on_reason(struct libra_parse_ctx *ctx, struct libra_http_state *st,
				      __u8 c, __u32 offset)
{
	if (c == '\r') {
		st->phase = LIBRA_PH_START_LINE_LF;
		return 0;
	}
	if (!libra_is_field_char(c))
		return libra_step_aside(ctx, st, offset);
	return 0;
}

/*
 * @c is the next byte of a field name: drop the candidates it rules out.
 * Returns 1 if the name is a framing field name with more after it
 * ("Transfer-Encodingx"): libhttp-parser 2.9 takes any name that starts with
 * Transfer-Encoding for one, so such names are ambiguous.
 */
LIBRA_CORE_INLINE int libra_match_name_char(struct libra_http_state *st, __u8 c)
{
	__u32 pos = st->pos;
	__u8 lc = libra_lower(c);
	__u8 match = st->name_match;
	int k;

	if (!match)
		return 0;	/* no candidate left: pos no longer matters */
	for (k = 0; k < LIBRA_FIELD_CANDIDATES; k++) {
		if (!(match & (1U << k)))
			continue;
		if (pos >= libra_field_name_lens[k] || pos >= LIBRA_FIELD_NAME_MAX) {
			if (k + 1 == LIBRA_FIELD_CONTENT_LENGTH || k + 1 == LIBRA_FIELD_TRANSFER_ENCODING)
				return 1;
			match &= ~(1U << k);
		} else if (libra_field_names[k][pos] != (char)lc) {
			match &= ~(1U << k);
		}
	}
	st->name_match = match;
	if (pos < 0xff)
		st->pos = pos + 1;
	return 0;
}

LIBRA_CORE_INLINE int libra_on_field_start(struct libra_parse_ctx *ctx,
					   struct libra_http_state *st, __u8 c, __u32 offset)
{
	if (c == '\r') {
		st->phase = LIBRA_PH_FIELDS_END_LF;
		return 0;
	}
	/* SP/HTAB here is obs-fold (or whitespace after the start line) */
	if (!libra_is_tchar(c))
		return libra_step_aside(ctx, st, offset);
	st->phase = LIBRA_PH_FIELD_NAME;
	st->name_match = (1U << LIBRA_FIELD_CANDIDATES) - 1;
	st->pos = 0;
	libra_match_name_char(st, c);	/* one char never completes a name */
	return 0;
}

/* The name ended with ':': which field is it, and is it allowed here? */
LIBRA_CORE_INLINE int libra_on_field_colon(struct libra_parse_ctx *ctx,
					   struct libra_http_state *st, __u32 offset)
{
	__u8 field = LIBRA_FIELD_OTHER;
	int k;

	for (k = 0; k < LIBRA_FIELD_CANDIDATES; k++)
		if ((st->name_match & (1U << k)) && st->pos == libra_field_name_lens[k])
			field = (__u8)(k + 1);

	/* framing or connection fields in trailers change nothing a recipient
	 * may rely on, but some would act on them: ambiguous */
	if (field != LIBRA_FIELD_OTHER && (st->msg & LIBRA_MSG_TRAILERS))
		return libra_step_aside(ctx, st, offset);

	switch (field) {
	case LIBRA_FIELD_CONTENT_LENGTH:
		/* duplicate Content-Length, even with equal values */
		if (st->msg & LIBRA_MSG_CONTENT_LENGTH)
			return libra_step_aside(ctx, st, offset);
		st->msg |= LIBRA_MSG_CONTENT_LENGTH;
		st->number = 0;
		st->digits = 0;
		break;
	case LIBRA_FIELD_TRANSFER_ENCODING:
		/* one Transfer-Encoding field, value exactly "chunked" */
		if (st->msg & LIBRA_MSG_CHUNKED)
			return libra_step_aside(ctx, st, offset);
		st->msg |= LIBRA_MSG_CHUNKED;
		break;
	case LIBRA_FIELD_UPGRADE:
		st->msg |= LIBRA_MSG_UPGRADE;
		break;
	case LIBRA_FIELD_CONNECTION:
		st->close_pos = 0;
		break;
	}
	st->field = field;
	st->value_phase = LIBRA_VALUE_LEADING_WS;
	st->value_pos = 0;
	st->phase = LIBRA_PH_FIELD_VALUE;
	return 0;
}

LIBRA_CORE_INLINE int libra_on_field_name(struct libra_parse_ctx *ctx,
					  struct libra_http_state *st, __u8 c, __u32 offset)
{
	if (c == ':')
		return libra_on_field_colon(ctx, st, offset);
	/* whitespace before the colon is a smuggling classic */
	if (!libra_is_tchar(c) || libra_match_name_char(st, c))
		return libra_step_aside(ctx, st, offset);
	return 0;
}

/* Content-Length: OWS 1*DIGIT *SP (the reference rejects HTAB after it) */
LIBRA_CORE_INLINE int libra_on_content_length_char(struct libra_parse_ctx *ctx,
						   struct libra_http_state *st,
						   __u8 c, __u32 offset)
{
	if (st->value_phase == LIBRA_VALUE_TOKEN && libra_is_digit(c)) {
		if (st->digits >= LIBRA_CONTENT_LENGTH_DIGITS_MAX)
			return libra_step_aside(ctx, st, offset);
		st->digits++;
		st->number = st->number * 10 + (c - '0');
		return 0;
	}
	if (c == ' ' && st->digits > 0) {
		st->value_phase = LIBRA_VALUE_TRAILING_WS;
		return 0;
	}
	/* a list ("5, 5"), a sign, anything else */
	return libra_step_aside(ctx, st, offset);
}

/* Transfer-Encoding: OWS "chunked" *SP, case-insensitive */
LIBRA_CORE_INLINE int libra_on_transfer_encoding_char(struct libra_parse_ctx *ctx,
						      struct libra_http_state *st,
						      __u8 c, __u32 offset)
{
	__u32 pos = st->value_pos;

	if (st->value_phase == LIBRA_VALUE_TOKEN && pos < LIBRA_CHUNKED_LEN) {
		if (libra_lower(c) != libra_chunked_char(pos))
			return libra_step_aside(ctx, st, offset);
		st->value_pos = pos + 1;
		return 0;
	}
	if (c == ' ' && pos == LIBRA_CHUNKED_LEN) {
		st->value_phase = LIBRA_VALUE_TRAILING_WS;
		return 0;
	}
	/* other codings, lists, "chunked" not last */
	return libra_step_aside(ctx, st, offset);
}

/* Connection: remember "close" anywhere, and a value of just "keep-alive". */
LIBRA_CORE_INLINE void libra_on_connection_char(struct libra_http_state *st, __u8 c)
{
	__u8 lc = libra_lower(c);
	__u32 close_pos = st->close_pos;
	__u32 ka_pos = st->value_pos;

	if (close_pos < LIBRA_CLOSE_LEN && lc == libra_close_char(close_pos)) {
		close_pos++;
		if (close_pos == LIBRA_CLOSE_LEN) {
			st->msg |= LIBRA_MSG_CLOSE;
			close_pos = 0;
		}
	} else {
		close_pos = lc == 'c' ? 1 : 0;
	}
	st->close_pos = (__u8)close_pos;

	if (ka_pos < LIBRA_KEEP_ALIVE_LEN) {
		ka_pos = lc == libra_keep_alive_char(ka_pos) ? ka_pos + 1 : LIBRA_KEEP_ALIVE_FAILED;
	} else if (ka_pos == LIBRA_KEEP_ALIVE_LEN) {
		if (c != ' ')
			ka_pos = LIBRA_KEEP_ALIVE_FAILED;
	}
	st->value_pos = (__u8)ka_pos;
}

LIBRA_CORE_INLINE int libra_on_field_value_end(struct libra_parse_ctx *ctx,
					       struct libra_http_state *st, __u32 offset)
{
	switch (st->field) {
	case LIBRA_FIELD_CONTENT_LENGTH:
		if (st->digits == 0)
			return libra_step_aside(ctx, st, offset);
		st->content_length = st->number;
		break;
	case LIBRA_FIELD_TRANSFER_ENCODING:
		if (st->value_pos != LIBRA_CHUNKED_LEN)
			return libra_step_aside(ctx, st, offset);
		break;
	case LIBRA_FIELD_CONNECTION:
		if (st->value_pos == LIBRA_KEEP_ALIVE_LEN)
			st->msg |= LIBRA_MSG_KEEP_ALIVE;
		break;
	}
	st->phase = LIBRA_PH_FIELD_LF;
	return 0;
}

LIBRA_CORE_INLINE int libra_on_field_value(struct libra_parse_ctx *ctx,
					   struct libra_http_state *st, __u8 c, __u32 offset)
{
	if (c == '\r')
		return libra_on_field_value_end(ctx, st, offset);
	/* bare LF, NUL and other controls */
	if (!libra_is_field_char(c))
		return libra_step_aside(ctx, st, offset);
	if (st->value_phase == LIBRA_VALUE_LEADING_WS) {
		if (c == ' ' || c == '\t')
			return 0;
		st->value_phase = LIBRA_VALUE_TOKEN;
	}
	switch (st->field) {
	case LIBRA_FIELD_CONTENT_LENGTH:
		return libra_on_content_length_char(ctx, st, c, offset);
	case LIBRA_FIELD_TRANSFER_ENCODING:
		return libra_on_transfer_encoding_char(ctx, st, c, offset);
	case LIBRA_FIELD_CONNECTION:
		libra_on_connection_char(st, c);
		return 0;
	}
	return 0;
}

LIBRA_CORE_INLINE int libra_on_fields_end(struct libra_parse_ctx *ctx,
					  struct libra_http_state *st, __u32 offset)
{
	/* last-chunk and trailers end a chunked message */
	if (st->msg & LIBRA_MSG_TRAILERS)
		return libra_emit_bodiless(ctx, st, offset, 0);
	if (ctx->direction == LIBRA_PARSE_REQUEST)
		return libra_request_framing(ctx, st, offset);
	return libra_response_framing(ctx, st, offset);
}

/* chunk-size [ *SP ";" chunk-ext ] CRLF; HTAB in BWS is refused because
 * libhttp-parser refuses it */
LIBRA_CORE_INLINE int libra_on_chunk_size(struct libra_parse_ctx *ctx,
					  struct libra_http_state *st, __u8 c, __u32 offset)
{
	int value = libra_hex_value(c);

	if (value >= 0) {
		if (st->digits >= LIBRA_CHUNK_SIZE_DIGITS_MAX)
			return libra_step_aside(ctx, st, offset);
		st->digits++;
		st->number = (st->number << 4) | (__u64)value;
		return 0;
	}
	if (st->digits == 0)
		return libra_step_aside(ctx, st, offset);
	if (c == '\r')
		st->phase = LIBRA_PH_CHUNK_SIZE_LF;
	else if (c == ';')
		st->phase = LIBRA_PH_CHUNK_EXT;
	else if (c == ' ')
		st->phase = LIBRA_PH_CHUNK_BWS;
	else
		return libra_step_aside(ctx, st, offset);
	return 0;
}

LIBRA_CORE_INLINE int libra_on_chunk_bws(struct libra_parse_ctx *ctx,
					 struct libra_http_state *st, __u8 c, __u32 offset)
{
	if (c == ' ')
		return 0;
	if (c == ';') {
		st->phase = LIBRA_PH_CHUNK_EXT;
		return 0;
	}
	return libra_step_aside(ctx, st, offset);
}

/* Extensions carry no framing; they only must not hide a line break. */
LIBRA_CORE_INLINE int libra_on_chunk_ext(struct libra_parse_ctx *ctx,
					 struct libra_http_state *st, __u8 c, __u32 offset)
{
	if (c == '\r') {
		st->phase = LIBRA_PH_CHUNK_SIZE_LF;
		return 0;
	}
	if (!libra_is_field_char(c))
		return libra_step_aside(ctx, st, offset);
	return 0;
}

LIBRA_CORE_INLINE int libra_on_chunk_size_lf(struct libra_parse_ctx *ctx,
					     struct libra_http_state *st, __u8 c, __u32 offset)
{
	if (c != '\n')
		return libra_step_aside(ctx, st, offset);
	if (st->number > 0) {
		st->phase = LIBRA_PH_CHUNK_DATA_CR;
		return libra_emit(ctx, st, offset, LIBRA_BODY_CHUNK, st->number, 0);
	}
	/* last-chunk: trailer fields follow, then CRLF */
	st->msg |= LIBRA_MSG_TRAILERS;
	st->phase = LIBRA_PH_FIELD_START;
	return 0;
}

/* Expect @want; on it go to @next. */
LIBRA_CORE_INLINE int libra_expect(struct libra_parse_ctx *ctx, struct libra_http_state *st,
				   __u8 c, __u32 offset, __u8 want, __u8 next)
{
	if (c != want)
		return libra_step_aside(ctx, st, offset);
	st->phase = next;
	return 0;
}

/*
 * Feed one byte, the one at @offset of the window. Returns 1 when the
 * verdict in @ctx is final for this call (METADATA or STEP_ASIDE), 0 to go on.
 */
LIBRA_CORE_INLINE int libra_http_feed(struct libra_parse_ctx *ctx, struct libra_http_state *st,
				      __u8 c, __u32 offset)
{
	st->unit_bytes++;
	if (st->unit_bytes > ctx->max_header_bytes)
		return libra_step_aside(ctx, st, offset);

	if (st->phase == LIBRA_PH_MESSAGE_START && libra_on_message_start(ctx, st, offset))
		return 1;

	switch (st->phase) {
	case LIBRA_PH_METHOD:
		return libra_on_method(ctx, st, c, offset);
	case LIBRA_PH_TARGET:
		return libra_on_target(ctx, st, c, offset);
	case LIBRA_PH_REQUEST_VERSION:
		return libra_on_version(ctx, st, c, offset, '\r', LIBRA_PH_START_LINE_LF);
	case LIBRA_PH_RESPONSE_VERSION:
		return libra_on_version(ctx, st, c, offset, ' ', LIBRA_PH_STATUS);
	case LIBRA_PH_STATUS:
		return libra_on_status(ctx, st, c, offset);
	case LIBRA_PH_REASON:
		return libra_on_reason(ctx, st, c, offset);
	case LIBRA_PH_START_LINE_LF:
		return libra_expect(ctx, st, c, offset, '\n', LIBRA_PH_FIELD_START);
	case LIBRA_PH_FIELD_START:
		return libra_on_field_start(ctx, st, c, offset);
	case LIBRA_PH_FIELD_NAME:
		return libra_on_field_name(ctx, st, c, offset);
	case LIBRA_PH_FIELD_VALUE:
		return libra_on_field_value(ctx, st, c, offset);
	case LIBRA_PH_FIELD_LF:
		return libra_expect(ctx, st, c, offset, '\n', LIBRA_PH_FIELD_START);
	case LIBRA_PH_FIELDS_END_LF:
		if (c != '\n')
			return libra_step_aside(ctx, st, offset);
		return libra_on_fields_end(ctx, st, offset);
	case LIBRA_PH_CHUNK_DATA_CR:
		return libra_expect(ctx, st, c, offset, '\r', LIBRA_PH_CHUNK_DATA_LF);
	case LIBRA_PH_CHUNK_DATA_LF:
		if (c != '\n')
			return libra_step_aside(ctx, st, offset);
		return libra_begin_chunk_size(st);
	case LIBRA_PH_CHUNK_SIZE:
		return libra_on_chunk_size(ctx, st, c, offset);
	case LIBRA_PH_CHUNK_BWS:
		return libra_on_chunk_bws(ctx, st, c, offset);
	case LIBRA_PH_CHUNK_EXT:
		return libra_on_chunk_ext(ctx, st, c, offset);
	case LIBRA_PH_CHUNK_SIZE_LF:
		return libra_on_chunk_size_lf(ctx, st, c, offset);
	}
	/* a state this code never writes: someone else wrote the blob */
	return libra_step_aside(ctx, st, offset);
}

/*
 * Eight bytes at once, @word as loaded from the window (any byte order),
 * where the phase only counts them: the rest of an origin-form request
 * target, a reason phrase, a field value whose content does not matter.
 * Most metadata bytes are such runs, and under emulation every instruction
 * per byte counts. Returns 1 if all eight were plain and are taken: the state
 * is then exactly what feeding them one at a time leaves. Returns 0, with
 * nothing changed, if any byte may end or break the run (CR, HTAB, controls,
 * DEL, SP in a target), or the unit would pass max_header_bytes: they are
 * fed one at a time.
 */
LIBRA_CORE_INLINE int libra_http_skip8(const struct libra_parse_ctx *ctx,
				       struct libra_http_state *st, __u64 word)
{
	const __u64 ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
	const __u64 del = word ^ (ones * 0x7f);
	__u64 special;

	if (st->unit_bytes >= ctx->max_header_bytes || ctx->max_header_bytes - st->unit_bytes < 8)
		return 0;
	switch (st->phase) {
	case LIBRA_PH_TARGET:
		if (st->pos != LIBRA_TARGET_ORIGIN)
			return 0;
		/* a byte below 0x21, or from 0x80 */
		special = ((word - ones * 0x21) & ~word) | word;
		break;
	case LIBRA_PH_FIELD_VALUE:
		if (st->field != LIBRA_FIELD_OTHER || st->value_phase != LIBRA_VALUE_TOKEN)
			return 0;
		/* fall through */
	case LIBRA_PH_REASON:
		/* a byte below 0x20 (obs-text from 0x80 is allowed) */
		special = (word - ones * 0x20) & ~word;
		break;
	default:
		return 0;
	}
	special |= (del - ones) & ~del;	/* a 0x7f */
	if (special & highs)
		return 0;
	st->unit_bytes += 8;
	return 1;
}

/* The fewest bytes that could still complete the current unit. */
LIBRA_CORE_INLINE __u32 libra_unit_bytes_needed(const struct libra_http_state *st)
{
	switch (st->phase) {
	case LIBRA_PH_START_LINE_LF:
	case LIBRA_PH_FIELD_LF:
		return 3;		/* LF CR LF */
	case LIBRA_PH_FIELD_START:
		return 2;		/* CR LF */
	case LIBRA_PH_FIELDS_END_LF:
	case LIBRA_PH_CHUNK_SIZE_LF:
		return 1;
	case LIBRA_PH_CHUNK_DATA_CR:
		return 5;		/* CR LF 1*HEXDIG CR LF */
	case LIBRA_PH_CHUNK_DATA_LF:
		return 4;
	case LIBRA_PH_CHUNK_SIZE:
		return st->digits ? 2 : 3;
	case LIBRA_PH_CHUNK_BWS:
	case LIBRA_PH_CHUNK_EXT:
		return 2;
	}
	return 4;			/* some line, then CRLF CRLF */
}

/*
 * Validate the inputs and reset the outputs. Returns 1 if bytes should be
 * fed, 0 if the verdict is already final.
 */
LIBRA_CORE_INLINE int libra_http_begin(struct libra_parse_ctx *ctx)
{
	struct libra_http_state *st = (struct libra_http_state *)ctx->state;

	ctx->verdict = LIBRA_PARSE_INVALID;
	ctx->body_kind = LIBRA_BODY_NONE;
	ctx->metadata_len = 0;
	ctx->flags = 0;
	ctx->body_len = 0;
	ctx->need_min = 0;
	ctx->need_max = 0;
	ctx->status_code = 0;
	ctx->message_method = LIBRA_HTTP_METHOD_UNKNOWN;

	if (ctx->abi_version != LIBRA_PARSER_ABI_VERSION ||
	    (ctx->direction != LIBRA_PARSE_REQUEST && ctx->direction != LIBRA_PARSE_RESPONSE) ||
	    ctx->max_header_bytes == 0 || ctx->avail > LIBRA_PARSE_WINDOW_MAX)
		return 0;
	if (st->conn & LIBRA_CONN_ASIDE) {
		ctx->verdict = LIBRA_PARSE_STEP_ASIDE;
		return 0;
	}
	ctx->verdict = LIBRA_PARSE_NEED_MORE;
	return 1;
}

/* All @avail bytes were fed without a final verdict: ask for more. */
LIBRA_CORE_INLINE void libra_http_window_done(struct libra_parse_ctx *ctx, __u32 avail)
{
	struct libra_http_state *st = (struct libra_http_state *)ctx->state;
	__u32 needed, room;

	if (ctx->verdict != LIBRA_PARSE_NEED_MORE)
		return;
	needed = libra_unit_bytes_needed(st);
	room = st->unit_bytes < ctx->max_header_bytes ? ctx->max_header_bytes - st->unit_bytes : 0;
	if (needed > room) {
		/* the unit cannot end within the limit */
		libra_step_aside(ctx, st, avail);
		return;
	}
	ctx->metadata_len = avail;
	ctx->need_min = needed;
	ctx->need_max = room;
}

/*
 * The native driver: same logic, window at @bytes (ctx->avail of them). With
 * @runs, plain runs go eight bytes at a time, as in the BPF program; without,
 * every byte is fed alone, the reference the tests hold the runs to.
 */
LIBRA_CORE_INLINE __u32 libra_http_parse_native(struct libra_parse_ctx *ctx, const __u8 *bytes,
						int runs)
{
	struct libra_http_state *st = (struct libra_http_state *)ctx->state;
	__u32 i;

	if (!libra_http_begin(ctx))
		return ctx->verdict;
	for (i = 0; i < ctx->avail;) {
		__u64 word;

		if (runs && ctx->avail - i >= 8) {
			__builtin_memcpy(&word, bytes + i, sizeof(word));
			if (libra_http_skip8(ctx, st, word)) {
				i += 8;
				continue;
			}
		}
		if (libra_http_feed(ctx, st, bytes[i], i))
			return ctx->verdict;
		i++;
	}
	libra_http_window_done(ctx, ctx->avail);
	return ctx->verdict;
}

#endif /* LIBRA_BPF_LIBRA_HTTP_CORE_H */
