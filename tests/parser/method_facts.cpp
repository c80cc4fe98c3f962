#include "method_facts.h"

namespace libra::parser_test {

bool is_method_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return c != '\0' && std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) !=
                            std::string_view::npos;
}

uint8_t method_code(std::string_view token)
{
    static const std::pair<std::string_view, uint8_t> kNamed[] = {
        {"GET", LIBRA_HTTP_METHOD_GET},         {"HEAD", LIBRA_HTTP_METHOD_HEAD},
        {"POST", LIBRA_HTTP_METHOD_POST},       {"PUT", LIBRA_HTTP_METHOD_PUT},
        {"DELETE", LIBRA_HTTP_METHOD_DELETE},   {"CONNECT", LIBRA_HTTP_METHOD_CONNECT},
        {"OPTIONS", LIBRA_HTTP_METHOD_OPTIONS}, {"TRACE", LIBRA_HTTP_METHOD_TRACE},
        {"PATCH", LIBRA_HTTP_METHOD_PATCH},
    };
    for (const auto& [name, code] : kNamed)
        if (name == token)
            return code;
    return LIBRA_HTTP_METHOD_OTHER;
}

std::string_view method_token(std::string_view line)
{
    return line.substr(0, line.find(' '));
}

std::optional<size_t> method_deciding_byte(std::string_view line)
{
    for (size_t i = 0; i < line.size(); i++) {
        const unsigned char c = static_cast<unsigned char>(line[i]);
        if (c == ' ')
            return i == 0 ? std::optional<size_t>(0) : std::nullopt;
        if (!is_method_tchar(c) || i == kMethodMax)
            return i;
    }
    return std::nullopt;
}

std::string message_method_problem(const Trace& trace, std::span<const uint8_t> stream,
                                   uint8_t direction)
{
    const std::string_view text(reinterpret_cast<const char*>(stream.data()), stream.size());
    for (const Unit& unit : trace.units) {
        if (!(unit.flags & LIBRA_PARSE_F_MESSAGE_START))
            continue;
        const std::string where = "the MESSAGE_START unit at " + std::to_string(unit.start);
        if (direction != LIBRA_PARSE_REQUEST) {
            if (unit.message_method != LIBRA_HTTP_METHOD_UNKNOWN)
                return where + " of a response reports method " +
                       std::to_string(unit.message_method);
            continue;
        }
        const std::string_view line = text.substr(unit.start);
        const std::string_view token = method_token(line);
        if (token.size() == line.size() || method_deciding_byte(line))
            return where + " has no valid method \"" + std::string(token) + "\"";
        const uint8_t expected = method_code(token);
        if (expected == LIBRA_HTTP_METHOD_CONNECT)
            return where + " is a CONNECT request (a tunnel: the parser must step aside)";
        if (unit.message_method != expected)
            return where + ": method \"" + std::string(token) + "\" reported as " +
                   std::to_string(unit.message_method) + ", the reference says " +
                   std::to_string(expected) + " (method_facts.cpp)";
    }
    return {};
}

}  // namespace libra::parser_test
