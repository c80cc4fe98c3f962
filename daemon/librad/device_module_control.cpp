#include "librad/device_module_control.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

namespace libra {

namespace {
// Upper bound on counters read, however many a (much newer) module claims.
constexpr uint32_t kMaxCounters = 4096;

int ioctl_retry(int fd, unsigned long request, void* arg)
{
    int rc;
    do {
        rc = ::ioctl(fd, request, arg);
    } while (rc < 0 && errno == EINTR);
    return rc;
}

// A LIBRA_IOC_LIST_* request (@Raw with count, total and entries) for at
// most @max entries. What is listed comes and goes between calls: ask for
// what is there plus some room, and again with more while the module says
// more matched. @prepare fills the request's own fields.
template <typename Info, typename Raw, typename Prepare>
Result<std::pair<std::vector<Info>, Raw>> list_growing(int fd, unsigned long request, const char* name,
                                                       uint32_t max, Prepare prepare)
{
    std::vector<Info> entries;
    Raw raw{};
    uint32_t slots = 0;
    for (int attempt = 0; attempt < 4; ++attempt) {
        entries.assign(slots, Info{});
        raw = Raw{};
        raw.count = slots;
        raw.entries = reinterpret_cast<uintptr_t>(entries.data());
        prepare(raw);
        if (ioctl_retry(fd, request, &raw) != 0)
            return module_error_from_errno(name, errno);
        entries.resize(std::min(raw.count, slots));
        if (raw.total <= slots || slots >= max)
            break;
        slots = std::min(max, raw.total + raw.total / 8 + 16);
    }
    return std::pair<std::vector<Info>, Raw>{std::move(entries), raw};
}
}  // namespace

Error module_error_from_errno(const std::string& what, int err)
{
    ErrorCode code = ErrorCode::module_error;
    switch (err) {
    case EEXIST: code = ErrorCode::already_exists; break;
    case ESRCH: code = ErrorCode::no_such_process; break;
    case ENOSPC: code = ErrorCode::table_full; break;
    case EINVAL: code = ErrorCode::invalid_request; break;
    case ENOENT: code = ErrorCode::not_found; break;
    case EPERM:
    case EACCES: code = ErrorCode::permission_denied; break;
    case ENOTTY:
    case EOPNOTSUPP: code = ErrorCode::unsupported; break;
    default: break;
    }
    return Error::from_errno(code, what, err);
}

Result<std::unique_ptr<DeviceModuleControl>> DeviceModuleControl::open(const std::string& device_path)
{
    UniqueFd fd(::open(device_path.c_str(), O_RDWR | O_CLOEXEC));
    if (!fd) {
        int err = errno;
        std::string hint;
        if (err == ENOENT)
            hint = " (is the libra module loaded? try: modprobe libra)";
        else if (err == EPERM || err == EACCES)
            hint = " (the device opens only with CAP_NET_ADMIN)";
        auto error = module_error_from_errno("open " + device_path, err);
        error.message += hint;
        return error;
    }
    std::unique_ptr<DeviceModuleControl> control(new DeviceModuleControl(std::move(fd)));
    auto version = control->version();
    if (!version)
        return Error{version.error().code,
                     device_path + " does not answer LIBRA_IOC_GET_VERSION (" +
                         version.error().message + "); is it the libra module?"};
    if (version->abi_version != LIBRA_ABI_VERSION)
        return Error{ErrorCode::unsupported,
                     "the libra module at " + device_path + " (version " + version->module_version +
                         ") speaks ABI " + std::to_string(version->abi_version) +
                         " but this librad was built for ABI " + std::to_string(LIBRA_ABI_VERSION) +
                         "; install a matching module and daemon"};
    return control;
}

Result<ModuleVersion> DeviceModuleControl::version()
{
    libra_version raw{};
    if (ioctl_retry(device_.get(), LIBRA_IOC_GET_VERSION, &raw) != 0)
        return module_error_from_errno("LIBRA_IOC_GET_VERSION", errno);
    ModuleVersion version;
    version.abi_version = raw.abi_version;
    version.stat_count = raw.stat_count;
    version.module_version.assign(raw.module_version, strnlen(raw.module_version, sizeof(raw.module_version)));
    return version;
}

Result<StatSnapshot> DeviceModuleControl::read_stats()
{
    // Room for every counter this build names and for more a newer module
    // may know: both are tolerated (see StatsReport).
    StatSnapshot snapshot;
    uint32_t slots = __LIBRA_STAT_MAX;
    for (int attempt = 0; attempt < 2; ++attempt) {
        snapshot.values.assign(slots, 0);
        libra_stats raw{};
        raw.count = slots;
        raw.values = reinterpret_cast<uintptr_t>(snapshot.values.data());
        if (ioctl_retry(device_.get(), LIBRA_IOC_GET_STATS, &raw) != 0)
            return module_error_from_errno("LIBRA_IOC_GET_STATS", errno);
        snapshot.known = raw.known;
        snapshot.values.resize(std::min(raw.count, slots));
        if (raw.known <= slots)
            break;
        slots = std::min(raw.known, kMaxCounters);
    }
    return snapshot;
}

Result<void> DeviceModuleControl::add_optin(const libra_optin& entry)
{
    libra_optin copy = entry;
    if (ioctl_retry(device_.get(), LIBRA_IOC_OPTIN_ADD, &copy) != 0)
        return module_error_from_errno("LIBRA_IOC_OPTIN_ADD", errno);
    return {};
}

Result<void> DeviceModuleControl::remove_optin(const libra_optin& entry)
{
    libra_optin copy = entry;
    if (ioctl_retry(device_.get(), LIBRA_IOC_OPTIN_DEL, &copy) != 0)
        return module_error_from_errno("LIBRA_IOC_OPTIN_DEL", errno);
    return {};
}

Result<std::vector<libra_optin>> DeviceModuleControl::list_optins()
{
    std::vector<libra_optin> entries(LIBRA_OPTIN_MAX);
    libra_optin_list raw{};
    raw.count = static_cast<uint32_t>(entries.size());
    raw.entries = reinterpret_cast<uintptr_t>(entries.data());
    if (ioctl_retry(device_.get(), LIBRA_IOC_LIST_OPTINS, &raw) != 0)
        return module_error_from_errno("LIBRA_IOC_LIST_OPTINS", errno);
    entries.resize(std::min<size_t>(raw.count, entries.size()));
    return entries;
}

Result<StatSnapshot> DeviceModuleControl::optin_stats(const libra_optin& entry)
{
    // Per-entry figures of counters this build does not name are not
    // reported, so this build's slots are enough.
    StatSnapshot snapshot;
    snapshot.values.assign(__LIBRA_STAT_MAX, 0);
    libra_optin_stats raw{};
    raw.entry = entry;
    raw.count = static_cast<uint32_t>(snapshot.values.size());
    raw.values = reinterpret_cast<uintptr_t>(snapshot.values.data());
    if (ioctl_retry(device_.get(), LIBRA_IOC_OPTIN_STATS, &raw) != 0)
        return module_error_from_errno("LIBRA_IOC_OPTIN_STATS", errno);
    snapshot.known = raw.known;
    snapshot.values.resize(std::min<size_t>(raw.count, snapshot.values.size()));
    snapshot.counted = raw.counted;
    return snapshot;
}

Result<SocketList> DeviceModuleControl::list_sockets(int32_t tgid, uint32_t max)
{
    auto listed = list_growing<libra_socket_info, libra_socket_list>(
        device_.get(), LIBRA_IOC_LIST_SOCKETS, "LIBRA_IOC_LIST_SOCKETS", max,
        [tgid](libra_socket_list& raw) { raw.tgid = tgid; });
    if (!listed)
        return listed.error();
    auto& [sockets, raw] = listed.value();
    return SocketList{std::move(sockets), raw.total, raw.stat_count};
}

Result<ProcessList> DeviceModuleControl::list_procs(uint32_t max)
{
    auto listed = list_growing<libra_proc_info, libra_proc_list>(
        device_.get(), LIBRA_IOC_LIST_PROCS, "LIBRA_IOC_LIST_PROCS", std::min<uint32_t>(max, LIBRA_PROC_LIST_MAX),
        [](libra_proc_list&) {});
    if (!listed)
        return listed.error();
    auto& [processes, raw] = listed.value();
    return ProcessList{std::move(processes), raw.total};
}

Result<void> DeviceModuleControl::set_anchor_limit(uint64_t bytes)
{
    libra_anchor_limit raw{};
    raw.bytes = bytes;
    if (ioctl_retry(device_.get(), LIBRA_IOC_SET_ANCHOR_LIMIT, &raw) != 0)
        return module_error_from_errno("LIBRA_IOC_SET_ANCHOR_LIMIT", errno);
    return {};
}

Result<void> DeviceModuleControl::attach_parser(int program_fd, const std::string& name)
{
    libra_parser_attach attach{};
    attach.prog_fd = program_fd;
    if (ioctl_retry(device_.get(), LIBRA_IOC_ATTACH_PARSER, &attach) != 0)
        return module_error_from_errno("LIBRA_IOC_ATTACH_PARSER (" + name + ")", errno);
    return {};
}

}  // namespace libra
