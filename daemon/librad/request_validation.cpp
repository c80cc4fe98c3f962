#include "librad/request_validation.hpp"

#include <algorithm>
#include <string>

namespace libra {

namespace {
Error invalid(std::string message)
{
    return Error{ErrorCode::invalid_request, std::move(message)};
}
}  // namespace

Result<void> only_fields(const nlohmann::json& request, std::initializer_list<std::string_view> allowed)
{
    for (const auto& [key, value] : request.items())
        if (std::find(allowed.begin(), allowed.end(), key) == allowed.end())
            return invalid("unknown field '" + key + "' for this command");
    return {};
}

Result<std::optional<uint64_t>> optional_uint(const nlohmann::json& request, const char* field,
                                              uint64_t min, uint64_t max)
{
    auto it = request.find(field);
    if (it == request.end())
        return std::optional<uint64_t>{};
    if (!it->is_number_unsigned() && !(it->is_number_integer() && it->get<int64_t>() >= 0))
        return invalid(std::string("'") + field + "' must be a non-negative integer");
    auto value = it->get<uint64_t>();
    if (value < min || value > max)
        return invalid(std::string("'") + field + "' must be between " + std::to_string(min) +
                       " and " + std::to_string(max));
    return std::optional<uint64_t>{value};
}

Result<std::optional<bool>> optional_bool(const nlohmann::json& request, const char* field)
{
    auto it = request.find(field);
    if (it == request.end())
        return std::optional<bool>{};
    if (!it->is_boolean())
        return invalid(std::string("'") + field + "' must be true or false");
    return std::optional<bool>{it->get<bool>()};
}

Result<libra_optin> parse_optin_target(const nlohmann::json& request)
{
    auto pid = optional_uint(request, "pid", 1, INT32_MAX);
    if (!pid)
        return pid.error();
    auto cgroup = optional_uint(request, "cgroup_id", 1, UINT64_MAX);
    if (!cgroup)
        return cgroup.error();
    if (pid->has_value() == cgroup->has_value())
        return invalid("give exactly one of 'pid' and 'cgroup_id'");
    libra_optin entry{};
    if (pid->has_value()) {
        entry.pid = static_cast<int32_t>(**pid);
    } else {
        entry.flags = LIBRA_OPTIN_F_CGROUP;
        entry.cgroup_id = **cgroup;
    }
    return entry;
}

Result<void> parse_ports(const nlohmann::json& request, libra_optin& entry)
{
    auto it = request.find("ports");
    if (it == request.end())
        return {};
    if (!it->is_array())
        return invalid("'ports' must be an array of port numbers");
    if (it->size() > LIBRA_OPTIN_MAX_PORTS)
        return invalid("at most " + std::to_string(LIBRA_OPTIN_MAX_PORTS) + " ports");
    for (const auto& port : *it) {
        if (!port.is_number_integer() || port.get<int64_t>() < 1 || port.get<int64_t>() > 65535)
            return invalid("ports must be integers from 1 to 65535");
        auto value = static_cast<uint16_t>(port.get<int64_t>());
        if (std::find(entry.ports, entry.ports + entry.nr_ports, value) != entry.ports + entry.nr_ports)
            return invalid("port " + std::to_string(value) + " is listed twice");
        entry.ports[entry.nr_ports++] = value;
    }
    return {};
}

}  // namespace libra
