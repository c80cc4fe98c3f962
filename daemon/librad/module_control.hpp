// What librad needs from the libra kernel module. The real implementation is
// DeviceModuleControl (ioctls on /dev/libra). The interface exists so the
// request handling can be unit-tested on hosts that cannot load the module;
// guest scenarios (tests/guest) exercise the real device.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <linux/libra.h>

#include "common/result.hpp"

namespace libra {

struct ModuleVersion {
    uint32_t abi_version = 0;
    uint32_t stat_count = 0;  // counters the module knows (its __LIBRA_STAT_MAX)
    std::string module_version;
};

struct StatSnapshot {
    std::vector<uint64_t> values;  // values[i] is counter i of enum libra_stat
    uint32_t known = 0;            // counters the module knows; may exceed values.size()
    // One opt-in entry's snapshot: bit i is set when values[i] is kept per
    // entry (the others read 0 and mean nothing). Unset: system-wide, where
    // every slot below `known` means something.
    std::optional<uint64_t> counted;
};

// The module's tracked sockets (LIBRA_IOC_LIST_SOCKETS), as one snapshot.
struct SocketList {
    std::vector<libra_socket_info> sockets;
    uint32_t total = 0;       // sockets that matched: more than listed when capped
    uint32_t stat_count = 0;  // per-socket counters the module knows (its __LIBRA_SOCKET_STAT_MAX)
};

// The processes the module knows (LIBRA_IOC_LIST_PROCS), as one snapshot.
struct ProcessList {
    std::vector<libra_proc_info> processes;
    uint32_t total = 0;  // processes known: more than listed when capped
};

class ModuleControl {
public:
    virtual ~ModuleControl() = default;

    virtual Result<ModuleVersion> version() = 0;
    virtual Result<StatSnapshot> read_stats() = 0;
    virtual Result<void> add_optin(const libra_optin& entry) = 0;
    virtual Result<void> remove_optin(const libra_optin& entry) = 0;
    virtual Result<std::vector<libra_optin>> list_optins() = 0;
    // The counters of the entry @entry names (pid or cgroup_id, as for
    // remove_optin), since it was added; not_found when there is none.
    virtual Result<StatSnapshot> optin_stats(const libra_optin& entry) = 0;
    // The sockets the module tracks, of thread group @tgid only unless 0, at
    // most @max of them (total says how many matched); no_such_process when
    // @tgid names no process, unsupported from a module without the ioctl.
    virtual Result<SocketList> list_sockets(int32_t tgid, uint32_t max) = 0;
    // The processes the module knows: opted in and used a socket since, or
    // holding anchors; each with whether it is accelerated and, if not, why
    // (LIBRA_PROC_F_*). At most @max of them (total says how many there
    // were); unsupported from a module without the ioctl.
    virtual Result<ProcessList> list_procs(uint32_t max) = 0;
    // The global anchored-memory limit: a positive multiple of 1 MiB
    // (invalid_request otherwise). Lowering it never evicts anything.
    virtual Result<void> set_anchor_limit(uint64_t bytes) = 0;
    // Hands a loaded eBPF parser program to the module, which takes its own
    // reference, so the parser stays in force if librad exits.
    virtual Result<void> attach_parser(int program_fd, const std::string& name) = 0;
};

}  // namespace libra
