#include "reference_parser.h"

#include <http_parser.h>

#include "method_facts.h"

namespace libra::parser_test {

namespace {

struct ReferenceRun {
    const uint8_t* base = nullptr;
    uint64_t current = 0;  // offset of the byte being fed
    const std::vector<uint8_t>* request_methods = nullptr;
    size_t method_index = 0;
    bool at_message_start = true;  // the next byte begins a message
    ReferenceResult result;
};

ReferenceRun& run_of(http_parser* parser)
{
    return *static_cast<ReferenceRun*>(parser->data);
}

int on_headers_complete(http_parser* parser)
{
    ReferenceRun& run = run_of(parser);
    run.result.events.push_back({BoundaryEvent::Kind::HeadersEnd, run.current + 1, 0});
    if (parser->type != HTTP_RESPONSE)
        return 0;
    const unsigned status = parser->status_code;
    const bool head = run.method_index < run.request_methods->size() &&
                      (*run.request_methods)[run.method_index] == LIBRA_HTTP_METHOD_HEAD;
    // 1: skip the body
    return (head || status / 100 == 1 || status == 204 || status == 304) ? 1 : 0;
}

int on_body(http_parser* parser, const char* at, size_t length)
{
    ReferenceRun& run = run_of(parser);
    const uint64_t start = reinterpret_cast<const uint8_t*>(at) - run.base;
    std::vector<BoundaryEvent>& events = run.result.events;
    if (!events.empty() && events.back().kind == BoundaryEvent::Kind::Body &&
        events.back().offset + events.back().length == start)
        events.back().length += length;
    else
        events.push_back({BoundaryEvent::Kind::Body, start, length});
    return 0;
}

int on_message_complete(http_parser* parser)
{
    ReferenceRun& run = run_of(parser);
    run.result.events.push_back({BoundaryEvent::Kind::MessageEnd, run.current + 1, 0});
    if (parser->type == HTTP_RESPONSE && parser->status_code / 100 != 1)
        run.method_index++;
    run.at_message_start = true;
    return 0;
}

// The length of the method at @at if it is one libhttp-parser rejects and
// Libra accepts: a token of 1 to kMethodMax bytes followed by SP that is not
// in HTTP_METHOD_MAP. 0 otherwise.
size_t foreign_method_at(std::span<const uint8_t> stream, uint64_t at)
{
    const std::string_view line(reinterpret_cast<const char*>(stream.data()) + at,
                                stream.size() - at);
    const std::string_view token = method_token(line);
    if (token.empty() || token.size() == line.size() || method_deciding_byte(line) ||
        libhttp_parser_knows_method(token))
        return 0;
    return token.size();
}

}  // namespace

bool libhttp_parser_knows_method(std::string_view name)
{
    static const std::string_view kKnown[] = {
#define XX(num, name, string) #string,
        HTTP_METHOD_MAP(XX)
#undef XX
    };
    for (std::string_view known : kKnown)
        if (known == name)
            return true;
    return false;
}

ReferenceResult reference_parse(uint8_t direction, std::span<const uint8_t> stream,
                                const std::vector<uint8_t>& request_methods)
{
    http_parser_settings settings{};
    settings.on_headers_complete = on_headers_complete;
    settings.on_body = on_body;
    settings.on_message_complete = on_message_complete;

    http_parser parser{};
    http_parser_init(&parser, direction == LIBRA_PARSE_REQUEST ? HTTP_REQUEST : HTTP_RESPONSE);
    ReferenceRun run;
    run.base = stream.data();
    run.request_methods = &request_methods;
    parser.data = &run;

    // One byte per call, so every callback knows the exact offset.
    for (uint64_t i = 0; i < stream.size(); i++) {
        const bool message_start = run.at_message_start;
        run.at_message_start = false;
        if (const size_t length = message_start && direction == LIBRA_PARSE_REQUEST
                                      ? foreign_method_at(stream, i)
                                      : 0) {
            // a method libhttp-parser does not know: GET in its place (no
            // callback fires inside a method)
            run.current = i;
            run.result.substituted_methods.push_back(i);
            http_parser_execute(&parser, &settings, "GET", 3);
            if (HTTP_PARSER_ERRNO(&parser) != HPE_OK) {
                run.result.error = true;
                run.result.error_offset = i;
                return run.result;
            }
            i += length - 1;
            continue;
        }
        run.current = i;
        const size_t parsed = http_parser_execute(
            &parser, &settings, reinterpret_cast<const char*>(stream.data() + i), 1);
        if (HTTP_PARSER_ERRNO(&parser) != HPE_OK) {
            run.result.error = true;
            run.result.error_offset = i;
            return run.result;
        }
        if (parser.upgrade) {
            run.result.upgraded = true;
            run.result.upgrade_offset = i + parsed;
            return run.result;
        }
    }
    // End of stream: completes a close-delimited body. An error here only
    // means the stream ended inside a message.
    run.current = stream.size() - 1;
    http_parser_execute(&parser, &settings, nullptr, 0);
    return run.result;
}

}  // namespace libra::parser_test
