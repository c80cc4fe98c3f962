// SPDX-License-Identifier: GPL-2.0
/*
 * Counters. Per-cpu so the hooks, which run on every TCP send and receive in
 * the system, never share a cache line; readers sum over all possible cpus.
 * Gauges are not stored here: they are read from their owners on demand.
 */
#include <linux/percpu.h>
#include <linux/cpumask.h>

#include "libra.h"

struct libra_stats_pcpu {
	u64 v[__LIBRA_STAT_MAX];
};

static struct libra_stats_pcpu __percpu *libra_stats;

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

void notrace libra_stat_add(enum libra_stat stat, u64 delta)
{
	this_cpu_add(libra_stats->v[stat], delta);
}

void notrace libra_stat_inc(enum libra_stat stat)
{
	this_cpu_inc(libra_stats->v[stat]);
}

void libra_stats_read(u64 *values, unsigned int count)
{
	unsigned int i;
	int cpu;

	for (i = 0; i < count && i < __LIBRA_STAT_MAX; i++) {
		u64 sum = 0;

		for_each_possible_cpu(cpu)
			sum += per_cpu_ptr(libra_stats, cpu)->v[i];
		values[i] = sum;
	}
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
