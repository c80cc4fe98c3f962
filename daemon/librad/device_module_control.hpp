// ModuleControl over the module's misc device (/dev/libra), one ioctl each.
#pragma once

#include <memory>
#include <string>

#include "common/unique_fd.hpp"
#include "librad/module_control.hpp"

namespace libra {

class DeviceModuleControl final : public ModuleControl {
public:
    // Opens the device and refuses a module whose ABI differs from the uapi
    // header this build was compiled against.
    static Result<std::unique_ptr<DeviceModuleControl>> open(const std::string& device_path);

    Result<ModuleVersion> version() override;
    Result<StatSnapshot> read_stats() override;
    Result<void> add_optin(const libra_optin& entry) override;
    Result<void> remove_optin(const libra_optin& entry) override;
    Result<std::vector<libra_optin>> list_optins() override;
    Result<StatSnapshot> optin_stats(const libra_optin& entry) override;
    Result<SocketList> list_sockets(int32_t tgid, uint32_t max) override;
    Result<ProcessList> list_procs(uint32_t max) override;
    Result<void> set_anchor_limit(uint64_t bytes) override;
    Result<void> attach_parser(int program_fd, const std::string& name) override;

private:
    explicit DeviceModuleControl(UniqueFd device) : device_(std::move(device)) {}
    UniqueFd device_;
};

// How a failed module ioctl maps onto the protocol's error codes.
Error module_error_from_errno(const std::string& what, int err);

}  // namespace libra
