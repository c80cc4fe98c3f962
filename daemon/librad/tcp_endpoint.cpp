#include "librad/tcp_endpoint.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>
#include <cstring>

namespace libra {

namespace {
Error bad(const std::string& text, const char* why)
{
    return Error{ErrorCode::config_error, "'" + text + "' is not ADDR:PORT: " + why};
}
}  // namespace

Result<TcpEndpoint> parse_tcp_endpoint(const std::string& text)
{
    auto colon = text.rfind(':');
    if (colon == std::string::npos || colon == 0)
        return bad(text, "expected ADDR:PORT, for example 127.0.0.1:9464 or [::1]:9464");
    std::string host = text.substr(0, colon);
    std::string port_text = text.substr(colon + 1);
    unsigned port = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || port == 0 || port > 65535)
        return bad(text, "port must be a number from 1 to 65535");

    TcpEndpoint endpoint;
    endpoint.text = text;
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        sockaddr_in6 sin6{};
        sin6.sin6_family = AF_INET6;
        sin6.sin6_port = htons(static_cast<uint16_t>(port));
        if (inet_pton(AF_INET6, host.substr(1, host.size() - 2).c_str(), &sin6.sin6_addr) != 1)
            return bad(text, "not a numeric IPv6 address");
        endpoint.loopback = IN6_IS_ADDR_LOOPBACK(&sin6.sin6_addr);
        std::memcpy(&endpoint.address, &sin6, sizeof(sin6));
        endpoint.address_len = sizeof(sin6);
        return endpoint;
    }
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(static_cast<uint16_t>(port));
    if (inet_pton(AF_INET, host.c_str(), &sin.sin_addr) != 1)
        return bad(text, "not a numeric IPv4 address (IPv6 goes in brackets)");
    endpoint.loopback = (ntohl(sin.sin_addr.s_addr) >> 24) == 127;
    std::memcpy(&endpoint.address, &sin, sizeof(sin));
    endpoint.address_len = sizeof(sin);
    return endpoint;
}

}  // namespace libra
