/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The send side's own declarations: tx.c (the send loop and regions),
 * tx_scan.c (reading the caller's data: framing and tokens) and tx_owed.c
 * (bytes a send took but has not sent yet).
 */
#ifndef LIBRA_TX_H
#define LIBRA_TX_H

#include "libra.h"

/* Where plain bytes are taken from. */
struct libra_tx_source {
	struct msghdr *msg;	/* sendmsg: the caller's message */
	struct page *page;	/* sendpage: the caller's page ... */
	int page_off;		/* ... and where the unsent part starts in it */
	int flags;
};

/* One send call: the caller's data starts at ls->tx_pos in @iter. */
struct libra_tx_call {
	struct sock *sk;
	struct libra_sock *ls;
	struct libra_tx_source *src;
	struct iov_iter *iter;
	u8 *buf;		/* LIBRA_SCAN_CHUNK bytes of scratch: ls->tx_scan_buf */
	bool scan;		/* the process holds anchors: look for tokens */
};

enum libra_tx_hold {
	LIBRA_HOLD_NONE,
	LIBRA_HOLD_FRAMED,	/* the framing promises more bytes */
	LIBRA_HOLD_TIMED,	/* nothing promises more */
};

enum libra_tx_owed {
	LIBRA_OWED_NONE,
	LIBRA_OWED_CANDIDATE,	/* a token's start: undecided */
	LIBRA_OWED_ANCHOR,	/* it was a token: tx_cont's bytes stand for them */
	LIBRA_OWED_RAW,		/* it was not: send them as they are */
};

/* tx.c */
bool libra_tx_framed(const struct libra_sock *ls);
void libra_tx_consume(struct libra_tx_call *call, u32 n);
int libra_tx_send_anchor(struct sock *sk, const struct libra_anchor_part *parts, unsigned int nr,
			 int flags, bool more);
bool libra_tx_start_region(struct libra_tx_call *call, struct libra_anchor *a, u64 msg_id);
void libra_tx_refuse(struct libra_tx_call *call, const struct libra_token *tok,
		     enum libra_token_verdict why, const char *where);
void libra_tx_abort(struct sock *sk, struct libra_sock *ls, bool closing);

/* tx_scan.c */
bool libra_tx_peek(const struct libra_tx_call *call, size_t off, void *dst, size_t len);
void libra_tx_map(struct libra_tx_call *call);
u32 libra_tx_kind(const struct libra_sock *ls, u32 pos, bool *body);
u32 libra_tx_span(struct libra_sock *ls, u32 pos, bool *body);
u32 libra_tx_read_body(struct libra_tx_call *call, u32 pos, u8 *dst, u32 len);
const struct libra_extent *libra_tx_extent_at(const struct libra_dir *d, u32 pos);
u64 libra_tx_body_msg(const struct libra_sock *ls, u32 pos);
enum libra_tx_hold libra_tx_may_hold(struct libra_tx_call *call, u32 pos);
u32 libra_tx_find_token(struct libra_tx_call *call, u32 n, struct libra_anchor **found,
			enum libra_tx_hold *held, bool *refused);

/* Nothing is owed any more: sent, taken over by a region, or gone with the connection. */
static inline void libra_tx_owed_clear(struct libra_sock *ls)
{
	ls->tx_owed_len = 0;
	ls->tx_owed_state = LIBRA_OWED_NONE;
}

/* tx_owed.c */
int libra_tx_send_raw(struct sock *sk, int flags, const void *data, u32 len);
int libra_tx_settle_owed(struct libra_tx_call *call);
u32 libra_tx_owe(struct libra_tx_call *call, u32 k);
void libra_tx_held_update(struct libra_sock *ls);
void libra_tx_settle_at_release(struct sock *sk, struct libra_sock *ls);
bool libra_tx_raw_start_continues(struct libra_sock *ls, const u8 *next, u32 got);

#endif /* LIBRA_TX_H */
