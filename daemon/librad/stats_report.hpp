// Turns a counter snapshot into the figures librad serves: the JSON object of
// `libractl stats --json` and the Prometheus text exposition. Both come from
// the same StatsView so they always agree.
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

    // The counter's value if this build names it and the module provides it.
    std::optional<uint64_t> value(std::string_view name) const;
    std::optional<uint64_t> value(const StatDescriptor& descriptor) const;
    const StatSnapshot& snapshot() const { return snapshot_; }

private:
    StatSnapshot snapshot_;
};

nlohmann::json build_stats_json(const StatsView& stats, const ModuleVersion& module,
                                const std::vector<libra_optin>& optins);

std::string build_prometheus_text(const StatsView& stats, const ModuleVersion& module);

}  // namespace libra
