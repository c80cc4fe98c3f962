// What the Prometheus endpoint makes of the bytes a client has sent so far:
// a pure function, so that libFuzzer can drive it (tests/daemon/fuzz).
#pragma once

#include <cstddef>
#include <string_view>

namespace libra {

enum class MetricsRequest {
    incomplete,  // no end of the header block yet: wait for more
    metrics,     // GET /metrics: answer with the counters
    not_found,   // any other complete request: 404
    too_large,   // past the limit without an end: 400, read no further
};

inline constexpr std::size_t kMetricsRequestMax = 8192;

MetricsRequest classify_metrics_request(std::string_view buffered);

}  // namespace libra
