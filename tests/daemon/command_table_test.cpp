// libractl's command table: help for every command, dispatch to the right
// request, exit codes, JSON output; and one run against a real librad socket.
#include <gtest/gtest.h>

#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <atomic>
#include <sstream>
#include <thread>

#include "fake_process_tree.hpp"
#include "in_memory_module_control.hpp"
#include "librad/acceleration.hpp"
#include "librad/control_server.hpp"
#include "librad/socket_json.hpp"
#include "libractl/cli.hpp"
#include "libractl/exit_codes.hpp"

namespace libra {
namespace {

using nlohmann::json;

// Runs libractl's CLI with a scripted transport.
class CliTest : public ::testing::Test {
protected:
    int run(std::vector<std::string> args)
    {
        args.insert(args.begin(), "libractl");
        std::vector<const char*> argv;
        for (const auto& arg : args)
            argv.push_back(arg.c_str());
        out_.str("");
        err_.str("");
        CliEnvironment env{[this](const std::string& socket) -> Transport {
                               socket_used_ = socket;
                               return [this](const json& request) -> Result<json> {
                                   requests_.push_back(request);
                                   return reply_(request);
                               };
                           },
                           out_, err_, [this](double) { return ++waits_ < watch_rounds_; }};
        return run_cli(static_cast<int>(argv.size()), argv.data(), env);
    }

    std::function<Result<json>(const json&)> reply_ = [](const json&) -> Result<json> {
        return json::object();
    };
    std::vector<json> requests_;
    std::string socket_used_;
    std::ostringstream out_, err_;
    int waits_ = 0;
    int watch_rounds_ = 1;
};

TEST(CommandTable, IsCompleteAndCoversTheIssue)
{
    std::string problem;
    EXPECT_TRUE(command_table_is_complete(&problem)) << problem;
    for (const char* name : {"enable", "disable", "status", "stats", "sockets", "procs", "version"})
        EXPECT_NE(find_command(name), nullptr) << name;
}

TEST(CommandTable, EveryCommandHasHelp)
{
    auto general = general_help();
    for (const auto& command : command_table()) {
        EXPECT_NE(general.find("  " + std::string(command.name)), std::string::npos) << command.name;
        auto help = command_help(command);
        EXPECT_NE(help.find("Usage: libractl " + std::string(command.name)), std::string::npos);
        EXPECT_NE(help.find("--json"), std::string::npos) << command.name;
        EXPECT_NE(help.find("Exit status"), std::string::npos) << command.name;
    }
    EXPECT_NE(command_help(*find_command("stats")).find("--interval"), std::string::npos);
    EXPECT_NE(command_help(*find_command("enable")).find("--min-body"), std::string::npos);
}

TEST_F(CliTest, HelpAndVersionNeedNoDaemon)
{
    EXPECT_EQ(run({"--help"}), 0);
    EXPECT_NE(out_.str().find("Commands:"), std::string::npos);
    EXPECT_EQ(run({"--version"}), 0);
    EXPECT_NE(out_.str().find("libractl "), std::string::npos);
    for (const auto& command : command_table()) {
        EXPECT_EQ(run({std::string(command.name), "--help"}), 0) << command.name;
        EXPECT_NE(out_.str().find("Usage: libractl " + std::string(command.name)), std::string::npos);
        EXPECT_EQ(run({"help", std::string(command.name)}), 0);
    }
    EXPECT_TRUE(requests_.empty());
}

TEST_F(CliTest, DispatchBuildsTheRequests)
{
    EXPECT_EQ(run({"--socket", "/tmp/x.sock", "enable", "--pid", "42", "--port", "80,443", "--port", "8080",
                   "--min-body", "1000", "--no-descendants"}),
              0)
        << err_.str();
    EXPECT_EQ(socket_used_, "/tmp/x.sock");
    ASSERT_EQ(requests_.size(), 1u);
    EXPECT_EQ(requests_[0], (json{{"command", "enable"}, {"pid", 42}, {"ports", {80, 443, 8080}},
                                  {"min_body", 1000}, {"descendants", false}}));
    EXPECT_EQ(run({"enable", "--pid", "42", "--anchor-limit", "64M"}), 0) << err_.str();
    EXPECT_EQ(requests_.back(), (json{{"command", "enable"}, {"pid", 42}, {"anchor_limit", 64 << 20}}));
    EXPECT_EQ(run({"enable", "--pid", "42", "--anchor-limit", "1000"}), 0) << err_.str();
    EXPECT_EQ(requests_.back()["anchor_limit"], 1000);
    EXPECT_EQ(run({"enable", "--pid", "42", "--anchor-limit", "2g"}), 0) << err_.str();
    EXPECT_EQ(requests_.back()["anchor_limit"], uint64_t{2} << 30);
    EXPECT_EQ(run({"disable", "--pid", "42"}), 0);
    EXPECT_EQ(requests_.back(), (json{{"command", "disable"}, {"pid", 42}}));
    EXPECT_EQ(run({"status"}), 0);
    EXPECT_EQ(requests_.back(), (json{{"command", "status"}}));
    EXPECT_EQ(run({"stats"}), 0);
    EXPECT_EQ(requests_.back(), (json{{"command", "stats"}}));
    EXPECT_EQ(run({"version"}), 0);
    EXPECT_EQ(requests_.back(), (json{{"command", "version"}}));
    EXPECT_EQ(run({"sockets"}), 0);
    EXPECT_EQ(requests_.back(), (json{{"command", "sockets"}}));
    EXPECT_EQ(run({"sockets", "--pid", "42"}), 0);
    EXPECT_EQ(requests_.back(), (json{{"command", "sockets"}, {"pid", 42}}));
    EXPECT_EQ(run({"procs"}), 0);
    EXPECT_EQ(requests_.back(), (json{{"command", "procs"}}));
}

TEST_F(CliTest, CgroupPathResolvesToTheDirectoryInode)
{
    struct statfs fs {};
    if (statfs("/sys/fs/cgroup", &fs) != 0 || fs.f_type != CGROUP2_SUPER_MAGIC)
        GTEST_SKIP() << "no cgroup v2 at /sys/fs/cgroup";
    struct stat st {};
    ASSERT_EQ(stat("/sys/fs/cgroup", &st), 0);
    EXPECT_EQ(run({"enable", "--cgroup", "/sys/fs/cgroup"}), 0) << err_.str();
    EXPECT_EQ(requests_.back(), (json{{"command", "enable"}, {"cgroup_id", st.st_ino}}));
    EXPECT_EQ(run({"enable", "--cgroup", "no-such.slice/none.service"}), libractl_exit::usage);
    EXPECT_EQ(run({"enable", "--cgroup", "/proc"}), libractl_exit::usage);
    EXPECT_NE(err_.str().find("not in a cgroup v2"), std::string::npos) << err_.str();
}

TEST_F(CliTest, UsageErrorsExitTwoWithoutContactingLibrad)
{
    std::vector<std::vector<std::string>> bad = {
        {},
        {"frobnicate"},
        {"enable"},
        {"enable", "--pid", "1", "--cgroup", "/sys/fs/cgroup"},
        {"enable", "--pid", "0"},
        {"enable", "--pid", "x"},
        {"enable", "--pid", "1", "--port", "0"},
        {"enable", "--pid", "1", "--port", "80,,81"},
        {"enable", "--pid", "1", "--min-body", "-1"},
        {"enable", "--pid", "1", "stray"},
        {"enable", "--pid", "1", "--anchor-limit", "0"},
        {"enable", "--pid", "1", "--anchor-limit", "-1M"},
        {"enable", "--pid", "1", "--anchor-limit", "1.5M"},
        {"enable", "--pid", "1", "--anchor-limit", "64MB"},
        {"enable", "--pid", "1", "--anchor-limit", "99999999T"},
        {"enable", "--pid", "1", "--anchor-limit"},
        {"disable", "--pid", "1", "--anchor-limit", "1M"},
        {"disable"},
        {"stats", "--watch", "--interval", "0"},
        {"status", "--bogus"},
        {"--bogus", "status"},
        {"help", "nope"},
    };
    for (const auto& args : bad) {
        EXPECT_EQ(run(args), libractl_exit::usage) << ::testing::PrintToString(args);
        EXPECT_FALSE(err_.str().empty());
    }
    EXPECT_TRUE(requests_.empty());
}

TEST_F(CliTest, ErrorRepliesMapToExitCodes)
{
    reply_ = [](const json&) -> Result<json> { return Error{ErrorCode::permission_denied, "no"}; };
    EXPECT_EQ(run({"stats"}), libractl_exit::permission_denied);
    EXPECT_NE(err_.str().find("no"), std::string::npos);
    reply_ = [](const json&) -> Result<json> { return Error{ErrorCode::daemon_unreachable, "down"}; };
    EXPECT_EQ(run({"status"}), libractl_exit::unreachable);
    reply_ = [](const json&) -> Result<json> { return Error{ErrorCode::already_exists, "dup"}; };
    EXPECT_EQ(run({"enable", "--pid", "3"}), libractl_exit::failed);
}

TEST_F(CliTest, JsonOutputIsTheReplyObject)
{
    json stats = {{"sockets_tracked", nullptr}, {"fallbacks", nullptr}, {"processes", json::array()},
                  {"unavailable", {"sockets_tracked", "fallbacks"}}, {"module_counters", {{"recvmsg_calls", 9}}}};
    reply_ = [&](const json&) -> Result<json> { return stats; };
    for (const auto& command : command_table()) {
        std::vector<std::string> args = {std::string(command.name)};
        if (command.name == "enable" || command.name == "disable")
            args.insert(args.end(), {"--pid", "7"});
        args.push_back("--json");
        ASSERT_EQ(run(args), 0) << command.name << err_.str();
        EXPECT_EQ(json::parse(out_.str()), stats) << command.name;
    }
    // Without --json: a table naming unavailable figures as such.
    ASSERT_EQ(run({"stats"}), 0);
    EXPECT_NE(out_.str().find("sockets_tracked"), std::string::npos);
    EXPECT_NE(out_.str().find("unavailable"), std::string::npos);
    EXPECT_NE(out_.str().find("recvmsg_calls"), std::string::npos);
}

// A stats reply as librad sends it, with one entry of each kind.
json stats_with_entries()
{
    auto scope = [](json figures) {
        for (const char* key : {"sockets_tracked", "messages_parsed", "bytes_metadata_copied", "bytes_anchored",
                                "bytes_zero_copy_sent", "bytes_fallback_copied", "anchored_bytes_now",
                                "anchored_bytes_peak", "anchored_bytes_limit", "parser_errors"})
            if (!figures.contains(key))
                figures[key] = 0;
        return figures;
    };
    json stats = scope({{"module_version", "1.0"}, {"abi_version", 2}, {"bytes_anchored", 3000},
                        {"fallbacks", {{"budget", 1}}}, {"unavailable", json::array()}});
    stats["processes"] = {scope({{"pid", 4242}, {"descendants", true}, {"ports", json::array()}, {"min_body", 16384},
                                 {"anchor_limit", 64 << 20}, {"bytes_anchored", 1000},
                                 {"fallbacks", {{"budget", 1}}}, {"unavailable", json::array()}})};
    stats["cgroups"] = {scope({{"cgroup_id", 777}, {"ports", {80}}, {"min_body", 16384}, {"anchor_limit", nullptr},
                               {"bytes_anchored", 2000}, {"sockets_tracked", nullptr}, {"fallbacks", nullptr},
                               {"unavailable", {"sockets_tracked", "fallbacks"}}})};
    return stats;
}

// The row of a table line that starts with @label, split into its cells.
std::vector<std::string> table_row(const std::string& text, const std::string& label)
{
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
        std::istringstream words(line);
        std::vector<std::string> cells;
        for (std::string word; words >> word;)
            cells.push_back(word);
        if (!cells.empty() && cells[0] == label)
            return cells;
    }
    return {};
}

TEST_F(CliTest, StatsShowsATableOfEachEntrysFigures)
{
    reply_ = [](const json&) -> Result<json> { return stats_with_entries(); };
    ASSERT_EQ(run({"stats"}), 0) << err_.str();
    const auto text = out_.str();
    EXPECT_NE(text.find("pid 4242 (and descendants) ports all min-body 16384 anchor-limit 64M"), std::string::npos)
        << text;
    EXPECT_NE(text.find("cgroup 777 ports 80 min-body 16384\n"), std::string::npos) << text;
    // The header names the entries; the first bytes_anchored row is the
    // total, the second the per-entry one.
    auto header = text.find("pid 4242", text.find("anchor-limit 64M"));
    ASSERT_NE(header, std::string::npos) << text;
    EXPECT_NE(text.find("cgroup 777", header), std::string::npos);
    auto per_entry = text.substr(header);
    EXPECT_EQ(table_row(per_entry, "bytes_anchored"), (std::vector<std::string>{"bytes_anchored", "1000", "2000"}))
        << text;
    EXPECT_EQ(table_row(per_entry, "sockets_tracked"), (std::vector<std::string>{"sockets_tracked", "0", "-"}));
    EXPECT_EQ(table_row(per_entry, "fallbacks"), (std::vector<std::string>{"fallbacks", "budget", "1", "-"}));
    EXPECT_EQ(table_row(text, "bytes_anchored"), (std::vector<std::string>{"bytes_anchored", "3000"}));
}

TEST_F(CliTest, StatsTablesWrapManyEntries)
{
    json stats = stats_with_entries();
    json entry = stats["processes"][0];
    stats["processes"] = json::array();
    for (int pid = 100; pid < 107; ++pid) {
        entry["pid"] = pid;
        entry["bytes_anchored"] = pid * 10;
        stats["processes"].push_back(entry);
    }
    reply_ = [&](const json&) -> Result<json> { return stats; };
    ASSERT_EQ(run({"stats"}), 0) << err_.str();
    std::istringstream lines(out_.str());
    std::vector<std::vector<std::string>> rows;
    for (std::string line; std::getline(lines, line);) {
        EXPECT_LE(line.size(), 80u) << line;
        auto row = table_row(line, "bytes_anchored");
        if (!row.empty())
            rows.push_back(row);
    }
    // The total, then 7 entries in tables of 3, 3 and 1 (and the cgroup's).
    ASSERT_EQ(rows.size(), 4u) << out_.str();
    EXPECT_EQ(rows[1], (std::vector<std::string>{"bytes_anchored", "1000", "1010", "1020"}));
    EXPECT_EQ(rows[3], (std::vector<std::string>{"bytes_anchored", "1060", "2000"}));
}

TEST_F(CliTest, SocketsShowsATableOfEachSocket)
{
    // The reply exactly as librad builds it from the module's list.
    SocketList list;
    list.sockets = {testing::make_socket(7, 4242, 8080, 54321, LIBRA_SOCKET_ROLE_SERVER),
                    testing::make_socket(8, 4242, 40000, 8081, LIBRA_SOCKET_ROLE_CLIENT),
                    testing::make_socket(9, 4243, 443, 1, LIBRA_SOCKET_ROLE_PASS)};
    list.sockets[0].values[LIBRA_SOCKET_STAT_BYTES_ZERO_COPY_SENT] = 1048576;
    list.sockets[0].values[LIBRA_SOCKET_STAT_BYTES_METADATA_COPIED] = 120;
    list.sockets[1].values[LIBRA_SOCKET_STAT_BYTES_ANCHORED] = 1048576;
    list.sockets[1].flags = LIBRA_SOCKET_F_TX_ASIDE;
    list.sockets[1].tx_aside = LIBRA_STAT_FALLBACK_DESYNC;
    list.sockets[2].family = AF_INET6;
    std::fill(list.sockets[2].local_addr, list.sockets[2].local_addr + 16, 0);
    list.sockets[2].local_addr[15] = 1;  // ::1
    list.total = 3;
    list.stat_count = LIBRA_SOCKET_STAT_TOKENS_REJECTED;  // an older module: no tokens_rejected
    reply_ = [&](const json&) -> Result<json> { return build_sockets_json(list, std::nullopt); };
    ASSERT_EQ(run({"sockets"}), 0) << err_.str();
    const auto text = out_.str();
    // ANCHORED ZERO-COPY METADATA FALLBACK MATERIALIZED REJECTED REFUSED CUT STATE
    EXPECT_EQ(table_row(text, "7"), (std::vector<std::string>{"7", "4242", "server", "127.0.0.1:8080",
                                                               "127.0.0.1:54321", "0", "1048576", "120", "0",
                                                               "-", "-", "-", "-", "ok"}))
        << text;
    EXPECT_EQ(table_row(text, "8"), (std::vector<std::string>{"8", "4242", "client", "127.0.0.1:40000",
                                                               "127.0.0.1:8081", "1048576", "0", "0", "0", "-",
                                                               "-", "-", "-", "tx", "stepped", "aside",
                                                               "(fallback_desync)"}))
        << text;
    auto pass = table_row(text, "9");
    ASSERT_GE(pass.size(), 5u) << text;
    EXPECT_EQ(pass[3], "[::1]:443");
    EXPECT_NE(text.find("passed through"), std::string::npos);
    EXPECT_NE(text.find("3 sockets"), std::string::npos);

    list.sockets.clear();
    list.total = 0;
    reply_ = [&](const json&) -> Result<json> { return build_sockets_json(list, 42); };
    ASSERT_EQ(run({"sockets", "--pid", "42"}), 0);
    EXPECT_EQ(out_.str(), "no sockets tracked adopted by pid 42\n");
    EXPECT_EQ(run({"sockets", "--pid", "0"}), libractl_exit::usage);
}

TEST_F(CliTest, SocketsShowTlsAndTheFailSafeCounters)
{
    SocketList list;
    list.sockets = {testing::make_socket(1, 10, 443, 50000, LIBRA_SOCKET_ROLE_SERVER),
                    testing::make_socket(2, 11, 443, 50001, LIBRA_SOCKET_ROLE_SERVER),
                    testing::make_socket(3, 12, 8080, 50002, LIBRA_SOCKET_ROLE_SERVER)};
    list.sockets[0].flags = LIBRA_SOCKET_F_TLS;
    list.sockets[1].flags = LIBRA_SOCKET_F_TLS | LIBRA_SOCKET_F_KTLS;
    list.sockets[2].values[LIBRA_SOCKET_STAT_BYTES_MATERIALIZED] = 4096;
    list.sockets[2].values[LIBRA_SOCKET_STAT_TOKENS_REFUSED] = 2;
    list.sockets[2].values[LIBRA_SOCKET_STAT_REGIONS_CUT] = 1;
    list.total = 3;
    list.stat_count = __LIBRA_SOCKET_STAT_MAX;
    reply_ = [&](const json&) -> Result<json> { return build_sockets_json(list, std::nullopt); };
    ASSERT_EQ(run({"sockets"}), 0) << err_.str();
    const auto text = out_.str();
    EXPECT_NE(text.find("MATERIALIZED"), std::string::npos) << text;
    auto tls = table_row(text, "1");
    EXPECT_EQ(std::vector<std::string>(tls.begin() + 13, tls.end()),
              (std::vector<std::string>{"TLS", "in", "user", "space", "(its", "process", "gets", "no", "anchors)"}))
        << text;
    auto ktls = table_row(text, "2");
    EXPECT_EQ(std::vector<std::string>(ktls.begin() + 13, ktls.begin() + 15),
              (std::vector<std::string>{"kernel", "TLS"}))
        << text;
    EXPECT_EQ(table_row(text, "3"), (std::vector<std::string>{"3", "12", "server", "127.0.0.1:8080",
                                                               "127.0.0.1:50002", "0", "0", "0", "0", "4096", "0",
                                                               "2", "1", "ok"}))
        << text;
}

TEST_F(CliTest, StatusShowsLimits)
{
    reply_ = [](const json&) -> Result<json> {
        return json{{"daemon", {{"version", "x"}, {"anchor_limit", 256 << 20}, {"parsers", json::array()}}},
                    {"module", {{"version", "y"}}},
                    {"optins", {{{"pid", 5}, {"descendants", false}, {"ports", json::array()}, {"min_body", 1},
                                 {"anchor_limit", 1000}}}}};
    };
    ASSERT_EQ(run({"status"}), 0) << err_.str();
    EXPECT_NE(out_.str().find("anchor-limit: 256M (set by librad)"), std::string::npos) << out_.str();
    EXPECT_NE(out_.str().find("pid 5 (this process only) ports all min-body 1 anchor-limit 1000"), std::string::npos)
        << out_.str();
}

// The module's processes and entries of AccelerationTest's kind, as librad
// replies with them: nginx master 100 with workers 101 (TLS in user space) and
// 102, HAProxy 200 in cgroup 7 with kernel TLS, 300 holding anchors.
class CliAccelerationTest : public CliTest {
protected:
    CliAccelerationTest()
    {
        tree_.add_child(1, 100);
        tree_.add_child(100, 101);
        tree_.add_child(100, 102);
        tree_.add_child(1, 200);
        tree_.cgroup_chains[200] = {7, 1};
        auto tls = testing::make_process(101, LIBRA_PROC_F_OPTED_IN | LIBRA_PROC_F_TLS_USER);
        auto plain = testing::make_process(102, LIBRA_PROC_F_OPTED_IN);
        plain.anchors = 3;
        plain.anchored_bytes = 196608;
        auto holder = testing::make_process(300, 0);
        holder.anchors = 1;
        holder.anchored_bytes = 65536;
        holder.materialized_bytes = 4096;
        holder.tokens_refused = 1;
        module_.procs = {tls, plain, testing::make_process(200, LIBRA_PROC_F_OPTED_IN | LIBRA_PROC_F_TLS_HANDSHAKE),
                         holder};
        auto nginx = testing::pid_entry(100);
        auto haproxy = testing::cgroup_entry(7);
        EXPECT_TRUE(module_.add_optin(nginx));
        EXPECT_TRUE(module_.add_optin(haproxy));
        module_.counters_of(nginx)[LIBRA_STAT_BYTES_ANCHORED] = 1 << 20;
        module_.counters_of(nginx)[LIBRA_STAT_FALLBACK_BUDGET] = 37;
        module_.counters_of(haproxy)[LIBRA_STAT_MESSAGES_PARSED] = 12;
        reply_ = [this](const json& request) -> Result<json> {
            auto reply = json::parse(handler_.handle(request.dump(), {getpid(), 0, 0, {}}));
            return reply["result"];
        };
    }

    testing::FakeProcessTree tree_;
    testing::InMemoryModuleControl module_;
    Authorizer authorizer_{std::nullopt};
    RequestHandler handler_{module_, authorizer_,
                            [] { return json{{"version", "1.0"}, {"pid", 1}, {"parsers", json::array()}}; }, tree_};
};

TEST_F(CliAccelerationTest, ProcsShowsEachProcessAndWhyItIsNotAccelerated)
{
    ASSERT_EQ(run({"procs"}), 0) << err_.str();
    const auto text = out_.str();
    EXPECT_EQ(table_row(text, "PID"), (std::vector<std::string>{"PID", "ENTRY", "ACCELERATED", "ANCHORS", "ANCHORED",
                                                                 "MATERIALIZED", "REFUSED", "WHY", "NOT"}))
        << text;
    EXPECT_EQ(table_row(text, "101"), (std::vector<std::string>{"101", "pid", "100", "no", "0", "0", "0", "0",
                                                                 "tls_user"}))
        << text;
    EXPECT_EQ(table_row(text, "102"), (std::vector<std::string>{"102", "pid", "100", "yes", "3", "196608", "0",
                                                                 "0", "-"}))
        << text;
    EXPECT_EQ(table_row(text, "200"), (std::vector<std::string>{"200", "cgroup", "7", "no", "0", "0", "0", "0",
                                                                 "tls_handshake"}))
        << text;
    EXPECT_EQ(table_row(text, "300"), (std::vector<std::string>{"300", "-", "no", "1", "65536", "4096", "1",
                                                                 "not_opted_in"}))
        << text;
    EXPECT_NE(text.find("4 processes"), std::string::npos) << text;
    // Each reason explained once, with its remedy.
    EXPECT_NE(text.find("tls_user: terminates TLS in user space: Libra cannot stand in for bodies it encrypts\n"
                        "  remedy: switch it to kernel TLS, which Libra accelerates: for nginx, add "
                        "'ssl_conf_command Options KTLS;'"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("tls_handshake: has a TLS handshake open"), std::string::npos) << text;
    EXPECT_NE(text.find("not_opted_in: not opted in"), std::string::npos) << text;

    module_.procs.clear();
    ASSERT_EQ(run({"procs"}), 0) << err_.str();
    EXPECT_NE(out_.str().find("no processes known"), std::string::npos) << out_.str();
}

TEST_F(CliAccelerationTest, StatusSaysWhetherEachEntryIsAccelerated)
{
    ASSERT_EQ(run({"status"}), 0) << err_.str();
    auto text = out_.str();
    EXPECT_NE(text.find("  pid 100 (and descendants) ports all min-body 16384\n"
                        "    partly accelerated (processes 101, 102)\n"
                        "    - pid 101: terminates TLS in user space: Libra cannot stand in for bodies it encrypts\n"
                        "        remedy: switch it to kernel TLS, which Libra accelerates: for nginx, add "
                        "'ssl_conf_command Options KTLS;' next to its ssl_certificate (nginx 1.21.4 or later with "
                        "OpenSSL 3), load the kernel's tls module (modprobe tls) and keep to ciphers the kernel has "
                        "(AES-GCM, ChaCha20-Poly1305); /proc/net/tls_stat counts TlsTxSw when it works. Restart it "
                        "afterwards: the mark lasts for the process's life\n"
                        "    - fallback_budget 37 (since the entry was added): the anchored-memory limit was "
                        "reached: bodies were copied instead\n"
                        "        remedy: raise anchor_limit"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("  cgroup 7 ports all min-body 16384\n"
                        "    not accelerated (process 200)\n"
                        "    - pid 200: has a TLS handshake open and has never set up kernel TLS"),
              std::string::npos)
        << text;
    // The next look says whether the limit is still being reached.
    ASSERT_EQ(run({"status"}), 0) << err_.str();
    EXPECT_NE(out_.str().find("fallback_budget 37 (none since the last status)"), std::string::npos) << out_.str();
}

TEST_F(CliTest, WatchRepeatsUntilInterrupted)
{
    watch_rounds_ = 3;
    reply_ = [](const json&) -> Result<json> { return json{{"sockets_tracked", 1}}; };
    ASSERT_EQ(run({"stats", "--watch", "--interval", "0.1", "--json"}), 0);
    std::istringstream lines(out_.str());
    int count = 0;
    for (std::string line; std::getline(lines, line); ++count)
        EXPECT_EQ(json::parse(line)["sockets_tracked"], 1);
    EXPECT_EQ(count, 3);
    EXPECT_EQ(requests_.size(), 3u);
    // For people, with per-entry figures: every refresh has its tables.
    reply_ = [](const json&) -> Result<json> { return stats_with_entries(); };
    waits_ = 0;
    ASSERT_EQ(run({"stats", "--watch"}), 0);
    size_t refreshes = 0, anchored_rows = 0;
    std::istringstream watched(out_.str());
    for (std::string line; std::getline(watched, line);) {
        refreshes += line.rfind("--- ", 0) == 0;
        anchored_rows += !table_row(line, "bytes_anchored").empty();
    }
    EXPECT_EQ(anchored_rows, 6u) << "the total and the entries' table, each refresh";
    EXPECT_EQ(refreshes, 3u) << out_.str();
}

// libractl's real socket transport against a real ControlServer.
TEST(LibractlAgainstServer, RealSocketRoundTrip)
{
    char pattern[] = "/tmp/libractl-e2e-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    std::string socket_path = std::string(pattern) + "/run/librad.sock";
    testing::InMemoryModuleControl module;
    Authorizer authorizer{std::nullopt};
    RequestHandler handler{module, authorizer, [] { return json{{"version", "e2e"}}; }};
    auto loop = EventLoop::create();
    ASSERT_TRUE(loop);
    auto server = ControlServer::listen({socket_path, std::nullopt}, *loop.value(), handler);
    ASSERT_TRUE(server) << server.error().message;
    std::atomic<bool> stop{false};
    std::thread serving([&] {
        while (!stop)
            (void)loop.value()->run_once(20);
    });
    auto run = [&](std::vector<std::string> args, std::string& output) {
        args.insert(args.begin(), {"libractl", "--socket", socket_path});
        std::vector<const char*> argv;
        for (const auto& arg : args)
            argv.push_back(arg.c_str());
        std::ostringstream out, err;
        CliEnvironment env{socket_transport, out, err, [](double) { return false; }};
        int status = run_cli(static_cast<int>(argv.size()), argv.data(), env);
        output = out.str() + err.str();
        return status;
    };
    std::string output;
    EXPECT_EQ(run({"enable", "--pid", std::to_string(getpid()), "--port", "80"}, output), 0) << output;
    EXPECT_EQ(run({"status"}, output), 0) << output;
    EXPECT_NE(output.find("pid " + std::to_string(getpid())), std::string::npos) << output;
    EXPECT_EQ(run({"stats", "--json"}, output), 0) << output;
    auto stats = json::parse(output);
    EXPECT_EQ(stats["processes"].size(), 1u);
    EXPECT_EQ(run({"disable", "--pid", std::to_string(getpid())}, output), 0) << output;
    EXPECT_EQ(run({"disable", "--pid", std::to_string(getpid())}, output), libractl_exit::failed);
    EXPECT_NE(output.find("LIBRA_IOC_OPTIN_DEL"), std::string::npos) << output;
    stop = true;
    serving.join();
    server.value().reset();
    EXPECT_EQ(run({"status"}, output), libractl_exit::unreachable);
    EXPECT_NE(output.find("is librad running?"), std::string::npos) << output;
    rmdir((std::string(pattern) + "/run").c_str());
    rmdir(pattern);
}

}  // namespace
}  // namespace libra
