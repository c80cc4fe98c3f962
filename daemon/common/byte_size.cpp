#include "common/byte_size.hpp"

#include <array>
#include <charconv>

namespace libra {

namespace {
struct Unit {
    char suffix;
    unsigned shift;
};
// Largest first, for format_byte_size().
constexpr std::array<Unit, 4> kUnits = {{{'T', 40}, {'G', 30}, {'M', 20}, {'K', 10}}};
}  // namespace

Result<uint64_t> parse_byte_size(std::string_view text)
{
    auto bad = [&] {
        return Error{ErrorCode::invalid_request,
                     "'" + std::string(text) + "' is not a size in bytes (digits, optionally followed by K, M, G or T)"};
    };
    uint64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec == std::errc::result_out_of_range)
        return Error{ErrorCode::invalid_request, "'" + std::string(text) + "' is too large"};
    if (ec != std::errc() || end == text.data())
        return bad();
    std::string_view suffix(end, static_cast<size_t>(text.data() + text.size() - end));
    if (suffix.empty())
        return value;
    if (suffix.size() != 1)
        return bad();
    for (const auto& unit : kUnits) {
        if (suffix[0] != unit.suffix && suffix[0] != unit.suffix - 'A' + 'a')
            continue;
        if (value > (UINT64_MAX >> unit.shift))
            return Error{ErrorCode::invalid_request, "'" + std::string(text) + "' is too large"};
        return value << unit.shift;
    }
    return bad();
}

std::string format_byte_size(uint64_t bytes)
{
    for (const auto& unit : kUnits) {
        uint64_t multiple = uint64_t{1} << unit.shift;
        if (bytes != 0 && bytes % multiple == 0)
            return std::to_string(bytes / multiple) + unit.suffix;
    }
    return std::to_string(bytes);
}

}  // namespace libra
