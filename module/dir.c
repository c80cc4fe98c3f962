// SPDX-License-Identifier: GPL-2.0
/*
 * One direction of a stream as the framing parser sees it: where it stands
 * (next_seq), what it still needs, the bodies it found ahead (extents in
 * sequence space), and whether it stepped aside for good. The receive side
 * (rx.c) runs it over the receive queue, the send side (tx.c) over what the
 * program hands to send(); both apply the parser's verdicts here, so that
 * one place says what a verdict means.
 *
 * The parser is a BPF program librad attached (parser.c): libra trusts
 * nothing it says without checking it stays inside the window it was shown
 * and makes progress.
 *
 * Locking: the socket lock of the struct libra_sock a direction belongs to.
 */
#include <linux/net.h>

#include "libra.h"

/* Bodies longer than this are not tracked in 32-bit sequence space. */
#define LIBRA_MAX_TRACKED_BODY	(1U << 30)
#define LIBRA_MAX_HEADER_BYTES	16384
/*
 * Bytes offered to the parser at a time, unless it asks for more. Metadata
 * is short and the window is copied: a window of everything queued copied up
 * to 32 KiB of the body behind the headers too. A unit longer than this
 * takes more calls (NEED_MORE consumes the window).
 */
#define LIBRA_PARSE_WINDOW_STEP	2048

void libra_dir_step_aside(struct libra_sock *ls, struct libra_dir *d, enum libra_stat reason)
{
	if (!d->passthrough) {
		libra_sock_add(ls, reason, 1);
		WRITE_ONCE(d->aside_reason, reason);
	}
	WRITE_ONCE(d->passthrough, true);
}

static void libra_dir_push_extent(struct libra_dir *d, u32 start, u32 end, bool chunk)
{
	d->ext[(d->ext_head + d->ext_count) % LIBRA_EXTENTS] =
		(struct libra_extent){ .start = start, .end = end, .msg_id = d->msg_id,
				       .chunk = chunk };
	d->ext_count++;
}

/* A unit that ends its message: where the message ends (d->next_seq, set). */
static void libra_dir_note_end(struct libra_dir *d, const struct libra_parse_ctx *c)
{
	if (!(c->flags & LIBRA_PARSE_F_MESSAGE_END))
		return;
	d->whole_msg_id = d->msg_id;
	d->whole_end_seq = d->next_seq;
}

/* Whether the parser's answer stays inside the window it was given and moves on. */
static bool libra_dir_verdict_sane(const struct libra_parse_ctx *c, u32 avail)
{
	if (c->metadata_len > avail)
		return false;
	switch (c->verdict) {
	case LIBRA_PARSE_NEED_MORE:
		return c->metadata_len == avail;
	case LIBRA_PARSE_METADATA:
		switch (c->body_kind) {
		case LIBRA_BODY_NONE:
			return c->metadata_len > 0;
		case LIBRA_BODY_CONTENT_LENGTH:
		case LIBRA_BODY_CHUNK:
			return c->body_len > 0;
		case LIBRA_BODY_CLOSE_DELIMITED:
			return true;
		}
		return false;
	default:
		return true;	/* STEP_ASIDE, INVALID: stepping aside needs no progress */
	}
}

/*
 * Whether a response, received, is one a proxy may still compress before
 * sending it on: its request accepted a content coding, it has none, and it
 * is textual (nginx's gzip, on in Debian's nginx.conf for text/html, would
 * compress the token in place of the body). Libra leaves such a body to the
 * stock path. A parser that does not report codings leaves every response
 * so.
 */
static bool libra_dir_transformable(const struct libra_sock *ls, u32 flags)
{
	if (!(flags & LIBRA_PARSE_F_CODINGS_KNOWN))
		return true;
	return libra_sock_peek_accepts_coding(ls) && !(flags & LIBRA_PARSE_F_CONTENT_CODED) &&
	       (flags & LIBRA_PARSE_F_TEXTUAL);
}

/* Applies one parser verdict to @d; false when parsing must stop for now. */
bool libra_dir_apply_verdict(struct libra_sock *ls, struct libra_dir *d, u32 min_extent)
{
	const struct libra_parse_ctx *c = &d->ctx;
	u32 meta_end = d->next_seq + c->metadata_len;

	switch (c->verdict) {
	case LIBRA_PARSE_NEED_MORE:
		d->next_seq = meta_end;
		d->need_min = max_t(u32, c->need_min, 1);
		return false;
	case LIBRA_PARSE_METADATA:
		break;
	default:
		libra_dir_step_aside(ls, d, LIBRA_STAT_PARSER_ERRORS);
		return false;
	}

	libra_sock_add(ls, LIBRA_STAT_MESSAGES_PARSED, 1);
	d->need_min = 0;
	if (c->flags & LIBRA_PARSE_F_MESSAGE_START) {
		d->msg_id = libra_anchor_new_msg_id();
		d->msg_transformable = d == &ls->rx && c->direction == LIBRA_PARSE_RESPONSE &&
				       libra_dir_transformable(ls, c->flags);
		if (d->msg_transformable && c->body_kind != LIBRA_BODY_NONE)
			libra_sock_add(ls, LIBRA_STAT_FALLBACK_TRANSFORMABLE, 1);
	}
	if (c->direction == LIBRA_PARSE_REQUEST && (c->flags & LIBRA_PARSE_F_MESSAGE_START))
		libra_sock_push_method(ls, c->message_method, d->msg_id,
				       c->body_kind != LIBRA_BODY_NONE,
				       !(c->flags & LIBRA_PARSE_F_CODINGS_KNOWN) ||
				       (c->flags & LIBRA_PARSE_F_ACCEPTS_CODING));
	if (c->direction == LIBRA_PARSE_RESPONSE && (c->flags & LIBRA_PARSE_F_MESSAGE_END) &&
	    !(c->flags & LIBRA_PARSE_F_INTERIM))
		libra_sock_pop_method(ls);

	switch (c->body_kind) {
	case LIBRA_BODY_NONE:
		if (c->flags & LIBRA_PARSE_F_MESSAGE_END)
			d->ended_msg_id = d->msg_id;
		d->next_seq = meta_end;
		libra_dir_note_end(d, c);
		return true;
	case LIBRA_BODY_CONTENT_LENGTH:
	case LIBRA_BODY_CHUNK:
		if (c->body_len > LIBRA_MAX_TRACKED_BODY) {
			/* counted with the bodies libra does not anchor for their size */
			libra_dir_step_aside(ls, d, LIBRA_STAT_FALLBACK_SMALL_BODY);
			return false;
		}
		if (c->body_len >= min_extent && !d->msg_transformable)
			libra_dir_push_extent(d, meta_end, meta_end + (u32)c->body_len,
					      c->body_kind == LIBRA_BODY_CHUNK);
		d->next_seq = meta_end + (u32)c->body_len;
		libra_dir_note_end(d, c);
		return true;
	case LIBRA_BODY_CLOSE_DELIMITED:
		d->next_seq = meta_end;
		d->to_close = true;
		return false;
	default:
		libra_dir_step_aside(ls, d, LIBRA_STAT_PARSER_ERRORS);
		return false;
	}
}

/*
 * One parser call over @avail bytes at d->next_seq that @fill copies out.
 * Returns 0 with the verdict in d->ctx, or a negative errno after stepping
 * aside.
 */
int libra_dir_parse(struct libra_sock *ls, struct libra_dir *d, u32 avail,
		    int (*fill)(void *dst, u32 len, void *arg), void *arg)
{
	u64 t0;
	int err;

	d->ctx.max_header_bytes = LIBRA_MAX_HEADER_BYTES;
	avail = min(avail, max_t(u32, LIBRA_PARSE_WINDOW_STEP, d->need_min));
	avail = min_t(u32, avail, LIBRA_PARSE_WINDOW_MAX);
	/* a response to a request libra did not see makes the parser step aside */
	if (d->ctx.direction == LIBRA_PARSE_RESPONSE)
		d->ctx.request_method = libra_sock_peek_method(ls);
	t0 = libra_clock();
	err = libra_parser_run(&d->ctx, avail, fill, arg);
	libra_time_add(LIBRA_STAT_TIME_PARSE_NS, t0);
	if (err) {
		libra_dir_step_aside(ls, d, err == -ENOENT ? LIBRA_STAT_FALLBACK_NO_PARSER
						   : LIBRA_STAT_PARSER_ERRORS);
		return err;
	}
	if (!libra_dir_verdict_sane(&d->ctx, avail)) {
		net_dbg_ratelimited("parser verdict %u body %u meta %u of %u: out of bounds, stepping aside\n",
				    d->ctx.verdict, d->ctx.body_kind, d->ctx.metadata_len, avail);
		libra_dir_step_aside(ls, d, LIBRA_STAT_PARSER_ERRORS);
		return -EPROTO;
	}
	if (d->ctx.verdict == LIBRA_PARSE_STEP_ASIDE &&
	    d->ctx.direction == LIBRA_PARSE_RESPONSE &&
	    d->ctx.request_method == LIBRA_HTTP_METHOD_UNKNOWN) {
		libra_dir_step_aside(ls, d, LIBRA_STAT_FALLBACK_UNKNOWN_METHOD);
		return -EPROTO;
	}
	return 0;
}
