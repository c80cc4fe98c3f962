// libhttp-parser (Debian's libhttp-parser-dev, the parser Node.js used for
// years) as the reference for message boundaries.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "boundary_events.h"

namespace libra::parser_test {

// Parses @stream as requests or responses. For responses @request_methods
// (enum libra_http_method) say which request each final response answers;
// like a correct client, the reference is told to skip the body of a
// response to HEAD and of 1xx, 204 and 304 responses (RFC 9112 6.3).
ReferenceResult reference_parse(uint8_t direction, std::span<const uint8_t> stream,
                                const std::vector<uint8_t>& request_methods);

}  // namespace libra::parser_test
