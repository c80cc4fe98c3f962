#include "libractl/render.hpp"

#include <fmt/format.h>

#include "common/version.hpp"

namespace libra {

namespace {
// Values come from librad; render defensively so a surprising reply prints
// something instead of throwing.
std::string text(const nlohmann::json& value)
{
    if (value.is_string())
        return value.get<std::string>();
    if (value.is_null())
        return "-";
    return value.dump();
}

std::string field(const nlohmann::json& object, const char* key)
{
    return object.is_object() && object.contains(key) ? text(object[key]) : "-";
}
}  // namespace

std::string describe_optin(const nlohmann::json& entry)
{
    std::string line;
    if (entry.contains("cgroup_id"))
        line = "cgroup " + field(entry, "cgroup_id");
    else
        line = "pid " + field(entry, "pid") +
               (entry.value("descendants", false) ? " (and descendants)" : " (this process only)");
    auto ports = entry.value("ports", nlohmann::json::array());
    std::string port_list;
    for (const auto& port : ports)
        port_list += (port_list.empty() ? "" : ",") + text(port);
    line += " ports " + (port_list.empty() ? std::string("all") : port_list);
    line += " min-body " + field(entry, "min_body");
    return line;
}

void render_enable(const nlohmann::json& result, std::ostream& out)
{
    out << "enabled: " << describe_optin(result.value("enabled", nlohmann::json::object())) << "\n";
}

void render_disable(const nlohmann::json& result, std::ostream& out)
{
    auto target = result.value("disabled", nlohmann::json::object());
    out << "disabled: "
        << (target.contains("cgroup_id") ? "cgroup " + field(target, "cgroup_id") : "pid " + field(target, "pid"))
        << "\n";
}

void render_status(const nlohmann::json& result, std::ostream& out)
{
    auto daemon = result.value("daemon", nlohmann::json::object());
    auto module = result.value("module", nlohmann::json::object());
    out << "librad " << field(daemon, "version") << " (pid " << field(daemon, "pid") << ") on "
        << field(daemon, "socket") << "\n";
    out << "module " << field(module, "version") << " (ABI " << field(module, "abi_version") << ")\n";
    auto parsers = daemon.value("parsers", nlohmann::json::array());
    out << "parsers:" << (parsers.empty() ? " none" : "") << "\n";
    for (const auto& parser : parsers) {
        out << "  " << field(parser, "path") << ": "
            << (parser.value("attached", false) ? "attached" : "loaded, not attached");
        if (parser.contains("note"))
            out << " (" << field(parser, "note") << ")";
        out << "\n";
    }
    auto optins = result.value("optins", nlohmann::json::array());
    out << "opted in:" << (optins.empty() ? " nothing" : "") << "\n";
    for (const auto& entry : optins)
        out << "  " << describe_optin(entry) << "\n";
}

void render_stats(const nlohmann::json& result, std::ostream& out)
{
    out << fmt::format("libra module {} (ABI {})\n", field(result, "module_version"),
                       field(result, "abi_version"));
    auto row = [&](const std::string& name, const nlohmann::json& value) {
        out << fmt::format("  {:<26} {:>20}\n", name,
                           value.is_null() ? std::string("unavailable") : text(value));
    };
    for (const char* key : {"sockets_tracked", "messages_parsed", "bytes_metadata_copied", "bytes_anchored",
                            "bytes_zero_copy_sent", "bytes_fallback_copied", "anchored_bytes_now",
                            "anchored_bytes_peak", "anchored_bytes_limit", "parser_errors"})
        row(key, result.value(key, nlohmann::json()));
    auto fallbacks = result.value("fallbacks", nlohmann::json());
    if (fallbacks.is_object()) {
        out << "  fallbacks:\n";
        for (const auto& [reason, count] : fallbacks.items())
            row("  " + reason, count);
    } else {
        row("fallbacks", nullptr);
    }
    auto counters = result.value("module_counters", nlohmann::json::object());
    if (!counters.empty()) {
        out << "module counters:\n";
        for (const auto& [name, value] : counters.items())
            row(name, value);
    }
    auto processes = result.value("processes", nlohmann::json::array());
    auto cgroups = result.value("cgroups", nlohmann::json::array());
    if (!processes.empty() || !cgroups.empty()) {
        out << "opted in:\n";
        for (const auto& entry : processes)
            out << "  " << describe_optin(entry) << "\n";
        for (const auto& entry : cgroups)
            out << "  " << describe_optin(entry) << "\n";
    }
    auto unavailable = result.value("unavailable", nlohmann::json::array());
    if (!unavailable.empty())
        out << "unavailable: not provided by this module version (" << unavailable.size() << " figures)\n";
}

void render_version(const nlohmann::json& result, std::ostream& out)
{
    out << "libractl " << kProjectVersion << "\n"
        << "librad " << field(result, "daemon_version") << " (protocol " << field(result, "protocol") << ")\n"
        << "module " << field(result, "module_version") << " (ABI " << field(result, "abi_version") << ")\n";
}

}  // namespace libra
