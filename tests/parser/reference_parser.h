// libhttp-parser (Debian's libhttp-parser-dev, the parser Node.js used for
// years) as the reference for message boundaries.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "boundary_events.h"

namespace libra::parser_test {

// Parses @stream as requests or responses. For responses @request_methods
// (enum libra_http_method) say which request each final response answers;
// like a correct client, the reference is told to skip the body of a
// response to HEAD and of 1xx, 204 and 304 responses (RFC 9112 6.3), and
// to frame a response to any other method (LIBRA_HTTP_METHOD_OTHER too) by
// its header.
//
// One documented difference (docs/http-support.md, "Methods"): libhttp-parser
// 2.9 knows a fixed list of methods (its HTTP_METHOD_MAP) and rejects every
// other token, although RFC 9112 frames a request's body the same whatever
// its method. So where a request begins with a method that is a token of 1
// to kMethodMax bytes (method_facts.h) followed by SP, and libhttp-parser
// does not know it ("FOO", "get", "PROPFINDX"), the reference is fed "GET"
// in its place and the rest of the request as it is; the offset is recorded
// in ReferenceResult::substituted_methods. libhttp-parser frames the body of
// every request but CONNECT alike, so this is how it would frame the request
// if it knew the method. Nothing else is ever replaced: a method that is no
// token, or a longer one, reaches libhttp-parser as it is.
ReferenceResult reference_parse(uint8_t direction, std::span<const uint8_t> stream,
                                const std::vector<uint8_t>& request_methods);

// Whether libhttp-parser 2.9 accepts @name as a method (case-sensitive).
bool libhttp_parser_knows_method(std::string_view name);

}  // namespace libra::parser_test
