// What librad needs from the libra kernel module. The real implementation is
// DeviceModuleControl (ioctls on /dev/libra). The interface exists so the
// request handling can be unit-tested on hosts that cannot load the module;
// guest scenarios (tests/guest) exercise the real device.
#pragma once

#include <cstdint>
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
};

class ModuleControl {
public:
    virtual ~ModuleControl() = default;

    virtual Result<ModuleVersion> version() = 0;
    virtual Result<StatSnapshot> read_stats() = 0;
    virtual Result<void> add_optin(const libra_optin& entry) = 0;
    virtual Result<void> remove_optin(const libra_optin& entry) = 0;
    virtual Result<std::vector<libra_optin>> list_optins() = 0;
    // Hands a loaded eBPF parser program to the module, which takes its own
    // reference, so the parser stays in force if librad exits.
    virtual Result<void> attach_parser(int program_fd, const std::string& name) = 0;
};

}  // namespace libra
