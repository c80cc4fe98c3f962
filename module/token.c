// SPDX-License-Identifier: GPL-2.0
/*
 * Tokens: what a receiving program finds where an anchored body region
 * starts. A token names an anchor by an opaque id, never by address, and
 * carries a SipHash MAC over the id and the region length keyed with a
 * secret drawn at module load, so it cannot be forged or guessed.
 *
 * The MAC does not cover the receiving process: an anchor is found only by
 * the process that received it (libra_anchor_lookup), and a valid token of
 * another process must be recognised as libra's, so that it fails the call
 * carrying it instead of leaving as bytes (a fork child sending its
 * parent's buffer).
 *
 * Ids are a counter put through a keyed permutation (a four-round Feistel
 * network over the two 32-bit halves, SipHash as the round function): unique
 * for the module's lifetime, as the anchor table needs, yet two tokens tell
 * nothing of how many anchors were made between them.
 */
#include <linux/random.h>
#include <linux/siphash.h>
#include <linux/string.h>

#include "libra.h"

static siphash_key_t libra_token_key __read_mostly;
static siphash_key_t libra_token_id_key __read_mostly;
static atomic64_t libra_token_next_id = ATOMIC64_INIT(0);

void libra_token_init(void)
{
	get_random_bytes(&libra_token_key, sizeof(libra_token_key));
	get_random_bytes(&libra_token_id_key, sizeof(libra_token_id_key));
}

u64 libra_token_new_id(void)
{
	u64 n = atomic64_inc_return(&libra_token_next_id);
	u32 l = upper_32_bits(n), r = lower_32_bits(n);
	int round;

	for (round = 0; round < 4; round++) {
		u32 f = (u32)siphash_2u32(r, round, &libra_token_id_key);
		u32 t = r;

		r = l ^ f;
		l = t;
	}
	return (u64)l << 32 | r;
}

static u64 libra_token_mac(u64 id, u32 len)
{
	return siphash_2u64(id, len, &libra_token_key);
}

/* The token of anchor @id of @len bytes whose MAC is known: @mac. */
void libra_token_fill(struct libra_token *tok, u64 id, u32 len, u64 mac)
{
	memcpy(tok->magic, LIBRA_TOKEN_MAGIC, sizeof(tok->magic));
	tok->id = id;
	tok->len = len;
	tok->reserved = 0;
	tok->mac = mac;
}

void libra_token_make(struct libra_token *tok, u64 id, u32 len)
{
	libra_token_fill(tok, id, len, libra_token_mac(id, len));
}

/* Whether @tok is a token this load of libra made (live or not). */
bool libra_token_valid(const struct libra_token *tok)
{
	return !memcmp(tok->magic, LIBRA_TOKEN_MAGIC, sizeof(tok->magic)) &&
	       !tok->reserved && tok->len >= LIBRA_TOKEN_BYTES &&
	       tok->mac == libra_token_mac(tok->id, tok->len);
}
