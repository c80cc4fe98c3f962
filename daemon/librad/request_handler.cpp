#include "librad/request_handler.hpp"

#include "common/protocol.hpp"
#include "common/version.hpp"
#include "librad/logging.hpp"
#include "librad/optin_json.hpp"
#include "librad/request_validation.hpp"
#include "librad/socket_json.hpp"
#include "librad/stats_report.hpp"

namespace libra {

RequestHandler::RequestHandler(ModuleControl& module, const Authorizer& authorizer,
                               std::function<nlohmann::json()> daemon_state)
    : module_(module), authorizer_(authorizer), daemon_state_(std::move(daemon_state))
{
}

std::string RequestHandler::handle(std::string_view request_line, const PeerCredentials& peer)
{
    auto request = nlohmann::json::parse(request_line, nullptr, /*allow_exceptions=*/false);
    if (request.is_discarded())
        return protocol::error_line({ErrorCode::invalid_request, "request is not valid JSON"});
    if (!request.is_object())
        return protocol::error_line({ErrorCode::invalid_request, "request must be a JSON object"});
    Result<nlohmann::json> result = Error{ErrorCode::module_error, "internal error"};
    try {
        result = dispatch(request, peer);
    } catch (const std::exception& e) {
        // json accessors only throw on types validated above; this is the
        // last guard that keeps one bad request from ending librad.
        logger("control")->error("request from pid {} failed: {}", peer.pid, e.what());
        result = Error{ErrorCode::invalid_request, std::string("request rejected: ") + e.what()};
    }
    if (!result) {
        logger("control")->debug("pid {} uid {}: {}: {}", peer.pid, peer.uid,
                                 to_string(result.error().code), result.error().message);
        return protocol::error_line(result.error());
    }
    return protocol::success_line(result.value());
}

Result<nlohmann::json> RequestHandler::dispatch(const nlohmann::json& request, const PeerCredentials& peer)
{
    auto command_field = request.find("command");
    if (command_field == request.end() || !command_field->is_string())
        return Error{ErrorCode::invalid_request, "request needs a string field 'command'"};
    const auto command = command_field->get<std::string>();

    if (command == "enable")
        return enable(request, peer);
    if (command == "disable")
        return disable(request, peer);
    if (command == "sockets")
        return sockets(request, peer);

    bool known = command == "version" || command == "status" || command == "stats";
    if (!known)
        return Error{ErrorCode::unknown_command, "unknown command '" + command.substr(0, 64) +
                                                     "' (known: version, status, stats, sockets, enable, disable)"};
    if (auto fields = only_fields(request, {"command"}); !fields)
        return fields.error();
    if (auto allowed = authorizer_.may_read(peer); !allowed)
        return allowed.error();
    if (command == "version")
        return version();
    if (command == "status")
        return status();
    return stats();
}

Result<nlohmann::json> RequestHandler::version()
{
    auto module = module_.version();
    if (!module)
        return module.error();
    return nlohmann::json{{"daemon_version", kProjectVersion},
                          {"protocol", protocol::kVersion},
                          {"module_version", module->module_version},
                          {"abi_version", module->abi_version},
                          {"module_stat_count", module->stat_count}};
}

Result<nlohmann::json> RequestHandler::status()
{
    auto module = module_.version();
    if (!module)
        return module.error();
    auto optins = module_.list_optins();
    if (!optins)
        return optins.error();
    auto entries = nlohmann::json::array();
    for (const auto& entry : optins.value())
        entries.push_back(optin_to_json(entry));
    return nlohmann::json{{"daemon", daemon_state_()},
                          {"module", {{"version", module->module_version},
                                      {"abi_version", module->abi_version},
                                      {"stat_count", module->stat_count}}},
                          {"optins", entries}};
}

Result<nlohmann::json> RequestHandler::stats()
{
    auto report = read_stats_report(module_);
    if (!report)
        return report.error();
    return build_stats_json(report.value());
}

Result<nlohmann::json> RequestHandler::sockets(const nlohmann::json& request, const PeerCredentials& peer)
{
    if (auto fields = only_fields(request, {"command", "pid"}); !fields)
        return fields.error();
    auto pid = optional_uint(request, "pid", 1, INT32_MAX);
    if (!pid)
        return pid.error();
    if (auto allowed = authorizer_.may_read(peer); !allowed)
        return allowed.error();
    auto tgid = pid->has_value() ? std::optional<int32_t>(static_cast<int32_t>(**pid)) : std::nullopt;
    auto list = module_.list_sockets(tgid.value_or(0), kMaxSocketsListed);
    if (!list)
        return list.error();
    return build_sockets_json(list.value(), tgid);
}

Result<nlohmann::json> RequestHandler::enable(const nlohmann::json& request, const PeerCredentials& peer)
{
    if (auto fields = only_fields(request, {"command", "pid", "cgroup_id", "descendants", "ports", "min_body",
                                            "anchor_limit"});
        !fields)
        return fields.error();
    auto entry = parse_optin_target(request);
    if (!entry)
        return entry.error();
    bool is_cgroup = entry->flags & LIBRA_OPTIN_F_CGROUP;
    auto descendants = optional_bool(request, "descendants");
    if (!descendants)
        return descendants.error();
    if (is_cgroup && descendants->has_value())
        return Error{ErrorCode::invalid_request, "'descendants' applies to pid opt-in only"};
    if (!is_cgroup && descendants->value_or(true))
        entry->flags |= LIBRA_OPTIN_F_DESCENDANTS;
    auto min_body = optional_uint(request, "min_body", 0, UINT32_MAX);
    if (!min_body)
        return min_body.error();
    entry->min_body = static_cast<uint32_t>(min_body->value_or(0));
    // Absent: only the global limit applies (0 in the module); an explicit 0
    // would read as "anchor nothing", which is not what the module does with it.
    auto anchor_limit = optional_uint(request, "anchor_limit", 1, UINT64_MAX);
    if (!anchor_limit)
        return anchor_limit.error();
    entry->anchor_limit = anchor_limit->value_or(0);
    if (auto ports = parse_ports(request, entry.value()); !ports)
        return ports.error();

    auto allowed = is_cgroup ? authorizer_.may_control_cgroup(peer)
                             : authorizer_.may_control_pid(peer, entry->pid);
    if (!allowed)
        return allowed.error();
    if (auto added = module_.add_optin(entry.value()); !added)
        return added.error();
    logger("control")->info("opt-in added by uid {} (pid {}): {}", peer.uid, peer.pid,
                            optin_to_json(entry.value()).dump());
    return nlohmann::json{{"enabled", optin_to_json(entry.value())}};
}

Result<nlohmann::json> RequestHandler::disable(const nlohmann::json& request, const PeerCredentials& peer)
{
    if (auto fields = only_fields(request, {"command", "pid", "cgroup_id"}); !fields)
        return fields.error();
    auto entry = parse_optin_target(request);
    if (!entry)
        return entry.error();
    bool is_cgroup = entry->flags & LIBRA_OPTIN_F_CGROUP;
    auto allowed = is_cgroup ? authorizer_.may_control_cgroup(peer)
                             : authorizer_.may_control_pid(peer, entry->pid);
    if (!allowed)
        return allowed.error();
    if (auto removed = module_.remove_optin(entry.value()); !removed)
        return removed.error();
    auto target = is_cgroup ? nlohmann::json{{"cgroup_id", entry->cgroup_id}}
                            : nlohmann::json{{"pid", entry->pid}};
    logger("control")->info("opt-in removed by uid {} (pid {}): {}", peer.uid, peer.pid, target.dump());
    return nlohmann::json{{"disabled", target}};
}

}  // namespace libra
