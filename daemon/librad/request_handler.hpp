// Executes one request line of the control protocol (daemon/PROTOCOL.md) for
// one peer and returns the reply line. Never throws: anything malformed,
// unknown or not permitted becomes an error reply.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "librad/acceleration.hpp"
#include "librad/authorizer.hpp"
#include "librad/module_control.hpp"
#include "librad/process_info.hpp"

namespace libra {

class RequestHandler {
public:
    // @daemon_state describes librad itself (version, pid, parsers) for
    // `status`; it is a callback so the handler does not own the parsers.
    // @processes tells which opt-in entries select a process (tests pass
    // their own).
    RequestHandler(ModuleControl& module, const Authorizer& authorizer,
                   std::function<nlohmann::json()> daemon_state,
                   const ProcessTree& processes = system_process_tree());

    std::string handle(std::string_view request_line, const PeerCredentials& peer);

private:
    Result<nlohmann::json> dispatch(const nlohmann::json& request, const PeerCredentials& peer);
    Result<nlohmann::json> version();
    Result<nlohmann::json> status();
    Result<nlohmann::json> stats();
    Result<nlohmann::json> sockets(const nlohmann::json& request, const PeerCredentials& peer);
    Result<nlohmann::json> procs();
    Result<nlohmann::json> enable(const nlohmann::json& request, const PeerCredentials& peer);
    Result<nlohmann::json> disable(const nlohmann::json& request, const PeerCredentials& peer);

    ModuleControl& module_;
    const Authorizer& authorizer_;
    std::function<nlohmann::json()> daemon_state_;
    const ProcessTree& processes_;
    // Each entry's counters at the previous `status`: whether a reason grows.
    CounterHistory history_;
};

}  // namespace libra
