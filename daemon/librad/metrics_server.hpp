// Optional Prometheus endpoint (prometheus-listen): answers GET /metrics with
// the module's counters in the text exposition format, then closes. Off by
// default and loopback-only unless prometheus-allow-remote is set.
//
// Whatever a client does, the loop goes on and scrapers get in: at most
// kMaxClients at once, a request of at most kMaxRequestBytes (read no
// further), and each client gone after its deadline (a slow or stalled one
// cannot hold a slot).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "common/unique_fd.hpp"
#include "librad/event_loop.hpp"
#include "librad/metrics_request.hpp"
#include "librad/tcp_endpoint.hpp"

namespace libra {

class MetricsServer {
public:
    static constexpr size_t kMaxClients = 16;
    static constexpr size_t kMaxRequestBytes = kMetricsRequestMax;
    static constexpr std::chrono::milliseconds kClientDeadline{5000};

    // @render produces the body of /metrics (or an error text on failure).
    static Result<std::unique_ptr<MetricsServer>> listen(const TcpEndpoint& endpoint, EventLoop& loop,
                                                         std::function<Result<std::string>()> render,
                                                         std::chrono::milliseconds client_deadline = kClientDeadline);
    ~MetricsServer();
    MetricsServer(const MetricsServer&) = delete;
    MetricsServer& operator=(const MetricsServer&) = delete;

    const std::string& endpoint_text() const { return endpoint_text_; }

private:
    using Clock = std::chrono::steady_clock;
    struct Client {
        UniqueFd fd;
        std::string request;
        std::string reply;
        bool replying = false;
        Clock::time_point deadline;
    };
    MetricsServer(EventLoop& loop, std::function<Result<std::string>()> render, UniqueFd listener,
                  UniqueFd timer, std::string endpoint_text, std::chrono::milliseconds client_deadline);
    void on_accept();
    void on_client_event(int fd, uint32_t events);
    void drop(int fd);
    // Drops the clients past their deadline; arms the timer for the next one.
    void on_timer();
    void arm_timer();
    std::string reply_for(const std::string& request);

    EventLoop& loop_;
    std::function<Result<std::string>()> render_;
    UniqueFd listener_;
    UniqueFd timer_;
    std::string endpoint_text_;
    std::chrono::milliseconds client_deadline_;
    std::map<int, Client> clients_;
};

}  // namespace libra
