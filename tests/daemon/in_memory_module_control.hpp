// An in-memory stand-in for the libra kernel module, for host unit tests
// ONLY. It exists because the module cannot be loaded on the build host (its
// kernel has module loading disabled); the guest scenarios in tests/guest run
// librad against the real /dev/libra and exercise DeviceModuleControl.
// It mimics the module's documented ioctl semantics (include/uapi/linux/libra.h):
// EEXIST for a duplicate opt-in, ENOENT for removing a missing one, ENOSPC when full.
#pragma once

#include <algorithm>
#include <vector>

#include "librad/device_module_control.hpp"
#include "librad/module_control.hpp"

namespace libra::testing {

class InMemoryModuleControl final : public ModuleControl {
public:
    ModuleVersion module_version{LIBRA_ABI_VERSION, __LIBRA_STAT_MAX, "test-module"};
    StatSnapshot stats{std::vector<uint64_t>(__LIBRA_STAT_MAX, 0), __LIBRA_STAT_MAX};
    std::vector<libra_optin> optins;
    std::vector<int> attached_parser_fds;
    size_t capacity = LIBRA_OPTIN_MAX;

    Result<ModuleVersion> version() override { return module_version; }
    Result<StatSnapshot> read_stats() override { return stats; }

    Result<void> add_optin(const libra_optin& entry) override
    {
        if (find(entry) != optins.end())
            return module_error_from_errno("LIBRA_IOC_OPTIN_ADD", EEXIST);
        if (optins.size() >= capacity)
            return module_error_from_errno("LIBRA_IOC_OPTIN_ADD", ENOSPC);
        optins.push_back(entry);
        return {};
    }
    Result<void> remove_optin(const libra_optin& entry) override
    {
        auto it = find(entry);
        if (it == optins.end())
            return module_error_from_errno("LIBRA_IOC_OPTIN_DEL", ENOENT);
        optins.erase(it);
        return {};
    }
    Result<std::vector<libra_optin>> list_optins() override { return optins; }
    Result<void> attach_parser(int program_fd, const std::string&) override
    {
        attached_parser_fds.push_back(program_fd);
        return {};
    }

private:
    // Matched like the module: by cgroup_id for cgroup entries, else by pid.
    std::vector<libra_optin>::iterator find(const libra_optin& entry)
    {
        bool cgroup = entry.flags & LIBRA_OPTIN_F_CGROUP;
        return std::find_if(optins.begin(), optins.end(), [&](const libra_optin& existing) {
            bool existing_cgroup = existing.flags & LIBRA_OPTIN_F_CGROUP;
            return cgroup == existing_cgroup &&
                   (cgroup ? existing.cgroup_id == entry.cgroup_id : existing.pid == entry.pid);
        });
    }
};

}  // namespace libra::testing
