#include "boundary_events.h"

#include <algorithm>
#include <sstream>
#include <string_view>

namespace libra::parser_test {

namespace {

void add_body(std::vector<BoundaryEvent>& events, uint64_t start, uint64_t length)
{
    if (length == 0)
        return;
    // adjacent body ranges are one range (the reference reports per call)
    if (!events.empty() && events.back().kind == BoundaryEvent::Kind::Body &&
        events.back().offset + events.back().length == start) {
        events.back().length += length;
        return;
    }
    events.push_back({BoundaryEvent::Kind::Body, start, length});
}

}  // namespace

std::vector<BoundaryEvent> events_of(const Trace& trace, std::span<const uint8_t> stream)
{
    std::vector<BoundaryEvent> events;
    const std::string_view text(reinterpret_cast<const char*>(stream.data()), stream.size());
    const uint64_t size = stream.size();
    for (const Unit& unit : trace.units) {
        const uint64_t metadata_end = unit.start + unit.metadata_len;
        if (unit.flags & LIBRA_PARSE_F_MESSAGE_START) {
            // the unit may go on past the header (chunk-size line, trailers);
            // the header ends at its first empty line
            size_t blank = text.find("\r\n\r\n", unit.start);
            if (blank != std::string_view::npos && blank + 4 <= metadata_end)
                events.push_back({BoundaryEvent::Kind::HeadersEnd, blank + 4, 0});
            else
                events.push_back({BoundaryEvent::Kind::HeadersEnd, ~0ULL, 0});  // never matches
        }
        uint64_t message_end = metadata_end;
        switch (unit.body_kind) {
        case LIBRA_BODY_CONTENT_LENGTH:
        case LIBRA_BODY_CHUNK:
            add_body(events, metadata_end, std::min(size, metadata_end + unit.body_len) -
                                               std::min(size, metadata_end));
            message_end = metadata_end + unit.body_len;
            break;
        case LIBRA_BODY_CLOSE_DELIMITED:
            add_body(events, metadata_end, size - std::min(size, metadata_end));
            message_end = size;
            break;
        }
        if ((unit.flags & LIBRA_PARSE_F_MESSAGE_END) && message_end <= size)
            events.push_back({BoundaryEvent::Kind::MessageEnd, message_end, 0});
    }
    return events;
}

uint64_t committed_frontier(const Trace& trace, uint64_t stream_size)
{
    if (trace.end == TraceEnd::CloseDelimited)
        return stream_size;
    uint64_t frontier = trace.pending_unit_start;
    if (!trace.units.empty()) {
        const Unit& last = trace.units.back();
        uint64_t end = last.start + last.metadata_len;
        if (last.body_kind == LIBRA_BODY_CONTENT_LENGTH || last.body_kind == LIBRA_BODY_CHUNK)
            end += last.body_len;
        frontier = std::max(frontier, end);
    }
    return std::min(frontier, stream_size);
}

std::string compare_with_reference(const Trace& trace, const ReferenceResult& reference,
                                   std::span<const uint8_t> stream)
{
    if (!trace.violations.empty())
        return "ABI violation: " + trace.violations.front();
    if (trace.end == TraceEnd::Invalid)
        return "parser answered INVALID to a valid context";

    const uint64_t frontier = committed_frontier(trace, stream.size());
    const std::vector<BoundaryEvent> ours = events_of(trace, stream);
    std::vector<BoundaryEvent> theirs;
    for (const BoundaryEvent& event : reference.events) {
        bool before = event.kind == BoundaryEvent::Kind::Body ? event.offset < frontier
                                                              : event.offset <= frontier;
        if (before)
            theirs.push_back(event);
    }
    std::ostringstream why;
    if (ours != theirs) {
        why << "boundaries differ up to offset " << frontier << "\n  libra:     " << describe(ours)
            << "\n  reference: " << describe(theirs);
        return why.str();
    }
    if (reference.error && reference.error_offset < frontier) {
        why << "reference rejected byte " << reference.error_offset
            << " inside what Libra committed to (up to " << frontier << ")";
        return why.str();
    }
    if (reference.upgraded && reference.upgrade_offset < frontier) {
        why << "reference switched protocols at " << reference.upgrade_offset
            << " inside what Libra committed to (up to " << frontier << ")";
        return why.str();
    }
    return {};
}

std::string describe(const std::vector<BoundaryEvent>& events)
{
    std::ostringstream out;
    for (const BoundaryEvent& event : events) {
        switch (event.kind) {
        case BoundaryEvent::Kind::HeadersEnd: out << "H" << event.offset << " "; break;
        case BoundaryEvent::Kind::Body: out << "B" << event.offset << "+" << event.length << " "; break;
        case BoundaryEvent::Kind::MessageEnd: out << "E" << event.offset << " "; break;
        }
    }
    return out.str();
}

}  // namespace libra::parser_test
