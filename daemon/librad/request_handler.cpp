#include "librad/request_handler.hpp"

#include "common/protocol.hpp"
#include "common/version.hpp"
#include "librad/logging.hpp"
#include "librad/optin_json.hpp"
#include "librad/process_info.hpp"
#include "librad/request_validation.hpp"
#include "librad/socket_json.hpp"
#include "librad/stats_report.hpp"

namespace libra {

namespace {
// disable of a pid the module has no entry for (@module_error says so, if
// the module was asked). An exited process's entry expires with it
// (module/optin.c): say so when it has exited.
Error pid_not_opted_in(int32_t pid, const Error* module_error)
{
    std::string message = "pid " + std::to_string(pid) + " is not opted in";
    if (!process_exists(pid))
        message += ": no process " + std::to_string(pid) +
                   " is running, and an opt-in entry goes away by itself when its process exits";
    if (module_error)
        message += " (" + module_error->message + ")";
    return Error{ErrorCode::not_found, message, module_error ? module_error->sys_errno : 0};
}
}  // namespace

RequestHandler::RequestHandler(ModuleControl& module, const Authorizer& authorizer,
                               std::function<nlohmann::json()> daemon_state, const ProcessTree& processes)
    : module_(module), authorizer_(authorizer), daemon_state_(std::move(daemon_state)), processes_(processes)
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

    bool known = command == "version" || command == "status" || command == "stats" || command == "procs";
    if (!known)
        return Error{ErrorCode::unknown_command,
                     "unknown command '" + command.substr(0, 64) +
                         "' (known: version, status, stats, sockets, procs, enable, disable)"};
    if (auto fields = only_fields(request, {"command"}); !fields)
        return fields.error();
    if (auto allowed = authorizer_.may_read(peer); !allowed)
        return allowed.error();
    if (command == "version")
        return version();
    if (command == "status")
        return status();
    if (command == "procs")
        return procs();
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
    auto report = read_stats_report(module_);
    if (!report)
        return report.error();
    // Without the module's process list (a module older than
    // LIBRA_IOC_LIST_PROCS) the diagnosis rests on the counters alone.
    std::optional<ProcessList> processes;
    if (auto listed = module_.list_procs(kMaxProcessesListed))
        processes = std::move(listed.value());
    else if (listed.error().code != ErrorCode::unsupported)
        logger("module")->warn("status without the process list: {}", listed.error().message);
    const auto& module = report->module;
    return nlohmann::json{{"daemon", daemon_state_()},
                          {"module", {{"version", module.module_version},
                                      {"abi_version", module.abi_version},
                                      {"stat_count", module.stat_count}}},
                          {"optins", diagnose_entries(report.value(), processes, processes_, history_)}};
}

Result<nlohmann::json> RequestHandler::procs()
{
    auto listed = module_.list_procs(kMaxProcessesListed);
    if (!listed)
        return listed.error();
    auto optins = module_.list_optins();
    if (!optins)
        return optins.error();
    return build_procs_json(listed.value(), optins.value(), processes_);
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
    LogSubject subject(is_cgroup ? 0 : entry->pid);
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
    if (!allowed) {
        // A member cannot show that a process that exited was theirs; but
        // the module removed its entry (if it had one) by itself.
        if (!is_cgroup && allowed.error().code == ErrorCode::no_such_process && !process_exists(entry->pid))
            return pid_not_opted_in(entry->pid, nullptr);
        return allowed.error();
    }
    if (auto removed = module_.remove_optin(entry.value()); !removed) {
        if (!is_cgroup && removed.error().code == ErrorCode::not_found)
            return pid_not_opted_in(entry->pid, &removed.error());
        return removed.error();
    }
    auto target = is_cgroup ? nlohmann::json{{"cgroup_id", entry->cgroup_id}}
                            : nlohmann::json{{"pid", entry->pid}};
    LogSubject subject(is_cgroup ? 0 : entry->pid);
    logger("control")->info("opt-in removed by uid {} (pid {}): {}", peer.uid, peer.pid, target.dump());
    return nlohmann::json{{"disabled", target}};
}

}  // namespace libra
