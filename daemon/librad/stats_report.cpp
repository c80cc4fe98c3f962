#include "librad/stats_report.hpp"

#include <fmt/format.h>

#include "librad/logging.hpp"
#include "librad/optin_json.hpp"

namespace libra {

std::optional<uint64_t> StatsView::value(const StatDescriptor& descriptor) const
{
    // A module older than this build knows fewer counters: those are absent,
    // not zero. So are the ones an entry's snapshot does not keep.
    if (descriptor.index >= snapshot_.known || descriptor.index >= snapshot_.values.size())
        return std::nullopt;
    if (snapshot_.counted && (descriptor.index >= 64 || !((*snapshot_.counted >> descriptor.index) & 1)))
        return std::nullopt;
    return snapshot_.values[descriptor.index];
}

std::optional<uint64_t> StatsView::value(std::string_view name) const
{
    const StatDescriptor* descriptor = find_stat(name);
    return descriptor ? value(*descriptor) : std::nullopt;
}

Result<StatsReport> read_stats_report(ModuleControl& module)
{
    auto version = module.version();
    if (!version)
        return version.error();
    auto totals = module.read_stats();
    if (!totals)
        return totals.error();
    auto optins = module.list_optins();
    if (!optins)
        return optins.error();
    StatsReport report{std::move(version.value()), StatsView(std::move(totals.value())), {}};
    for (const auto& entry : optins.value()) {
        bool is_cgroup = entry.flags & LIBRA_OPTIN_F_CGROUP;
        if (!is_cgroup && entry.pid <= 0) {
            report.optins.push_back({entry, std::nullopt});
            continue;
        }
        auto stats = module.optin_stats(entry);
        if (!stats && stats.error().code == ErrorCode::not_found) {
            // Disabled (or its process gone) since the list was read.
            logger("module")->debug("opt-in entry {} went away while reading its counters",
                                    optin_to_json(entry).dump());
            continue;
        }
        if (!stats)
            return stats.error();
        report.optins.push_back({entry, StatsView(std::move(stats.value()))});
    }
    return report;
}

namespace {

// The reported counters of one scope (everything, or one opt-in entry); a
// figure the scope does not have is null and listed under "unavailable".
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
    auto counters = nlohmann::json::object();
    if (stats) {
        for (const auto& descriptor : kStatTable) {
            auto value = stats->value(descriptor);
            if (!value)
                continue;
            counters[std::string(descriptor.name)] = *value;
            if (!descriptor.fallback_reason.empty())
                fallbacks[std::string(descriptor.fallback_reason)] = *value;
        }
    }
    if (fallbacks.empty()) {
        out["fallbacks"] = nullptr;
        unavailable.push_back("fallbacks");
    } else {
        out["fallbacks"] = fallbacks;
    }
    out["unavailable"] = unavailable;
    // Everything else the scope has, by this build's names.
    out["module_counters"] = counters;
}

}  // namespace

nlohmann::json build_stats_json(const StatsReport& report)
{
    nlohmann::json out = nlohmann::json::object();
    out["module_version"] = report.module.module_version;
    out["abi_version"] = report.module.abi_version;
    add_reported_counters(out, &report.totals);

    // Counters of a module newer than this build: reported by index, not named.
    auto unnamed = nlohmann::json::object();
    const auto& snapshot = report.totals.snapshot();
    for (size_t i = kStatTable.size(); i < snapshot.values.size() && i < snapshot.known; ++i)
        unnamed[std::to_string(i)] = snapshot.values[i];
    out["unnamed_counters"] = unnamed;

    auto processes = nlohmann::json::array();
    auto cgroups = nlohmann::json::array();
    for (const auto& figures : report.optins) {
        nlohmann::json scope = optin_to_json(figures.entry);
        add_reported_counters(scope, figures.stats ? &*figures.stats : nullptr);
        (figures.entry.flags & LIBRA_OPTIN_F_CGROUP ? cgroups : processes).push_back(std::move(scope));
    }
    out["processes"] = processes;
    out["cgroups"] = cgroups;
    return out;
}

namespace {

// One set of series: its labels (without braces; empty for the totals) and
// the counters it reads from.
struct Series {
    std::string labels;
    const StatsView* stats;
};

std::string braced(std::string_view labels, std::string_view extra = {})
{
    if (labels.empty() && extra.empty())
        return {};
    return fmt::format("{{{}{}{}}}", labels, !labels.empty() && !extra.empty() ? "," : "", extra);
}

// Every counter of kStatTable that at least one series has, as one metric
// family each (libra_<prefix><name>), fallback reasons as one family labelled
// by reason. Families never repeat, as the text format requires.
void append_families(std::string& text, std::string_view prefix, std::string_view help_prefix,
                     const std::vector<Series>& series)
{
    bool fallback_header = false;
    for (const auto& descriptor : kStatTable) {
        bool fallback = !descriptor.fallback_reason.empty();
        std::string samples;
        for (const auto& one : series) {
            auto value = one.stats->value(descriptor);
            if (!value)
                continue;
            if (fallback)
                samples += fmt::format("libra_{}fallbacks_total{} {}\n", prefix,
                                       braced(one.labels, fmt::format("reason=\"{}\"", descriptor.fallback_reason)),
                                       *value);
            else
                samples += fmt::format("libra_{}{}{}{} {}\n", prefix, descriptor.name,
                                       descriptor.kind == StatKind::counter ? "_total" : "", braced(one.labels),
                                       *value);
        }
        if (samples.empty())
            continue;
        if (fallback && !fallback_header) {
            text += fmt::format("# HELP libra_{0}fallbacks_total {1}Messages copied normally instead of "
                                "anchored, by reason.\n# TYPE libra_{0}fallbacks_total counter\n",
                                prefix, help_prefix);
            fallback_header = true;
        } else if (!fallback) {
            bool counter = descriptor.kind == StatKind::counter;
            std::string metric = fmt::format("libra_{}{}{}", prefix, descriptor.name, counter ? "_total" : "");
            text += fmt::format("# HELP {} {}{}\n# TYPE {} {}\n", metric, help_prefix, descriptor.help, metric,
                                counter ? "counter" : "gauge");
        }
        text += samples;
    }
}

}  // namespace

std::string build_prometheus_text(const StatsReport& report)
{
    std::string text;
    text += "# HELP libra_module_info The running libra kernel module.\n"
            "# TYPE libra_module_info gauge\n";
    text += fmt::format("libra_module_info{{version=\"{}\",abi=\"{}\"}} 1\n", report.module.module_version,
                        report.module.abi_version);
    append_families(text, "", "", {{"", &report.totals}});
    std::vector<Series> entries;
    for (const auto& figures : report.optins) {
        if (!figures.stats)
            continue;
        entries.push_back({figures.entry.flags & LIBRA_OPTIN_F_CGROUP
                               ? fmt::format("cgroup_id=\"{}\"", figures.entry.cgroup_id)
                               : fmt::format("pid=\"{}\"", figures.entry.pid),
                           &*figures.stats});
    }
    append_families(text, "optin_", "Per opt-in entry (since it was added): ", entries);
    return text;
}

}  // namespace libra
