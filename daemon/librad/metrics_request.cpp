#include "librad/metrics_request.hpp"

namespace libra {

MetricsRequest classify_metrics_request(std::string_view buffered)
{
    // The end of the header block, within the limit: what lies past it is ignored.
    std::string_view head = buffered.substr(0, kMetricsRequestMax);
    bool complete = head.find("\r\n\r\n") != std::string_view::npos || head.find("\n\n") != std::string_view::npos;
    if (!complete)
        return buffered.size() > kMetricsRequestMax ? MetricsRequest::too_large : MetricsRequest::incomplete;
    bool metrics = head.starts_with("GET /metrics ") || head.starts_with("GET /metrics?");
    return metrics ? MetricsRequest::metrics : MetricsRequest::not_found;
}

}  // namespace libra
