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
    {LIBRA_STAT_SOCKETS_TRACKED, "sockets_tracked", StatKind::gauge,
     "sockets libra keeps state for", {}},
    {LIBRA_STAT_MESSAGES_PARSED, "messages_parsed", StatKind::counter,
     "HTTP metadata units the parser completed", {}},
    {LIBRA_STAT_BYTES_METADATA_COPIED, "bytes_metadata_copied", StatKind::counter,
     "bytes of opted-in receives copied to user space the stock way", {}},
    {LIBRA_STAT_BYTES_ANCHORED, "bytes_anchored", StatKind::counter,
     "body bytes received into anchors instead of being copied", {}},
    {LIBRA_STAT_BYTES_ZERO_COPY_SENT, "bytes_zero_copy_sent", StatKind::counter,
     "anchored bytes sent without copying from user space", {}},
    {LIBRA_STAT_BYTES_FALLBACK_COPIED, "bytes_fallback_copied", StatKind::counter,
     "body bytes libra could have anchored but copied", {}},
    {LIBRA_STAT_ANCHORED_BYTES_NOW, "anchored_bytes_now", StatKind::gauge,
     "anchored memory now, bytes", {}},
    {LIBRA_STAT_ANCHORED_BYTES_PEAK, "anchored_bytes_peak", StatKind::gauge,
     "peak anchored memory since the module was loaded, bytes", {}},
    {LIBRA_STAT_ANCHORED_BYTES_LIMIT, "anchored_bytes_limit", StatKind::gauge,
     "anchored memory limit, bytes", {}},
    {LIBRA_STAT_ANCHORS_NOW, "anchors_now", StatKind::gauge,
     "live anchors", {}},
    {LIBRA_STAT_PARSER_ERRORS, "parser_errors", StatKind::counter,
     "times the parser stepped aside (not HTTP/1.x, ambiguous or invalid)", {}},
    {LIBRA_STAT_FALLBACK_BUDGET, "fallback_budget", StatKind::counter,
     "fallbacks: anchored-memory limit reached", "budget"},
    {LIBRA_STAT_FALLBACK_SMALL_BODY, "fallback_small_body", StatKind::counter,
     "fallbacks: body or region under the minimum", "small_body"},
    {LIBRA_STAT_FALLBACK_NO_PARSER, "fallback_no_parser", StatKind::counter,
     "fallbacks: no parser attached", "no_parser"},
    {LIBRA_STAT_FALLBACK_DESYNC, "fallback_desync", StatKind::counter,
     "fallbacks: stream consumed behind libra's back", "desync"},
    {LIBRA_STAT_FALLBACK_NOT_ADOPTED, "fallback_not_adopted", StatKind::counter,
     "fallbacks: socket had traffic before opt-in", "not_adopted"},
    {LIBRA_STAT_FALLBACK_UNKNOWN_METHOD, "fallback_unknown_method", StatKind::counter,
     "fallbacks: response whose request method is unknown", "unknown_method"},
    // Bytes, not a count of fallbacks: kept out of the "fallbacks" object so
    // that object holds one unit only.
    {LIBRA_STAT_FALLBACK_PAGE_COPIED, "bytes_anchored_by_copy", StatKind::counter,
     "bytes anchored by a kernel copy (slab, shared or unreadable frags)", {}},
    {LIBRA_STAT_TOKENS_REJECTED, "tokens_rejected", StatKind::counter,
     "tokens in sent data that were forged, stale, damaged or another process's", {}},
    {LIBRA_STAT_ANCHORS_RELEASED, "anchors_released", StatKind::counter,
     "anchors released: sent in full, process gone, or unload", {}},
    {LIBRA_STAT_TOKENS_UNFRAMED, "tokens_unframed", StatKind::counter,
     "tokens sent where the outbound HTTP framing was unknown", {}},
    {LIBRA_STAT_TX_HOLDS_EXPIRED, "tx_holds_expired", StatKind::counter,
     "token starts cut off by a send, sent as they were after tx_hold_ms", {}},
    {LIBRA_STAT_TX_RESETS, "tx_resets", StatKind::counter,
     "connections reset at shutdown or close: bytes a send took could not be queued", {}},
    // Timing, nanoseconds summed over all cpus (wall time of each span; the
    // handlers contain the other spans), counted only while the module's
    // time_stats parameter is on: its clock reads cost time of their own.
    {LIBRA_STAT_TIME_RX_HANDLER_NS, "time_rx_handler_ns", StatKind::counter,
     "nanoseconds inside libra's tcp_recvmsg handler", {}},
    {LIBRA_STAT_TIME_TX_HANDLER_NS, "time_tx_handler_ns", StatKind::counter,
     "nanoseconds inside libra's tcp_sendmsg and tcp_sendpage handlers", {}},
    {LIBRA_STAT_TIME_ANCHOR_BUILD_NS, "time_anchor_build_ns", StatKind::counter,
     "nanoseconds building anchors on receive", {}},
    {LIBRA_STAT_TIME_PARSE_NS, "time_parse_ns", StatKind::counter,
     "nanoseconds running the BPF framing parser, both directions", {}},
    {LIBRA_STAT_TIME_TOKEN_SCAN_NS, "time_token_scan_ns", StatKind::counter,
     "nanoseconds scanning sent body bytes for tokens", {}},
    {LIBRA_STAT_TIME_PAGE_SEND_NS, "time_page_send_ns", StatKind::counter,
     "nanoseconds sending anchored pages", {}},
    // The fail-safe rules (docs/design.md, "Where a token may go").
    {LIBRA_STAT_BYTES_MATERIALIZED, "bytes_materialized", StatKind::counter,
     "anchored bytes written into a program's memory before leaving by a path libra does not send anchors on", {}},
    {LIBRA_STAT_TOKENS_REFUSED, "tokens_refused", StatKind::counter,
     "tokens libra could not stand in for: the call failed (TCP reset or EIO), never sent as bytes", {}},
    {LIBRA_STAT_TLS_PROCESSES, "tls_processes", StatKind::counter,
     "processes seen terminating TLS in user space: they get no anchors (kernel TLS does not count)", {}},
    {LIBRA_STAT_FALLBACK_TLS, "fallback_tls", StatKind::counter,
     "fallbacks: body region of a process that terminates TLS in user space or has a TLS handshake open", "tls"},
    {LIBRA_STAT_TLS_RESETS, "tls_resets", StatKind::counter,
     "TLS connections reset: TLS data sent while tokens it might carry were live", {}},
    {LIBRA_STAT_FALLBACK_URGENT, "fallback_urgent", StatKind::counter,
     "fallbacks: urgent data (MSG_OOB) inside a body region", "urgent"},
    {LIBRA_STAT_ANCHORS_EXPIRED, "anchors_expired", StatKind::counter,
     "anchors released unsent: their message never started going out and its connection is gone, "
     "or they waited anchor_unsent_ms (a response dropped: its first token gone from where it was "
     "received) or anchor_idle_ms", {}},
    {LIBRA_STAT_REGIONS_CUT, "regions_cut", StatKind::counter,
     "regions whose message ended before the region did: the rest is never sent", {}},
    {LIBRA_STAT_OPTIN_EXPIRED, "optin_expired", StatKind::counter,
     "opt-in entries removed because every process they name has exited", {}},
    {LIBRA_STAT_SOCKETS_RESET, "sockets_reset", StatKind::counter,
     "per-socket state discarded at tcp_disconnect(): connect(AF_UNSPEC), a close with SO_LINGER 0, "
     "libra's own resets", {}},
    {LIBRA_STAT_FALLBACK_PIPELINE, "fallback_pipeline", StatKind::counter,
     "fallbacks: requests queued past the pipelining bound (that connection stops anchoring)", "pipeline"},
    {LIBRA_STAT_TIME_ZERO_FILL_NS, "time_zero_fill_ns", StatKind::counter,
     "nanoseconds writing the zero fill behind tokens on receive", {}},
    {LIBRA_STAT_TIME_MATERIALIZE_NS, "time_materialize_ns", StatKind::counter,
     "nanoseconds writing anchored bytes into a program's memory (bytes_materialized)", {}},
    {LIBRA_STAT_FALLBACK_TRANSFORMABLE, "fallback_transformable", StatKind::counter,
     "fallbacks: response body a proxy may compress (content coding accepted, none applied, textual)",
     "transformable"},
    {LIBRA_STAT_FALLBACK_EGRESS, "fallback_egress", StatKind::counter,
     "fallbacks: its process sent a token where libra does not follow the framing (AF_UNIX, HTTP/2, "
     "a stream the parser stepped aside on, a pipe)",
     "egress"},
    {LIBRA_STAT_BYTES_KTLS_SENT, "bytes_ktls_sent", StatKind::counter,
     "of bytes_zero_copy_sent, those encrypted by kernel TLS straight from anchored pages", {}},
}};

constexpr bool stat_table_is_indexed_by_enum()
{
    for (unsigned i = 0; i < kStatTable.size(); ++i)
        if (kStatTable[i].index != i || kStatTable[i].name.empty())
            return false;
    return true;
}
static_assert(stat_table_is_indexed_by_enum(), "kStatTable row i must describe enum libra_stat value i");

// The counters the module keeps per socket, keyed by enum libra_socket_stat:
// each is the socket's own share of an enum libra_stat counter (the module
// counts both at the same place), so it goes by that counter's name.
struct SocketStatDescriptor {
    unsigned index;  // enum libra_socket_stat value
    unsigned stat;   // enum libra_stat value: its name in kStatTable
};

inline constexpr std::array<SocketStatDescriptor, __LIBRA_SOCKET_STAT_MAX> kSocketStatTable = {{
    {LIBRA_SOCKET_STAT_MESSAGES_PARSED, LIBRA_STAT_MESSAGES_PARSED},
    {LIBRA_SOCKET_STAT_BYTES_METADATA_COPIED, LIBRA_STAT_BYTES_METADATA_COPIED},
    {LIBRA_SOCKET_STAT_BYTES_ANCHORED, LIBRA_STAT_BYTES_ANCHORED},
    {LIBRA_SOCKET_STAT_BYTES_ZERO_COPY_SENT, LIBRA_STAT_BYTES_ZERO_COPY_SENT},
    {LIBRA_SOCKET_STAT_BYTES_FALLBACK_COPIED, LIBRA_STAT_BYTES_FALLBACK_COPIED},
    {LIBRA_SOCKET_STAT_TOKENS_REJECTED, LIBRA_STAT_TOKENS_REJECTED},
    {LIBRA_SOCKET_STAT_TOKENS_UNFRAMED, LIBRA_STAT_TOKENS_UNFRAMED},
    {LIBRA_SOCKET_STAT_TX_HOLDS_EXPIRED, LIBRA_STAT_TX_HOLDS_EXPIRED},
    {LIBRA_SOCKET_STAT_TX_RESETS, LIBRA_STAT_TX_RESETS},
    {LIBRA_SOCKET_STAT_BYTES_MATERIALIZED, LIBRA_STAT_BYTES_MATERIALIZED},
    {LIBRA_SOCKET_STAT_TOKENS_REFUSED, LIBRA_STAT_TOKENS_REFUSED},
    {LIBRA_SOCKET_STAT_REGIONS_CUT, LIBRA_STAT_REGIONS_CUT},
}};

constexpr bool socket_stat_table_is_indexed_by_enum()
{
    for (unsigned i = 0; i < kSocketStatTable.size(); ++i)
        if (kSocketStatTable[i].index != i || kSocketStatTable[i].stat >= __LIBRA_STAT_MAX)
            return false;
    return true;
}
static_assert(socket_stat_table_is_indexed_by_enum(),
              "kSocketStatTable row i must describe enum libra_socket_stat value i");

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
