// The `sockets` reply built from the module's socket list: identity,
// addresses, roles, why a direction stepped aside, and each socket's own
// counters by the names `stats` uses, null (never 0) when not kept.
#include <gtest/gtest.h>

#include <arpa/inet.h>

#include <set>

#include "in_memory_module_control.hpp"
#include "librad/socket_json.hpp"
#include "librad/stat_table.hpp"

namespace libra {
namespace {

using nlohmann::json;
using testing::make_socket;

TEST(SocketStatTable, NamesEveryPerSocketCounterOnce)
{
    std::set<std::string_view> names;
    for (const auto& counter : kSocketStatTable)
        EXPECT_TRUE(names.insert(kStatTable[counter.stat].name).second) << kStatTable[counter.stat].name;
    for (const char* name : {"bytes_metadata_copied", "bytes_anchored", "bytes_zero_copy_sent",
                             "bytes_fallback_copied", "tokens_rejected", "bytes_materialized", "tokens_refused",
                             "regions_cut"})
        EXPECT_TRUE(names.count(name)) << name;
}

TEST(SocketJson, AnIpv4SocketWithItsCounters)
{
    auto socket = make_socket(7, 4242, 8080, 54321, LIBRA_SOCKET_ROLE_SERVER);
    socket.values[LIBRA_SOCKET_STAT_BYTES_ANCHORED] = 1000;
    socket.values[LIBRA_SOCKET_STAT_BYTES_ZERO_COPY_SENT] = 2000;
    socket.values[LIBRA_SOCKET_STAT_TOKENS_REJECTED] = 3;
    auto out = socket_to_json(socket, __LIBRA_SOCKET_STAT_MAX);
    EXPECT_EQ(out["id"], 7);
    EXPECT_EQ(out["pid"], 4242);
    EXPECT_EQ(out["family"], "ipv4");
    EXPECT_EQ(out["local_address"], "127.0.0.1");
    EXPECT_EQ(out["local_port"], 8080);
    EXPECT_EQ(out["remote_address"], "127.0.0.1");
    EXPECT_EQ(out["remote_port"], 54321);
    EXPECT_EQ(out["role"], "server");
    EXPECT_EQ(out["opted_in"], true);
    EXPECT_EQ(out["rx"], (json{{"stepped_aside", false}, {"reason", nullptr}}));
    EXPECT_EQ(out["tx"], (json{{"stepped_aside", false}, {"reason", nullptr}}));
    EXPECT_EQ(out["bytes_anchored"], 1000);
    EXPECT_EQ(out["bytes_zero_copy_sent"], 2000);
    EXPECT_EQ(out["tokens_rejected"], 3);
    EXPECT_EQ(out["bytes_metadata_copied"], 0);
    for (const auto& counter : kSocketStatTable)
        EXPECT_TRUE(out[std::string(kStatTable[counter.stat].name)].is_number()) << kStatTable[counter.stat].name;
}

TEST(SocketJson, TlsFlagsAndTheFailSafeCounters)
{
    auto socket = make_socket(4, 1, 443, 1234, LIBRA_SOCKET_ROLE_SERVER);
    auto out = socket_to_json(socket, __LIBRA_SOCKET_STAT_MAX);
    EXPECT_EQ(out["tls"], false);
    EXPECT_EQ(out["ktls"], false);
    EXPECT_EQ(out["tls_handshake"], false);
    socket.flags = LIBRA_SOCKET_F_TLS;
    EXPECT_EQ(socket_to_json(socket, __LIBRA_SOCKET_STAT_MAX)["tls"], true);
    socket.flags = LIBRA_SOCKET_F_TLS | LIBRA_SOCKET_F_TLS_HANDSHAKE;
    EXPECT_EQ(socket_to_json(socket, __LIBRA_SOCKET_STAT_MAX)["tls_handshake"], true);
    socket.flags = LIBRA_SOCKET_F_TLS | LIBRA_SOCKET_F_KTLS;
    socket.values[LIBRA_SOCKET_STAT_BYTES_MATERIALIZED] = 8192;
    socket.values[LIBRA_SOCKET_STAT_TOKENS_REFUSED] = 3;
    socket.values[LIBRA_SOCKET_STAT_REGIONS_CUT] = 1;
    out = socket_to_json(socket, __LIBRA_SOCKET_STAT_MAX);
    EXPECT_EQ(out["tls"], true);
    EXPECT_EQ(out["ktls"], true);
    EXPECT_EQ(out["opted_in"], true);
    EXPECT_EQ(out["bytes_materialized"], 8192);
    EXPECT_EQ(out["tokens_refused"], 3);
    EXPECT_EQ(out["regions_cut"], 1);
    // A module that keeps the first nine only (before the fail-safe rules).
    out = socket_to_json(socket, LIBRA_SOCKET_STAT_BYTES_MATERIALIZED);
    EXPECT_EQ(out["tx_resets"], 0);
    for (const char* name : {"bytes_materialized", "tokens_refused", "regions_cut"})
        EXPECT_TRUE(out[name].is_null()) << name;
}

TEST(SocketJson, Ipv6AddressesIncludingMappedIpv4)
{
    auto socket = make_socket(1, 1, 443, 40000, LIBRA_SOCKET_ROLE_CLIENT);
    socket.family = AF_INET6;
    ASSERT_EQ(inet_pton(AF_INET6, "::1", socket.local_addr), 1);
    ASSERT_EQ(inet_pton(AF_INET6, "::ffff:10.0.0.2", socket.remote_addr), 1);
    auto out = socket_to_json(socket, __LIBRA_SOCKET_STAT_MAX);
    EXPECT_EQ(out["family"], "ipv6");
    EXPECT_EQ(out["local_address"], "::1");
    EXPECT_EQ(out["remote_address"], "::ffff:10.0.0.2");
    EXPECT_EQ(out["role"], "client");
    socket.family = 99;  // not the module's today: no address rather than a wrong one
    out = socket_to_json(socket, __LIBRA_SOCKET_STAT_MAX);
    EXPECT_EQ(out["family"], "family 99");
    EXPECT_EQ(out["local_address"], "");
}

TEST(SocketJson, SteppingAsideNamesTheCounterThatCountedIt)
{
    auto socket = make_socket(2, 1, 80, 1234, LIBRA_SOCKET_ROLE_PASS);
    socket.flags = LIBRA_SOCKET_F_RX_ASIDE | LIBRA_SOCKET_F_TX_ASIDE;
    socket.rx_aside = LIBRA_STAT_FALLBACK_DESYNC;
    socket.tx_aside = 300;  // a reason of a newer module
    auto out = socket_to_json(socket, __LIBRA_SOCKET_STAT_MAX);
    EXPECT_EQ(out["rx"], (json{{"stepped_aside", true}, {"reason", "fallback_desync"}}));
    EXPECT_EQ(out["tx"], (json{{"stepped_aside", true}, {"reason", "counter 300"}}));
    EXPECT_EQ(out["role"], "pass");
    socket.role = 9;
    socket.flags = LIBRA_SOCKET_F_NOT_OPTED_IN | LIBRA_SOCKET_F_RX_ASIDE;
    socket.rx_aside = LIBRA_SOCKET_ASIDE_NONE;
    out = socket_to_json(socket, __LIBRA_SOCKET_STAT_MAX);
    EXPECT_EQ(out["role"], "role 9");
    EXPECT_EQ(out["opted_in"], false);
    EXPECT_EQ(out["rx"], (json{{"stepped_aside", true}, {"reason", nullptr}}));
}

TEST(SocketJson, CountersAnOlderModuleDoesNotKeepAreNullAndListed)
{
    SocketList list;
    list.sockets = {make_socket(3, 1, 80, 1234, LIBRA_SOCKET_ROLE_SERVER)};
    list.sockets[0].values[LIBRA_SOCKET_STAT_MESSAGES_PARSED] = 5;
    list.total = 1;
    list.stat_count = LIBRA_SOCKET_STAT_BYTES_ANCHORED;  // knows the first two only
    auto out = build_sockets_json(list, std::nullopt);
    const auto& socket = out["sockets"][0];
    EXPECT_EQ(socket["messages_parsed"], 5);
    EXPECT_EQ(socket["bytes_metadata_copied"], 0);
    EXPECT_TRUE(socket["bytes_anchored"].is_null());
    EXPECT_TRUE(socket["tx_resets"].is_null());
    EXPECT_EQ(out["unavailable"].size(), __LIBRA_SOCKET_STAT_MAX - 2u);
    EXPECT_EQ(out["unavailable"][0], "bytes_anchored");
}

TEST(SocketJson, TheReplySaysWhoseAndWhetherItIsWhole)
{
    SocketList list;
    list.sockets = {make_socket(1, 42, 80, 1, LIBRA_SOCKET_ROLE_SERVER),
                    make_socket(2, 42, 2, 8081, LIBRA_SOCKET_ROLE_CLIENT)};
    list.total = 2;
    list.stat_count = __LIBRA_SOCKET_STAT_MAX;
    auto whole = build_sockets_json(list, 42);
    EXPECT_EQ(whole["pid"], 42);
    EXPECT_EQ(whole["total"], 2);
    EXPECT_EQ(whole["listed"], 2);
    EXPECT_EQ(whole["truncated"], false);
    EXPECT_EQ(whole["unavailable"], json::array());
    EXPECT_EQ(whole["sockets"].size(), 2u);
    list.total = 10000;
    auto capped = build_sockets_json(list, std::nullopt);
    EXPECT_TRUE(capped["pid"].is_null());
    EXPECT_EQ(capped["truncated"], true);
    EXPECT_EQ(capped["listed"], 2);
}

}  // namespace
}  // namespace libra
