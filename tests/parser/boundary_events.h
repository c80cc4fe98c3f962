// Message boundaries as stream offsets, the common ground on which the
// Libra parser and a reference parser are compared.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "stream_driver.h"

namespace libra::parser_test {

struct BoundaryEvent {
    enum class Kind { HeadersEnd, Body, MessageEnd };
    Kind kind;
    uint64_t offset;   // HeadersEnd, MessageEnd: offset just past; Body: first byte
    uint64_t length;   // Body only

    bool operator==(const BoundaryEvent&) const = default;
};

// What the reference parser (libhttp-parser) saw.
struct ReferenceResult {
    std::vector<BoundaryEvent> events;
    bool error = false;        // rejected a data byte
    uint64_t error_offset = 0;
    bool upgraded = false;     // stopped: the rest is another protocol
    uint64_t upgrade_offset = 0;
    // Requests whose method is a token libhttp-parser does not know (it
    // rejects every method outside its list): stream offsets of those
    // methods, each parsed as GET instead (reference_parser.h).
    std::vector<uint64_t> substituted_methods;
};

// Events implied by a Libra trace over @stream, body ranges cut at the end
// of the stream.
std::vector<BoundaryEvent> events_of(const Trace& trace, std::span<const uint8_t> stream);

// The offset up to which the trace committed to boundaries.
uint64_t committed_frontier(const Trace& trace, uint64_t stream_size);

// Empty if the Libra trace agrees with the reference on every boundary it
// committed to (or stepped aside before disagreeing), else why not.
std::string compare_with_reference(const Trace& trace, const ReferenceResult& reference,
                                   std::span<const uint8_t> stream);

std::string describe(const std::vector<BoundaryEvent>& events);

}  // namespace libra::parser_test
