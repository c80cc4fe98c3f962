// Turns counter snapshots into the figures librad serves: the JSON object of
// `libractl stats --json` and the Prometheus text exposition. Both come from
// the same StatsReport so they always agree.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "librad/module_control.hpp"
#include "librad/stat_table.hpp"

namespace libra {

class StatsView {
public:
    explicit StatsView(StatSnapshot snapshot) : snapshot_(std::move(snapshot)) {}

    // The counter's value if this build names it and the snapshot holds it
    // (the module knows it and, for one entry's snapshot, keeps it per entry).
    std::optional<uint64_t> value(std::string_view name) const;
    std::optional<uint64_t> value(const StatDescriptor& descriptor) const;
    const StatSnapshot& snapshot() const { return snapshot_; }

private:
    StatSnapshot snapshot_;
};

// One opt-in entry with its own counters. `stats` is empty when the module
// cannot be asked about the entry: a pid entry listed with pid 0 (its process
// is not visible in librad's pid namespace).
struct OptinFigures {
    libra_optin entry{};
    std::optional<StatsView> stats;
};

struct StatsReport {
    ModuleVersion module;
    StatsView totals;
    std::vector<OptinFigures> optins;
};

// Reads the module's version and counters, its opt-in table and then each
// entry's counters. An entry removed between the list and the read of its
// counters (not_found) is left out; any other failure is the result.
Result<StatsReport> read_stats_report(ModuleControl& module);

nlohmann::json build_stats_json(const StatsReport& report);

// Totals as libra_<name>, per-entry figures as libra_optin_<name> labelled
// pid="..." or cgroup_id="..." (only the counters the module keeps per entry).
std::string build_prometheus_text(const StatsReport& report);

}  // namespace libra
