#include "librad/optin_json.hpp"

namespace libra {

nlohmann::json optin_to_json(const libra_optin& entry)
{
    nlohmann::json out = nlohmann::json::object();
    if (entry.flags & LIBRA_OPTIN_F_CGROUP) {
        out["cgroup_id"] = entry.cgroup_id;
    } else {
        out["pid"] = entry.pid;
        out["descendants"] = (entry.flags & LIBRA_OPTIN_F_DESCENDANTS) != 0;
    }
    auto ports = nlohmann::json::array();
    for (unsigned i = 0; i < entry.nr_ports && i < LIBRA_OPTIN_MAX_PORTS; ++i)
        ports.push_back(entry.ports[i]);
    out["ports"] = ports;
    out["min_body"] = entry.min_body ? entry.min_body : LIBRA_MIN_BODY_DEFAULT;
    out["anchor_limit"] = entry.anchor_limit ? nlohmann::json(entry.anchor_limit) : nlohmann::json(nullptr);
    return out;
}

}  // namespace libra
