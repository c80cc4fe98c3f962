// Names for the module's counters, keyed by enum libra_stat. This table is
// the only place a counter index becomes a name (JSON key, Prometheus metric).
// The module appends counters over time: a static_assert makes the build fail
// until every enum value has a row here, and at run time a module that knows
// more counters than this build (or fewer) is tolerated by StatsReport.
#pragma once

#include <array>
#include <optional>
#include <string_view>

#include <linux/libra.h>

namespace libra {

enum class StatKind { counter, gauge };

struct StatDescriptor {
    unsigned index;                    // enum libra_stat value
    std::string_view name;             // JSON key; Prometheus metric libra_<name>
    StatKind kind;
    std::string_view help;
    std::string_view fallback_reason;  // non-empty: reported under "fallbacks"
};

inline constexpr std::array<StatDescriptor, __LIBRA_STAT_MAX> kStatTable = {{
    {LIBRA_STAT_RECVMSG_CALLS, "recvmsg_calls", StatKind::counter,
     "tcp_recvmsg calls seen by the hook, opted in or not", {}},
    {LIBRA_STAT_SENDMSG_CALLS, "sendmsg_calls", StatKind::counter,
     "tcp_sendmsg calls seen by the hook, opted in or not", {}},
    {LIBRA_STAT_RECVMSG_ENGAGED, "recvmsg_engaged", StatKind::counter,
     "tcp_recvmsg calls of opted-in processes handled by libra", {}},
    {LIBRA_STAT_SENDMSG_ENGAGED, "sendmsg_engaged", StatKind::counter,
     "tcp_sendmsg calls of opted-in processes handled by libra", {}},
    {LIBRA_STAT_OPTIN_ENTRIES, "optin_entries", StatKind::gauge,
     "entries in the opt-in table", {}},
    {LIBRA_STAT_CALLS_IN_FLIGHT, "calls_in_flight", StatKind::gauge,
     "libra calls in flight right now", {}},
}};

constexpr bool stat_table_is_indexed_by_enum()
{
    for (unsigned i = 0; i < kStatTable.size(); ++i)
        if (kStatTable[i].index != i || kStatTable[i].name.empty())
            return false;
    return true;
}
static_assert(stat_table_is_indexed_by_enum(), "kStatTable row i must describe enum libra_stat value i");

// The counters `libractl stats --json` always reports (issue 4), in order.
// A key with no row in kStatTable, or whose counter the running module does
// not provide, is reported as null and listed under "unavailable".
inline constexpr std::array<std::string_view, 10> kReportedCounters = {
    "sockets_tracked",       "messages_parsed",      "bytes_metadata_copied",
    "bytes_anchored",        "bytes_zero_copy_sent", "bytes_fallback_copied",
    "anchored_bytes_now",    "anchored_bytes_peak",  "anchored_bytes_limit",
    "parser_errors",
};

const StatDescriptor* find_stat(std::string_view name);

}  // namespace libra
