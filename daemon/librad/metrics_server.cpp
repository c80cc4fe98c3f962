#include "librad/metrics_server.hpp"

#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>

#include <fmt/format.h>

#include "librad/logging.hpp"
#include "librad/metrics_request.hpp"

namespace libra {

Result<std::unique_ptr<MetricsServer>> MetricsServer::listen(const TcpEndpoint& endpoint, EventLoop& loop,
                                                             std::function<Result<std::string>()> render,
                                                             std::chrono::milliseconds client_deadline)
{
    UniqueFd fd(::socket(endpoint.address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd)
        return Error::from_errno(ErrorCode::io_error, "socket", errno);
    int one = 1;
    (void)::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&endpoint.address), endpoint.address_len) != 0)
        return Error::from_errno(ErrorCode::io_error, "bind " + endpoint.text, errno);
    if (::listen(fd.get(), 16) != 0)
        return Error::from_errno(ErrorCode::io_error, "listen " + endpoint.text, errno);
    UniqueFd timer(::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
    if (!timer)
        return Error::from_errno(ErrorCode::io_error, "timerfd_create", errno);
    int raw_fd = fd.get(), raw_timer = timer.get();
    std::unique_ptr<MetricsServer> server(new MetricsServer(loop, std::move(render), std::move(fd),
                                                            std::move(timer), endpoint.text, client_deadline));
    if (auto added = loop.add(raw_fd, EPOLLIN, [s = server.get()](uint32_t) { s->on_accept(); }); !added)
        return added.error();
    if (auto added = loop.add(raw_timer, EPOLLIN, [s = server.get()](uint32_t) { s->on_timer(); }); !added)
        return added.error();
    return server;
}

MetricsServer::MetricsServer(EventLoop& loop, std::function<Result<std::string>()> render,
                             UniqueFd listener, UniqueFd timer, std::string endpoint_text,
                             std::chrono::milliseconds client_deadline)
    : loop_(loop), render_(std::move(render)), listener_(std::move(listener)), timer_(std::move(timer)),
      endpoint_text_(std::move(endpoint_text)), client_deadline_(client_deadline)
{
}

MetricsServer::~MetricsServer()
{
    for (auto& [fd, client] : clients_)
        loop_.remove(fd);
    loop_.remove(listener_.get());
    loop_.remove(timer_.get());
}

void MetricsServer::drop(int fd)
{
    loop_.remove(fd);
    clients_.erase(fd);
}

void MetricsServer::arm_timer()
{
    itimerspec spec{};
    if (!clients_.empty()) {
        auto next = std::min_element(clients_.begin(), clients_.end(), [](const auto& a, const auto& b) {
                        return a.second.deadline < b.second.deadline;
                    })->second.deadline;
        auto wait = std::max(std::chrono::duration_cast<std::chrono::nanoseconds>(next - Clock::now()),
                             std::chrono::nanoseconds(1));
        spec.it_value.tv_sec = static_cast<time_t>(wait.count() / 1000000000);
        spec.it_value.tv_nsec = static_cast<long>(wait.count() % 1000000000);
    }
    (void)::timerfd_settime(timer_.get(), 0, &spec, nullptr);
}

void MetricsServer::on_timer()
{
    uint64_t expirations;
    (void)::read(timer_.get(), &expirations, sizeof(expirations));
    auto now = Clock::now();
    for (auto it = clients_.begin(); it != clients_.end();) {
        auto next = std::next(it);
        if (it->second.deadline <= now)
            drop(it->first);
        it = next;
    }
    arm_timer();
}

void MetricsServer::on_accept()
{
    for (;;) {
        UniqueFd client(::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
        if (!client)
            return;
        if (clients_.size() >= kMaxClients)
            continue;  // scrapers retry; closing is the cheapest refusal
        int fd = client.get();
        if (!loop_.add(fd, EPOLLIN, [this, fd](uint32_t events) { on_client_event(fd, events); }))
            continue;
        bool first = clients_.empty();
        clients_[fd].fd = std::move(client);
        clients_[fd].deadline = Clock::now() + client_deadline_;
        if (first)
            arm_timer();
    }
}

std::string MetricsServer::reply_for(const std::string& request)
{
    auto status_line = [](const char* status, const std::string& type, const std::string& body) {
        return fmt::format("HTTP/1.0 {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n"
                           "Connection: close\r\n\r\n{}",
                           status, type, body.size(), body);
    };
    switch (classify_metrics_request(request)) {
    case MetricsRequest::metrics: break;
    case MetricsRequest::not_found:
        return status_line("404 Not Found", "text/plain", "only GET /metrics is served here\n");
    default: return "HTTP/1.0 400 Bad Request\r\nConnection: close\r\n\r\n";
    }
    auto body = render_();
    if (!body)
        return status_line("503 Service Unavailable", "text/plain", body.error().message + "\n");
    return status_line("200 OK", "text/plain; version=0.0.4", body.value());
}

void MetricsServer::on_client_event(int fd, uint32_t events)
{
    auto it = clients_.find(fd);
    if (it == clients_.end())
        return;
    Client& client = it->second;
    bool close_now = (events & EPOLLERR) != 0;
    if (!client.replying && (events & (EPOLLIN | EPOLLHUP))) {
        std::array<char, 2048> buffer{};
        ssize_t n = -1;
        // no further than the limit: a client sending without end must not keep the loop here
        while (client.request.size() <= kMaxRequestBytes &&
               (n = ::recv(fd, buffer.data(), buffer.size(), 0)) > 0)
            client.request.append(buffer.data(), static_cast<size_t>(n));
        // a client that closed before its request was complete gets the 400 too
        if (classify_metrics_request(client.request) != MetricsRequest::incomplete || n == 0) {
            client.reply = reply_for(client.request);
            client.replying = true;
            (void)loop_.modify(fd, EPOLLOUT);
        } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            close_now = true;
        }
    }
    if (client.replying && !close_now) {
        ssize_t sent = ::send(fd, client.reply.data(), client.reply.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (sent > 0)
            client.reply.erase(0, static_cast<size_t>(sent));
        else if (sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            close_now = true;
        if (client.reply.empty())
            close_now = true;
    }
    if (close_now)
        drop(fd);
}

}  // namespace libra
