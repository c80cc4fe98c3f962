// librad's whole lifetime in a child process: sd_notify READY=1, serving the
// socket, re-attaching to state the module already holds, SIGHUP reload,
// SIGTERM shutdown. The module is the in-memory stand-in (the real one
// cannot load on the host); everything else is the real daemon.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>

#include "common/protocol.hpp"
#include "common/unix_socket.hpp"
#include "in_memory_module_control.hpp"
#include "librad/daemon.hpp"
#include "librad/exit_codes.hpp"

namespace libra {
namespace {

class DaemonLifecycleTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        if (geteuid() != 0 || access(LIBRA_BUILT_BPF_OBJECT, R_OK) != 0)
            GTEST_SKIP() << "needs root and the built parser object";
        char pattern[] = "/tmp/librad-life-XXXXXX";
        ASSERT_NE(mkdtemp(pattern), nullptr);
        dir_ = pattern;
        notify_path_ = dir_ + "/notify";
        notify_.reset(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::strcpy(addr.sun_path, notify_path_.c_str());
        ASSERT_EQ(bind(notify_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
        timeval timeout{10, 0};
        setsockopt(notify_.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
        std::ofstream(dir_ + "/librad.conf") << "log-level = debug\n";
    }
    void TearDown() override
    {
        if (daemon_pid_ > 0) {
            kill(daemon_pid_, SIGKILL);
            waitpid(daemon_pid_, nullptr, 0);
        }
        if (!dir_.empty()) {
            unlink(notify_path_.c_str());
            unlink((dir_ + "/librad.conf").c_str());
            rmdir((dir_ + "/run").c_str());
            rmdir(dir_.c_str());
        }
    }

    void start_daemon()
    {
        daemon_pid_ = fork();
        if (daemon_pid_ != 0)
            return;
        block_handled_signals();
        setenv("NOTIFY_SOCKET", notify_path_.c_str(), 1);
        std::string config = dir_ + "/librad.conf", socket = dir_ + "/run/librad.sock";
        const char* argv[] = {"librad", "--config", config.c_str(), "--socket", socket.c_str(),
                              "--bpf-object", LIBRA_BUILT_BPF_OBJECT};
        auto command_line = parse_command_line(7, argv);
        auto loaded = command_line ? load_config(command_line.value()) : Result<DaemonConfig>(command_line.error());
        if (!loaded)
            _exit(100);
        // State the "module" holds from before this librad started.
        auto opener = [](const std::string&) -> Result<std::unique_ptr<ModuleControl>> {
            auto module = std::make_unique<testing::InMemoryModuleControl>();
            libra_optin kept{};
            kept.pid = 1;
            (void)module->add_optin(kept);
            return std::unique_ptr<ModuleControl>(std::move(module));
        };
        int exit_status;
        {
            Daemon daemon(std::move(command_line.value()), std::move(loaded.value()), opener);
            exit_status = daemon.run();
        }  // destroyed first, as at the end of main(): removes the socket
        _exit(exit_status);
    }

    std::string next_notification()
    {
        char buffer[512];
        ssize_t n = recv(notify_.get(), buffer, sizeof(buffer), 0);
        return n > 0 ? std::string(buffer, static_cast<size_t>(n)) : std::string("<timeout>");
    }

    void write_config(const std::string& text) { std::ofstream(dir_ + "/librad.conf") << text; }

    // A loopback port nobody listens on right now.
    static int free_port()
    {
        UniqueFd probe(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof(addr);
        if (bind(probe.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
            getsockname(probe.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0)
            return -1;
        return ntohs(addr.sin_port);
    }

    // GET /metrics over HTTP: the whole response, headers included.
    static std::string scrape(int port)
    {
        UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = htons(static_cast<uint16_t>(port));
        if (connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0)
            return "<connect failed>";
        if (!send_all(fd.get(), "GET /metrics HTTP/1.0\r\n\r\n"))
            return "<send failed>";
        std::string response;
        char buffer[4096];
        ssize_t n;
        while ((n = recv(fd.get(), buffer, sizeof(buffer), 0)) > 0)
            response.append(buffer, static_cast<size_t>(n));
        return response;
    }

    void reload()
    {
        ASSERT_EQ(kill(daemon_pid_, SIGHUP), 0);
        EXPECT_NE(next_notification().find("RELOADING=1"), std::string::npos);
        EXPECT_NE(next_notification().find("READY=1"), std::string::npos);
    }

    nlohmann::json request(const std::string& line)
    {
        auto fd = connect_unix_stream(dir_ + "/run/librad.sock");
        EXPECT_TRUE(fd);
        if (!fd)
            return {};
        EXPECT_TRUE(send_all(fd->get(), line + "\n"));
        std::string reply;
        char c;
        while (recv(fd->get(), &c, 1, 0) == 1 && c != '\n')
            reply += c;
        auto result = protocol::parse_reply(reply);
        EXPECT_TRUE(result) << reply;
        return result ? result.value() : nlohmann::json();
    }

    std::string dir_, notify_path_;
    UniqueFd notify_;
    pid_t daemon_pid_ = -1;
};

TEST_F(DaemonLifecycleTest, ReadyServeReloadStop)
{
    start_daemon();
    auto ready = next_notification();
    ASSERT_NE(ready.find("READY=1"), std::string::npos) << ready;

    auto status = request(R"({"command":"status"})");
    ASSERT_EQ(status["optins"].size(), 1u) << "re-attached to the module's table, not reset";
    EXPECT_EQ(status["daemon"]["parsers"][0]["attached"], true);

    reload();
    EXPECT_EQ(request(R"({"command":"version"})")["protocol"], 1);

    ASSERT_EQ(kill(daemon_pid_, SIGTERM), 0);
    EXPECT_NE(next_notification().find("STOPPING=1"), std::string::npos);
    int status_code = 0;
    ASSERT_EQ(waitpid(daemon_pid_, &status_code, 0), daemon_pid_);
    daemon_pid_ = -1;
    ASSERT_TRUE(WIFEXITED(status_code));
    EXPECT_EQ(WEXITSTATUS(status_code), librad_exit::ok);
    EXPECT_NE(access((dir_ + "/run/librad.sock").c_str(), F_OK), 0) << "socket removed on shutdown";
}

// anchor-limit reaches the module at start and on every reload; the metrics
// endpoint serves the totals and each entry's series over HTTP.
TEST_F(DaemonLifecycleTest, AnchorLimitAndMetricsFollowTheConfig)
{
    int port = free_port();
    ASSERT_GT(port, 0);
    std::string metrics = "prometheus-listen = 127.0.0.1:" + std::to_string(port) + "\n";
    write_config(metrics + "anchor-limit = 64M\n");
    start_daemon();
    ASSERT_NE(next_notification().find("READY=1"), std::string::npos);
    auto limit = [&] { return request(R"({"command":"stats"})")["anchored_bytes_limit"]; };
    EXPECT_EQ(limit(), 64 << 20);
    EXPECT_EQ(request(R"({"command":"status"})")["daemon"]["anchor_limit"], 64 << 20);

    auto response = scrape(port);
    EXPECT_EQ(response.rfind("HTTP/1.0 200 OK\r\n", 0), 0u) << response;
    EXPECT_NE(response.find("\nlibra_anchored_bytes_limit 67108864\n"), std::string::npos) << response;
    // The entry the module held before librad started (pid 1).
    EXPECT_NE(response.find("\nlibra_optin_anchored_bytes_limit{pid=\"1\"} 67108864\n"), std::string::npos);
    EXPECT_NE(response.find("\nlibra_optin_bytes_anchored_total{pid=\"1\"} 0\n"), std::string::npos);

    write_config(metrics + "anchor-limit = 1G\n");
    reload();
    EXPECT_EQ(limit(), 1 << 30);
    // A bad value: the reload is refused whole, the limit stays.
    write_config(metrics + "anchor-limit = 1500K\n");
    reload();
    EXPECT_EQ(limit(), 1 << 30);
    EXPECT_EQ(request(R"({"command":"status"})")["daemon"]["anchor_limit"], 1 << 30);
    // Unset: the module keeps what it has; librad no longer claims it.
    write_config(metrics);
    reload();
    EXPECT_EQ(limit(), 1 << 30);
    EXPECT_TRUE(request(R"({"command":"status"})")["daemon"]["anchor_limit"].is_null());
}

}  // namespace
}  // namespace libra
