// Request methods, written from RFC 9110 (method = token, case-sensitive)
// and the parser ABI (enum libra_http_method) independently of the core's
// state machine, so the tests can hold the parser to them:
//
//   method = token = 1*tchar     followed by one SP
//
// with Libra's one limit: at most kMethodMax bytes (a longer token makes it
// step aside). The names the ABI lists are matched exactly ("get" is not
// GET); every other token is LIBRA_HTTP_METHOD_OTHER.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "libra_http.h"
#include "stream_driver.h"

namespace libra::parser_test {

constexpr size_t kMethodMax = 32;

bool is_method_tchar(unsigned char c);

// The enum libra_http_method a request whose method is @token must be
// reported with (CONNECT for "CONNECT", although the parser steps aside on
// it); @token must be a valid method.
uint8_t method_code(std::string_view token);

// The method of the request line at the start of @line: its bytes up to the
// first SP (all of @line if there is none).
std::string_view method_token(std::string_view line);

// Where a parser that follows "method SP" byte by byte must give up on the
// request line at the start of @line: the index of the first byte that no
// valid method can have there (an SP first, a byte that is no tchar, the
// tchar after kMethodMax of them). std::nullopt if @line starts with a valid
// method and its SP, or ends before either is decided.
std::optional<size_t> method_deciding_byte(std::string_view line);

// Empty if every MESSAGE_START unit of @trace over @stream reports the
// method of its request line (requests; none for responses) and that method
// is one the parser may accept, else what differs.
std::string message_method_problem(const Trace& trace, std::span<const uint8_t> stream,
                                   uint8_t direction);

}  // namespace libra::parser_test
