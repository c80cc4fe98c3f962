// What librad learns about a local process from /proc: for authorization,
// and where it stands in the process and cgroup trees.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

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

// Whether a process @pid exists (a zombie does too).
bool process_exists(pid_t pid);

// Where a process stands, for telling which opt-in entries select it as the
// module does (a pid and its descendants; a cgroup and the cgroups below
// it). Read from /proc and /sys/fs/cgroup by system_process_tree(); an
// interface so that tests can describe processes of their own. Each answer
// is read when asked: a process may exit or move in between (nullopt, empty).
class ProcessTree {
public:
    virtual ~ProcessTree() = default;
    // Its parent's pid (0 for a process whose parent is outside librad's pid namespace).
    virtual std::optional<pid_t> parent(pid_t pid) const = 0;
    // The ids of its cgroup v2 and of every cgroup above it, its own first.
    virtual std::vector<uint64_t> cgroups(pid_t pid) const = 0;
    // When it started (clock ticks since boot): a pid number and this name
    // one process, never a later one that reuses the number.
    virtual std::optional<uint64_t> start_time(pid_t pid) const = 0;
};

const ProcessTree& system_process_tree();

}  // namespace libra
