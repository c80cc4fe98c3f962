// The Prometheus endpoint against clients that are slow, huge or malformed:
// librad's loop goes on, and a scraper still gets its answer.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "common/unique_fd.hpp"
#include "librad/event_loop.hpp"
#include "librad/metrics_server.hpp"
#include "librad/tcp_endpoint.hpp"

namespace libra {
namespace {

using namespace std::chrono_literals;

class MetricsServerTest : public ::testing::Test {
protected:
    void start(std::chrono::milliseconds deadline)
    {
        auto loop = EventLoop::create();
        ASSERT_TRUE(loop);
        loop_ = std::move(loop.value());
        for (port_ = 20000 + (::getpid() % 20000);; ++port_) {
            auto endpoint = parse_tcp_endpoint("127.0.0.1:" + std::to_string(port_));
            ASSERT_TRUE(endpoint);
            auto server = MetricsServer::listen(
                endpoint.value(), *loop_,
                [this]() -> Result<std::string> {
                    ++renders_;
                    return std::string("libra_up 1\n");
                },
                deadline);
            if (server) {
                server_ = std::move(server.value());
                break;
            }
        }
        runner_ = std::thread([this] {
            while (!done_)
                ASSERT_TRUE(loop_->run_once(20));
        });
    }

    void TearDown() override
    {
        done_ = true;
        if (runner_.joinable())
            runner_.join();
        server_.reset();
    }

    UniqueFd connect_client() const
    {
        UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = htons(static_cast<uint16_t>(port_));
        EXPECT_EQ(::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
        return fd;
    }

    // What the server sends until it closes (or @wait passes: "<timeout>").
    static std::string read_until_close(int fd, std::chrono::milliseconds wait = 3000ms)
    {
        std::string got;
        auto end = std::chrono::steady_clock::now() + wait;
        for (;;) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
            pollfd p{fd, POLLIN, 0};
            if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0)
                return got + "<timeout>";
            char buffer[4096];
            ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
            if (n <= 0)
                return got;
            got.append(buffer, static_cast<size_t>(n));
        }
    }

    std::string scrape(const std::string& request = "GET /metrics HTTP/1.0\r\n\r\n")
    {
        auto fd = connect_client();
        (void)::send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL);
        return read_until_close(fd.get());
    }

    std::unique_ptr<EventLoop> loop_;
    std::unique_ptr<MetricsServer> server_;
    std::thread runner_;
    std::atomic<bool> done_{false};
    std::atomic<int> renders_{0};
    int port_ = 0;
};

TEST_F(MetricsServerTest, AScrapeGetsTheMetrics)
{
    start(2000ms);
    auto reply = scrape();
    EXPECT_EQ(reply.rfind("HTTP/1.0 200 OK\r\n", 0), 0U) << reply;
    EXPECT_NE(reply.find("\r\n\r\nlibra_up 1\n"), std::string::npos) << reply;
}

// Every slot held by a client that sends half a request and waits: they
// are dropped at their deadline, and the next scraper is served.
TEST_F(MetricsServerTest, SlowClientsCannotKeepScrapersOut)
{
    start(300ms);
    std::vector<UniqueFd> slow;
    for (size_t i = 0; i < MetricsServer::kMaxClients; ++i) {
        slow.push_back(connect_client());
        ASSERT_EQ(::send(slow.back().get(), "GET /met", 8, MSG_NOSIGNAL), 8);
    }
    std::this_thread::sleep_for(100ms);
    EXPECT_EQ(scrape().find("200 OK"), std::string::npos) << "a 17th client got in while 16 held the slots";
    for (auto& fd : slow)
        EXPECT_EQ(read_until_close(fd.get(), 2000ms), "") << "a slow client was not dropped at its deadline";
    auto reply = scrape();
    EXPECT_EQ(reply.rfind("HTTP/1.0 200 OK\r\n", 0), 0U) << reply;
}

// A client that sends without end is read no further than the limit and
// refused; meanwhile others are served.
TEST_F(MetricsServerTest, AnEndlessRequestIsRefusedAndOthersAreServed)
{
    start(2000ms);
    std::atomic<bool> stop{false};
    auto flood_fd = connect_client();
    std::thread flood([&] {
        std::string junk(65536, 'A');
        while (!stop && ::send(flood_fd.get(), junk.data(), junk.size(), MSG_NOSIGNAL) > 0) {
        }
    });
    auto reply = scrape();
    stop = true;
    ::shutdown(flood_fd.get(), SHUT_RDWR);
    flood.join();
    EXPECT_EQ(reply.rfind("HTTP/1.0 200 OK\r\n", 0), 0U) << reply;
}

TEST_F(MetricsServerTest, MalformedRequestsGetAnErrorAndNoMetrics)
{
    start(2000ms);
    std::string huge = "GET /metrics HTTP/1.0\r\nX: " + std::string(MetricsServer::kMaxRequestBytes, 'x');
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"POST /metrics HTTP/1.0\r\n\r\n", "HTTP/1.0 404 "},
        {"GET /metricsX HTTP/1.0\r\n\r\n", "HTTP/1.0 404 "},
        {"\r\n\r\n", "HTTP/1.0 404 "},
        {std::string("\0\xff\x01GET /metrics \r\n\r\n", 20), "HTTP/1.0 404 "},
        {huge, "HTTP/1.0 400 "},
    };
    for (const auto& [request, status] : cases) {
        auto reply = scrape(request);
        EXPECT_EQ(reply.rfind(status, 0), 0U) << "request " << request.substr(0, 40) << ": " << reply;
    }
    EXPECT_EQ(renders_, 0) << "metrics were rendered for a request that is no GET /metrics";
    EXPECT_EQ(scrape().rfind("HTTP/1.0 200 OK\r\n", 0), 0U);
}

// A client that connects and closes at once, or resets: nothing is left behind.
TEST_F(MetricsServerTest, ClientsThatVanishLeaveNoSlotTaken)
{
    start(2000ms);
    for (size_t i = 0; i < 4 * MetricsServer::kMaxClients; ++i) {
        auto fd = connect_client();
        if (i % 2) {
            linger l{1, 0};
            ::setsockopt(fd.get(), SOL_SOCKET, SO_LINGER, &l, sizeof(l));
        }
        if (i % 8 == 7)
            std::this_thread::sleep_for(20ms);  // within the listen backlog: no SYN retransmits
    }
    std::this_thread::sleep_for(200ms);
    auto reply = scrape();
    EXPECT_EQ(reply.rfind("HTTP/1.0 200 OK\r\n", 0), 0U) << reply;
}

}  // namespace
}  // namespace libra
