#include "parser_backend.h"

#include "libra_http_native.h"

namespace libra::parser_test {

void NativeParser::run(libra_parse_ctx& ctx, std::span<const uint8_t> window)
{
    libra_http_parse_window(&ctx, window.data());
}

void BytewiseParser::run(libra_parse_ctx& ctx, std::span<const uint8_t> window)
{
    libra_http_parse_window_bytewise(&ctx, window.data());
}

}  // namespace libra::parser_test
