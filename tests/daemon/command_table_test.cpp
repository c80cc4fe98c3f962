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

#include "in_memory_module_control.hpp"
#include "librad/control_server.hpp"
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
    for (const char* name : {"enable", "disable", "status", "stats", "version"})
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
    EXPECT_EQ(run({"disable", "--pid", "42"}), 0);
    EXPECT_EQ(requests_.back(), (json{{"command", "disable"}, {"pid", 42}}));
    EXPECT_EQ(run({"status"}), 0);
    EXPECT_EQ(requests_.back(), (json{{"command", "status"}}));
    EXPECT_EQ(run({"stats"}), 0);
    EXPECT_EQ(requests_.back(), (json{{"command", "stats"}}));
    EXPECT_EQ(run({"version"}), 0);
    EXPECT_EQ(requests_.back(), (json{{"command", "version"}}));
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
