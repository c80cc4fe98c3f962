// struct libra_optin <-> the JSON used in requests and replies.
#pragma once

#include <nlohmann/json.hpp>

#include <linux/libra.h>

namespace libra {

// {"pid":P,"descendants":bool,...} or {"cgroup_id":N,...}, plus ports,
// min_body (0 in the module means LIBRA_MIN_BODY_DEFAULT; shown resolved) and
// anchor_limit (bytes; null when 0: only the global limit applies).
nlohmann::json optin_to_json(const libra_optin& entry);

}  // namespace libra
