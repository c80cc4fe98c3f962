// Turning corpus cases into streams and expected traces.
#include <cctype>
#include <stdexcept>
#include <string_view>

#include "coding_facts.h"
#include "corpus.h"
#include "method_facts.h"

namespace libra::parser_test {

void PrintTo(const CorpusCase& c, std::ostream* out)
{
    *out << c.name;
}

std::vector<uint8_t> stream_of(const CorpusCase& c)
{
    std::vector<uint8_t> stream;
    for (const Segment& segment : c.segments)
        stream.insert(stream.end(), segment.bytes.begin(), segment.bytes.end());
    return stream;
}

namespace {

// A request's method, as the ABI reports it (method_facts.h): the names it
// lists exactly, any other token as OTHER.
uint8_t method_named(std::string_view start_line)
{
    return method_code(method_token(start_line));
}

uint16_t status_in(std::string_view status_line)
{
    // "HTTP/1.x NNN"
    if (status_line.size() < 12)
        return 0;
    return static_cast<uint16_t>(std::stoi(std::string(status_line.substr(9, 3))));
}

}  // namespace

Trace expected_trace_of(const CorpusCase& c)
{
    Trace trace;
    uint64_t offset = 0;
    uint64_t body_expected = 0;  // bytes the previous unit announced
    for (size_t i = 0; i < c.segments.size(); i++) {
        const Segment& segment = c.segments[i];
        const bool last = i + 1 == c.segments.size();
        if (segment.kind != Segment::Kind::Body && body_expected != 0)
            throw std::logic_error(c.name + ": segment " + std::to_string(i) +
                                   " follows a unit whose body is missing");
        switch (segment.kind) {
        case Segment::Kind::Metadata: {
            if (trace.end == TraceEnd::CloseDelimited)
                throw std::logic_error(c.name + ": unit after a close-delimited body");
            Unit unit;
            unit.start = offset;
            unit.metadata_len = segment.bytes.size();
            unit.body_kind = segment.body.kind;
            unit.body_len = segment.body.length;
            unit.flags = segment.flags;
            if (segment.flags & LIBRA_PARSE_F_MESSAGE_START) {
                unit.flags |= expected_coding_flags_of(c, segment);
                if (c.direction == LIBRA_PARSE_REQUEST)
                    unit.message_method = method_named(segment.bytes);
                else
                    unit.status_code = status_in(segment.bytes);
            }
            trace.units.push_back(unit);
            if (segment.body.kind == LIBRA_BODY_CLOSE_DELIMITED)
                trace.end = TraceEnd::CloseDelimited;
            else
                body_expected = segment.body.length;
            break;
        }
        case Segment::Kind::Body:
            if (trace.end == TraceEnd::CloseDelimited)
                break;
            if (segment.bytes.size() > body_expected ||
                (segment.bytes.size() < body_expected && !last))
                throw std::logic_error(c.name + ": body segment " + std::to_string(i) + " has " +
                                       std::to_string(segment.bytes.size()) + " bytes, unit said " +
                                       std::to_string(body_expected));
            body_expected = 0;
            break;
        case Segment::Kind::Aside:
            if (!last)
                throw std::logic_error(c.name + ": nothing may follow a step-aside segment");
            trace.end = TraceEnd::StepAside;
            break;
        case Segment::Kind::Partial:
            if (!last)
                throw std::logic_error(c.name + ": nothing may follow a partial segment");
            break;
        }
        offset += segment.bytes.size();
    }
    return trace;
}

uint32_t expected_coding_flags_of(const CorpusCase& c, const Segment& segment)
{
    if (segment.coding_flags)
        return *segment.coding_flags;
    const std::string_view header = header_at(segment.bytes, 0);
    for (std::string_view name : {"accept-encoding", "content-encoding", "content-type"}) {
        for (size_t at = 0; at + name.size() <= header.size(); at++) {
            bool same = true;
            for (size_t i = 0; i < name.size() && same; i++)
                same = std::tolower(static_cast<unsigned char>(header[at + i])) == name[i];
            if (same)
                throw std::logic_error(c.name + ": a header with " + std::string(name) +
                                       " must say its coding flags");
        }
    }
    return LIBRA_PARSE_F_CODINGS_KNOWN |
           (c.direction == LIBRA_PARSE_RESPONSE ? LIBRA_PARSE_F_TEXTUAL : 0u);
}

std::optional<uint64_t> expected_aside_offset(const CorpusCase& c)
{
    uint64_t offset = 0;
    for (const Segment& segment : c.segments) {
        if (segment.kind == Segment::Kind::Aside && segment.aside_at != std::string::npos) {
            if (segment.aside_at >= segment.bytes.size())
                throw std::logic_error(c.name + ": aside_at beyond its segment");
            return offset + segment.aside_at;
        }
        offset += segment.bytes.size();
    }
    return std::nullopt;
}

}  // namespace libra::parser_test
