#include "librad/control_server.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "librad/control_socket.hpp"
#include "librad/logging.hpp"

namespace libra {

Result<std::unique_ptr<ControlServer>> ControlServer::listen(const ControlSocketSettings& settings,
                                                             EventLoop& loop, RequestHandler& handler)
{
    auto listener = create_control_socket(settings);
    if (!listener)
        return listener.error();
    int fd = listener->get();
    std::unique_ptr<ControlServer> server(
        new ControlServer(loop, handler, settings.path, std::move(listener.value())));
    if (auto added = loop.add(fd, EPOLLIN, [raw = server.get()](uint32_t) { raw->on_accept(); }); !added)
        return added.error();
    return server;
}

ControlServer::ControlServer(EventLoop& loop, RequestHandler& handler, std::string path, UniqueFd listener)
    : loop_(loop), handler_(handler), path_(std::move(path)), listener_(std::move(listener))
{
}

ControlServer::~ControlServer()
{
    for (auto& [fd, client] : clients_)
        loop_.remove(fd);
    if (listener_) {
        loop_.remove(listener_.get());
        ::unlink(path_.c_str());
    }
}

void ControlServer::on_accept()
{
    for (;;) {
        UniqueFd client(::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
        if (!client) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
                logger("control")->warn("accept on {}: {}", path_, std::strerror(errno));
            return;
        }
        if (clients_.size() >= kMaxClients) {
            auto busy = protocol::error_line({ErrorCode::io_error, "librad is serving too many clients; retry"});
            (void)::send(client.get(), busy.data(), busy.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
            continue;  // closed by UniqueFd
        }
        if (auto adopted = adopt(std::move(client)); !adopted)
            logger("control")->warn("cannot serve client: {}", adopted.error().message);
    }
}

Result<void> ControlServer::adopt(UniqueFd client)
{
    int fd = client.get();
    if (auto added = loop_.add(fd, EPOLLIN | EPOLLRDHUP,
                               [this, fd](uint32_t events) { on_client_event(fd, events); });
        !added)
        return added.error();
    clients_[fd].fd = std::move(client);
    return {};
}

void ControlServer::on_client_event(int fd, uint32_t events)
{
    auto it = clients_.find(fd);
    if (it == clients_.end())
        return;
    Client& client = it->second;
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        read_from(client);
    if (!client.output.empty())
        flush(client);
    process_lines(client);  // lines held back while the reply backlog was full
    bool done = client.output.empty() && (client.close_after_flush || client.peer_closed);
    if (done || (events & EPOLLERR)) {
        close_client(fd);
        return;
    }
    update_interest(client);
}

void ControlServer::read_from(Client& client)
{
    std::array<char, 4096> buffer{};
    while (!client.close_after_flush && client.output.size() < kMaxPendingReply) {
        ssize_t n = ::recv(client.fd.get(), buffer.data(), buffer.size(), 0);
        if (n > 0) {
            client.input.append({buffer.data(), static_cast<size_t>(n)});
            process_lines(client);
            continue;
        }
        if (n == 0)
            client.peer_closed = true;
        else if (errno == EINTR)
            continue;
        else if (errno != EAGAIN && errno != EWOULDBLOCK)
            client.peer_closed = true;
        return;
    }
}

void ControlServer::process_lines(Client& client)
{
    while (!client.close_after_flush && client.output.size() < kMaxPendingReply) {
        auto line = client.input.next_line();
        if (!line) {
            if (client.input.overflowed()) {
                // The stream cannot be resynchronised: say why, then close.
                client.output += protocol::error_line(
                    {ErrorCode::request_too_large, "request exceeds " +
                                                       std::to_string(protocol::kMaxRequestBytes) +
                                                       " bytes; closing connection"});
                client.close_after_flush = true;
            }
            return;
        }
        // Credentials are re-read and re-evaluated for every request.
        auto peer = read_peer_credentials(client.fd.get());
        if (!peer) {
            client.output += protocol::error_line(peer.error());
            client.close_after_flush = true;
            return;
        }
        client.output += handler_.handle(*line, peer.value());
    }
}

void ControlServer::flush(Client& client)
{
    while (!client.output.empty()) {
        ssize_t n = ::send(client.fd.get(), client.output.data(), client.output.size(),
                           MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            client.output.erase(0, static_cast<size_t>(n));
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        client.output.clear();  // the peer is gone: nothing more to deliver
        client.peer_closed = true;
        return;
    }
}

void ControlServer::update_interest(Client& client)
{
    // After the peer's EOF, EPOLLRDHUP would stay ready forever: drop it.
    uint32_t events = client.peer_closed ? 0u : static_cast<uint32_t>(EPOLLRDHUP);
    if (!client.close_after_flush && !client.peer_closed && client.output.size() < kMaxPendingReply)
        events |= EPOLLIN;
    if (!client.output.empty())
        events |= EPOLLOUT;
    (void)loop_.modify(client.fd.get(), events);
}

void ControlServer::close_client(int fd)
{
    loop_.remove(fd);
    clients_.erase(fd);
}

}  // namespace libra
