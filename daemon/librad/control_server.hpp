// The control socket: accepts libractl connections and runs each request
// line through the RequestHandler. Connections may carry many requests
// (`libractl stats --watch`); credentials are evaluated per request.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "common/protocol.hpp"
#include "common/unique_fd.hpp"
#include "librad/event_loop.hpp"
#include "librad/request_handler.hpp"

namespace libra {

struct ControlSocketSettings {
    std::string path;
    std::optional<gid_t> group;  // owner group of directory and socket; root-only if unset
};

class ControlServer {
public:
    // At most this many clients at once; more are told so and closed.
    static constexpr size_t kMaxClients = 128;
    // A client that stops reading its replies is not read from past this.
    static constexpr size_t kMaxPendingReply = 1024 * 1024;

    static Result<std::unique_ptr<ControlServer>> listen(const ControlSocketSettings& settings,
                                                         EventLoop& loop, RequestHandler& handler);
    ~ControlServer();
    ControlServer(const ControlServer&) = delete;
    ControlServer& operator=(const ControlServer&) = delete;

    // Serves an already connected socket (tests use socketpairs).
    Result<void> adopt(UniqueFd client);
    size_t client_count() const { return clients_.size(); }

private:
    struct Client {
        UniqueFd fd;
        protocol::LineBuffer input{protocol::kMaxRequestBytes};
        std::string output;
        bool close_after_flush = false;
        bool peer_closed = false;
    };

    ControlServer(EventLoop& loop, RequestHandler& handler, std::string path, UniqueFd listener);
    void on_accept();
    void on_client_event(int fd, uint32_t events);
    void read_from(Client& client);
    void process_lines(Client& client);
    void flush(Client& client);
    void update_interest(Client& client);
    void close_client(int fd);

    EventLoop& loop_;
    RequestHandler& handler_;
    std::string path_;
    UniqueFd listener_;
    std::map<int, Client> clients_;
};

}  // namespace libra
