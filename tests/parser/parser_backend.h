// A parser implementation the stream driver can call: one call is one run
// of the parser over one window, like one bpf_prog_run in the module.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "libra_http.h"

namespace libra::parser_test {

class ParserBackend {
public:
    virtual ~ParserBackend() = default;
    // Runs the parser once; ctx.avail must equal window.size().
    virtual void run(libra_parse_ctx& ctx, std::span<const uint8_t> window) = 0;
    // Largest window this backend accepts in one call.
    virtual size_t max_window() const = 0;
};

// The parser core compiled for the host (bpf/libra_http_native.c).
class NativeParser final : public ParserBackend {
public:
    void run(libra_parse_ctx& ctx, std::span<const uint8_t> window) override;
    size_t max_window() const override { return LIBRA_PARSE_WINDOW_MAX; }
};

// The same core feeding every byte alone, without the eight-byte runs of
// plain bytes the other two take: the runs must not change a thing.
class BytewiseParser final : public ParserBackend {
public:
    void run(libra_parse_ctx& ctx, std::span<const uint8_t> window) override;
    size_t max_window() const override { return LIBRA_PARSE_WINDOW_MAX; }
};

}  // namespace libra::parser_test
