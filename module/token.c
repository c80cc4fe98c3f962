// SPDX-License-Identifier: GPL-2.0
/*
 * Tokens: what a receiving program finds where an anchored body region
 * starts. A token names an anchor by an opaque id, never by address, and
 * carries a SipHash MAC keyed with a secret drawn at module load over the
 * id, the region length and the receiving process, so it cannot be forged,
 * guessed, or used by another process.
 */
#include <linux/random.h>
#include <linux/siphash.h>
#include <linux/string.h>

#include "libra.h"

static siphash_key_t libra_token_key __read_mostly;
static atomic64_t libra_token_next_id = ATOMIC64_INIT(0);

void libra_token_init(void)
{
	get_random_bytes(&libra_token_key, sizeof(libra_token_key));
	/* ids need not be secret; starting at random makes them no counter of traffic */
	atomic64_set(&libra_token_next_id, get_random_u32());
}

u64 libra_token_new_id(void)
{
	return atomic64_inc_return(&libra_token_next_id);
}

static u64 libra_token_mac(u64 id, u32 len, pid_t tgid)
{
	return siphash_3u64(id, len, (u64)(u32)tgid, &libra_token_key);
}

void libra_token_make(struct libra_token *tok, u64 id, u32 len, pid_t tgid)
{
	memcpy(tok->magic, LIBRA_TOKEN_MAGIC, sizeof(tok->magic));
	tok->id = id;
	tok->len = len;
	tok->reserved = 0;
	tok->mac = libra_token_mac(id, len, tgid);
}

/* Whether @tok is a token libra made for process @tgid. */
bool libra_token_valid(const struct libra_token *tok, pid_t tgid)
{
	return !memcmp(tok->magic, LIBRA_TOKEN_MAGIC, sizeof(tok->magic)) &&
	       !tok->reserved && tok->len >= LIBRA_TOKEN_BYTES &&
	       tok->mac == libra_token_mac(tok->id, tok->len, tgid);
}
