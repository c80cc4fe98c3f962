// librad's whole lifetime in a child process: sd_notify READY=1, serving the
// socket, re-attaching to state the module already holds, SIGHUP reload,
// SIGTERM shutdown. The module is the in-memory stand-in (the real one
// cannot load on the host); everything else is the real daemon.
#include <gtest/gtest.h>

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
            module->optins.push_back(kept);
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

    ASSERT_EQ(kill(daemon_pid_, SIGHUP), 0);
    EXPECT_NE(next_notification().find("RELOADING=1"), std::string::npos);
    EXPECT_NE(next_notification().find("READY=1"), std::string::npos);
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

}  // namespace
}  // namespace libra
