#include "librad/socket_json.hpp"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <array>

#include "librad/stat_table.hpp"

namespace libra {

namespace {

std::string role_name(uint8_t role)
{
    switch (role) {
    case LIBRA_SOCKET_ROLE_UNKNOWN: return "unknown";
    case LIBRA_SOCKET_ROLE_CLIENT: return "client";
    case LIBRA_SOCKET_ROLE_SERVER: return "server";
    case LIBRA_SOCKET_ROLE_PASS: return "pass";
    default: return "role " + std::to_string(role);
    }
}

// Why a direction stepped aside: the name of the counter that counted it.
nlohmann::json aside_reason(uint16_t reason)
{
    if (reason == LIBRA_SOCKET_ASIDE_NONE)
        return nullptr;
    if (reason < kStatTable.size())
        return std::string(kStatTable[reason].name);
    return "counter " + std::to_string(reason);
}

nlohmann::json direction(const libra_socket_info& socket, uint32_t aside_flag, uint16_t reason)
{
    return {{"stepped_aside", (socket.flags & aside_flag) != 0}, {"reason", aside_reason(reason)}};
}

}  // namespace

std::string socket_address(uint16_t family, const uint8_t (&address)[16])
{
    std::array<char, INET6_ADDRSTRLEN> text{};
    if ((family != AF_INET && family != AF_INET6) || !inet_ntop(family, address, text.data(), text.size()))
        return {};
    return text.data();
}

nlohmann::json socket_to_json(const libra_socket_info& socket, uint32_t stat_count)
{
    nlohmann::json out = nlohmann::json::object();
    out["id"] = socket.id;
    out["pid"] = socket.tgid;
    out["family"] = socket.family == AF_INET    ? "ipv4"
                    : socket.family == AF_INET6 ? "ipv6"
                                                : "family " + std::to_string(socket.family);
    out["local_address"] = socket_address(socket.family, socket.local_addr);
    out["local_port"] = socket.local_port;
    out["remote_address"] = socket_address(socket.family, socket.remote_addr);
    out["remote_port"] = socket.remote_port;
    out["role"] = role_name(socket.role);
    out["opted_in"] = (socket.flags & LIBRA_SOCKET_F_NOT_OPTED_IN) == 0;
    out["tls"] = (socket.flags & LIBRA_SOCKET_F_TLS) != 0;
    out["ktls"] = (socket.flags & LIBRA_SOCKET_F_KTLS) != 0;
    out["tls_handshake"] = (socket.flags & LIBRA_SOCKET_F_TLS_HANDSHAKE) != 0;
    out["rx"] = direction(socket, LIBRA_SOCKET_F_RX_ASIDE, socket.rx_aside);
    out["tx"] = direction(socket, LIBRA_SOCKET_F_TX_ASIDE, socket.tx_aside);
    for (const auto& counter : kSocketStatTable)
        out[std::string(kStatTable[counter.stat].name)] =
            counter.index < stat_count ? nlohmann::json(socket.values[counter.index]) : nlohmann::json(nullptr);
    return out;
}

nlohmann::json build_sockets_json(const SocketList& list, std::optional<int32_t> pid)
{
    auto sockets = nlohmann::json::array();
    for (const auto& socket : list.sockets)
        sockets.push_back(socket_to_json(socket, list.stat_count));
    // Counters this build names that the module does not keep per socket.
    auto unavailable = nlohmann::json::array();
    for (const auto& counter : kSocketStatTable)
        if (counter.index >= list.stat_count)
            unavailable.push_back(kStatTable[counter.stat].name);
    return {{"pid", pid ? nlohmann::json(*pid) : nlohmann::json(nullptr)},
            {"total", list.total},
            {"listed", list.sockets.size()},
            {"truncated", list.total > list.sockets.size()},
            {"unavailable", unavailable},
            {"sockets", sockets}};
}

}  // namespace libra
