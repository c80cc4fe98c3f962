// Whether what is opted in is accelerated, and if not why and what to do:
// processes matched to entries as the module matches them, the `procs` reply,
// and the diagnosis `status` adds to each entry.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "fake_process_tree.hpp"
#include "in_memory_module_control.hpp"
#include "librad/acceleration.hpp"

namespace libra {
namespace {

using nlohmann::json;
using testing::cgroup_entry;
using testing::FakeProcessTree;
using testing::InMemoryModuleControl;
using testing::make_process;
using testing::pid_entry;

// init (1) -> nginx master (100) -> workers 101, 102; HAProxy (200) and its
// child 201 in cgroup 7, below 3, below the root 1; 300 elsewhere.
class AccelerationTest : public ::testing::Test {
protected:
    AccelerationTest()
    {
        tree_.parents[1] = 0;
        tree_.cgroup_chains[1] = {1};
        tree_.add_child(1, 100);
        tree_.add_child(100, 101);
        tree_.add_child(100, 102);
        tree_.add_child(1, 200);
        tree_.cgroup_chains[200] = {7, 3, 1};
        tree_.add_child(200, 201);
        tree_.add_child(1, 300);
        for (pid_t pid : {400, 500, 600})
            tree_.add_child(1, pid);
    }

    // `status`'s entries for what module_ holds now, @procs as its process list.
    json diagnose(std::optional<ProcessList> procs)
    {
        auto report = read_stats_report(module_);
        EXPECT_TRUE(report) << report.error().message;
        return diagnose_entries(report.value(), procs, tree_, history_);
    }

    ProcessList listed(std::vector<libra_proc_info> processes)
    {
        auto total = static_cast<uint32_t>(processes.size());
        return {std::move(processes), total};
    }

    // The entry of @entries whose pid or cgroup_id is @id.
    static json entry_of(const json& entries, uint64_t id)
    {
        for (const auto& entry : entries)
            if ((entry.contains("pid") ? entry["pid"] : entry["cgroup_id"]) == id)
                return entry;
        return nullptr;
    }

    static json reason_of(const json& entry, const std::string& code)
    {
        for (const auto& reason : entry["reasons"])
            if (reason["reason"] == code)
                return reason;
        return nullptr;
    }

    FakeProcessTree tree_;
    InMemoryModuleControl module_;
    CounterHistory history_;
};

TEST_F(AccelerationTest, EntriesSelectProcessesAsTheModuleDoes)
{
    for (pid_t pid : {100, 101, 102})
        EXPECT_TRUE(entry_selects(pid_entry(100), pid, tree_)) << pid;
    for (pid_t pid : {1, 200, 300, 0})
        EXPECT_FALSE(entry_selects(pid_entry(100), pid, tree_)) << pid;
    auto alone = pid_entry(100);
    alone.flags = 0;  // without descendants
    EXPECT_TRUE(entry_selects(alone, 100, tree_));
    EXPECT_FALSE(entry_selects(alone, 101, tree_));
    for (uint64_t cgroup : {7, 3})
        for (pid_t pid : {200, 201})
            EXPECT_TRUE(entry_selects(cgroup_entry(cgroup), pid, tree_)) << cgroup << " " << pid;
    EXPECT_FALSE(entry_selects(cgroup_entry(3), 101, tree_));
    EXPECT_FALSE(entry_selects(cgroup_entry(9), 200, tree_));
    // A process that exited is in no tree: nothing selects it.
    EXPECT_FALSE(entry_selects(pid_entry(100), 999, tree_));
    // Like the module, the walk up stops after 64 parents.
    for (pid_t pid = 1001; pid <= 1070; ++pid)
        tree_.add_child(pid - 1, pid);
    tree_.parents[1000] = 1;
    EXPECT_TRUE(entry_selects(pid_entry(1010), 1070, tree_));
    EXPECT_FALSE(entry_selects(pid_entry(1000), 1070, tree_));
}

TEST_F(AccelerationTest, ProcsSayWhoIsAcceleratedAndWhyNot)
{
    auto tls_user = make_process(101, LIBRA_PROC_F_OPTED_IN | LIBRA_PROC_F_TLS_USER);
    tls_user.tls_since_ns = 5000;
    auto plain = make_process(102, LIBRA_PROC_F_OPTED_IN);
    plain.anchors = 2;
    plain.anchored_bytes = 65536;
    plain.materialized_bytes = 100;
    plain.tokens_refused = 1;
    auto holder = make_process(300, 0);
    holder.anchors = 1;
    auto list = listed({tls_user, plain, make_process(201, LIBRA_PROC_F_OPTED_IN | LIBRA_PROC_F_TLS_KERNEL),
                        holder, make_process(0, LIBRA_PROC_F_OPTED_IN)});
    list.total = 9;
    auto out = build_procs_json(list, {pid_entry(100), cgroup_entry(3), cgroup_entry(7)}, tree_);
    EXPECT_EQ(out["total"], 9);
    EXPECT_EQ(out["listed"], 5);
    EXPECT_EQ(out["truncated"], true);
    const auto& processes = out["processes"];
    ASSERT_EQ(processes.size(), 5u);

    EXPECT_EQ(processes[0]["pid"], 101);
    EXPECT_EQ(processes[0]["entries"], json::array({{{"pid", 100}}}));
    EXPECT_EQ(processes[0]["accelerated"], false);
    EXPECT_EQ(processes[0]["tls"], "user");
    EXPECT_EQ(processes[0]["tls_since_ns"], 5000);
    ASSERT_EQ(processes[0]["reasons"].size(), 1u);
    EXPECT_EQ(processes[0]["reasons"][0]["reason"], "tls_user");
    EXPECT_EQ(processes[0]["reasons"][0]["message"],
              "terminates TLS in user space: Libra cannot stand in for bodies it encrypts");
    const std::string remedy = processes[0]["reasons"][0]["remedy"];
    EXPECT_NE(remedy.find("'ssl_conf_command Options KTLS;'"), std::string::npos) << remedy;
    EXPECT_NE(remedy.find("modprobe tls"), std::string::npos) << remedy;

    EXPECT_EQ(processes[1], (json{{"pid", 102},
                                  {"opted_in", true},
                                  {"entries", {{{"pid", 100}}}},
                                  {"accelerated", true},
                                  {"tls", nullptr},
                                  {"tls_resetting", false},
                                  {"unframed_egress", false},
                                  {"tls_since_ns", nullptr},
                                  {"anchors", 2},
                                  {"anchored_bytes", 65536},
                                  {"materialized_bytes", 100},
                                  {"tokens_refused", 1},
                                  {"reasons", json::array()}}));

    // kernel TLS is accelerated
    EXPECT_EQ(processes[2]["entries"], json::array({{{"cgroup_id", 3}}, {{"cgroup_id", 7}}}));
    EXPECT_EQ(processes[2]["tls"], "kernel");
    EXPECT_EQ(processes[2]["accelerated"], true);
    EXPECT_EQ(processes[2]["reasons"], json::array());

    EXPECT_EQ(processes[3]["opted_in"], false);
    EXPECT_EQ(processes[3]["entries"], json::array());
    EXPECT_EQ(processes[3]["accelerated"], false);
    EXPECT_EQ(processes[3]["reasons"][0]["reason"], "not_opted_in");
    EXPECT_TRUE(processes[3]["reasons"][0]["remedy"].is_null());

    // Not visible in librad's pid namespace: no entry can be told.
    EXPECT_EQ(processes[4]["entries"], json::array());
    EXPECT_EQ(processes[4]["accelerated"], true);
}

TEST_F(AccelerationTest, AnOpenHandshakeRefusesOnlyAProcessThatNeverSetUpKernelTls)
{
    auto list = listed({make_process(101, LIBRA_PROC_F_OPTED_IN | LIBRA_PROC_F_TLS_HANDSHAKE),
                        make_process(102, LIBRA_PROC_F_OPTED_IN | LIBRA_PROC_F_TLS_HANDSHAKE |
                                              LIBRA_PROC_F_TLS_KERNEL)});
    auto out = build_procs_json(list, {pid_entry(100)}, tree_);
    const auto& first = out["processes"][0];
    EXPECT_EQ(first["accelerated"], false);
    EXPECT_EQ(first["tls"], "handshake");
    ASSERT_EQ(first["reasons"].size(), 1u);
    EXPECT_EQ(first["reasons"][0]["reason"], "tls_handshake");
    EXPECT_NE(std::string(first["reasons"][0]["remedy"]).find("KTLS"), std::string::npos);
    // one of many handshakes of a kernel-TLS process: each ends in kernel TLS
    const auto& second = out["processes"][1];
    EXPECT_EQ(second["accelerated"], true);
    EXPECT_EQ(second["tls"], "kernel");
    EXPECT_EQ(second["reasons"], json::array());
}

TEST_F(AccelerationTest, AProcessSendingBodiesWhereLibraCannotFollowIsNotAccelerated)
{
    auto list = listed({make_process(101, LIBRA_PROC_F_OPTED_IN | LIBRA_PROC_F_UNFRAMED_EGRESS)});
    auto out = build_procs_json(list, {pid_entry(100)}, tree_);
    const auto& process = out["processes"][0];
    EXPECT_EQ(process["accelerated"], false);
    EXPECT_EQ(process["unframed_egress"], true);
    EXPECT_EQ(process["tls"], nullptr);
    ASSERT_EQ(process["reasons"].size(), 1u);
    EXPECT_EQ(process["reasons"][0]["reason"], "unframed_egress");
    EXPECT_NE(process["reasons"][0]["remedy"], nullptr);
}

TEST_F(AccelerationTest, EachEntrySaysWhetherItsProcessesAreAccelerated)
{
    for (const auto& entry : {pid_entry(100), cgroup_entry(3), pid_entry(400), pid_entry(500), pid_entry(600)})
        ASSERT_TRUE(module_.add_optin(entry));
    module_.counters_of(pid_entry(100))[LIBRA_STAT_BYTES_ANCHORED] = 1 << 20;
    module_.counters_of(pid_entry(500))[LIBRA_STAT_BYTES_ANCHORED] = 100;
    module_.counters_of(pid_entry(600))[LIBRA_STAT_MESSAGES_PARSED] = 10;
    module_.counters_of(pid_entry(600))[LIBRA_STAT_FALLBACK_NOT_ADOPTED] = 4;
    auto procs = listed({make_process(101, LIBRA_PROC_F_OPTED_IN | LIBRA_PROC_F_TLS_USER),
                         make_process(102, LIBRA_PROC_F_OPTED_IN),
                         make_process(201, LIBRA_PROC_F_OPTED_IN | LIBRA_PROC_F_TLS_KERNEL),
                         make_process(500, LIBRA_PROC_F_OPTED_IN), make_process(600, LIBRA_PROC_F_OPTED_IN),
                         make_process(300, 0)});
    auto entries = diagnose(procs);
    ASSERT_EQ(entries.size(), 5u);

    auto nginx = entry_of(entries, 100);
    EXPECT_EQ(nginx["descendants"], true);  // the entry as `status` always showed it
    EXPECT_EQ(nginx["state"], "partial");
    EXPECT_EQ(nginx["processes"], json({101, 102}));
    auto tls = reason_of(nginx, "tls_user");
    EXPECT_EQ(tls["pids"], json({101}));
    EXPECT_NE(std::string(tls["remedy"]).find("ssl_conf_command Options KTLS;"), std::string::npos);

    auto ktls = entry_of(entries, 3);
    EXPECT_EQ(ktls["state"], "accelerated");
    EXPECT_EQ(ktls["processes"], json({201}));

    auto idle = entry_of(entries, 400);
    EXPECT_EQ(idle["state"], "idle");
    EXPECT_EQ(idle["processes"], json::array());
    EXPECT_EQ(idle["reasons"], json::array());

    auto fine = entry_of(entries, 500);
    EXPECT_EQ(fine["state"], "accelerated");
    EXPECT_EQ(fine["reasons"], json::array());

    // Traffic, nothing anchored, every socket from before the opt-in.
    auto stale = entry_of(entries, 600);
    EXPECT_EQ(stale["state"], "not_accelerated");
    auto not_adopted = reason_of(stale, "not_adopted");
    EXPECT_EQ(not_adopted["counter"], "fallback_not_adopted");
    EXPECT_EQ(not_adopted["count"], 4);
    EXPECT_TRUE(not_adopted["growth"].is_null()) << "first look";
    EXPECT_NE(not_adopted["remedy"].get<std::string>().find("reload the proxy"), std::string::npos);
}

TEST_F(AccelerationTest, CounterReasonsSayWhetherTheyStillGrow)
{
    ASSERT_TRUE(module_.add_optin(pid_entry(500)));
    auto& counters = module_.counters_of(pid_entry(500));
    counters[LIBRA_STAT_BYTES_ANCHORED] = 1 << 20;
    counters[LIBRA_STAT_FALLBACK_BUDGET] = 5;
    auto procs = listed({make_process(500, LIBRA_PROC_F_OPTED_IN)});

    auto first = diagnose(procs)[0];
    auto budget = reason_of(first, "budget");
    EXPECT_EQ(budget["count"], 5);
    EXPECT_TRUE(budget["growth"].is_null());
    EXPECT_NE(budget["remedy"].get<std::string>().find("anchor_limit"), std::string::npos);
    EXPECT_EQ(first["state"], "partial") << "growing, as far as librad knows";

    auto second = diagnose(procs)[0];
    EXPECT_EQ(reason_of(second, "budget")["growth"], 0);
    EXPECT_EQ(second["state"], "accelerated") << "the limit was reached before, not since";

    counters[LIBRA_STAT_FALLBACK_BUDGET] = 8;
    counters[LIBRA_STAT_PARSER_ERRORS] = 2;
    counters[LIBRA_STAT_FALLBACK_NO_PARSER] = 1;
    auto third = diagnose(procs)[0];
    EXPECT_EQ(reason_of(third, "budget")["growth"], 3);
    EXPECT_EQ(reason_of(third, "parser")["growth"], 2) << "0 was seen before";
    EXPECT_EQ(reason_of(third, "parser")["counter"], "parser_errors");
    EXPECT_EQ(reason_of(third, "no_parser")["count"], 1);
    EXPECT_EQ(third["state"], "partial");

    // The pid is reused by a new process opted in afresh: no growth known.
    ASSERT_TRUE(module_.remove_optin(pid_entry(500)));
    ASSERT_TRUE(module_.add_optin(pid_entry(500)));
    module_.counters_of(pid_entry(500))[LIBRA_STAT_FALLBACK_BUDGET] = 9;
    tree_.start_times[500] = 2;
    EXPECT_TRUE(reason_of(diagnose(procs)[0], "budget")["growth"].is_null());
}

TEST_F(AccelerationTest, WithoutTheProcessListTheCountersDecide)
{
    ASSERT_TRUE(module_.add_optin(pid_entry(500)));
    ASSERT_TRUE(module_.add_optin(pid_entry(600)));
    module_.counters_of(pid_entry(500))[LIBRA_STAT_BYTES_ANCHORED] = 100;
    auto entries = diagnose(std::nullopt);
    EXPECT_EQ(entry_of(entries, 500)["state"], "accelerated");
    EXPECT_TRUE(entry_of(entries, 500)["processes"].is_null());
    EXPECT_EQ(entry_of(entries, 600)["state"], "idle");
    // An entry of a process librad cannot see has neither.
    module_.optins.push_back(pid_entry(0));
    EXPECT_EQ(entry_of(diagnose(std::nullopt), 0)["state"], "unknown");
}

TEST(CounterHistory, ForgetsEntriesNoLongerSeen)
{
    CounterHistory history;
    CounterHistory::Key a{false, 42, 1}, b{true, 7, 0};
    EXPECT_FALSE(history.growth(a, "fallback_budget", 3));
    EXPECT_FALSE(history.growth(b, "fallback_budget", 3));
    history.forget_unseen();
    EXPECT_EQ(history.growth(a, "fallback_budget", 4), 1u);
    EXPECT_FALSE(history.growth(a, "parser_errors", 0)) << "another counter: first look";
    history.forget_unseen();  // b not seen since: forgotten
    EXPECT_FALSE(history.growth(b, "fallback_budget", 5));
    EXPECT_FALSE(history.growth(a, "fallback_budget", 2)) << "went backwards: counters restarted";
}

}  // namespace
}  // namespace libra
