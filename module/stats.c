// SPDX-License-Identifier: GPL-2.0
/*
 * Counters. Per-cpu so the hooks, which run on every TCP send and receive in
 * the system, never share a cache line; readers sum over all possible cpus.
 * Gauges are not stored here: they are read from their owners on demand.
 *
 * A scope is the counters of one opt-in entry: the same per-cpu block plus
 * the gauges that can be told apart per entry. Sockets adopted under the
 * entry and anchors received on them hold a reference, so a scope outlives
 * its entry until the last of them is gone; the ioctl reads it through the
 * entry only.
 */
#include <linux/percpu.h>
#include <linux/cpumask.h>
#include <linux/moduleparam.h>
#include <linux/refcount.h>
#include <linux/slab.h>

#include "libra.h"

struct libra_stats_pcpu __percpu *libra_stats;

bool libra_time_stats;
module_param_named(time_stats, libra_time_stats, bool, 0644);
MODULE_PARM_DESC(time_stats, "Count the time_*_ns counters (two clock reads per span measured; off by default)");

int libra_stats_init(void)
{
	libra_stats = alloc_percpu(struct libra_stats_pcpu);
	return libra_stats ? 0 : -ENOMEM;
}

void libra_stats_exit(void)
{
	free_percpu(libra_stats);
	libra_stats = NULL;
}

static void libra_stats_sum(struct libra_stats_pcpu __percpu *pcpu, u64 *values,
			    unsigned int count)
{
	unsigned int i;
	int cpu;

	for (i = 0; i < count && i < __LIBRA_STAT_MAX; i++) {
		u64 sum = 0;

		for_each_possible_cpu(cpu)
			sum += per_cpu_ptr(pcpu, cpu)->v[i];
		values[i] = sum;
	}
}

void libra_stats_read(u64 *values, unsigned int count)
{
	libra_stats_sum(libra_stats, values, count);
#define LIBRA_GAUGE(stat, value) do { if (count > (stat)) values[stat] = (value); } while (0)
	LIBRA_GAUGE(LIBRA_STAT_OPTIN_ENTRIES, libra_optin_entries());
	LIBRA_GAUGE(LIBRA_STAT_CALLS_IN_FLIGHT, libra_hooks_in_flight());
	LIBRA_GAUGE(LIBRA_STAT_SOCKETS_TRACKED, libra_socks_tracked());
	LIBRA_GAUGE(LIBRA_STAT_ANCHORED_BYTES_NOW, libra_anchored_now());
	LIBRA_GAUGE(LIBRA_STAT_ANCHORED_BYTES_PEAK, libra_anchored_peak_bytes());
	LIBRA_GAUGE(LIBRA_STAT_ANCHORED_BYTES_LIMIT, libra_anchor_limit());
	LIBRA_GAUGE(LIBRA_STAT_ANCHORS_NOW, libra_anchors_now());
#undef LIBRA_GAUGE
}

struct libra_scope {
	refcount_t ref;
	struct libra_stats_pcpu __percpu *pcpu;
	atomic64_t sockets;
	atomic64_t anchors;
	atomic64_t anchored_bytes;
	atomic64_t anchored_peak;
	u64 anchor_limit;		/* bytes; 0: only the global limit */
	bool retired;			/* its opt-in entry was removed */
};

/* What a scope counts: the rest are system-wide only and read as absent. */
#define LIBRA_STAT_BIT(s)	(1ULL << (s))
static const u64 libra_scope_counted =
	LIBRA_STAT_BIT(LIBRA_STAT_SOCKETS_TRACKED) |
	LIBRA_STAT_BIT(LIBRA_STAT_MESSAGES_PARSED) |
	LIBRA_STAT_BIT(LIBRA_STAT_BYTES_METADATA_COPIED) |
	LIBRA_STAT_BIT(LIBRA_STAT_BYTES_ANCHORED) |
	LIBRA_STAT_BIT(LIBRA_STAT_BYTES_ZERO_COPY_SENT) |
	LIBRA_STAT_BIT(LIBRA_STAT_BYTES_FALLBACK_COPIED) |
	LIBRA_STAT_BIT(LIBRA_STAT_ANCHORED_BYTES_NOW) |
	LIBRA_STAT_BIT(LIBRA_STAT_ANCHORED_BYTES_PEAK) |
	LIBRA_STAT_BIT(LIBRA_STAT_ANCHORED_BYTES_LIMIT) |
	LIBRA_STAT_BIT(LIBRA_STAT_ANCHORS_NOW) |
	LIBRA_STAT_BIT(LIBRA_STAT_PARSER_ERRORS) |
	LIBRA_STAT_BIT(LIBRA_STAT_FALLBACK_BUDGET) |
	LIBRA_STAT_BIT(LIBRA_STAT_FALLBACK_SMALL_BODY) |
	LIBRA_STAT_BIT(LIBRA_STAT_FALLBACK_NO_PARSER) |
	LIBRA_STAT_BIT(LIBRA_STAT_FALLBACK_DESYNC) |
	LIBRA_STAT_BIT(LIBRA_STAT_FALLBACK_NOT_ADOPTED) |
	LIBRA_STAT_BIT(LIBRA_STAT_FALLBACK_UNKNOWN_METHOD) |
	LIBRA_STAT_BIT(LIBRA_STAT_FALLBACK_PAGE_COPIED) |
	LIBRA_STAT_BIT(LIBRA_STAT_TOKENS_REJECTED) |
	LIBRA_STAT_BIT(LIBRA_STAT_ANCHORS_RELEASED) |
	LIBRA_STAT_BIT(LIBRA_STAT_TOKENS_UNFRAMED) |
	LIBRA_STAT_BIT(LIBRA_STAT_TX_HOLDS_EXPIRED) |
	LIBRA_STAT_BIT(LIBRA_STAT_TX_RESETS) |
	LIBRA_STAT_BIT(LIBRA_STAT_BYTES_MATERIALIZED) |
	LIBRA_STAT_BIT(LIBRA_STAT_TOKENS_REFUSED) |
	LIBRA_STAT_BIT(LIBRA_STAT_FALLBACK_TLS) |
	LIBRA_STAT_BIT(LIBRA_STAT_TLS_RESETS) |
	LIBRA_STAT_BIT(LIBRA_STAT_FALLBACK_URGENT) |
	LIBRA_STAT_BIT(LIBRA_STAT_ANCHORS_EXPIRED) |
	LIBRA_STAT_BIT(LIBRA_STAT_REGIONS_CUT) |
	LIBRA_STAT_BIT(LIBRA_STAT_FALLBACK_PIPELINE) |
	LIBRA_STAT_BIT(LIBRA_STAT_FALLBACK_TRANSFORMABLE) |
	LIBRA_STAT_BIT(LIBRA_STAT_FALLBACK_EGRESS) |
	LIBRA_STAT_BIT(LIBRA_STAT_BYTES_KTLS_SENT);
static_assert(__LIBRA_STAT_MAX <= 64, "libra_scope_counted is one u64");

struct libra_scope *libra_scope_new(u64 anchor_limit)
{
	struct libra_scope *s = kzalloc(sizeof(*s), GFP_KERNEL);

	if (!s)
		return NULL;
	s->pcpu = alloc_percpu(struct libra_stats_pcpu);
	if (!s->pcpu) {
		kfree(s);
		return NULL;
	}
	refcount_set(&s->ref, 1);
	s->anchor_limit = anchor_limit;
	return s;
}

struct libra_scope *libra_scope_get(struct libra_scope *s)
{
	if (s)
		refcount_inc(&s->ref);
	return s;
}

/* Any context: free_percpu() may be called from atomic context. */
void libra_scope_put(struct libra_scope *s)
{
	if (s && refcount_dec_and_test(&s->ref)) {
		free_percpu(s->pcpu);
		kfree(s);
	}
}

void notrace libra_scope_add(struct libra_scope *s, enum libra_stat stat, u64 delta)
{
	this_cpu_add(libra_stats->v[stat], delta);
	if (s)
		this_cpu_add(s->pcpu->v[stat], delta);
}

/* Sockets notice at their next call and move to whatever entry matches then. */
void libra_scope_retire(struct libra_scope *s)
{
	WRITE_ONCE(s->retired, true);
}

bool libra_scope_retired(const struct libra_scope *s)
{
	return s && READ_ONCE(s->retired);
}

u64 libra_scope_limit(const struct libra_scope *s)
{
	return s->anchor_limit;
}

void libra_scope_socket(struct libra_scope *s, int delta)
{
	if (s)
		atomic64_add(delta, &s->sockets);
}

/*
 * Charges @bytes of anchored memory to @s, within its own limit. The global
 * budget is charged separately (anchor.c); false leaves nothing charged.
 */
bool libra_scope_charge(struct libra_scope *s, u64 bytes)
{
	u64 now, peak;

	if (!s)
		return true;
	now = atomic64_add_return(bytes, &s->anchored_bytes);
	if (s->anchor_limit && now > s->anchor_limit) {
		atomic64_sub(bytes, &s->anchored_bytes);
		return false;
	}
	atomic64_inc(&s->anchors);
	peak = atomic64_read(&s->anchored_peak);
	while (now > peak) {
		u64 seen = atomic64_cmpxchg(&s->anchored_peak, peak, now);

		if (seen == peak)
			break;
		peak = seen;
	}
	return true;
}

void libra_scope_uncharge(struct libra_scope *s, u64 bytes)
{
	if (!s)
		return;
	atomic64_sub(bytes, &s->anchored_bytes);
	atomic64_dec(&s->anchors);
}

/* Reads @s like libra_stats_read(); *counted says which slots mean something. */
void libra_scope_read(struct libra_scope *s, u64 *values, unsigned int count, u64 *counted)
{
	unsigned int i;

	libra_stats_sum(s->pcpu, values, count);
	for (i = 0; i < count && i < __LIBRA_STAT_MAX; i++)
		if (!(libra_scope_counted & LIBRA_STAT_BIT(i)))
			values[i] = 0;
#define LIBRA_GAUGE(stat, value) do { if (count > (stat)) values[stat] = (value); } while (0)
	LIBRA_GAUGE(LIBRA_STAT_SOCKETS_TRACKED, atomic64_read(&s->sockets));
	LIBRA_GAUGE(LIBRA_STAT_ANCHORED_BYTES_NOW, atomic64_read(&s->anchored_bytes));
	LIBRA_GAUGE(LIBRA_STAT_ANCHORED_BYTES_PEAK, atomic64_read(&s->anchored_peak));
	LIBRA_GAUGE(LIBRA_STAT_ANCHORED_BYTES_LIMIT,
		    s->anchor_limit ? min(s->anchor_limit, libra_anchor_limit()) : libra_anchor_limit());
	LIBRA_GAUGE(LIBRA_STAT_ANCHORS_NOW, atomic64_read(&s->anchors));
#undef LIBRA_GAUGE
	*counted = libra_scope_counted;
}
