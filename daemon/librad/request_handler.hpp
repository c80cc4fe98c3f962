// Executes one request line of the control protocol (daemon/PROTOCOL.md) for
// one peer and returns the reply line. Never throws: anything malformed,
// unknown or not permitted becomes an error reply.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "librad/authorizer.hpp"
#include "librad/module_control.hpp"

namespace libra {

class RequestHandler {
public:
    // @daemon_state describes librad itself (version, pid, parsers) for
    // `status`; it is a callback so the handler does not own the parsers.
    RequestHandler(ModuleControl& module, const Authorizer& authorizer,
                   std::function<nlohmann::json()> daemon_state);

    std::string handle(std::string_view request_line, const PeerCredentials& peer);

private:
    Result<nlohmann::json> dispatch(const nlohmann::json& request, const PeerCredentials& peer);
    Result<nlohmann::json> version();
    Result<nlohmann::json> status();
    Result<nlohmann::json> stats();
    Result<nlohmann::json> sockets(const nlohmann::json& request, const PeerCredentials& peer);
    Result<nlohmann::json> enable(const nlohmann::json& request, const PeerCredentials& peer);
    Result<nlohmann::json> disable(const nlohmann::json& request, const PeerCredentials& peer);

    ModuleControl& module_;
    const Authorizer& authorizer_;
    std::function<nlohmann::json()> daemon_state_;
};

}  // namespace libra
