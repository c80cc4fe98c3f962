// Turning corpus cases into streams and expected traces.
#include <stdexcept>
#include <string_view>

#include "corpus.h"

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

uint8_t method_named(std::string_view start_line)
{
    std::string_view name = start_line.substr(0, start_line.find(' '));
    static const std::pair<std::string_view, uint8_t> kMethods[] = {
        {"GET", LIBRA_HTTP_METHOD_GET},         {"HEAD", LIBRA_HTTP_METHOD_HEAD},
        {"POST", LIBRA_HTTP_METHOD_POST},       {"PUT", LIBRA_HTTP_METHOD_PUT},
        {"DELETE", LIBRA_HTTP_METHOD_DELETE},   {"CONNECT", LIBRA_HTTP_METHOD_CONNECT},
        {"OPTIONS", LIBRA_HTTP_METHOD_OPTIONS}, {"TRACE", LIBRA_HTTP_METHOD_TRACE},
        {"PATCH", LIBRA_HTTP_METHOD_PATCH},
    };
    for (const auto& [text, method] : kMethods)
        if (text == name)
            return method;
    return LIBRA_HTTP_METHOD_UNKNOWN;
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

}  // namespace libra::parser_test
