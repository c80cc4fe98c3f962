// Framing of the librad control protocol (daemon/PROTOCOL.md): one JSON object
// per line, UTF-8, terminated by '\n', in both directions. Newline-delimited
// JSON keeps the protocol usable with socat/nc for debugging while a hard line
// limit keeps a hostile peer from making librad buffer without bound.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/result.hpp"

namespace libra::protocol {

inline constexpr int kVersion = 1;
// A request is a handful of fields; 16 KiB is generous and bounds librad's
// per-client buffer.
inline constexpr std::size_t kMaxRequestBytes = 16 * 1024;
// Replies carry the opt-in table (at most LIBRA_OPTIN_MAX entries) and stats;
// the client refuses anything larger as a protocol error.
inline constexpr std::size_t kMaxReplyBytes = 8 * 1024 * 1024;

// Accumulates bytes from a stream and cuts them into lines. Once the pending
// partial line exceeds the limit, the stream is out of sync for good: the
// caller answers with request_too_large and closes the connection.
class LineBuffer {
public:
    explicit LineBuffer(std::size_t max_line) : max_line_(max_line) {}

    void append(std::string_view bytes) { pending_.append(bytes); }
    // The next complete line without its '\n', if there is one.
    std::optional<std::string> next_line();
    // True when the data seen so far can never form a line within the limit.
    bool overflowed() const;
    bool empty() const { return pending_.empty(); }

private:
    std::size_t max_line_;
    std::string pending_;
};

// {"ok":true,"result":...}
std::string success_line(const nlohmann::json& result);
// {"ok":false,"error":{"code":"...","message":"..."}}
std::string error_line(const Error& error);

// Parses one reply line: the "result" object, or the Error librad sent, or a
// protocol_error when the line is not a well-formed reply.
Result<nlohmann::json> parse_reply(std::string_view line);

}  // namespace libra::protocol
