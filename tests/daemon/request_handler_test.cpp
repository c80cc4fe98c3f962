// The request protocol at the handler: every command, every validation rule,
// and authorization with real peer processes.
#include <gtest/gtest.h>

#include <unistd.h>

#include <memory>

#include <nlohmann/json.hpp>

#include "fake_process_tree.hpp"
#include "in_memory_module_control.hpp"
#include "librad/request_handler.hpp"
#include "librad/socket_json.hpp"
#include "librad/stat_table.hpp"
#include "unprivileged_process.hpp"

namespace libra {
namespace {

using nlohmann::json;
using testing::InMemoryModuleControl;
using testing::kTestControlGid;
using testing::SleepingNobody;

class RequestHandlerTest : public ::testing::Test {
protected:
    InMemoryModuleControl module_;
    Authorizer authorizer_{kTestControlGid};
    testing::FakeProcessTree tree_;
    RequestHandler handler_{module_, authorizer_, [] { return json{{"version", "test"}}; }, tree_};
    PeerCredentials root_{getpid(), 0, 0, {}};

    // The reply as JSON; also checks it is exactly one line.
    json send(const std::string& line, const PeerCredentials& peer)
    {
        std::string reply = handler_.handle(line, peer);
        EXPECT_FALSE(reply.empty());
        EXPECT_EQ(reply.back(), '\n');
        EXPECT_EQ(reply.find('\n'), reply.size() - 1) << "reply must be one line";
        return json::parse(reply);
    }
    json send(const json& request, const PeerCredentials& peer) { return send(request.dump(), peer); }
    json send_root(const json& request) { return send(request, root_); }

    static std::string error_code(const json& reply)
    {
        EXPECT_FALSE(reply.at("ok").get<bool>()) << reply.dump();
        return reply.at("error").at("code").get<std::string>();
    }

    // The result of a request that must succeed.
    json result_of(const json& request)
    {
        auto reply = send_root(request);
        EXPECT_TRUE(reply.value("ok", false)) << request.dump() << " -> " << reply.dump();
        return reply.value("result", json());
    }
};

// A pid no process on this host has (the tests' fake processes use these).
constexpr int32_t kNoSuchPid = 0x7ffffff0;

TEST_F(RequestHandlerTest, Version)
{
    auto reply = send_root({{"command", "version"}});
    ASSERT_TRUE(reply["ok"].get<bool>()) << reply.dump();
    EXPECT_EQ(reply["result"]["protocol"], 1);
    EXPECT_EQ(reply["result"]["module_version"], "test-module");
    EXPECT_EQ(reply["result"]["abi_version"], LIBRA_ABI_VERSION);
    EXPECT_TRUE(reply["result"]["daemon_version"].is_string());
}

TEST_F(RequestHandlerTest, EnableStatusDisableByPid)
{
    auto enabled = send_root({{"command", "enable"}, {"pid", getpid()}, {"ports", {80, 443}}, {"min_body", 4096}});
    ASSERT_TRUE(enabled["ok"].get<bool>()) << enabled.dump();
    EXPECT_EQ(enabled["result"]["enabled"]["pid"], getpid());
    EXPECT_EQ(enabled["result"]["enabled"]["descendants"], true);
    ASSERT_EQ(module_.optins.size(), 1u);
    EXPECT_EQ(module_.optins[0].flags, LIBRA_OPTIN_F_DESCENDANTS);
    EXPECT_EQ(module_.optins[0].nr_ports, 2);
    EXPECT_EQ(module_.optins[0].ports[1], 443);
    EXPECT_EQ(module_.optins[0].min_body, 4096u);

    auto status = send_root({{"command", "status"}});
    ASSERT_TRUE(status["ok"].get<bool>());
    EXPECT_EQ(status["result"]["daemon"]["version"], "test");
    ASSERT_EQ(status["result"]["optins"].size(), 1u);
    EXPECT_EQ(status["result"]["optins"][0]["ports"], json({80, 443}));

    EXPECT_EQ(error_code(send_root({{"command", "enable"}, {"pid", getpid()}})), "already_exists");
    auto disabled = send_root({{"command", "disable"}, {"pid", getpid()}});
    ASSERT_TRUE(disabled["ok"].get<bool>()) << disabled.dump();
    EXPECT_TRUE(module_.optins.empty());
    EXPECT_EQ(error_code(send_root({{"command", "disable"}, {"pid", getpid()}})), "not_found");
}

TEST_F(RequestHandlerTest, EnableWithoutDescendantsAndDefaultMinBody)
{
    auto enabled = send_root({{"command", "enable"}, {"pid", getpid()}, {"descendants", false}});
    ASSERT_TRUE(enabled["ok"].get<bool>());
    EXPECT_EQ(module_.optins.at(0).flags, 0u);
    EXPECT_EQ(module_.optins.at(0).min_body, 0u);  // the module's default applies
    EXPECT_EQ(enabled["result"]["enabled"]["min_body"], LIBRA_MIN_BODY_DEFAULT);
}

TEST_F(RequestHandlerTest, EnableWithAnAnchorLimit)
{
    auto enabled = send_root({{"command", "enable"}, {"pid", getpid()}, {"anchor_limit", 1000}});
    ASSERT_TRUE(enabled["ok"].get<bool>()) << enabled.dump();
    EXPECT_EQ(module_.optins.at(0).anchor_limit, 1000u);
    EXPECT_EQ(enabled["result"]["enabled"]["anchor_limit"], 1000);
    auto cgroup = send_root({{"command", "enable"}, {"cgroup_id", 7}, {"anchor_limit", UINT64_MAX}});
    ASSERT_TRUE(cgroup["ok"].get<bool>()) << cgroup.dump();
    EXPECT_EQ(module_.optins.at(1).anchor_limit, UINT64_MAX);

    auto status = send_root({{"command", "status"}});
    ASSERT_TRUE(status["ok"].get<bool>());
    EXPECT_EQ(status["result"]["optins"][0]["anchor_limit"], 1000);
    EXPECT_EQ(status["result"]["optins"][1]["anchor_limit"], UINT64_MAX);
    // Without one, only the global limit applies: null, not 0.
    ASSERT_TRUE(send_root({{"command", "disable"}, {"pid", getpid()}})["ok"].get<bool>());
    ASSERT_TRUE(send_root({{"command", "enable"}, {"pid", getpid()}})["ok"].get<bool>());
    EXPECT_EQ(module_.optins.at(1).anchor_limit, 0u);
    status = send_root({{"command", "status"}});
    EXPECT_TRUE(status["result"]["optins"][1]["anchor_limit"].is_null()) << status.dump();
}

TEST_F(RequestHandlerTest, StatsCarryEachEntrysFigures)
{
    ASSERT_TRUE(send_root({{"command", "enable"}, {"pid", getpid()}, {"anchor_limit", 4 << 20}})["ok"].get<bool>());
    ASSERT_TRUE(send_root({{"command", "enable"}, {"cgroup_id", 7}})["ok"].get<bool>());
    libra_optin self{};
    self.pid = getpid();
    module_.counters_of(self)[LIBRA_STAT_BYTES_ANCHORED] = 123;
    module_.stats.values[LIBRA_STAT_BYTES_ANCHORED] = 123;
    auto reply = send_root({{"command", "stats"}});
    ASSERT_TRUE(reply["ok"].get<bool>()) << reply.dump();
    const auto& stats = reply["result"];
    ASSERT_EQ(stats["processes"].size(), 1u);
    EXPECT_EQ(stats["processes"][0]["bytes_anchored"], 123);
    EXPECT_EQ(stats["processes"][0]["bytes_anchored"], stats["bytes_anchored"]);
    EXPECT_EQ(stats["processes"][0]["anchored_bytes_limit"], 4 << 20);
    ASSERT_EQ(stats["cgroups"].size(), 1u);
    EXPECT_EQ(stats["cgroups"][0]["bytes_anchored"], 0);
}

TEST_F(RequestHandlerTest, StatsSkipAnEntryDisabledWhileTheyAreRead)
{
    ASSERT_TRUE(send_root({{"command", "enable"}, {"pid", getpid()}})["ok"].get<bool>());
    ASSERT_TRUE(send_root({{"command", "enable"}, {"cgroup_id", 7}})["ok"].get<bool>());
    module_.after_list = [this] {
        module_.after_list = nullptr;
        send_root({{"command", "disable"}, {"pid", getpid()}});
    };
    auto reply = send_root({{"command", "stats"}});
    ASSERT_TRUE(reply["ok"].get<bool>()) << reply.dump();
    EXPECT_TRUE(reply["result"]["processes"].empty());
    EXPECT_EQ(reply["result"]["cgroups"].size(), 1u);
}

TEST_F(RequestHandlerTest, EnableAndDisableCgroup)
{
    auto enabled = send_root({{"command", "enable"}, {"cgroup_id", 12345}, {"ports", {8080}}});
    ASSERT_TRUE(enabled["ok"].get<bool>()) << enabled.dump();
    EXPECT_EQ(module_.optins.at(0).flags, LIBRA_OPTIN_F_CGROUP);
    EXPECT_EQ(module_.optins.at(0).cgroup_id, 12345u);
    EXPECT_TRUE(send_root({{"command", "disable"}, {"cgroup_id", 12345}})["ok"].get<bool>());
}

TEST_F(RequestHandlerTest, ModuleErrorsBecomeClearErrors)
{
    module_.capacity = 0;
    auto reply = send_root({{"command", "enable"}, {"pid", getpid()}});
    EXPECT_EQ(error_code(reply), "table_full");
    EXPECT_NE(reply["error"]["message"].get<std::string>().find("LIBRA_IOC_OPTIN_ADD"), std::string::npos);
}

TEST_F(RequestHandlerTest, StatsReportsUnavailableCountersAsNull)
{
    module_.stats.values = {11, 22, 33, 44, 1, 0};
    auto reply = send_root({{"command", "stats"}});
    ASSERT_TRUE(reply["ok"].get<bool>()) << reply.dump();
    const auto& stats = reply["result"];
    for (auto key : kReportedCounters) {
        ASSERT_TRUE(stats.contains(std::string(key))) << key;
        if (!find_stat(key)) {
            EXPECT_TRUE(stats[std::string(key)].is_null()) << key << " must not be fabricated";
            EXPECT_NE(std::find(stats["unavailable"].begin(), stats["unavailable"].end(), key),
                      stats["unavailable"].end());
        }
    }
    EXPECT_TRUE(stats.contains("fallbacks"));
    EXPECT_TRUE(stats["processes"].is_array());
    EXPECT_EQ(stats["module_counters"]["recvmsg_calls"], 11);
    EXPECT_EQ(stats["module_counters"]["optin_entries"], 1);
}

TEST_F(RequestHandlerTest, SocketsListsTheModulesSocketsAndFiltersByPid)
{
    module_.sockets = {testing::make_socket(1, getpid(), 8080, 50000, LIBRA_SOCKET_ROLE_SERVER),
                       testing::make_socket(2, getpid(), 50001, 8081, LIBRA_SOCKET_ROLE_CLIENT),
                       testing::make_socket(3, 1, 9090, 50002, LIBRA_SOCKET_ROLE_SERVER)};
    module_.sockets[1].values[LIBRA_SOCKET_STAT_BYTES_ANCHORED] = 65536;
    auto all = send_root({{"command", "sockets"}});
    ASSERT_TRUE(all["ok"].get<bool>()) << all.dump();
    EXPECT_EQ(all["result"]["total"], 3);
    EXPECT_EQ(all["result"]["sockets"].size(), 3u);
    EXPECT_TRUE(all["result"]["pid"].is_null());

    auto mine = send_root({{"command", "sockets"}, {"pid", getpid()}});
    ASSERT_TRUE(mine["ok"].get<bool>()) << mine.dump();
    EXPECT_EQ(mine["result"]["pid"], getpid());
    ASSERT_EQ(mine["result"]["sockets"].size(), 2u);
    EXPECT_EQ(mine["result"]["sockets"][1]["remote_port"], 8081);
    EXPECT_EQ(mine["result"]["sockets"][1]["bytes_anchored"], 65536);

    EXPECT_EQ(error_code(send_root({{"command", "sockets"}, {"pid", 0x7ffffff0}})), "no_such_process");
    EXPECT_EQ(error_code(send_root({{"command", "sockets"}, {"pid", 0}})), "invalid_request");
    EXPECT_EQ(error_code(send_root({{"command", "sockets"}, {"pid", "1"}})), "invalid_request");
    EXPECT_EQ(error_code(send_root({{"command", "sockets"}, {"cgroup_id", 1}})), "invalid_request");
    module_.has_socket_list = false;
    EXPECT_EQ(error_code(send_root({{"command", "sockets"}})), "unsupported");
}

TEST_F(RequestHandlerTest, SocketsAreListedUpToTheReplysCap)
{
    for (uint32_t i = 0; i < kMaxSocketsListed + 5; ++i)
        module_.sockets.push_back(testing::make_socket(i + 1, 1, 8080, static_cast<uint16_t>(i), 2));
    auto reply = send_root({{"command", "sockets"}});
    ASSERT_TRUE(reply["ok"].get<bool>());
    EXPECT_EQ(reply["result"]["listed"], kMaxSocketsListed);
    EXPECT_EQ(reply["result"]["total"], kMaxSocketsListed + 5);
    EXPECT_EQ(reply["result"]["truncated"], true);
}

TEST_F(RequestHandlerTest, ProcsListsTheModulesProcessesWithTheirEntries)
{
    tree_.add_child(1, kNoSuchPid);
    tree_.add_child(kNoSuchPid, kNoSuchPid - 1);
    ASSERT_TRUE(result_of({{"command", "enable"}, {"pid", kNoSuchPid}}).is_object());
    module_.procs = {testing::make_process(kNoSuchPid - 1, LIBRA_PROC_F_OPTED_IN | LIBRA_PROC_F_TLS_USER),
                     testing::make_process(kNoSuchPid - 2, 0)};
    auto procs = result_of({{"command", "procs"}});
    EXPECT_EQ(procs["total"], 2);
    ASSERT_EQ(procs["processes"].size(), 2u);
    EXPECT_EQ(procs["processes"][0]["entries"], json::array({{{"pid", kNoSuchPid}}}));
    EXPECT_EQ(procs["processes"][0]["reasons"][0]["reason"], "tls_user");
    EXPECT_EQ(procs["processes"][1]["reasons"][0]["reason"], "not_opted_in");
    EXPECT_EQ(error_code(send_root({{"command", "procs"}, {"pid", 1}})), "invalid_request");
    module_.has_proc_list = false;
    EXPECT_EQ(error_code(send_root({{"command", "procs"}})), "unsupported");
}

TEST_F(RequestHandlerTest, StatusSaysWhyAnEntryIsNotAcceleratedAndWhatToDo)
{
    tree_.add_child(1, kNoSuchPid);
    tree_.add_child(kNoSuchPid, kNoSuchPid - 1);
    ASSERT_TRUE(result_of({{"command", "enable"}, {"pid", kNoSuchPid}}).is_object());
    auto entry = testing::pid_entry(kNoSuchPid);
    module_.counters_of(entry)[LIBRA_STAT_MESSAGES_PARSED] = 4;
    module_.counters_of(entry)[LIBRA_STAT_FALLBACK_BUDGET] = 2;
    module_.procs = {testing::make_process(kNoSuchPid - 1, LIBRA_PROC_F_OPTED_IN | LIBRA_PROC_F_TLS_USER)};
    auto status = result_of({{"command", "status"}});
    ASSERT_EQ(status["optins"].size(), 1u);
    const auto& optin = status["optins"][0];
    EXPECT_EQ(optin["pid"], kNoSuchPid);
    EXPECT_EQ(optin["state"], "not_accelerated");
    EXPECT_EQ(optin["processes"], json({kNoSuchPid - 1}));
    ASSERT_EQ(optin["reasons"].size(), 2u) << optin.dump();
    EXPECT_EQ(optin["reasons"][0]["reason"], "tls_user");
    EXPECT_NE(std::string(optin["reasons"][0]["remedy"]).find("ssl_conf_command Options KTLS;"), std::string::npos);
    EXPECT_EQ(optin["reasons"][1]["reason"], "budget");
    EXPECT_TRUE(optin["reasons"][1]["growth"].is_null());
    // librad remembers what it saw: the next status says how much it grew.
    module_.counters_of(entry)[LIBRA_STAT_FALLBACK_BUDGET] = 5;
    EXPECT_EQ(result_of({{"command", "status"}})["optins"][0]["reasons"][1]["growth"], 3);
    // A module without LIBRA_IOC_LIST_PROCS: the counters alone (the limit
    // still reached, nothing anchored).
    module_.has_proc_list = false;
    module_.counters_of(entry)[LIBRA_STAT_FALLBACK_BUDGET] = 6;
    auto older = result_of({{"command", "status"}});
    EXPECT_TRUE(older["optins"][0]["processes"].is_null());
    EXPECT_EQ(older["optins"][0]["state"], "not_accelerated");
}

TEST_F(RequestHandlerTest, EntriesFollowTheirProcesses)
{
    ASSERT_TRUE(result_of({{"command", "enable"}, {"pid", kNoSuchPid}}).is_object());
    ASSERT_TRUE(result_of({{"command", "enable"}, {"cgroup_id", 7}}).is_object());
    module_.exit_process(kNoSuchPid);
    // Every listing shows the truth: the entry went with its process.
    auto status = result_of({{"command", "status"}});
    ASSERT_EQ(status["optins"].size(), 1u);
    EXPECT_EQ(status["optins"][0]["cgroup_id"], 7);
    auto stats = result_of({{"command", "stats"}});
    EXPECT_TRUE(stats["processes"].empty());
    EXPECT_EQ(stats["module_counters"]["optin_expired"], 1);
    // Disabling it is not an error that wedges anything: there is nothing
    // left, and the reply says why.
    auto disabled = send_root({{"command", "disable"}, {"pid", kNoSuchPid}});
    EXPECT_EQ(error_code(disabled), "not_found");
    auto message = disabled["error"]["message"].get<std::string>();
    EXPECT_NE(message.find("goes away by itself when its process exits"), std::string::npos) << message;
    EXPECT_NE(message.find("LIBRA_IOC_OPTIN_DEL"), std::string::npos) << message;
    // A live process that is simply not opted in: no such explanation.
    message = send_root({{"command", "disable"}, {"pid", getpid()}})["error"]["message"].get<std::string>();
    EXPECT_EQ(message.find("by itself"), std::string::npos) << message;
    // cgroup entries never expire.
    EXPECT_TRUE(result_of({{"command", "disable"}, {"cgroup_id", 7}}).is_object());
}

TEST_F(RequestHandlerTest, RestartsNeverFillTheTable)
{
    // 2,000 restarts of a process that opts itself in, with a table of 1,024.
    ASSERT_EQ(module_.capacity, size_t{LIBRA_OPTIN_MAX});
    for (int32_t restart = 0; restart < 2000; ++restart) {
        int32_t pid = kNoSuchPid - restart;
        auto enabled = send_root({{"command", "enable"}, {"pid", pid}});
        ASSERT_TRUE(enabled["ok"].get<bool>()) << "restart " << restart << ": " << enabled.dump();
        module_.exit_process(pid);
    }
    EXPECT_TRUE(module_.optins.empty());
    EXPECT_EQ(module_.stats.values[LIBRA_STAT_OPTIN_EXPIRED], 2000u);
    EXPECT_EQ(error_code(send_root({{"command", "enable"}, {"pid", kNoSuchPid}})), "no_such_process");
}

TEST_F(RequestHandlerTest, MalformedRequestsGetClearErrors)
{
    struct Case {
        std::string line;
        std::string code;
    };
    std::vector<Case> cases = {
        {"not json", "invalid_request"},
        {"[1,2]", "invalid_request"},
        {"\"enable\"", "invalid_request"},
        {"{}", "invalid_request"},
        {R"({"command":42})", "invalid_request"},
        {R"({"command":"reboot"})", "unknown_command"},
        {R"({"command":"stats","extra":1})", "invalid_request"},
        {R"({"command":"enable"})", "invalid_request"},
        {R"({"command":"enable","pid":-5})", "invalid_request"},
        {R"({"command":"enable","pid":"5"})", "invalid_request"},
        {R"({"command":"enable","pid":1.5})", "invalid_request"},
        {R"({"command":"enable","pid":99999999999})", "invalid_request"},
        {R"({"command":"enable","pid":1,"cgroup_id":2})", "invalid_request"},
        {R"({"command":"enable","pid":1,"ports":[0]})", "invalid_request"},
        {R"({"command":"enable","pid":1,"ports":[70000]})", "invalid_request"},
        {R"({"command":"enable","pid":1,"ports":"80"})", "invalid_request"},
        {R"({"command":"enable","pid":1,"ports":[80,80]})", "invalid_request"},
        {R"({"command":"enable","pid":1,"ports":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17]})", "invalid_request"},
        {R"({"command":"enable","pid":1,"min_body":4294967296})", "invalid_request"},
        {R"({"command":"enable","pid":1,"anchor_limit":0})", "invalid_request"},
        {R"({"command":"enable","pid":1,"anchor_limit":-1})", "invalid_request"},
        {R"({"command":"enable","pid":1,"anchor_limit":"64M"})", "invalid_request"},
        {R"({"command":"enable","pid":1,"anchor_limit":1.5})", "invalid_request"},
        {R"({"command":"enable","pid":1,"anchor_limit":null})", "invalid_request"},
        {R"({"command":"enable","pid":1,"anchor_limit":18446744073709551616})", "invalid_request"},
        {R"({"command":"disable","pid":1,"anchor_limit":1000})", "invalid_request"},
        {R"({"command":"enable","pid":1,"descendants":"yes"})", "invalid_request"},
        {R"({"command":"enable","cgroup_id":7,"descendants":true})", "invalid_request"},
        {R"({"command":"disable","pid":1,"ports":[80]})", "invalid_request"},
        {std::string("{\"command\":\"\xff\xfe\"}"), "invalid_request"},
    };
    for (const auto& c : cases) {
        auto reply = send(c.line, root_);
        EXPECT_EQ(error_code(reply), c.code) << c.line;
        EXPECT_FALSE(reply["error"]["message"].get<std::string>().empty()) << c.line;
    }
    EXPECT_TRUE(module_.optins.empty());
}

TEST_F(RequestHandlerTest, UnprivilegedPeerOutsideTheGroupIsRefused)
{
    if (geteuid() != 0)
        GTEST_SKIP() << "needs root to create an unprivileged peer";
    SleepingNobody peer_process;
    ASSERT_TRUE(peer_process.ok());
    PeerCredentials peer{peer_process.pid(), testing::kNobodyUid, testing::kNobodyGid, {testing::kNobodyGid}};
    for (const char* command : {"version", "status", "stats", "sockets", "procs"})
        EXPECT_EQ(error_code(send({{"command", command}}, peer)), "permission_denied") << command;
    EXPECT_EQ(error_code(send({{"command", "enable"}, {"pid", peer_process.pid()}}, peer)), "permission_denied");
    EXPECT_TRUE(module_.optins.empty());
}

TEST_F(RequestHandlerTest, GroupMemberReadsAndControlsOnlyOwnProcesses)
{
    if (geteuid() != 0)
        GTEST_SKIP() << "needs root to create an unprivileged peer";
    SleepingNobody member_process(kTestControlGid);
    ASSERT_TRUE(member_process.ok());
    PeerCredentials member{member_process.pid(), testing::kNobodyUid, testing::kNobodyGid, {kTestControlGid}};

    EXPECT_TRUE(send({{"command", "stats"}}, member)["ok"].get<bool>());
    EXPECT_TRUE(send({{"command", "status"}}, member)["ok"].get<bool>());
    EXPECT_TRUE(send({{"command", "sockets"}}, member)["ok"].get<bool>());
    EXPECT_TRUE(send({{"command", "procs"}}, member)["ok"].get<bool>());
    // Its own uid's process: allowed, and disable too.
    auto own = send({{"command", "enable"}, {"pid", member_process.pid()}}, member);
    EXPECT_TRUE(own["ok"].get<bool>()) << own.dump();
    EXPECT_TRUE(send({{"command", "disable"}, {"pid", member_process.pid()}}, member)["ok"].get<bool>());
    // Root's processes and cgroups: refused.
    EXPECT_EQ(error_code(send({{"command", "enable"}, {"pid", getpid()}}, member)), "permission_denied");
    EXPECT_EQ(error_code(send({{"command", "enable"}, {"pid", 1}}, member)), "permission_denied");
    EXPECT_EQ(error_code(send({{"command", "enable"}, {"cgroup_id", 5}}, member)), "permission_denied");
    EXPECT_TRUE(module_.optins.empty());
    // Its own process that exited: it cannot show the process was its own,
    // but there is nothing left to disable, and the reply says why.
    auto target = std::make_unique<SleepingNobody>();
    ASSERT_TRUE(target->ok());
    pid_t pid = target->pid();
    ASSERT_TRUE(send({{"command", "enable"}, {"pid", pid}}, member)["ok"].get<bool>());
    target.reset();  // killed and reaped
    module_.exit_process(pid);
    auto gone = send({{"command", "disable"}, {"pid", pid}}, member);
    EXPECT_EQ(error_code(gone), "not_found");
    EXPECT_NE(gone["error"]["message"].get<std::string>().find("by itself"), std::string::npos) << gone.dump();
    EXPECT_TRUE(module_.optins.empty());
}

TEST_F(RequestHandlerTest, EnablingAVanishedProcessAsMemberSaysSo)
{
    if (geteuid() != 0)
        GTEST_SKIP() << "needs root to create an unprivileged peer";
    SleepingNobody member_process(kTestControlGid);
    ASSERT_TRUE(member_process.ok());
    PeerCredentials member{member_process.pid(), testing::kNobodyUid, testing::kNobodyGid, {kTestControlGid}};
    EXPECT_EQ(error_code(send({{"command", "enable"}, {"pid", 0x7ffffff0}}, member)), "no_such_process");
}

}  // namespace
}  // namespace libra
