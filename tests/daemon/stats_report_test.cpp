// Counter naming tolerates a module that knows fewer or more counters than
// this build, and never reports a missing counter as zero; per opt-in entry
// figures are the module's own, null where it does not keep a counter per
// entry, and an entry removed while the report is read is left out.
#include <gtest/gtest.h>

#include <set>
#include <sstream>

#include "in_memory_module_control.hpp"
#include "librad/stats_report.hpp"

namespace libra {
namespace {

using testing::cgroup_entry;
using testing::InMemoryModuleControl;
using testing::pid_entry;

ModuleVersion test_module()
{
    return {LIBRA_ABI_VERSION, __LIBRA_STAT_MAX, "1.2.3"};
}

StatsReport totals_only(StatSnapshot snapshot)
{
    return {test_module(), StatsView(std::move(snapshot)), {}};
}

StatsReport read_report(InMemoryModuleControl& module)
{
    auto report = read_stats_report(module);
    EXPECT_TRUE(report) << report.error().message;
    return report ? std::move(report.value()) : totals_only({});
}

TEST(StatTable, EveryEnumValueHasAUniqueName)
{
    std::set<std::string_view> names;
    for (const auto& descriptor : kStatTable) {
        EXPECT_TRUE(names.insert(descriptor.name).second) << descriptor.name;
        EXPECT_FALSE(descriptor.help.empty()) << descriptor.name;
    }
}

TEST(StatsReport, OlderModuleWithFewerCounters)
{
    auto stats = build_stats_json(totals_only({{5, 6}, 2, std::nullopt}));
    EXPECT_EQ(stats["module_counters"].size(), 2u);
    EXPECT_EQ(stats["module_counters"]["recvmsg_calls"], 5);
    EXPECT_FALSE(stats["module_counters"].contains("optin_entries"));
}

TEST(StatsReport, NewerModuleWithMoreCounters)
{
    auto stats = build_stats_json(
        totals_only({std::vector<uint64_t>(__LIBRA_STAT_MAX + 2, 7), __LIBRA_STAT_MAX + 2, std::nullopt}));
    EXPECT_EQ(stats["module_counters"].size(), static_cast<size_t>(__LIBRA_STAT_MAX));
    EXPECT_EQ(stats["unnamed_counters"].size(), 2u);
    EXPECT_EQ(stats["unnamed_counters"][std::to_string(__LIBRA_STAT_MAX)], 7);
}

TEST(StatsReport, RequiredKeysAlwaysPresentForEverythingAndEachEntry)
{
    InMemoryModuleControl module;
    ASSERT_TRUE(module.add_optin(pid_entry(42)));
    ASSERT_TRUE(module.add_optin(cgroup_entry(99)));
    auto stats = build_stats_json(read_report(module));
    ASSERT_EQ(stats["processes"].size(), 1u);
    ASSERT_EQ(stats["cgroups"].size(), 1u);
    EXPECT_EQ(stats["processes"][0]["pid"], 42);
    EXPECT_EQ(stats["cgroups"][0]["cgroup_id"], 99);
    for (const auto& scope : {stats, stats["processes"][0], stats["cgroups"][0]}) {
        for (auto key : kReportedCounters)
            EXPECT_TRUE(scope.contains(std::string(key))) << key << " in " << scope.dump();
        for (const char* key : {"fallbacks", "unavailable", "module_counters"})
            EXPECT_TRUE(scope.contains(key)) << key << " in " << scope.dump();
        // A value that is null is always listed as unavailable, and vice versa.
        for (const auto& item : scope["unavailable"])
            EXPECT_TRUE(scope[item.get<std::string>()].is_null()) << item;
        for (auto key : kReportedCounters)
            if (scope[std::string(key)].is_null())
                EXPECT_NE(std::find(scope["unavailable"].begin(), scope["unavailable"].end(), key),
                          scope["unavailable"].end())
                    << key;
    }
    EXPECT_TRUE(stats.contains("processes"));
    EXPECT_TRUE(stats.contains("cgroups"));
}

TEST(StatsReport, PerEntryFiguresAreTheEntrysOwn)
{
    InMemoryModuleControl module;
    module.stats.values[LIBRA_STAT_BYTES_ANCHORED] = 3000;
    module.stats.values[LIBRA_STAT_RECVMSG_CALLS] = 77;
    ASSERT_TRUE(module.add_optin(pid_entry(42, 8 << 20)));
    ASSERT_TRUE(module.add_optin(cgroup_entry(99)));
    module.counters_of(pid_entry(42))[LIBRA_STAT_BYTES_ANCHORED] = 1000;
    module.counters_of(pid_entry(42))[LIBRA_STAT_FALLBACK_SMALL_BODY] = 4;
    module.counters_of(cgroup_entry(99))[LIBRA_STAT_BYTES_ANCHORED] = 2000;
    auto stats = build_stats_json(read_report(module));

    EXPECT_EQ(stats["bytes_anchored"], 3000);
    const auto& process = stats["processes"][0];
    EXPECT_EQ(process["bytes_anchored"], 1000);
    EXPECT_EQ(process["fallbacks"]["small_body"], 4);
    EXPECT_EQ(process["anchor_limit"], 8 << 20);
    // The limit in force for the entry: its own, within the global one.
    EXPECT_EQ(process["anchored_bytes_limit"], 8 << 20);
    EXPECT_EQ(stats["anchored_bytes_limit"], testing::kModuleDefaultAnchorLimit);
    EXPECT_TRUE(process["unavailable"].empty()) << process.dump();
    // Kept only system-wide: absent per entry, never 0.
    EXPECT_FALSE(process["module_counters"].contains("recvmsg_calls")) << process.dump();
    EXPECT_EQ(stats["module_counters"]["recvmsg_calls"], 77);

    const auto& cgroup = stats["cgroups"][0];
    EXPECT_EQ(cgroup["bytes_anchored"], 2000);
    EXPECT_TRUE(cgroup["anchor_limit"].is_null());
    EXPECT_EQ(cgroup["anchored_bytes_limit"], testing::kModuleDefaultAnchorLimit);
}

TEST(StatsReport, CounterNotKeptPerEntryIsNullNotZero)
{
    InMemoryModuleControl module;
    ASSERT_TRUE(module.add_optin(pid_entry(42)));
    module.entry_counted &= ~(testing::stat_bit(LIBRA_STAT_SOCKETS_TRACKED) |
                              testing::stat_bit(LIBRA_STAT_PARSER_ERRORS));
    module.counters_of(pid_entry(42))[LIBRA_STAT_SOCKETS_TRACKED] = 5;  // masked: reads 0
    auto stats = build_stats_json(read_report(module));
    const auto& process = stats["processes"][0];
    EXPECT_TRUE(process["sockets_tracked"].is_null()) << process.dump();
    EXPECT_TRUE(process["parser_errors"].is_null());
    EXPECT_EQ(process["unavailable"], nlohmann::json({"sockets_tracked", "parser_errors"}));
    EXPECT_EQ(process["bytes_anchored"], 0);
    EXPECT_EQ(stats["sockets_tracked"], 0);  // system-wide it is kept
    // No fallback counter kept per entry: "fallbacks" itself is null.
    for (const auto& descriptor : kStatTable)
        if (!descriptor.fallback_reason.empty())
            module.entry_counted &= ~testing::stat_bit(descriptor.index);
    auto without_fallbacks = build_stats_json(read_report(module));
    EXPECT_TRUE(without_fallbacks["processes"][0]["fallbacks"].is_null());
}

TEST(StatsReport, EntryOfAProcessNotVisibleHereHasNullFigures)
{
    InMemoryModuleControl module;
    libra_optin invisible = pid_entry(0);
    module.optins.push_back(invisible);  // the module lists such an entry with pid 0
    auto stats = build_stats_json(read_report(module));
    ASSERT_EQ(stats["processes"].size(), 1u);
    EXPECT_TRUE(stats["processes"][0]["bytes_anchored"].is_null());
    EXPECT_EQ(stats["processes"][0]["unavailable"].size(), kReportedCounters.size() + 1);
}

TEST(StatsReport, EntryRemovedBetweenListAndItsCountersIsLeftOut)
{
    InMemoryModuleControl module;
    ASSERT_TRUE(module.add_optin(pid_entry(42)));
    ASSERT_TRUE(module.add_optin(pid_entry(43)));
    ASSERT_TRUE(module.add_optin(cgroup_entry(99)));
    module.after_list = [&] {
        ASSERT_TRUE(module.remove_optin(pid_entry(42)));
        ASSERT_TRUE(module.remove_optin(cgroup_entry(99)));
    };
    auto report = read_stats_report(module);
    ASSERT_TRUE(report) << report.error().message;
    auto stats = build_stats_json(report.value());
    ASSERT_EQ(stats["processes"].size(), 1u);
    EXPECT_EQ(stats["processes"][0]["pid"], 43);
    EXPECT_TRUE(stats["cgroups"].empty());
    auto text = build_prometheus_text(report.value());
    EXPECT_EQ(text.find("pid=\"42\""), std::string::npos);
    EXPECT_NE(text.find("pid=\"43\""), std::string::npos);
}

TEST(StatsReport, PrometheusTextNamesCountersAndGauges)
{
    auto text = build_prometheus_text(
        totals_only({std::vector<uint64_t>(__LIBRA_STAT_MAX, 3), __LIBRA_STAT_MAX, std::nullopt}));
    EXPECT_NE(text.find("# TYPE libra_recvmsg_calls_total counter\nlibra_recvmsg_calls_total 3\n"),
              std::string::npos) << text;
    EXPECT_NE(text.find("# TYPE libra_optin_entries gauge\nlibra_optin_entries 3\n"), std::string::npos);
    EXPECT_NE(text.find("libra_module_info{version=\"1.2.3\""), std::string::npos);
    EXPECT_NE(text.find("libra_fallbacks_total{reason=\"budget\"} 3\n"), std::string::npos);
    EXPECT_EQ(text.find("libra_optin_bytes_anchored"), std::string::npos) << "no entries, no per-entry families";
}

// The module's timing counters (appended in ABI 2 without a version bump):
// named in JSON and the table's module counters, Prometheus counters, kept
// system-wide only.
TEST(StatsReport, TimingCountersAreNamedAndSystemWide)
{
    InMemoryModuleControl module;
    const std::pair<unsigned, const char*> timings[] = {
        {LIBRA_STAT_TIME_RX_HANDLER_NS, "time_rx_handler_ns"},
        {LIBRA_STAT_TIME_TX_HANDLER_NS, "time_tx_handler_ns"},
        {LIBRA_STAT_TIME_ANCHOR_BUILD_NS, "time_anchor_build_ns"},
        {LIBRA_STAT_TIME_PARSE_NS, "time_parse_ns"},
        {LIBRA_STAT_TIME_TOKEN_SCAN_NS, "time_token_scan_ns"},
        {LIBRA_STAT_TIME_PAGE_SEND_NS, "time_page_send_ns"},
    };
    uint64_t value = 1000;
    for (const auto& [index, name] : timings)
        module.stats.values[index] = value++;
    ASSERT_TRUE(module.add_optin(pid_entry(42)));
    auto report = read_report(module);
    auto stats = build_stats_json(report);
    auto text = build_prometheus_text(report);
    value = 1000;
    for (const auto& [index, name] : timings) {
        const StatDescriptor* descriptor = find_stat(name);
        ASSERT_NE(descriptor, nullptr) << name;
        EXPECT_EQ(descriptor->index, index) << name;
        EXPECT_EQ(descriptor->kind, StatKind::counter) << name;
        EXPECT_EQ(stats["module_counters"][name], value) << name;
        EXPECT_FALSE(stats["processes"][0]["module_counters"].contains(name)) << name;
        std::string metric = std::string("libra_") + name + "_total";
        EXPECT_NE(text.find("# TYPE " + metric + " counter\n" + metric + " " + std::to_string(value) + "\n"),
                  std::string::npos)
            << text;
        EXPECT_EQ(text.find(std::string("libra_optin_") + name), std::string::npos) << name;
        ++value;
    }
}

// The counters of the fail-safe rules (appended in ABI 2 without a version
// bump): named in JSON, as fallback reasons where they count copied bodies,
// Prometheus counters; the opt-in table's own and the timings system-wide only.
TEST(StatsReport, FailSafeCountersAreNamed)
{
    InMemoryModuleControl module;
    struct Named {
        unsigned index;
        std::string name;
        std::string reason;  // under "fallbacks", or empty
    };
    const Named counters[] = {
        {LIBRA_STAT_BYTES_MATERIALIZED, "bytes_materialized", ""},
        {LIBRA_STAT_TOKENS_REFUSED, "tokens_refused", ""},
        {LIBRA_STAT_TLS_PROCESSES, "tls_processes", ""},
        {LIBRA_STAT_FALLBACK_TLS, "fallback_tls", "tls"},
        {LIBRA_STAT_TLS_RESETS, "tls_resets", ""},
        {LIBRA_STAT_FALLBACK_URGENT, "fallback_urgent", "urgent"},
        {LIBRA_STAT_ANCHORS_EXPIRED, "anchors_expired", ""},
        {LIBRA_STAT_REGIONS_CUT, "regions_cut", ""},
        {LIBRA_STAT_OPTIN_EXPIRED, "optin_expired", ""},
        {LIBRA_STAT_SOCKETS_RESET, "sockets_reset", ""},
        {LIBRA_STAT_FALLBACK_PIPELINE, "fallback_pipeline", "pipeline"},
        {LIBRA_STAT_TIME_ZERO_FILL_NS, "time_zero_fill_ns", ""},
        {LIBRA_STAT_TIME_MATERIALIZE_NS, "time_materialize_ns", ""},
        {LIBRA_STAT_FALLBACK_TRANSFORMABLE, "fallback_transformable", "transformable"},
        {LIBRA_STAT_FALLBACK_EGRESS, "fallback_egress", "egress"},
    };
    uint64_t value = 500;
    for (const auto& counter : counters)
        module.stats.values[counter.index] = value++;
    ASSERT_TRUE(module.add_optin(pid_entry(42)));
    module.counters_of(pid_entry(42))[LIBRA_STAT_FALLBACK_TLS] = 7;
    module.counters_of(pid_entry(42))[LIBRA_STAT_OPTIN_EXPIRED] = 9;  // not kept per entry
    auto report = read_report(module);
    auto stats = build_stats_json(report);
    auto text = build_prometheus_text(report);
    value = 500;
    for (const auto& counter : counters) {
        const StatDescriptor* descriptor = find_stat(counter.name);
        ASSERT_NE(descriptor, nullptr) << counter.name;
        EXPECT_EQ(descriptor->index, counter.index) << counter.name;
        EXPECT_EQ(descriptor->kind, StatKind::counter) << counter.name;
        EXPECT_EQ(descriptor->fallback_reason, counter.reason) << counter.name;
        EXPECT_EQ(stats["module_counters"][counter.name], value) << counter.name;
        if (counter.reason.empty()) {
            std::string metric = "libra_" + counter.name + "_total";
            EXPECT_NE(text.find("# TYPE " + metric + " counter\n" + metric + " " + std::to_string(value) + "\n"),
                      std::string::npos)
                << counter.name;
        } else {
            EXPECT_EQ(stats["fallbacks"][counter.reason], value) << counter.name;
            EXPECT_NE(text.find("libra_fallbacks_total{reason=\"" + counter.reason + "\"} " + std::to_string(value)),
                      std::string::npos)
                << counter.name;
        }
        ++value;
    }
    const auto& entry = stats["processes"][0];
    EXPECT_EQ(entry["fallbacks"]["tls"], 7);
    for (const char* name : {"optin_expired", "time_zero_fill_ns", "time_materialize_ns"}) {
        EXPECT_FALSE(entry["module_counters"].contains(name)) << name;
        EXPECT_EQ(text.find(std::string("libra_optin_") + name), std::string::npos) << name;
    }
    EXPECT_NE(text.find("libra_optin_fallbacks_total{pid=\"42\",reason=\"tls\"} 7\n"), std::string::npos) << text;
}

TEST(StatsReport, PrometheusPerEntrySeries)
{
    InMemoryModuleControl module;
    module.stats.values[LIBRA_STAT_BYTES_ANCHORED] = 3000;
    ASSERT_TRUE(module.add_optin(pid_entry(42)));
    ASSERT_TRUE(module.add_optin(cgroup_entry(99)));
    module.optins.push_back(pid_entry(0));  // not visible: no series
    module.counters_of(pid_entry(42))[LIBRA_STAT_BYTES_ANCHORED] = 1000;
    module.counters_of(pid_entry(42))[LIBRA_STAT_FALLBACK_BUDGET] = 2;
    module.counters_of(cgroup_entry(99))[LIBRA_STAT_ANCHORED_BYTES_NOW] = 4096;
    auto text = build_prometheus_text(read_report(module));

    EXPECT_NE(text.find("libra_bytes_anchored_total 3000\n"), std::string::npos) << text;
    EXPECT_NE(text.find("# TYPE libra_optin_bytes_anchored_total counter\n"
                        "libra_optin_bytes_anchored_total{pid=\"42\"} 1000\n"
                        "libra_optin_bytes_anchored_total{cgroup_id=\"99\"} 0\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("# TYPE libra_optin_anchored_bytes_now gauge\n"
                        "libra_optin_anchored_bytes_now{pid=\"42\"} 0\n"
                        "libra_optin_anchored_bytes_now{cgroup_id=\"99\"} 4096\n"),
              std::string::npos);
    EXPECT_NE(text.find("libra_optin_fallbacks_total{pid=\"42\",reason=\"budget\"} 2\n"), std::string::npos);
    EXPECT_NE(text.find("libra_optin_anchored_bytes_limit{cgroup_id=\"99\"} " +
                        std::to_string(testing::kModuleDefaultAnchorLimit) + "\n"),
              std::string::npos);
    // Counters the module keeps only system-wide have no per-entry series.
    EXPECT_EQ(text.find("libra_optin_recvmsg_calls"), std::string::npos);
    EXPECT_EQ(text.find("libra_optin_optin_entries"), std::string::npos);
    EXPECT_EQ(text.find("pid=\"0\""), std::string::npos);
    // Every family is declared once, before its samples.
    std::set<std::string> declared;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
        if (line.rfind("# TYPE ", 0) == 0) {
            auto family = line.substr(7, line.find(' ', 7) - 7);
            EXPECT_TRUE(declared.insert(family).second) << "family declared twice: " << family;
        } else if (line[0] != '#') {
            auto family = line.substr(0, line.find_first_of("{ "));
            EXPECT_TRUE(declared.count(family)) << "sample before its TYPE: " << line;
        }
    }
}

}  // namespace
}  // namespace libra
