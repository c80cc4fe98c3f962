// libFuzzer over the Prometheus endpoint's request handling
// (classify_metrics_request): whatever a client sends, the verdict follows
// the rules below, and once decided it stays so as more bytes come (the
// server stops reading there). Run bounded by ctest (daemon_metrics_fuzz_bounded).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "librad/metrics_request.hpp"

using libra::MetricsRequest;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    std::string_view in(reinterpret_cast<const char*>(data), size);
    std::string_view head = in.substr(0, libra::kMetricsRequestMax);
    bool ended = head.find("\r\n\r\n") != std::string_view::npos || head.find("\n\n") != std::string_view::npos;
    auto verdict = libra::classify_metrics_request(in);
    switch (verdict) {
    case MetricsRequest::incomplete:
        if (ended || size > libra::kMetricsRequestMax)
            __builtin_trap();  // a request left waiting that is ended, or past the limit
        return 0;
    case MetricsRequest::too_large:
        if (ended || size <= libra::kMetricsRequestMax)
            __builtin_trap();
        break;
    case MetricsRequest::metrics:
        if (!ended || !(in.starts_with("GET /metrics ") || in.starts_with("GET /metrics?")))
            __builtin_trap();  // counters for what is no GET /metrics
        break;
    case MetricsRequest::not_found:
        if (!ended || in.starts_with("GET /metrics ") || in.starts_with("GET /metrics?"))
            __builtin_trap();
        break;
    }
    // decided: more bytes change nothing
    std::string more(in);
    more.append("\r\n\r\nGET /metrics HTTP/1.0\r\n\r\n");
    if (libra::classify_metrics_request(more) != verdict)
        __builtin_trap();
    return 0;
}
