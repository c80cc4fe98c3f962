#include "libractl/client.hpp"

#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <memory>
#include <optional>

#include "common/protocol.hpp"
#include "common/unix_socket.hpp"

namespace libra {

Result<Client> Client::connect(const std::string& socket_path)
{
    auto fd = connect_unix_stream(socket_path);
    if (!fd) {
        std::string hint;
        if (fd.error().sys_errno == ENOENT || fd.error().sys_errno == ECONNREFUSED)
            hint = " (is librad running? systemctl start libra)";
        else if (fd.error().sys_errno == EACCES)
            hint = " (only root and members of group 'libra' may use libractl)";
        return Error{ErrorCode::daemon_unreachable,
                     "cannot reach librad: " + fd.error().message + hint, fd.error().sys_errno};
    }
    return Client(std::move(fd.value()), socket_path);
}

Result<nlohmann::json> Client::request(const nlohmann::json& request)
{
    auto line = request.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    if (auto sent = send_all(fd_.get(), line); !sent)
        return Error{ErrorCode::daemon_unreachable, "librad at " + path_ + ": " + sent.error().message};
    std::array<char, 65536> buffer{};
    for (;;) {
        auto newline = pending_.find('\n');
        if (newline != std::string::npos) {
            std::string reply = pending_.substr(0, newline);
            pending_.erase(0, newline + 1);
            return protocol::parse_reply(reply);
        }
        if (pending_.size() > protocol::kMaxReplyBytes)
            return Error{ErrorCode::protocol_error, "reply from librad exceeds the protocol limit"};
        ssize_t n = ::recv(fd_.get(), buffer.data(), buffer.size(), 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return Error{ErrorCode::daemon_unreachable, "librad closed the connection without a reply"};
        pending_.append(buffer.data(), static_cast<size_t>(n));
    }
}

Transport socket_transport(const std::string& socket_path)
{
    auto client = std::make_shared<std::optional<Client>>();
    return [client, socket_path](const nlohmann::json& request) -> Result<nlohmann::json> {
        if (!client->has_value()) {
            auto connected = Client::connect(socket_path);
            if (!connected)
                return connected.error();
            client->emplace(std::move(connected.value()));
        }
        return (*client)->request(request);
    };
}

}  // namespace libra
