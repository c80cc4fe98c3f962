// What a message's header says about content codings, computed with plain
// string handling from the rules in docs/http-support.md ("Content
// codings"): the expectation for LIBRA_PARSE_F_ACCEPTS_CODING,
// _CONTENT_CODED, _TEXTUAL and _CODINGS_KNOWN on a MESSAGE_START unit. It is
// written independently of the byte-at-a-time matcher in libra_http_core.h;
// the corpus holds both to hand-written flags.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "libra_http.h"
#include "stream_driver.h"

namespace libra::parser_test {

constexpr uint32_t kCodingFlags = LIBRA_PARSE_F_ACCEPTS_CODING | LIBRA_PARSE_F_CONTENT_CODED |
                                  LIBRA_PARSE_F_TEXTUAL | LIBRA_PARSE_F_CODINGS_KNOWN;

// @header: a start line, header fields and the empty line, as the parser
// accepted them (CRLF line ends, no obs-fold; what follows the empty line is
// ignored). Returns the coding flags a MESSAGE_START unit of @direction
// (enum libra_parse_direction) must carry.
uint32_t expected_coding_flags(uint8_t direction, std::string_view header);

// The header of the message whose MESSAGE_START unit begins at @start of
// @stream: up to and including its first empty line; empty if there is none.
std::string_view header_at(std::string_view stream, uint64_t start);

// Empty if every MESSAGE_START unit of @trace over @stream carries the coding
// flags expected_coding_flags() gives for its header, else what differs.
std::string coding_flags_problem(const Trace& trace, std::span<const uint8_t> stream,
                                 uint8_t direction);

}  // namespace libra::parser_test
