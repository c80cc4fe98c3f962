// Plays the kernel module's part: feeds a byte stream that arrives in
// pieces to a parser, window by window, keeping the per-connection state
// between calls and skipping body bytes, and records what the parser said.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "parser_backend.h"

namespace libra::parser_test {

// One METADATA verdict, in stream offsets. NEED_MORE calls that consumed
// part of a unit are folded into it, so a trace does not depend on how the
// stream was split.
struct Unit {
    uint64_t start = 0;          // stream offset of the unit's first byte
    uint64_t metadata_len = 0;   // metadata bytes, over all calls
    uint32_t body_kind = LIBRA_BODY_NONE;
    uint64_t body_len = 0;
    uint32_t flags = 0;
    uint16_t status_code = 0;    // MESSAGE_START of a response
    uint8_t message_method = 0;  // MESSAGE_START of a request

    bool operator==(const Unit&) const = default;
};

enum class TraceEnd {
    Incomplete,      // stream ended while the parser wanted more (or in a body)
    StepAside,
    CloseDelimited,  // the rest of the stream is body
    Invalid,         // parser said INVALID
};

struct Trace {
    std::vector<Unit> units;
    TraceEnd end = TraceEnd::Incomplete;
    uint64_t pending_unit_start = 0;  // where the undecided unit began
    uint64_t aside_offset = 0;        // StepAside: stream offset of the deciding byte
    size_t calls = 0;
    std::vector<std::string> violations;  // ABI rules the parser broke

    // Equal as far as splitting must not matter (not calls, not where a
    // size limit was noticed).
    bool same_outcome(const Trace& other) const
    {
        return units == other.units && end == other.end;
    }
    // Equal in everything, for two runs over the same windows.
    bool same_to_the_byte(const Trace& other) const
    {
        return same_outcome(other) && pending_unit_start == other.pending_unit_start &&
               aside_offset == other.aside_offset && calls == other.calls &&
               violations == other.violations;
    }
};

struct DriveOptions {
    uint8_t direction = LIBRA_PARSE_REQUEST;
    uint32_t max_header_bytes = 16384;
    // Response streams: methods of the requests, in order. A final
    // (non-interim) response consumes one; missing ones are UNKNOWN.
    std::vector<uint8_t> request_methods;
    // Stream offsets where arrivals end, ascending; the stream's size is
    // appended if missing. Empty: everything at once.
    std::vector<size_t> arrivals;
    // Windows are cut to this many bytes (and to the backend's maximum).
    size_t window_cap = LIBRA_PARSE_WINDOW_MAX;
};

Trace drive(ParserBackend& parser, std::span<const uint8_t> stream, const DriveOptions& options);

std::string describe(const Trace& trace);
std::string describe(const Unit& unit);

}  // namespace libra::parser_test
