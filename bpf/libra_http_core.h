/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libra_http_core.h - HTTP/1.1 message framing, one byte at a time (up to
 * eight at once through runs of plain bytes).
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
 * anything else is STEP_ASIDE, never a guess. See docs/http-support.md. One
 * documented exception: any token is a method (libra_on_method()), where
 * libhttp-parser knows a list; RFC 9112 frames a body alike whatever the
 * method, and a remote client must not be able to make Libra step aside on
 * a connection a proxy may reuse for others.
 *
 * Besides framing, three facts about content codings are reported on each
 * MESSAGE_START unit (LIBRA_PARSE_F_ACCEPTS_CODING, _CONTENT_CODED,
 * _TEXTUAL, with _CODINGS_KNOWN): so the module can leave alone a body a
 * proxy may still compress. They never make the parser step aside; where a
 * value is malformed each errs the way that anchors less.
 */
#ifndef LIBRA_BPF_LIBRA_HTTP_CORE_H
#define LIBRA_BPF_LIBRA_HTTP_CORE_H

#include "libra_http.h"

#define LIBRA_CORE_INLINE static inline __attribute__((always_inline))
/*
 * A function the verifier checks once, on its own, with its arguments
 * unknown (a global BPF subprogram: scalars in, a scalar out), instead of
 * once per path that reaches it inlined; in the native build, inline.
 */
#ifdef __bpf__
#define LIBRA_CORE_SUBPROG __attribute__((noinline))
#else
#define LIBRA_CORE_SUBPROG LIBRA_CORE_INLINE
#endif

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
	LIBRA_PH_CHUNK_BWS,		/* SP after the size, before the first ";" */
	LIBRA_PH_CHUNK_EXT_BEFORE_NAME,	/* chunk-ext: after ";" (BWS, then the name) */
	LIBRA_PH_CHUNK_SIZE_LF,
	/* the rest of chunk-ext (RFC 9112 7.1.1), appended so that the numbers
	 * above keep their meaning */
	LIBRA_PH_CHUNK_EXT_NAME,	/* in chunk-ext-name */
	LIBRA_PH_CHUNK_EXT_AFTER_NAME,	/* BWS after the name: "=" or ";" next */
	LIBRA_PH_CHUNK_EXT_BEFORE_VALUE, /* after "=" (BWS, then the value) */
	LIBRA_PH_CHUNK_EXT_TOKEN,	/* in a token value */
	LIBRA_PH_CHUNK_EXT_QUOTED,	/* in a quoted-string value */
	LIBRA_PH_CHUNK_EXT_QUOTED_PAIR,	/* after "\" in a quoted-string */
	LIBRA_PH_CHUNK_EXT_AFTER_QUOTE,	/* right after the closing DQUOTE */
	LIBRA_PH_CHUNK_EXT_AFTER_VALUE,	/* BWS after a value: only ";" next */
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
/*
 * Content codings (docs/http-support.md, "Content codings"). The first
 * three are LIBRA_PARSE_F_ACCEPTS_CODING, _CONTENT_CODED and _TEXTUAL
 * shifted left by LIBRA_MSG_CODING_SHIFT.
 */
#define LIBRA_MSG_ACCEPTS_CODING (1U << 8)	/* request: Accept-Encoding names a coding
						 * other than identity, or is malformed */
#define LIBRA_MSG_CONTENT_CODED	(1U << 9)	/* response: a well-formed Content-Encoding
						 * names a coding other than identity */
#define LIBRA_MSG_TEXTUAL	(1U << 10)	/* response: header read, no Content-Type
						 * or a textual one */
#define LIBRA_MSG_CONTENT_TYPE	(1U << 11)	/* response: a Content-Type field */
#define LIBRA_MSG_TEXTUAL_TYPE	(1U << 12)	/* response: a Content-Type field is textual
						 * or malformed */
#define LIBRA_MSG_CODING_SHIFT	4
#define LIBRA_MSG_CODING_FLAGS	(LIBRA_MSG_ACCEPTS_CODING | LIBRA_MSG_CONTENT_CODED | \
				 LIBRA_MSG_TEXTUAL)

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
	/* content codings: no framing, never in trailers, each in one direction */
	LIBRA_FIELD_ACCEPT_ENCODING,	/* requests */
	LIBRA_FIELD_CONTENT_ENCODING,	/* responses */
	LIBRA_FIELD_CONTENT_TYPE,	/* responses */
};
#define LIBRA_FIELD_CANDIDATES	7	/* bits of libra_http_state.name_match */
#define LIBRA_FIELD_NAME_MAX	18

/* Where a field value is: leading OWS, the value, trailing SP */
enum libra_value_phase {
	LIBRA_VALUE_LEADING_WS = 0,
	LIBRA_VALUE_TOKEN,
	LIBRA_VALUE_TRAILING_WS,
};

/*
 * Where a coding-list value is (Accept-Encoding, Content-Encoding), in the
 * low bits of libra_http_state.value_state:
 *   #( coding [ OWS ";" weight ] ), coding a token, weight made of
 *   "q", "=", digits, "." and OWS (Accept-Encoding only)
 */
enum libra_list_phase {
	LIBRA_LIST_ELEMENT = 0,		/* before a coding: OWS and "," */
	LIBRA_LIST_TOKEN,		/* in the coding */
	LIBRA_LIST_AFTER_TOKEN,		/* OWS after it: "," or ";" next */
	LIBRA_LIST_WEIGHT,		/* after ";" */
};

/*
 * Where a Content-Type value is (value_state):
 *   type "/" subtype [ OWS ";" anything ], type and subtype tokens
 */
enum libra_media_phase {
	LIBRA_MEDIA_TYPE = 0,		/* in the type (its first byte is fed here too) */
	LIBRA_MEDIA_SUBTYPE_START,	/* right after "/" */
	LIBRA_MEDIA_SUBTYPE,		/* (the phases up to here read words) */
	LIBRA_MEDIA_AFTER_SUBTYPE,	/* OWS after it: ";" next */
};
/*
 * Once a field's fact is decided (a coding named in Accept-Encoding, a
 * malformed value, a textual media type, the ";" after a media type) the
 * field is read as LIBRA_FIELD_OTHER for the rest of its value.
 */
#define LIBRA_VALUE_PHASE_MASK	0x07
#define LIBRA_VALUE_CODING	0x08	/* value_state: this Content-Encoding named a
					 * coding other than identity */

/*
 * Words the value matchers look for, lower case: content codings ("identity"),
 * media types and subtypes, the +json and +xml structured-syntax suffixes.
 * Bit k of libra_http_state.word_match: the word read so far is still a
 * prefix of word k.
 */
enum libra_word {
	LIBRA_WORD_IDENTITY = 0,
	LIBRA_WORD_TEXT,
	LIBRA_WORD_APPLICATION,
	LIBRA_WORD_JSON,
	LIBRA_WORD_XML,
	LIBRA_WORD_JAVASCRIPT,
	LIBRA_WORD_ECMASCRIPT,
	LIBRA_WORD_X_JAVASCRIPT,
	LIBRA_WORDS
};
#define LIBRA_WORD_MAX		12	/* chars of the longest word */
#define LIBRA_WORD_BIT(w)	(1U << (w))
/* application/<one of these> is textual */
#define LIBRA_WORDS_TEXTUAL_APPLICATION						\
	(LIBRA_WORD_BIT(LIBRA_WORD_JSON) | LIBRA_WORD_BIT(LIBRA_WORD_XML) |	\
	 LIBRA_WORD_BIT(LIBRA_WORD_JAVASCRIPT) | LIBRA_WORD_BIT(LIBRA_WORD_ECMASCRIPT) | \
	 LIBRA_WORD_BIT(LIBRA_WORD_X_JAVASCRIPT))
/* any type whose subtype ends in +<one of these> is textual */
#define LIBRA_WORDS_TEXTUAL_SUFFIX						\
	(LIBRA_WORD_BIT(LIBRA_WORD_JSON) | LIBRA_WORD_BIT(LIBRA_WORD_XML))

#define LIBRA_CONTENT_LENGTH_DIGITS_MAX	18	/* < 10^18 < 2^60 */
#define LIBRA_CHUNK_SIZE_DIGITS_MAX	15	/* < 16^15 = 2^60 */
#define LIBRA_METHOD_CHARS_MAX		32	/* bytes of a method token; longer steps aside */
#define LIBRA_KEEP_ALIVE_FAILED		0xff

struct libra_http_state {
	__u64 number;		/* Content-Length or chunk-size digits so far */
	__u64 content_length;	/* of the current message */
	__u64 method_chars;	/* request method: its last 8 bytes, packed big-endian */
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
	__u8 value_state;	/* coding list or media type: phase, LIBRA_VALUE_* */
	__u8 word_match;	/* bit k: the current word may still be word k */
	__u8 word_pos;		/* chars of the current word, at most LIBRA_WORD_MAX */
};

#ifdef __cplusplus
#define LIBRA_STATIC_ASSERT(what, why) static_assert(what, why)
#else
#define LIBRA_STATIC_ASSERT(what, why) _Static_assert(what, why)
#endif

LIBRA_STATIC_ASSERT(sizeof(struct libra_http_state) <= LIBRA_PARSE_STATE_BYTES,
		    "parser state outgrew the ABI's opaque blob");

/*
 * The candidate matchers (field names, words in values) compare a byte with
 * the char at one position of every candidate at once: column i holds char i
 * of candidate k in its byte k (NUL past the candidate's end), built here at
 * compile time from the strings, and libra_column_match() compares all eight
 * bytes in a dozen instructions without a branch.
 */
/* char @i of string literal @s, 0 past its end (a constant) */
#define LIBRA_CHAR_AT(s, i)							\
	((i) < sizeof(s) - 1 ? (__u64)(__u8)(s)[(i) < sizeof(s) - 1 ? (i) : 0] : 0)

/* Lower-case field names matched case-insensitively: name k is field k + 1. */
#define LIBRA_FIELD_NAME_1	"content-length"
#define LIBRA_FIELD_NAME_2	"transfer-encoding"
#define LIBRA_FIELD_NAME_3	"connection"
#define LIBRA_FIELD_NAME_4	"upgrade"
#define LIBRA_FIELD_NAME_5	"accept-encoding"
#define LIBRA_FIELD_NAME_6	"content-encoding"
#define LIBRA_FIELD_NAME_7	"content-type"
#define LIBRA_FIELD_NAME_COLUMN(i)							\
	(LIBRA_CHAR_AT(LIBRA_FIELD_NAME_1, i) | LIBRA_CHAR_AT(LIBRA_FIELD_NAME_2, i) << 8 |	\
	 LIBRA_CHAR_AT(LIBRA_FIELD_NAME_3, i) << 16 | LIBRA_CHAR_AT(LIBRA_FIELD_NAME_4, i) << 24 | \
	 LIBRA_CHAR_AT(LIBRA_FIELD_NAME_5, i) << 32 | LIBRA_CHAR_AT(LIBRA_FIELD_NAME_6, i) << 40 | \
	 LIBRA_CHAR_AT(LIBRA_FIELD_NAME_7, i) << 48)
/* the longest name ends right before the last column */
LIBRA_STATIC_ASSERT(sizeof(LIBRA_FIELD_NAME_2) == LIBRA_FIELD_NAME_MAX, "field name columns");
static const __u64 libra_field_name_columns[LIBRA_FIELD_NAME_MAX] = {
	LIBRA_FIELD_NAME_COLUMN(0), LIBRA_FIELD_NAME_COLUMN(1), LIBRA_FIELD_NAME_COLUMN(2),
	LIBRA_FIELD_NAME_COLUMN(3), LIBRA_FIELD_NAME_COLUMN(4), LIBRA_FIELD_NAME_COLUMN(5),
	LIBRA_FIELD_NAME_COLUMN(6), LIBRA_FIELD_NAME_COLUMN(7), LIBRA_FIELD_NAME_COLUMN(8),
	LIBRA_FIELD_NAME_COLUMN(9), LIBRA_FIELD_NAME_COLUMN(10), LIBRA_FIELD_NAME_COLUMN(11),
	LIBRA_FIELD_NAME_COLUMN(12), LIBRA_FIELD_NAME_COLUMN(13), LIBRA_FIELD_NAME_COLUMN(14),
	LIBRA_FIELD_NAME_COLUMN(15), LIBRA_FIELD_NAME_COLUMN(16), LIBRA_FIELD_NAME_COLUMN(17),
};
/*
 * The same names the other way round, for runs over a name (libra_name_run()):
 * row i holds, for each candidate k, its chars i to i + 7 as one word, the
 * first in the low byte (NUL past its end), to compare with eight bytes of
 * the window at once.
 */
#define LIBRA_OCTET_AT(s, i)								\
	(LIBRA_CHAR_AT(s, i) | LIBRA_CHAR_AT(s, (i) + 1) << 8 |				\
	 LIBRA_CHAR_AT(s, (i) + 2) << 16 | LIBRA_CHAR_AT(s, (i) + 3) << 24 |			\
	 LIBRA_CHAR_AT(s, (i) + 4) << 32 | LIBRA_CHAR_AT(s, (i) + 5) << 40 |			\
	 LIBRA_CHAR_AT(s, (i) + 6) << 48 | LIBRA_CHAR_AT(s, (i) + 7) << 56)
#define LIBRA_FIELD_NAME_OCTETS(i)							\
	{ LIBRA_OCTET_AT(LIBRA_FIELD_NAME_1, i), LIBRA_OCTET_AT(LIBRA_FIELD_NAME_2, i),	\
	  LIBRA_OCTET_AT(LIBRA_FIELD_NAME_3, i), LIBRA_OCTET_AT(LIBRA_FIELD_NAME_4, i),	\
	  LIBRA_OCTET_AT(LIBRA_FIELD_NAME_5, i), LIBRA_OCTET_AT(LIBRA_FIELD_NAME_6, i),	\
	  LIBRA_OCTET_AT(LIBRA_FIELD_NAME_7, i) }
static const __u64 libra_field_name_octets[LIBRA_FIELD_NAME_MAX][LIBRA_FIELD_CANDIDATES] = {
	LIBRA_FIELD_NAME_OCTETS(0), LIBRA_FIELD_NAME_OCTETS(1), LIBRA_FIELD_NAME_OCTETS(2),
	LIBRA_FIELD_NAME_OCTETS(3), LIBRA_FIELD_NAME_OCTETS(4), LIBRA_FIELD_NAME_OCTETS(5),
	LIBRA_FIELD_NAME_OCTETS(6), LIBRA_FIELD_NAME_OCTETS(7), LIBRA_FIELD_NAME_OCTETS(8),
	LIBRA_FIELD_NAME_OCTETS(9), LIBRA_FIELD_NAME_OCTETS(10), LIBRA_FIELD_NAME_OCTETS(11),
	LIBRA_FIELD_NAME_OCTETS(12), LIBRA_FIELD_NAME_OCTETS(13), LIBRA_FIELD_NAME_OCTETS(14),
	LIBRA_FIELD_NAME_OCTETS(15), LIBRA_FIELD_NAME_OCTETS(16), LIBRA_FIELD_NAME_OCTETS(17),
};
/* names that must not go on: libhttp-parser takes "Transfer-Encodingx" for one */
#define LIBRA_FIELDS_FRAMING							\
	((1U << (LIBRA_FIELD_CONTENT_LENGTH - 1)) | (1U << (LIBRA_FIELD_TRANSFER_ENCODING - 1)))

/* Words, enum libra_word order, lower case. */
#define LIBRA_WORD_0		"identity"
#define LIBRA_WORD_1		"text"
#define LIBRA_WORD_2		"application"
#define LIBRA_WORD_3		"json"
#define LIBRA_WORD_4		"xml"
#define LIBRA_WORD_5		"javascript"
#define LIBRA_WORD_6		"ecmascript"
#define LIBRA_WORD_7		"x-javascript"
#define LIBRA_WORD_COLUMN(i)								\
	(LIBRA_CHAR_AT(LIBRA_WORD_0, i) | LIBRA_CHAR_AT(LIBRA_WORD_1, i) << 8 |		\
	 LIBRA_CHAR_AT(LIBRA_WORD_2, i) << 16 | LIBRA_CHAR_AT(LIBRA_WORD_3, i) << 24 |	\
	 LIBRA_CHAR_AT(LIBRA_WORD_4, i) << 32 | LIBRA_CHAR_AT(LIBRA_WORD_5, i) << 40 |	\
	 LIBRA_CHAR_AT(LIBRA_WORD_6, i) << 48 | LIBRA_CHAR_AT(LIBRA_WORD_7, i) << 56)
LIBRA_STATIC_ASSERT(sizeof(LIBRA_WORD_7) == LIBRA_WORD_MAX + 1, "word columns");
static const __u64 libra_word_columns[LIBRA_WORD_MAX + 1] = {
	LIBRA_WORD_COLUMN(0), LIBRA_WORD_COLUMN(1), LIBRA_WORD_COLUMN(2), LIBRA_WORD_COLUMN(3),
	LIBRA_WORD_COLUMN(4), LIBRA_WORD_COLUMN(5), LIBRA_WORD_COLUMN(6), LIBRA_WORD_COLUMN(7),
	LIBRA_WORD_COLUMN(8), LIBRA_WORD_COLUMN(9), LIBRA_WORD_COLUMN(10), LIBRA_WORD_COLUMN(11),
	LIBRA_WORD_COLUMN(12),
};

#define LIBRA_PACK3(a, b, c) (((__u64)(a) << 16) | ((__u64)(b) << 8) | (__u64)(c))
#define LIBRA_PACK4(a, b, c, d) ((LIBRA_PACK3(a, b, c) << 8) | (__u64)(d))
#define LIBRA_PACK5(a, b, c, d, e) ((LIBRA_PACK4(a, b, c, d) << 8) | (__u64)(e))
#define LIBRA_PACK6(a, b, c, d, e, f) ((LIBRA_PACK5(a, b, c, d, e) << 8) | (__u64)(f))
#define LIBRA_PACK7(a, b, c, d, e, f, g) ((LIBRA_PACK6(a, b, c, d, e, f) << 8) | (__u64)(g))

/*
 * The method whose bytes @chars holds (libra_on_method()), case-sensitively:
 * "get" is another method than GET. Every other token is
 * LIBRA_HTTP_METHOD_OTHER. A token of eight bytes or more leaves no zero byte
 * in @chars (tchars are not NUL), so it matches none of these seven-byte-or-
 * shorter names.
 */
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
	return LIBRA_HTTP_METHOD_OTHER;
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

/*
 * Bit k set where byte k of @column is @c. Arithmetic, no branch: a branch
 * per candidate would hand the verifier a path per outcome, with the outcome
 * a known constant on each, so 2^candidates states that never prune.
 */
LIBRA_CORE_INLINE __u32 libra_column_match(__u64 column, __u8 c)
{
	const __u64 ones = 0x0101010101010101ULL, lows = 0x7f7f7f7f7f7f7f7fULL;
	__u64 x = column ^ (ones * c);
	/* the high bit of each zero byte of x, exactly (no carry between bytes) */
	__u64 zero = ~(((x & lows) + lows) | x | lows);

	/* gather bit 8k + 7 into bit k */
	return (__u32)(((zero >> 7) * 0x0102040810204080ULL) >> 56);
}

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

/* SP / HTAB: BWS and OWS */
LIBRA_CORE_INLINE int libra_is_bws(__u8 c)
{
	return c == ' ' || c == '\t';
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
	__u32 start_flags = 0;

	if (st->msg & LIBRA_MSG_START_IN_UNIT) {
		/* the header is read: libra_on_fields_end() set the coding facts */
		start_flags = LIBRA_PARSE_F_MESSAGE_START | LIBRA_PARSE_F_CODINGS_KNOWN |
			      ((st->msg & LIBRA_MSG_CODING_FLAGS) >> LIBRA_MSG_CODING_SHIFT);
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
	ctx->flags = flags | start_flags;
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
	 * to CONNECT (2xx: tunnel) and 101 switch protocols. Any other method,
	 * LIBRA_HTTP_METHOD_OTHER too, leaves the framing to the status and the
	 * header fields (RFC 9112 6.3); of the methods only HEAD is special
	 * below. A value past OTHER is no method this parser knows. */
	if (request_method == LIBRA_HTTP_METHOD_UNKNOWN ||
	    request_method > LIBRA_HTTP_METHOD_OTHER ||
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

/*
 * method = token (RFC 9110 9.1), 1 to LIBRA_METHOD_CHARS_MAX tchars, then
 * one SP. A request's body framing does not depend on its method (RFC 9112
 * 6.3), so any token is framed alike; the ones the ABI names are reported as
 * such, every other one as LIBRA_HTTP_METHOD_OTHER. Only CONNECT (a tunnel)
 * steps aside.
 */
LIBRA_CORE_INLINE int libra_on_method(struct libra_parse_ctx *ctx, struct libra_http_state *st,
				      __u8 c, __u32 offset)
{
	if (c == ' ' && st->pos > 0) {
		__u8 method = libra_method_from_chars(st->method_chars);

		if (method == LIBRA_HTTP_METHOD_CONNECT)
			return libra_step_aside(ctx, st, offset);
		st->method = method;
		st->phase = LIBRA_PH_TARGET;
		st->pos = 0;
		return 0;
	}
	/* an empty method (SP first), a byte no token has (a CRLF before the
	 * request line, TLS, "HTTP/1.1" in the wrong direction), or a token
	 * too long to be a method anyone uses */
	if (!libra_is_tchar(c) || st->pos >= LIBRA_METHOD_CHARS_MAX)
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
	__u32 match = st->name_match;
	__u64 column;

	if (!match)
		return 0;	/* no candidate left: pos no longer matters */
	if (pos >= LIBRA_FIELD_NAME_MAX) {
		st->name_match = 0;	/* (the last column ends every name) */
		return 0;
	}
	column = libra_field_name_columns[pos];
	/* a candidate that ended here (NUL), and it is a framing field */
	if (match & libra_column_match(column, 0) & LIBRA_FIELDS_FRAMING)
		return 1;
	/* NUL past a name's end equals no tchar */
	st->name_match = (__u8)(match & libra_column_match(column, libra_lower(c)));
	st->pos = (__u8)(pos + 1);
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
	__u32 match = st->name_match;
	__u32 pos = st->pos;
	__u32 field = LIBRA_FIELD_OTHER;
	int k;

	if (match && pos < LIBRA_FIELD_NAME_MAX) {
		/* the candidate still matching that ends here: at most one */
		match &= libra_column_match(libra_field_name_columns[pos], 0);
		for (k = 0; k < LIBRA_FIELD_CANDIDATES; k++)
			field += (__u32)(k + 1) * ((match >> k) & 1);
	}

	if (field >= LIBRA_FIELD_ACCEPT_ENCODING) {
		/* coding facts describe the header, each in its direction only */
		if ((st->msg & LIBRA_MSG_TRAILERS) ||
		    (ctx->direction == LIBRA_PARSE_REQUEST) != (field == LIBRA_FIELD_ACCEPT_ENCODING))
			field = LIBRA_FIELD_OTHER;
	} else if (field != LIBRA_FIELD_OTHER && (st->msg & LIBRA_MSG_TRAILERS)) {
		/* framing or connection fields in trailers change nothing a
		 * recipient may rely on, but some would act on them: ambiguous */
		return libra_step_aside(ctx, st, offset);
	}

	st->value_state = 0;	/* LIBRA_LIST_ELEMENT, LIBRA_MEDIA_TYPE */
	st->word_match = 0;
	st->word_pos = 0;
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
	case LIBRA_FIELD_CONTENT_TYPE:
		st->msg |= LIBRA_MSG_CONTENT_TYPE;
		st->word_match = LIBRA_WORD_BIT(LIBRA_WORD_TEXT) |
				 LIBRA_WORD_BIT(LIBRA_WORD_APPLICATION);
		/* another Content-Type was textual already: this one changes nothing */
		if (st->msg & LIBRA_MSG_TEXTUAL_TYPE)
			field = LIBRA_FIELD_OTHER;
		break;
	}
	st->field = (__u8)field;
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

/*
 * @lc, the next char of a word, lower case: drop the words it rules out.
 * word_pos counts the chars, up to LIBRA_WORD_MAX (a longer word matches
 * nothing).
 */
LIBRA_CORE_INLINE void libra_match_word_char(struct libra_http_state *st, __u8 lc)
{
	__u32 pos = st->word_pos;

	if (pos >= LIBRA_WORD_MAX) {
		st->word_match = 0;
		return;
	}
	st->word_match &= (__u8)libra_column_match(libra_word_columns[pos], lc);
	st->word_pos = (__u8)(pos + 1);
}

/* Is the word read so far exactly one of @words (it ends here: NUL)? */
LIBRA_CORE_INLINE int libra_word_is(const struct libra_http_state *st, __u32 words)
{
	__u32 pos = st->word_pos;

	if (pos > LIBRA_WORD_MAX)
		return 0;
	return (st->word_match & words & libra_column_match(libra_word_columns[pos], 0)) != 0;
}

/* what may follow ";" in an Accept-Encoding element: weight = "q=" qvalue */
LIBRA_CORE_INLINE int libra_is_weight_char(__u8 c)
{
	return libra_is_digit(c) || libra_is_bws(c) || c == 'q' || c == 'Q' || c == '=' ||
	       c == '.' || c == ';';
}

/*
 * The fact this field tells is decided: the rest of the value is read as any
 * other field's (eight bytes per step where it can be).
 */
LIBRA_CORE_INLINE void libra_value_decided(struct libra_http_state *st)
{
	st->field = LIBRA_FIELD_OTHER;
}

/*
 * Accept-Encoding, Content-Encoding: off the grammar (a quoted-string, a
 * parameter other than a weight, two tokens in one element, ";" in
 * Content-Encoding). Each errs the way that anchors less: a malformed
 * Accept-Encoding counts as naming a coding (nginx finds "gzip" in
 * "identity;x= gzip"), a malformed Content-Encoding as naming none, whatever
 * else is in it (the body may be unencoded).
 */
LIBRA_CORE_INLINE void libra_coding_list_malformed(struct libra_http_state *st)
{
	if (st->field == LIBRA_FIELD_ACCEPT_ENCODING)
		st->msg |= LIBRA_MSG_ACCEPTS_CODING;
	libra_value_decided(st);
}

/* The current coding is not identity. */
LIBRA_CORE_INLINE void libra_coding_named(struct libra_http_state *st)
{
	if (st->field == LIBRA_FIELD_ACCEPT_ENCODING) {
		st->msg |= LIBRA_MSG_ACCEPTS_CODING;
		libra_value_decided(st);
	} else {
		/* counts once the whole field proved well-formed */
		st->value_state |= LIBRA_VALUE_CODING;
	}
}

/*
 * Accept-Encoding, Content-Encoding: one byte (after the leading OWS) of
 * #( coding [ OWS ";" weight ] ) (weights in Accept-Encoding only). A coding
 * is known not to be identity at its first byte that differs from it.
 */
LIBRA_CORE_INLINE void libra_on_coding_char(struct libra_http_state *st, __u8 c)
{
	__u8 vs = st->value_state;
	__u8 phase = vs & LIBRA_VALUE_PHASE_MASK;
	int tchar = libra_is_tchar(c);
	__u8 next;

	if (phase == LIBRA_LIST_ELEMENT && tchar) {
		/* a coding starts */
		st->word_match = LIBRA_WORD_BIT(LIBRA_WORD_IDENTITY);
		st->word_pos = 0;
		phase = LIBRA_LIST_TOKEN;
		vs = (__u8)((vs & ~LIBRA_VALUE_PHASE_MASK) | phase);
		st->value_state = vs;
	}
	switch (phase) {
	case LIBRA_LIST_ELEMENT:
		if (libra_is_bws(c) || c == ',')
			return;
		libra_coding_list_malformed(st);
		return;
	case LIBRA_LIST_TOKEN:
		if (tchar) {
			if (st->word_match) {
				libra_match_word_char(st, libra_lower(c));
				if (!st->word_match)
					libra_coding_named(st);
			}
			return;
		}
		/* the coding ended: a prefix of identity is another coding */
		if (st->word_match && !libra_word_is(st, LIBRA_WORD_BIT(LIBRA_WORD_IDENTITY))) {
			libra_coding_named(st);
			if (st->field == LIBRA_FIELD_OTHER)
				return;
			vs = st->value_state;
		}
		/* fall through */
	case LIBRA_LIST_AFTER_TOKEN:
		if (libra_is_bws(c)) {
			next = LIBRA_LIST_AFTER_TOKEN;
		} else if (c == ',') {
			next = LIBRA_LIST_ELEMENT;
		} else if (c == ';' && st->field == LIBRA_FIELD_ACCEPT_ENCODING) {
			next = LIBRA_LIST_WEIGHT;
		} else {
			libra_coding_list_malformed(st);
			return;
		}
		break;
	default:	/* LIBRA_LIST_WEIGHT */
		if (c == ',') {
			next = LIBRA_LIST_ELEMENT;
		} else if (!libra_is_weight_char(c)) {
			libra_coding_list_malformed(st);
			return;
		} else {
			return;
		}
		break;
	}
	st->value_state = (__u8)((vs & ~LIBRA_VALUE_PHASE_MASK) | next);
}

/* The end of an Accept-Encoding or Content-Encoding field (still undecided). */
LIBRA_CORE_INLINE void libra_on_coding_list_end(struct libra_http_state *st)
{
	if ((st->value_state & LIBRA_VALUE_PHASE_MASK) == LIBRA_LIST_TOKEN && st->word_match &&
	    !libra_word_is(st, LIBRA_WORD_BIT(LIBRA_WORD_IDENTITY)))
		libra_coding_named(st);
	/* a Content-Encoding that got here is well-formed */
	if (st->field == LIBRA_FIELD_CONTENT_ENCODING && (st->value_state & LIBRA_VALUE_CODING))
		st->msg |= LIBRA_MSG_CONTENT_CODED;
}

/* The media type is textual (or malformed, which counts as textual). */
LIBRA_CORE_INLINE void libra_media_type_textual(struct libra_http_state *st)
{
	st->msg |= LIBRA_MSG_TEXTUAL_TYPE;
	libra_value_decided(st);
}

/* The subtype of a Content-Type ended: is the media type textual? */
LIBRA_CORE_INLINE int libra_textual_subtype(const struct libra_http_state *st)
{
	/* word_match holds the textual subtypes of application/ or, after a
	 * "+", the textual suffixes; nothing for other types */
	return libra_word_is(st, LIBRA_WORDS_TEXTUAL_APPLICATION | LIBRA_WORDS_TEXTUAL_SUFFIX);
}

/*
 * Content-Type: one byte (after the leading OWS) of
 * type "/" subtype [ OWS ";" parameters ]. The media type is textual if the
 * type is text, the subtype of application is json, xml, javascript,
 * ecmascript or x-javascript, or any subtype ends in +json or +xml (all
 * case-insensitive); parameters are not looked at. A value off that grammar
 * (no "/", an empty type or subtype, a byte other than OWS or ";" after the
 * subtype) counts as textual: the way that anchors less. Once textual, or at
 * the ";", the rest of the value does not matter.
 */
LIBRA_CORE_INLINE void libra_on_media_type_char(struct libra_http_state *st, __u8 c)
{
	__u8 phase = st->value_state;
	__u8 next;

	/* a char of the type or the subtype (a "+" in the subtype starts a
	 * suffix, below) */
	if (phase <= LIBRA_MEDIA_SUBTYPE && libra_is_tchar(c) &&
	    (c != '+' || phase == LIBRA_MEDIA_TYPE)) {
		/* (the type's first char is always matched: word_pos > 0 after it) */
		if (st->word_match)
			libra_match_word_char(st, libra_lower(c));
		if (phase == LIBRA_MEDIA_SUBTYPE_START)
			st->value_state = LIBRA_MEDIA_SUBTYPE;
		return;
	}
	switch (phase) {
	case LIBRA_MEDIA_TYPE:
		if (c != '/' || st->word_pos == 0) {
			libra_media_type_textual(st);
			return;
		}
		if (libra_word_is(st, LIBRA_WORD_BIT(LIBRA_WORD_TEXT))) {
			libra_media_type_textual(st);
			return;
		}
		st->word_match = libra_word_is(st, LIBRA_WORD_BIT(LIBRA_WORD_APPLICATION))
					 ? LIBRA_WORDS_TEXTUAL_APPLICATION : 0;
		st->word_pos = 0;
		next = LIBRA_MEDIA_SUBTYPE_START;
		break;
	case LIBRA_MEDIA_SUBTYPE_START:
	case LIBRA_MEDIA_SUBTYPE:
		if (c == '+') {
			/* a structured syntax suffix may follow */
			st->word_match = LIBRA_WORDS_TEXTUAL_SUFFIX;
			st->word_pos = 0;
			next = LIBRA_MEDIA_SUBTYPE;
			break;
		}
		if (phase == LIBRA_MEDIA_SUBTYPE_START || libra_textual_subtype(st)) {
			libra_media_type_textual(st);
			return;
		}
		/* fall through */
	default:	/* LIBRA_MEDIA_AFTER_SUBTYPE */
		if (libra_is_bws(c)) {
			next = LIBRA_MEDIA_AFTER_SUBTYPE;
		} else if (c == ';') {
			libra_value_decided(st);	/* not textual */
			return;
		} else {
			libra_media_type_textual(st);
			return;
		}
		break;
	}
	st->value_state = next;
}

/* The end of a Content-Type field (still undecided). */
LIBRA_CORE_INLINE void libra_on_media_type_end(struct libra_http_state *st)
{
	switch (st->value_state) {
	case LIBRA_MEDIA_SUBTYPE:
		if (libra_textual_subtype(st))
			st->msg |= LIBRA_MSG_TEXTUAL_TYPE;
		break;
	case LIBRA_MEDIA_TYPE:			/* no "/", or an empty value */
	case LIBRA_MEDIA_SUBTYPE_START:		/* empty subtype */
		st->msg |= LIBRA_MSG_TEXTUAL_TYPE;
		break;
	}
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
	case LIBRA_FIELD_ACCEPT_ENCODING:
	case LIBRA_FIELD_CONTENT_ENCODING:
		libra_on_coding_list_end(st);
		break;
	case LIBRA_FIELD_CONTENT_TYPE:
		libra_on_media_type_end(st);
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
	case LIBRA_FIELD_ACCEPT_ENCODING:
	case LIBRA_FIELD_CONTENT_ENCODING:
		libra_on_coding_char(st, c);
		return 0;
	case LIBRA_FIELD_CONTENT_TYPE:
		libra_on_media_type_char(st, c);
		return 0;
	}
	return 0;
}

LIBRA_CORE_INLINE int libra_on_fields_end(struct libra_parse_ctx *ctx,
					  struct libra_http_state *st, __u32 offset)
{
	__u16 msg = st->msg;

	/* last-chunk and trailers end a chunked message */
	if (msg & LIBRA_MSG_TRAILERS)
		return libra_emit_bodiless(ctx, st, offset, 0);
	/* the header is read: a response without Content-Type may be taken
	 * for text (the other coding facts are set as their fields end) */
	if (ctx->direction == LIBRA_PARSE_RESPONSE &&
	    (!(msg & LIBRA_MSG_CONTENT_TYPE) || (msg & LIBRA_MSG_TEXTUAL_TYPE)))
		st->msg = msg | LIBRA_MSG_TEXTUAL;
	if (ctx->direction == LIBRA_PARSE_REQUEST)
		return libra_request_framing(ctx, st, offset);
	return libra_response_framing(ctx, st, offset);
}

/*
 * chunk-size [ chunk-ext ] CRLF, RFC 9112 7.1.1:
 *
 *   chunk-ext      = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
 *   chunk-ext-name = token
 *   chunk-ext-val  = token / quoted-string
 *
 * followed exactly; anything else on the line steps aside. One restriction:
 * the BWS between the size and the first ";" may only be SP, because
 * libhttp-parser refuses HTAB there. Extensions carry no framing, but
 * libhttp-parser skips whatever precedes the CR (";" alone, an unterminated
 * quoted-string, controls, LF), so what RFC 9112 rejects is ambiguous.
 */
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
		st->phase = LIBRA_PH_CHUNK_EXT_BEFORE_NAME;
	else if (c == ' ')
		st->phase = LIBRA_PH_CHUNK_BWS;
	else
		return libra_step_aside(ctx, st, offset);
	return 0;
}

/* SP after the size: an extension must follow ("5 \r\n" has none) */
LIBRA_CORE_INLINE int libra_on_chunk_bws(struct libra_parse_ctx *ctx,
					 struct libra_http_state *st, __u8 c, __u32 offset)
{
	if (c == ' ')
		return 0;
	if (c == ';') {
		st->phase = LIBRA_PH_CHUNK_EXT_BEFORE_NAME;
		return 0;
	}
	return libra_step_aside(ctx, st, offset);
}

/*
 * One byte of chunk-ext, in any of the LIBRA_PH_CHUNK_EXT_* phases. The
 * phase is the whole state, so a window may end anywhere in an extension.
 * Each byte either keeps the phase, moves to the next, or steps aside.
 */
LIBRA_CORE_INLINE int libra_on_chunk_ext(struct libra_parse_ctx *ctx,
					 struct libra_http_state *st, __u8 c, __u32 offset)
{
	__u8 phase = st->phase;
	__u8 next;

	switch (phase) {
	case LIBRA_PH_CHUNK_EXT_QUOTED:
		/* qdtext (HTAB, SP, VCHAR but DQUOTE and backslash,
		 * obs-text); a CR here leaves the quoted-string unterminated */
		if (c == '"')
			next = LIBRA_PH_CHUNK_EXT_AFTER_QUOTE;
		else if (c == '\\')
			next = LIBRA_PH_CHUNK_EXT_QUOTED_PAIR;
		else if (libra_is_field_char(c))
			return 0;
		else
			return libra_step_aside(ctx, st, offset);
		break;
	case LIBRA_PH_CHUNK_EXT_QUOTED_PAIR:
		/* quoted-pair: backslash ( HTAB / SP / VCHAR / obs-text ) */
		if (!libra_is_field_char(c))
			return libra_step_aside(ctx, st, offset);
		next = LIBRA_PH_CHUNK_EXT_QUOTED;
		break;
	case LIBRA_PH_CHUNK_EXT_BEFORE_NAME:
		/* ";" BWS chunk-ext-name: no ";;", no ";=", no ";" at the end */
		if (libra_is_bws(c))
			return 0;
		if (!libra_is_tchar(c))
			return libra_step_aside(ctx, st, offset);
		next = LIBRA_PH_CHUNK_EXT_NAME;
		break;
	case LIBRA_PH_CHUNK_EXT_BEFORE_VALUE:
		/* "=" BWS chunk-ext-val: never empty */
		if (libra_is_bws(c))
			return 0;
		if (c == '"')
			next = LIBRA_PH_CHUNK_EXT_QUOTED;
		else if (libra_is_tchar(c))
			next = LIBRA_PH_CHUNK_EXT_TOKEN;
		else
			return libra_step_aside(ctx, st, offset);
		break;
	case LIBRA_PH_CHUNK_EXT_NAME:
	case LIBRA_PH_CHUNK_EXT_TOKEN:
		if (libra_is_tchar(c))
			return 0;
		/* the name or token ended here */
		/* fall through */
	default:
		/* after a name, a value, or the BWS after either */
		if (c == ';') {
			next = LIBRA_PH_CHUNK_EXT_BEFORE_NAME;
		} else if (c == '=' && (phase == LIBRA_PH_CHUNK_EXT_NAME ||
					phase == LIBRA_PH_CHUNK_EXT_AFTER_NAME)) {
			next = LIBRA_PH_CHUNK_EXT_BEFORE_VALUE;
		} else if (libra_is_bws(c)) {
			if (phase == LIBRA_PH_CHUNK_EXT_NAME || phase == LIBRA_PH_CHUNK_EXT_AFTER_NAME)
				next = LIBRA_PH_CHUNK_EXT_AFTER_NAME;
			else
				next = LIBRA_PH_CHUNK_EXT_AFTER_VALUE;
		} else if (c == '\r' && phase != LIBRA_PH_CHUNK_EXT_AFTER_NAME &&
			   phase != LIBRA_PH_CHUNK_EXT_AFTER_VALUE) {
			/* BWS is only ever followed by ";" or "=": no trailing
			 * whitespace before the CRLF */
			next = LIBRA_PH_CHUNK_SIZE_LF;
		} else {
			return libra_step_aside(ctx, st, offset);
		}
		break;
	}
	st->phase = next;
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
	case LIBRA_PH_CHUNK_EXT_BEFORE_NAME:
	case LIBRA_PH_CHUNK_EXT_NAME:
	case LIBRA_PH_CHUNK_EXT_AFTER_NAME:
	case LIBRA_PH_CHUNK_EXT_BEFORE_VALUE:
	case LIBRA_PH_CHUNK_EXT_TOKEN:
	case LIBRA_PH_CHUNK_EXT_QUOTED:
	case LIBRA_PH_CHUNK_EXT_QUOTED_PAIR:
	case LIBRA_PH_CHUNK_EXT_AFTER_QUOTE:
	case LIBRA_PH_CHUNK_EXT_AFTER_VALUE:
		return libra_on_chunk_ext(ctx, st, c, offset);
	case LIBRA_PH_CHUNK_SIZE_LF:
		return libra_on_chunk_size_lf(ctx, st, c, offset);
	}
	/* a state this code never writes: someone else wrote the blob */
	return libra_step_aside(ctx, st, offset);
}

/*
 * In a coding (Content-Encoding) or a media type's type or subtype that no
 * word can match any more: its bytes only have to stay token bytes other
 * than "+" (which starts a suffix), and feeding them changes nothing.
 */
LIBRA_CORE_INLINE int libra_in_unmatched_token(const struct libra_http_state *st)
{
	if (st->word_match)
		return 0;
	if (st->field == LIBRA_FIELD_CONTENT_TYPE)
		return st->value_state == LIBRA_MEDIA_TYPE || st->value_state == LIBRA_MEDIA_SUBTYPE;
	return st->field == LIBRA_FIELD_CONTENT_ENCODING &&
	       (st->value_state & LIBRA_VALUE_PHASE_MASK) == LIBRA_LIST_TOKEN;
}

/* @lo..@hi (below 0x80), for each byte of @word (all below 0x80): its high bit */
#define LIBRA_BYTES_IN(word, lo, hi)							\
	((((word) + 0x0101010101010101ULL * (0x80 - (lo))) &				\
	  ~((word) + 0x0101010101010101ULL * (0x7f - (hi)))) & 0x8080808080808080ULL)

/*
 * The high bit of each of @word's bytes that is not "-", ".", a digit or a
 * letter (token bytes, no "+"). A byte from 0x80, marked itself, can carry
 * into the tests of the bytes after it: the first mark is exact.
 */
LIBRA_CORE_INLINE __u64 libra_non_token_bytes(__u64 word)
{
	return (word | ~(LIBRA_BYTES_IN(word, '-', '.') | LIBRA_BYTES_IN(word, '0', '9') |
			 LIBRA_BYTES_IN(word, 'A', 'Z') | LIBRA_BYTES_IN(word, 'a', 'z'))) &
	       0x8080808080808080ULL;
}

/*
 * How many of @word's bytes, in window order, come before the first one
 * @flags marks (its high bit set; all eight if none). The SWAR tests that make
 * @flags can also mark a byte after a marked one (a borrow runs up from it),
 * never one before, so the first mark is exact where the first byte is the
 * word's least significant: on little-endian machines, the BPF target there
 * included. Elsewhere a marked word counts as no plain byte at all.
 */
LIBRA_CORE_INLINE __u32 libra_plain_prefix(__u64 flags)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	__u64 first = flags & -flags;	/* bit 8k + 7 of the first marked byte k */
	__u32 k = 0;

	if (!flags)
		return 8;
	if (first >> 39) {
		k += 4;
		first >>= 32;
	}
	if (first >> 23) {
		k += 2;
		first >>= 16;
	}
	if (first >> 15)
		k += 1;
	return k;
#else
	return flags ? 0 : 8;
#endif
}

/* The bytes libra_plain_prefix(@flags) counts, as 0xff bytes of a word as loaded. */
LIBRA_CORE_INLINE __u64 libra_plain_mask(__u64 flags)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return ((flags & -flags) >> 7) - 1;
#else
	return flags ? 0 : ~0ULL;
#endif
}

/* How many bytes of @prefix, a run of 0xff bytes from the first, are set (0-8). */
LIBRA_CORE_INLINE __u32 libra_prefix_bytes(__u64 prefix)
{
	return (__u32)((((prefix & 0x8080808080808080ULL) >> 7) * 0x0101010101010101ULL) >> 56);
}

/*
 * Byte masks, a byte's bits all set or all clear, for the name runs: the
 * bytes of @x before its first nonzero one (all eight if it has none), the
 * prefix where two words agree, given their XOR ...
 */
LIBRA_CORE_INLINE __u64 libra_zero_prefix(__u64 x)
{
	const __u64 lows = 0x7f7f7f7f7f7f7f7fULL;
	/* the high bit of each nonzero byte, exactly (no carry between bytes) */
	__u64 nonzero = (((x & lows) + lows) | x) & ~lows;

	return ((nonzero & -nonzero) >> 7) - 1;
}

/* ... the bytes before its first zero one ... */
LIBRA_CORE_INLINE __u64 libra_nonzero_prefix(__u64 x)
{
	const __u64 lows = 0x7f7f7f7f7f7f7f7fULL;
	__u64 zero = ~(((x & lows) + lows) | x | lows);

	return ((zero & -zero) >> 7) - 1;
}

/* ... and the byte right after such a prefix (none after all eight). */
LIBRA_CORE_INLINE __u64 libra_byte_after(__u64 prefix)
{
	return ~prefix & (prefix << 8 | 0xff);
}

/*
 * A run over a field name that candidates still match: the letters, digits,
 * "-" and "." at the start of @word, each candidate's next eight chars
 * (libra_field_name_octets) compared with them at once. It stops before a
 * byte that would take a framing name on past its end (libra_match_name_char()
 * steps aside there) and leaves name_match and pos as feeding the bytes one
 * at a time does: a candidate stays if it matched every byte taken, and pos
 * counts the bytes taken while any still matched. From name_match @match and
 * pos @pos, returns the bytes taken (0-8) | the new name_match << 8 | the new
 * pos << 16. Little-endian only (the first byte of the window is the word's
 * low byte); takes nothing elsewhere.
 */
LIBRA_CORE_SUBPROG __u32 libra_name_run_packed(__u64 word, __u32 match, __u32 pos)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	const __u64 highs = 0x8080808080808080ULL;
	const __u64 non_token = libra_non_token_bytes(word);
	/* to lower case: "-", ".", digits and lower-case letters have 0x20 set already */
	const __u64 lower = word | 0x2020202020202020ULL;
	__u64 take = libra_plain_mask(non_token), reach = 0;
	__u32 survivors = 0, k;

	if (pos >= LIBRA_FIELD_NAME_MAX)
		return match << 8 | pos << 16;
	/* a framing name matched to its end (its first difference its first NUL): no further */
	for (k = 0; k < LIBRA_FIELD_CANDIDATES; k++) {
		const __u64 chars = libra_field_name_octets[pos][k];

		if ((match & LIBRA_FIELDS_FRAMING) >> k & 1)
			take &= ((libra_byte_after(libra_zero_prefix(lower ^ chars)) &
				  libra_byte_after(libra_nonzero_prefix(chars)) & highs) >> 7) - 1;
	}
	for (k = 0; k < LIBRA_FIELD_CANDIDATES; k++) {
		__u64 same;

		if (!(match >> k & 1))
			continue;
		same = libra_zero_prefix(lower ^ libra_field_name_octets[pos][k]);
		reach |= same;
		if (!(take & ~same))	/* it matched every byte taken */
			survivors |= 1U << k;
	}
	/* byte j moves pos if a candidate matched bytes 0..j-1: j up to reach's length */
	pos += libra_prefix_bytes(take & (reach << 8 | 0xff));
	return libra_prefix_bytes(take) | survivors << 8 | pos << 16;
#else
	return match << 8 | pos << 16;
#endif
}

LIBRA_CORE_INLINE __u32 libra_name_run(struct libra_http_state *st, __u64 word)
{
	__u32 packed = libra_name_run_packed(word, st->name_match, st->pos);

	st->name_match = (__u8)(packed >> 8);
	st->pos = (__u8)(packed >> 16);
	return packed & 0xf;
}

/* The first of the window's eight bytes in @word, as loaded. */
LIBRA_CORE_INLINE __u8 libra_first_byte(__u64 word)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	return (__u8)(word >> 56);
#else
	return (__u8)word;
#endif
}

/*
 * Up to eight bytes at once, @word as loaded from the window (eight bytes
 * from where the next byte is), where the phase only counts them: the rest of
 * an origin-form request target, a reason phrase, a field name's letters,
 * digits, "-" and "." (matched against the names it may still be:
 * libra_name_run()), a field value whose content does not matter (and the
 * whitespace before it; before any value, its SPs), a token no word can match
 * (libra_in_unmatched_token()),
 * a line's LF (then the next line's first byte is the unit's byte fed alone).
 * Most metadata bytes are such runs, and under emulation every instruction
 * per byte counts. Returns how many leading bytes were plain and are taken
 * (0-8): the state is then exactly what feeding them one at a time leaves.
 * The byte after a shorter run may end or break it (CR, HTAB, controls, DEL,
 * SP in a target) and is for libra_http_feed(). Nothing is taken in other
 * phases, or if the unit could pass max_header_bytes within the eight.
 * A token takes all eight or none.
 */
LIBRA_CORE_INLINE __u32 libra_http_run8(const struct libra_parse_ctx *ctx,
					struct libra_http_state *st, __u64 word)
{
	const __u64 ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
	const __u64 del = word ^ (ones * 0x7f);
	__u64 special;
	__u32 plain;

	if (st->unit_bytes >= ctx->max_header_bytes || ctx->max_header_bytes - st->unit_bytes < 8)
		return 0;
	switch (st->phase) {
	case LIBRA_PH_FIELD_NAME:
		/* its letters, digits, "-" and "."; while candidates match, against them */
		plain = st->name_match ? libra_name_run(st, word)
				       : libra_plain_prefix(libra_non_token_bytes(word));
		st->unit_bytes += plain;
		return plain;
	case LIBRA_PH_START_LINE_LF:
	case LIBRA_PH_FIELD_LF:
		/* a line's LF: the unit goes on to the next line's first byte, fed alone */
		if (libra_first_byte(word) != '\n')
			return 0;
		st->phase = LIBRA_PH_FIELD_START;
		st->unit_bytes++;
		return 1;
	case LIBRA_PH_TARGET:
		if (st->pos != LIBRA_TARGET_ORIGIN)
			return 0;
		/* a byte below 0x21, or from 0x80 */
		special = ((word - ones * 0x21) & ~word) | word;
		break;
	case LIBRA_PH_FIELD_VALUE:
		if (st->field != LIBRA_FIELD_OTHER && st->value_phase == LIBRA_VALUE_LEADING_WS) {
			/* its leading SPs: the first byte that is none is the field's to read */
			const __u64 x = word ^ (ones * ' ');

			plain = libra_plain_prefix((((x & ~highs) + ~highs) | x) & highs);
			st->unit_bytes += plain;
			return plain;
		}
		if (st->field != LIBRA_FIELD_OTHER) {
			if (st->value_phase != LIBRA_VALUE_TOKEN || !libra_in_unmatched_token(st) ||
			    libra_non_token_bytes(word))
				return 0;
			st->unit_bytes += 8;
			return 8;
		}
		/* the OWS before the value too: a byte taken that is no SP starts the value */
		special = (((word - ones * 0x20) & ~word) | ((del - ones) & ~del)) & highs;
		if ((word ^ (ones * ' ')) & libra_plain_mask(special))
			st->value_phase = LIBRA_VALUE_TOKEN;
		plain = libra_plain_prefix(special);
		st->unit_bytes += plain;
		return plain;
	case LIBRA_PH_REASON:
		/* a byte below 0x20 (obs-text from 0x80 is allowed) */
		special = (word - ones * 0x20) & ~word;
		break;
	default:
		return 0;
	}
	special |= (del - ones) & ~del;	/* a 0x7f */
	plain = libra_plain_prefix(special & highs);
	st->unit_bytes += plain;
	return plain;
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
	case LIBRA_PH_CHUNK_EXT_NAME:
	case LIBRA_PH_CHUNK_EXT_TOKEN:
	case LIBRA_PH_CHUNK_EXT_AFTER_QUOTE:
		return 2;		/* CR LF */
	case LIBRA_PH_CHUNK_EXT_BEFORE_NAME:
	case LIBRA_PH_CHUNK_EXT_BEFORE_VALUE:
	case LIBRA_PH_CHUNK_EXT_QUOTED:
		return 3;		/* tchar or DQUOTE, CR LF */
	case LIBRA_PH_CHUNK_BWS:
	case LIBRA_PH_CHUNK_EXT_AFTER_NAME:
	case LIBRA_PH_CHUNK_EXT_AFTER_VALUE:
	case LIBRA_PH_CHUNK_EXT_QUOTED_PAIR:
		return 4;		/* ";" tchar CR LF, or the like */
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
 * @runs, plain runs go up to eight bytes at a time, as in the BPF program;
 * without, every byte is fed alone, the reference the tests hold the runs to.
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
			__u32 plain;

			__builtin_memcpy(&word, bytes + i, sizeof(word));
			plain = libra_http_run8(ctx, st, word);
			i += plain;
			if (plain == 8)
				continue;
		}
		if (libra_http_feed(ctx, st, bytes[i], i))
			return ctx->verdict;
		i++;
	}
	libra_http_window_done(ctx, ctx->avail);
	return ctx->verdict;
}

#endif /* LIBRA_BPF_LIBRA_HTTP_CORE_H */
