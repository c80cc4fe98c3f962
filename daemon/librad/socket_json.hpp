// The module's socket list (LIBRA_IOC_LIST_SOCKETS) as the JSON of the
// `sockets` request (daemon/PROTOCOL.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include <linux/libra.h>

#include "librad/module_control.hpp"

namespace libra {

// Sockets one `sockets` reply lists at most, so that it stays well within
// the 8 MiB a client accepts (a socket takes about 500 bytes of JSON); the
// reply says how many there were.
inline constexpr uint32_t kMaxSocketsListed = 8192;

// "127.0.0.1", "::1": an address as the module reports it (network byte
// order, IPv4 in the first 4 bytes); empty for a family it does not know.
std::string socket_address(uint16_t family, const uint8_t (&address)[16]);

// One socket: identity, role, how each direction stands, and its counters by
// their kStatTable names (null when the module does not keep one: an index
// at or past @stat_count).
nlohmann::json socket_to_json(const libra_socket_info& socket, uint32_t stat_count);

// The reply: {"pid","total","listed","truncated","unavailable","sockets"}.
nlohmann::json build_sockets_json(const SocketList& list, std::optional<int32_t> pid);

}  // namespace libra
