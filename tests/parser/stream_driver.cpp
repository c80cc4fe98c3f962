#include "stream_driver.h"

#include <algorithm>
#include <sstream>

#include "coding_facts.h"

namespace libra::parser_test {

namespace {

constexpr uint32_t kKnownFlags = LIBRA_PARSE_F_MESSAGE_START | LIBRA_PARSE_F_MESSAGE_END |
                                 LIBRA_PARSE_F_INTERIM | LIBRA_PARSE_F_LAST_MESSAGE | kCodingFlags;

// Checks one call's outputs against the ABI; returns what is wrong.
std::string abi_violation(const libra_parse_ctx& ctx, size_t window)
{
    switch (ctx.verdict) {
    case LIBRA_PARSE_NEED_MORE:
        if (ctx.metadata_len != window)
            return "NEED_MORE did not consume the whole window";
        if (ctx.need_min == 0 || ctx.need_min > ctx.need_max)
            return "NEED_MORE bounds need_min=" + std::to_string(ctx.need_min) +
                   " need_max=" + std::to_string(ctx.need_max);
        return {};
    case LIBRA_PARSE_METADATA:
        if (ctx.metadata_len == 0 || ctx.metadata_len > window)
            return "METADATA length " + std::to_string(ctx.metadata_len) + " of window " +
                   std::to_string(window);
        if (ctx.flags & ~kKnownFlags)
            return "unknown flags";
        // the coding facts: on MESSAGE_START units only, each in its direction
        if ((ctx.flags & LIBRA_PARSE_F_MESSAGE_START) && !(ctx.flags & LIBRA_PARSE_F_CODINGS_KNOWN))
            return "MESSAGE_START without CODINGS_KNOWN";
        if (!(ctx.flags & LIBRA_PARSE_F_MESSAGE_START) && (ctx.flags & kCodingFlags))
            return "coding flags on a unit that starts no message";
        if (ctx.direction == LIBRA_PARSE_RESPONSE && (ctx.flags & LIBRA_PARSE_F_ACCEPTS_CODING))
            return "ACCEPTS_CODING on a response";
        if (ctx.direction == LIBRA_PARSE_REQUEST &&
            (ctx.flags & (LIBRA_PARSE_F_CONTENT_CODED | LIBRA_PARSE_F_TEXTUAL)))
            return "CONTENT_CODED or TEXTUAL on a request";
        switch (ctx.body_kind) {
        case LIBRA_BODY_CONTENT_LENGTH:
        case LIBRA_BODY_CHUNK:
            if (ctx.body_len == 0)
                return "empty body announced";
            break;
        case LIBRA_BODY_NONE:
        case LIBRA_BODY_CLOSE_DELIMITED:
            if (ctx.body_len != 0)
                return "body length without a length-framed body";
            break;
        default:
            return "unknown body kind";
        }
        if ((ctx.body_kind == LIBRA_BODY_CLOSE_DELIMITED ||
             ctx.body_kind == LIBRA_BODY_CONTENT_LENGTH) &&
            !(ctx.flags & LIBRA_PARSE_F_MESSAGE_END))
            return "message-final body without MESSAGE_END";
        if (ctx.body_kind == LIBRA_BODY_CHUNK && (ctx.flags & LIBRA_PARSE_F_MESSAGE_END))
            return "chunk data cannot end a message";
        return {};
    case LIBRA_PARSE_STEP_ASIDE:
        if (ctx.metadata_len > window)
            return "STEP_ASIDE offset beyond the window";
        return {};
    case LIBRA_PARSE_INVALID:
        return {};
    }
    return "unknown verdict " + std::to_string(ctx.verdict);
}

}  // namespace

Trace drive(ParserBackend& parser, std::span<const uint8_t> stream, const DriveOptions& options)
{
    Trace trace;
    std::vector<size_t> arrivals = options.arrivals;
    // an arrival past the end would hand the parser bytes that are not there
    for (size_t& at : arrivals)
        at = std::min(at, stream.size());
    if (arrivals.empty() || arrivals.back() != stream.size())
        arrivals.push_back(stream.size());
    const size_t cap = std::min(options.window_cap, parser.max_window());

    libra_parse_ctx ctx{};  // zero state: start of the connection
    size_t next_arrival = 0;
    uint64_t arrived = arrivals[next_arrival++];
    uint64_t pos = 0;             // first byte not yet consumed
    uint64_t body_remaining = 0;  // body bytes to skip before the next call
    uint64_t unit_start = 0;
    uint64_t unit_metadata = 0;   // metadata of the pending unit, from NEED_MORE calls
    size_t method_index = 0;

    auto arrive_more = [&]() {
        if (next_arrival >= arrivals.size())
            return false;
        arrived = std::max<uint64_t>(arrived, arrivals[next_arrival++]);
        return true;
    };

    for (;;) {
        if (body_remaining > 0) {
            uint64_t take = std::min(body_remaining, arrived - pos);
            pos += take;
            body_remaining -= take;
            if (body_remaining > 0) {
                if (!arrive_more())
                    break;  // the stream ends inside a body
                continue;
            }
            unit_start = pos;
        }
        const size_t window = static_cast<size_t>(std::min<uint64_t>(arrived - pos, cap));
        ctx.abi_version = LIBRA_PARSER_ABI_VERSION;
        ctx.direction = options.direction;
        ctx.request_method = method_index < options.request_methods.size()
                                 ? options.request_methods[method_index]
                                 : static_cast<uint8_t>(LIBRA_HTTP_METHOD_UNKNOWN);
        ctx.reserved0 = 0;
        ctx.avail = static_cast<uint32_t>(window);
        ctx.max_header_bytes = options.max_header_bytes;
        parser.run(ctx, stream.subspan(pos, window));
        trace.calls++;
        if (std::string problem = abi_violation(ctx, window); !problem.empty()) {
            trace.violations.push_back("call " + std::to_string(trace.calls) + " at offset " +
                                       std::to_string(pos) + ": " + problem);
            trace.end = TraceEnd::Invalid;
            break;
        }

        if (ctx.verdict == LIBRA_PARSE_NEED_MORE) {
            pos += ctx.metadata_len;
            unit_metadata += ctx.metadata_len;
            if (pos < arrived)
                continue;  // the window was capped; more is here already
            if (!arrive_more())
                break;
            continue;
        }
        if (ctx.verdict == LIBRA_PARSE_STEP_ASIDE) {
            trace.end = TraceEnd::StepAside;
            trace.aside_offset = pos + ctx.metadata_len;
            break;
        }
        if (ctx.verdict != LIBRA_PARSE_METADATA) {
            trace.end = TraceEnd::Invalid;
            break;
        }

        Unit unit;
        unit.start = unit_start;
        unit.metadata_len = unit_metadata + ctx.metadata_len;
        unit.body_kind = ctx.body_kind;
        unit.body_len = ctx.body_len;
        unit.flags = ctx.flags;
        if (ctx.flags & LIBRA_PARSE_F_MESSAGE_START) {
            unit.status_code = ctx.status_code;
            unit.message_method = ctx.message_method;
        }
        trace.units.push_back(unit);
        pos += ctx.metadata_len;
        unit_metadata = 0;
        unit_start = pos;
        if (options.direction == LIBRA_PARSE_RESPONSE &&
            (ctx.flags & LIBRA_PARSE_F_MESSAGE_END) && !(ctx.flags & LIBRA_PARSE_F_INTERIM))
            method_index++;
        if (ctx.body_kind == LIBRA_BODY_CLOSE_DELIMITED) {
            trace.end = TraceEnd::CloseDelimited;
            break;
        }
        body_remaining = ctx.body_len;
    }
    trace.pending_unit_start = std::min<uint64_t>(unit_start, stream.size());
    return trace;
}

std::string describe(const Unit& unit)
{
    static const char* const kBody[] = {"none", "cl", "chunk", "close"};
    std::ostringstream out;
    out << "@" << unit.start << " meta " << unit.metadata_len << " "
        << (unit.body_kind < 4 ? kBody[unit.body_kind] : "?");
    if (unit.body_len)
        out << " " << unit.body_len;
    out << " flags ";
    if (unit.flags & LIBRA_PARSE_F_MESSAGE_START) out << 'S';
    if (unit.flags & LIBRA_PARSE_F_MESSAGE_END) out << 'E';
    if (unit.flags & LIBRA_PARSE_F_INTERIM) out << 'I';
    if (unit.flags & LIBRA_PARSE_F_LAST_MESSAGE) out << 'L';
    // coding facts: Known, Accepts a coding, content-Coded, Textual
    if (unit.flags & LIBRA_PARSE_F_CODINGS_KNOWN) out << 'K';
    if (unit.flags & LIBRA_PARSE_F_ACCEPTS_CODING) out << 'A';
    if (unit.flags & LIBRA_PARSE_F_CONTENT_CODED) out << 'C';
    if (unit.flags & LIBRA_PARSE_F_TEXTUAL) out << 'T';
    if (unit.status_code) out << " status " << unit.status_code;
    if (unit.message_method) out << " method " << int(unit.message_method);
    return out.str();
}

std::string describe(const Trace& trace)
{
    static const char* const kEnd[] = {"incomplete", "step-aside", "close-delimited", "invalid"};
    std::ostringstream out;
    for (const Unit& unit : trace.units)
        out << "[" << describe(unit) << "] ";
    out << kEnd[static_cast<int>(trace.end)];
    if (trace.end == TraceEnd::StepAside)
        out << " at " << trace.aside_offset;
    for (const std::string& violation : trace.violations)
        out << "\n  ABI violation: " << violation;
    return out.str();
}

}  // namespace libra::parser_test
