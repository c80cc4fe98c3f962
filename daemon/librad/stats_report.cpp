#include "librad/stats_report.hpp"

#include <fmt/format.h>

#include "librad/optin_json.hpp"

namespace libra {

std::optional<uint64_t> StatsView::value(const StatDescriptor& descriptor) const
{
    // A module older than this build knows fewer counters: those are absent,
    // not zero.
    if (descriptor.index >= snapshot_.known || descriptor.index >= snapshot_.values.size())
        return std::nullopt;
    return snapshot_.values[descriptor.index];
}

std::optional<uint64_t> StatsView::value(std::string_view name) const
{
    const StatDescriptor* descriptor = find_stat(name);
    return descriptor ? value(*descriptor) : std::nullopt;
}

namespace {

// The reported counters for one scope; per-process values need a per-opt-in
// counter ioctl the module does not have yet, so @stats is null there.
void add_reported_counters(nlohmann::json& out, const StatsView* stats)
{
    auto unavailable = nlohmann::json::array();
    for (auto key : kReportedCounters) {
        auto value = stats ? stats->value(key) : std::nullopt;
        if (value) {
            out[std::string(key)] = *value;
        } else {
            out[std::string(key)] = nullptr;
            unavailable.push_back(key);
        }
    }
    auto fallbacks = nlohmann::json::object();
    if (stats)
        for (const auto& descriptor : kStatTable)
            if (!descriptor.fallback_reason.empty())
                if (auto value = stats->value(descriptor))
                    fallbacks[std::string(descriptor.fallback_reason)] = *value;
    if (fallbacks.empty()) {
        out["fallbacks"] = nullptr;
        unavailable.push_back("fallbacks");
    } else {
        out["fallbacks"] = fallbacks;
    }
    out["unavailable"] = unavailable;
}

}  // namespace

nlohmann::json build_stats_json(const StatsView& stats, const ModuleVersion& module,
                                const std::vector<libra_optin>& optins)
{
    nlohmann::json out = nlohmann::json::object();
    out["module_version"] = module.module_version;
    out["abi_version"] = module.abi_version;
    add_reported_counters(out, &stats);

    // Everything else the module provides, by this build's names.
    auto counters = nlohmann::json::object();
    for (const auto& descriptor : kStatTable)
        if (auto value = stats.value(descriptor))
            counters[std::string(descriptor.name)] = *value;
    out["module_counters"] = counters;
    // Counters of a module newer than this build: reported by index, not named.
    auto unnamed = nlohmann::json::object();
    const auto& values = stats.snapshot().values;
    for (size_t i = kStatTable.size(); i < values.size() && i < stats.snapshot().known; ++i)
        unnamed[std::to_string(i)] = values[i];
    out["unnamed_counters"] = unnamed;

    auto processes = nlohmann::json::array();
    auto cgroups = nlohmann::json::array();
    for (const auto& entry : optins) {
        nlohmann::json scope = optin_to_json(entry);
        add_reported_counters(scope, nullptr);
        (entry.flags & LIBRA_OPTIN_F_CGROUP ? cgroups : processes).push_back(std::move(scope));
    }
    out["processes"] = processes;
    out["cgroups"] = cgroups;
    return out;
}

std::string build_prometheus_text(const StatsView& stats, const ModuleVersion& module)
{
    std::string text;
    text += "# HELP libra_module_info The running libra kernel module.\n"
            "# TYPE libra_module_info gauge\n";
    text += fmt::format("libra_module_info{{version=\"{}\",abi=\"{}\"}} 1\n",
                        module.module_version, module.abi_version);
    bool fallback_header = false;
    for (const auto& descriptor : kStatTable) {
        auto value = stats.value(descriptor);
        if (!value)
            continue;
        if (!descriptor.fallback_reason.empty()) {
            if (!fallback_header) {
                text += "# HELP libra_fallbacks_total Messages copied normally instead of anchored, by reason.\n"
                        "# TYPE libra_fallbacks_total counter\n";
                fallback_header = true;
            }
            text += fmt::format("libra_fallbacks_total{{reason=\"{}\"}} {}\n",
                                descriptor.fallback_reason, *value);
            continue;
        }
        bool counter = descriptor.kind == StatKind::counter;
        std::string metric = fmt::format("libra_{}{}", descriptor.name, counter ? "_total" : "");
        text += fmt::format("# HELP {} {}\n# TYPE {} {}\n{} {}\n", metric, descriptor.help, metric,
                            counter ? "counter" : "gauge", metric, *value);
    }
    return text;
}

}  // namespace libra
