// The control socket end to end: real Unix sockets, real peers (forked
// children, some dropped to "nobody"), permissions, framing limits.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/protocol.hpp"
#include "common/unix_socket.hpp"
#include "in_memory_module_control.hpp"
#include "librad/control_server.hpp"
#include "unprivileged_process.hpp"

namespace libra {
namespace {

using nlohmann::json;
using testing::kTestControlGid;

struct ClientScript {
    std::string send;                    // bytes written after connecting
    size_t reply_lines = 1;              // read until this many lines or EOF
    std::optional<gid_t> as_nobody;      // drop to nobody (keeping this group) first
    bool drop_privileges = false;
};

class ControlServerTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        char pattern[] = "/tmp/librad-server-XXXXXX";
        ASSERT_NE(mkdtemp(pattern), nullptr);
        ASSERT_EQ(chmod(pattern, 0755), 0);  // let dropped children reach run/
        dir_ = std::string(pattern) + "/run";
        socket_ = dir_ + "/librad.sock";
        auto loop = EventLoop::create();
        ASSERT_TRUE(loop);
        loop_ = std::move(loop.value());
        auto server = ControlServer::listen({socket_, kTestControlGid}, *loop_, handler_);
        ASSERT_TRUE(server) << server.error().message;
        server_ = std::move(server.value());
    }
    void TearDown() override
    {
        server_.reset();
        rmdir(dir_.c_str());
        rmdir(dir_.substr(0, dir_.rfind('/')).c_str());
    }

    // Runs a client in a child process while this process serves it;
    // returns what the client read.
    std::string run_client(const ClientScript& script)
    {
        int out[2];
        EXPECT_EQ(pipe(out), 0);
        pid_t child = fork();
        if (child == 0) {
            close(out[0]);
            if (script.drop_privileges && !testing::drop_to_nobody(script.as_nobody))
                _exit(10);
            auto fd = connect_unix_stream(socket_);
            if (!fd) {
                std::string line = "CONNECT-FAILED " + fd.error().message + "\n";
                (void)!write(out[1], line.data(), line.size());
                _exit(11);
            }
            if (!send_all(fd->get(), script.send))
                _exit(12);
            std::string got;
            char buffer[4096];
            size_t lines = 0;
            while (lines < script.reply_lines) {
                ssize_t n = recv(fd->get(), buffer, sizeof(buffer), 0);
                if (n <= 0) {
                    got += n == 0 ? "<EOF>" : "<ERR>";
                    break;
                }
                got.append(buffer, static_cast<size_t>(n));
                lines = static_cast<size_t>(std::count(got.begin(), got.end(), '\n'));
            }
            (void)!write(out[1], got.data(), got.size());
            _exit(0);
        }
        close(out[1]);
        int status = 0;
        while (waitpid(child, &status, WNOHANG) == 0)
            (void)loop_->run_once(10);
        for (int i = 0; i < 5; ++i)
            (void)loop_->run_once(5);  // see the client's EOF too
        std::string result;
        char buffer[4096];
        ssize_t n;
        while ((n = read(out[0], buffer, sizeof(buffer))) > 0)
            result.append(buffer, static_cast<size_t>(n));
        close(out[0]);
        EXPECT_TRUE(WIFEXITED(status));
        return result;
    }

    static std::vector<json> replies(const std::string& text)
    {
        std::vector<json> out;
        size_t start = 0, newline;
        while ((newline = text.find('\n', start)) != std::string::npos) {
            out.push_back(json::parse(text.substr(start, newline - start)));
            start = newline + 1;
        }
        return out;
    }

    testing::InMemoryModuleControl module_;
    Authorizer authorizer_{kTestControlGid};
    RequestHandler handler_{module_, authorizer_, [] { return json{{"version", "test"}}; }};
    std::unique_ptr<EventLoop> loop_;
    std::unique_ptr<ControlServer> server_;
    std::string dir_;
    std::string socket_;
};

TEST_F(ControlServerTest, DirectoryAndSocketPermissions)
{
    struct stat dir_stat {}, socket_stat {};
    ASSERT_EQ(stat(dir_.c_str(), &dir_stat), 0);
    ASSERT_EQ(stat(socket_.c_str(), &socket_stat), 0);
    EXPECT_EQ(dir_stat.st_mode & 07777, 0750u);
    EXPECT_EQ(socket_stat.st_mode & 07777, 0660u);
    EXPECT_TRUE(S_ISSOCK(socket_stat.st_mode));
    if (geteuid() == 0) {
        EXPECT_EQ(dir_stat.st_gid, kTestControlGid);
        EXPECT_EQ(socket_stat.st_gid, kTestControlGid);
    }
}

TEST_F(ControlServerTest, EveryCommandPipelinedOnOneConnection)
{
    std::string pid = std::to_string(getpid());
    std::string requests = R"({"command":"version"})" "\n"
                           R"({"command":"enable","pid":)" + pid + R"(,"ports":[80]})" "\n"
                           R"({"command":"status"})" "\n"
                           R"({"command":"stats"})" "\n"
                           R"({"command":"disable","pid":)" + pid + "}\n";
    auto got = replies(run_client({requests, 5}));
    ASSERT_EQ(got.size(), 5u);
    for (const auto& reply : got)
        EXPECT_TRUE(reply["ok"].get<bool>()) << reply.dump();
    EXPECT_EQ(got[2]["result"]["optins"].size(), 1u);
    EXPECT_TRUE(got[3]["result"].contains("sockets_tracked"));
    EXPECT_TRUE(module_.optins.empty());
    EXPECT_EQ(server_->client_count(), 0u);  // closed after the client left
}

TEST_F(ControlServerTest, MalformedLineDoesNotEndTheConnection)
{
    auto got = replies(run_client({"{oops\n\n{\"command\":\"version\"}\n", 3}));
    ASSERT_EQ(got.size(), 3u);
    EXPECT_EQ(got[0]["error"]["code"], "invalid_request");
    EXPECT_EQ(got[1]["error"]["code"], "invalid_request");
    EXPECT_TRUE(got[2]["ok"].get<bool>());
}

TEST_F(ControlServerTest, OversizedRequestIsRefusedAndClosed)
{
    std::string huge(protocol::kMaxRequestBytes + 100, 'x');
    auto text = run_client({huge, 2});
    EXPECT_NE(text.find("request_too_large"), std::string::npos) << text;
    EXPECT_NE(text.find("<EOF>"), std::string::npos) << "connection must be closed: " << text;
    // librad still serves others afterwards.
    auto after = replies(run_client({"{\"command\":\"version\"}\n", 1}));
    ASSERT_EQ(after.size(), 1u);
    EXPECT_TRUE(after[0]["ok"].get<bool>());
}

TEST_F(ControlServerTest, OversizedLineWithNewlineIsRefusedToo)
{
    std::string huge = "{\"command\":\"" + std::string(protocol::kMaxRequestBytes, 'a') + "\"}\n";
    auto text = run_client({huge, 2});
    EXPECT_NE(text.find("request_too_large"), std::string::npos);
}

TEST_F(ControlServerTest, UnprivilegedPeerCannotConnectThroughPermissions)
{
    if (geteuid() != 0)
        GTEST_SKIP() << "needs root";
    auto text = run_client({"{\"command\":\"stats\"}\n", 1, std::nullopt, true});
    EXPECT_NE(text.find("CONNECT-FAILED"), std::string::npos) << text;
}

TEST_F(ControlServerTest, UnprivilegedPeerIsRefusedBySoPeercred)
{
    if (geteuid() != 0)
        GTEST_SKIP() << "needs root";
    // Test-only: open the file permissions so the request reaches the
    // per-request credential check, the second line of defence.
    ASSERT_EQ(chmod(dir_.c_str(), 0755), 0);
    ASSERT_EQ(chmod(socket_.c_str(), 0666), 0);
    std::string requests = "{\"command\":\"stats\"}\n{\"command\":\"enable\",\"pid\":1}\n";
    auto got = replies(run_client({requests, 2, std::nullopt, true}));
    ASSERT_EQ(got.size(), 2u);
    for (const auto& reply : got)
        EXPECT_EQ(reply["error"]["code"], "permission_denied") << reply.dump();
    EXPECT_TRUE(module_.optins.empty());
}

TEST_F(ControlServerTest, GroupMemberReadsStatsButCannotEnableOthers)
{
    if (geteuid() != 0)
        GTEST_SKIP() << "needs root";
    std::string requests = "{\"command\":\"stats\"}\n{\"command\":\"enable\",\"pid\":1}\n";
    auto got = replies(run_client({requests, 2, kTestControlGid, true}));
    ASSERT_EQ(got.size(), 2u);
    EXPECT_TRUE(got[0]["ok"].get<bool>()) << got[0].dump();
    EXPECT_EQ(got[1]["error"]["code"], "permission_denied");
}

TEST_F(ControlServerTest, StaleSocketIsReplacedLiveOneIsNot)
{
    // A second server on the same path while the first is alive: refused.
    auto second = ControlServer::listen({socket_, kTestControlGid}, *loop_, handler_);
    ASSERT_FALSE(second);
    EXPECT_NE(second.error().message.find("already"), std::string::npos);
    // A socket file whose server is gone is replaced.
    server_.reset();
    UniqueFd stale(socket(AF_UNIX, SOCK_STREAM, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strcpy(addr.sun_path, socket_.c_str());
    ASSERT_EQ(bind(stale.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    stale.reset();
    auto replacement = ControlServer::listen({socket_, kTestControlGid}, *loop_, handler_);
    ASSERT_TRUE(replacement) << replacement.error().message;
    server_ = std::move(replacement.value());
}

TEST_F(ControlServerTest, SocketpairClientIsServed)
{
    int pair[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, pair), 0);
    UniqueFd ours(pair[0]);
    ASSERT_TRUE(server_->adopt(UniqueFd(pair[1])));
    ASSERT_TRUE(send_all(ours.get(), "{\"command\":\"version\"}\n"));
    std::string got;
    for (int i = 0; i < 100 && got.find('\n') == std::string::npos; ++i) {
        (void)loop_->run_once(10);
        char buffer[1024];
        ssize_t n = recv(ours.get(), buffer, sizeof(buffer), 0);
        if (n > 0)
            got.append(buffer, static_cast<size_t>(n));
    }
    auto reply = protocol::parse_reply(got.substr(0, got.find('\n')));
    ASSERT_TRUE(reply) << got;
    EXPECT_EQ(reply.value()["protocol"], 1);
}

}  // namespace
}  // namespace libra
