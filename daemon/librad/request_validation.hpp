// Strict field checks for requests: every field typed and ranged, unknown
// fields rejected (a typo must not silently change what a command does).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

#include <linux/libra.h>

#include "common/result.hpp"

namespace libra {

Result<void> only_fields(const nlohmann::json& request, std::initializer_list<std::string_view> allowed);

// An unsigned integer field within [min, max]; nullopt when absent.
Result<std::optional<uint64_t>> optional_uint(const nlohmann::json& request, const char* field,
                                              uint64_t min, uint64_t max);
Result<std::optional<bool>> optional_bool(const nlohmann::json& request, const char* field);

// The opt-in target of enable/disable: exactly one of "pid" / "cgroup_id".
Result<libra_optin> parse_optin_target(const nlohmann::json& request);

// "ports" (array of 1..65535, at most LIBRA_OPTIN_MAX_PORTS, no duplicates).
Result<void> parse_ports(const nlohmann::json& request, libra_optin& entry);

}  // namespace libra
