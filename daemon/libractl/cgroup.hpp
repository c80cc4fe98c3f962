// `libractl enable --cgroup PATH`: the module selects cgroups by id, which on
// cgroup v2 is the inode number of the cgroup's directory.
#pragma once

#include <cstdint>
#include <string>

#include "common/result.hpp"

namespace libra {

inline constexpr const char kCgroupRoot[] = "/sys/fs/cgroup";

// Absolute paths are used as given; a relative PATH such as
// "system.slice/nginx.service" is taken below /sys/fs/cgroup.
std::string cgroup_directory(const std::string& path);

// The cgroup id of a cgroup v2 directory; an error if it is not one.
Result<uint64_t> resolve_cgroup_id(const std::string& path);

}  // namespace libra
