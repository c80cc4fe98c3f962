// Byte sizes as people write them: "262144", "256K", "256M", "1G". Shared by
// libractl (enable --anchor-limit) and librad's config (anchor-limit), so both
// accept exactly the same spellings.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace libra {

inline constexpr uint64_t kMiB = uint64_t{1} << 20;

// Digits, then optionally one of K, M, G, T (either case; powers of 1024).
// No sign, no fraction, no spaces; values past 2^64-1 are refused.
// Errors are invalid_request with a message naming the text.
Result<uint64_t> parse_byte_size(std::string_view text);

// The shortest exact spelling parse_byte_size() reads back: "256M", "1000".
std::string format_byte_size(uint64_t bytes);

}  // namespace libra
