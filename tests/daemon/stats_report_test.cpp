// Counter naming tolerates a module that knows fewer or more counters than
// this build, and never reports a missing counter as zero.
#include <gtest/gtest.h>

#include "librad/stats_report.hpp"

namespace libra {
namespace {

ModuleVersion test_module()
{
    return {LIBRA_ABI_VERSION, __LIBRA_STAT_MAX, "1.2.3"};
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
    StatSnapshot snapshot{{5, 6}, 2};
    auto stats = build_stats_json(StatsView(snapshot), test_module(), {});
    EXPECT_EQ(stats["module_counters"].size(), 2u);
    EXPECT_EQ(stats["module_counters"]["recvmsg_calls"], 5);
    EXPECT_FALSE(stats["module_counters"].contains("optin_entries"));
}

TEST(StatsReport, NewerModuleWithMoreCounters)
{
    StatSnapshot snapshot{std::vector<uint64_t>(__LIBRA_STAT_MAX + 2, 7), __LIBRA_STAT_MAX + 2};
    auto stats = build_stats_json(StatsView(snapshot), test_module(), {});
    EXPECT_EQ(stats["module_counters"].size(), static_cast<size_t>(__LIBRA_STAT_MAX));
    EXPECT_EQ(stats["unnamed_counters"].size(), 2u);
    EXPECT_EQ(stats["unnamed_counters"][std::to_string(__LIBRA_STAT_MAX)], 7);
}

TEST(StatsReport, RequiredKeysAlwaysPresentAndPerProcessEntries)
{
    libra_optin pid_entry{};
    pid_entry.pid = 42;
    pid_entry.flags = LIBRA_OPTIN_F_DESCENDANTS;
    libra_optin cgroup_entry{};
    cgroup_entry.flags = LIBRA_OPTIN_F_CGROUP;
    cgroup_entry.cgroup_id = 99;
    StatSnapshot snapshot{std::vector<uint64_t>(__LIBRA_STAT_MAX, 0), __LIBRA_STAT_MAX};
    auto stats = build_stats_json(StatsView(snapshot), test_module(), {pid_entry, cgroup_entry});
    for (const char* key : {"sockets_tracked", "messages_parsed", "bytes_metadata_copied", "bytes_anchored",
                            "bytes_zero_copy_sent", "bytes_fallback_copied", "anchored_bytes_now",
                            "anchored_bytes_peak", "anchored_bytes_limit", "parser_errors", "fallbacks",
                            "processes", "unavailable"})
        EXPECT_TRUE(stats.contains(key)) << key;
    ASSERT_EQ(stats["processes"].size(), 1u);
    EXPECT_EQ(stats["processes"][0]["pid"], 42);
    EXPECT_TRUE(stats["processes"][0].contains("bytes_anchored"));
    EXPECT_TRUE(stats["processes"][0]["bytes_anchored"].is_null());
    ASSERT_EQ(stats["cgroups"].size(), 1u);
    EXPECT_EQ(stats["cgroups"][0]["cgroup_id"], 99);
    // A value that is null is always listed as unavailable, and vice versa.
    for (const auto& item : stats["unavailable"])
        EXPECT_TRUE(stats[item.get<std::string>()].is_null()) << item;
}

TEST(StatsReport, PrometheusTextNamesCountersAndGauges)
{
    StatSnapshot snapshot{std::vector<uint64_t>(__LIBRA_STAT_MAX, 3), __LIBRA_STAT_MAX};
    auto text = build_prometheus_text(StatsView(snapshot), test_module());
    EXPECT_NE(text.find("# TYPE libra_recvmsg_calls_total counter\nlibra_recvmsg_calls_total 3\n"),
              std::string::npos) << text;
    EXPECT_NE(text.find("# TYPE libra_optin_entries gauge\nlibra_optin_entries 3\n"), std::string::npos);
    EXPECT_NE(text.find("libra_module_info{version=\"1.2.3\""), std::string::npos);
}

}  // namespace
}  // namespace libra
