#include "common/protocol.hpp"

namespace libra::protocol {

std::optional<std::string> LineBuffer::next_line()
{
    auto newline = pending_.find('\n');
    if (newline == std::string::npos || newline > max_line_)
        return std::nullopt;
    std::string line = pending_.substr(0, newline);
    pending_.erase(0, newline + 1);
    return line;
}

bool LineBuffer::overflowed() const
{
    auto newline = pending_.find('\n');
    return newline == std::string::npos ? pending_.size() > max_line_ : newline > max_line_;
}

namespace {
// dump() with the "replace" error handler: a reply must never throw because a
// message quoted invalid UTF-8 from a request.
std::string dump_line(const nlohmann::json& j)
{
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}
}  // namespace

std::string success_line(const nlohmann::json& result)
{
    return dump_line({{"ok", true}, {"result", result}});
}

std::string error_line(const Error& error)
{
    return dump_line({{"ok", false},
                      {"error", {{"code", to_string(error.code)}, {"message", error.message}}}});
}

namespace {
ErrorCode code_from_string(const std::string& s)
{
    for (int i = 0; i <= static_cast<int>(ErrorCode::daemon_unreachable); ++i) {
        auto code = static_cast<ErrorCode>(i);
        if (to_string(code) == s)
            return code;
    }
    return ErrorCode::module_error;  // a newer librad's code: still an error
}
}  // namespace

Result<nlohmann::json> parse_reply(std::string_view line)
{
    auto reply = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (reply.is_discarded() || !reply.is_object() || !reply.contains("ok") ||
        !reply["ok"].is_boolean())
        return Error{ErrorCode::protocol_error, "librad sent a reply that is not protocol JSON"};
    if (reply["ok"].get<bool>())
        return reply.contains("result") ? reply["result"] : nlohmann::json::object();
    const auto& err = reply.value("error", nlohmann::json::object());
    if (!err.is_object())
        return Error{ErrorCode::protocol_error, "librad sent a malformed error reply"};
    auto string_field = [&](const char* key) {
        auto it = err.find(key);
        return it != err.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    return Error{code_from_string(string_field("code")), string_field("message")};
}

}  // namespace libra::protocol
