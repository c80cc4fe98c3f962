// "ADDR:PORT" for the optional Prometheus listener: 127.0.0.1:9464, [::1]:9464.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>

#include "common/result.hpp"

namespace libra {

struct TcpEndpoint {
    std::string text;  // as configured, for messages
    sockaddr_storage address{};
    socklen_t address_len = 0;
    bool loopback = false;
};

// Numeric addresses only: a name would need DNS at startup, which a hardened
// daemon should not depend on.
Result<TcpEndpoint> parse_tcp_endpoint(const std::string& text);

}  // namespace libra
