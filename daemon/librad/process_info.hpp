// What librad learns about a local process from /proc, for authorization.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "common/result.hpp"

namespace libra {

struct ProcessStatus {
    uid_t real_uid = 0;
    uid_t effective_uid = 0;
    uint64_t cap_effective = 0;
    // CapEff only means something for a process in librad's user namespace: a
    // process in a user namespace of its own may hold "full" capabilities there.
    bool in_our_user_namespace = false;
};

// Reads /proc/<pid>/status (and uid_map). The pid is pinned with a pidfd and
// re-checked after reading, so the figures cannot belong to a process that
// took over the pid *while* reading. A pid recycled before pidfd_open is the
// remaining race; see PROTOCOL.md ("Authorization").
Result<ProcessStatus> read_process_status(pid_t pid);

// The gid of @name, or nullopt if there is no such group.
std::optional<gid_t> lookup_group(const std::string& name);

}  // namespace libra
