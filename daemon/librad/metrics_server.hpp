// Optional Prometheus endpoint (prometheus-listen): answers GET /metrics with
// the module's counters in the text exposition format, then closes. Off by
// default and loopback-only unless prometheus-allow-remote is set.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "common/unique_fd.hpp"
#include "librad/event_loop.hpp"
#include "librad/tcp_endpoint.hpp"

namespace libra {

class MetricsServer {
public:
    static constexpr size_t kMaxClients = 16;
    static constexpr size_t kMaxRequestBytes = 8192;

    // @render produces the body of /metrics (or an error text on failure).
    static Result<std::unique_ptr<MetricsServer>> listen(const TcpEndpoint& endpoint, EventLoop& loop,
                                                         std::function<Result<std::string>()> render);
    ~MetricsServer();
    MetricsServer(const MetricsServer&) = delete;
    MetricsServer& operator=(const MetricsServer&) = delete;

    const std::string& endpoint_text() const { return endpoint_text_; }

private:
    struct Client {
        UniqueFd fd;
        std::string request;
        std::string reply;
        bool replying = false;
    };
    MetricsServer(EventLoop& loop, std::function<Result<std::string>()> render, UniqueFd listener,
                  std::string endpoint_text);
    void on_accept();
    void on_client_event(int fd, uint32_t events);
    std::string reply_for(const std::string& request);

    EventLoop& loop_;
    std::function<Result<std::string>()> render_;
    UniqueFd listener_;
    std::string endpoint_text_;
    std::map<int, Client> clients_;
};

}  // namespace libra
