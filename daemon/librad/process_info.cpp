#include "librad/process_info.hpp"

#include <grp.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>
#include <vector>

#include "common/unique_fd.hpp"

namespace libra {

namespace {

int pidfd_open(pid_t pid)
{
    return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}

// Signal 0 checks existence only. EPERM (another user's process, and librad
// has no CAP_KILL) still proves the process is alive.
bool pidfd_alive(int pidfd)
{
    return ::syscall(SYS_pidfd_send_signal, pidfd, 0, nullptr, 0) == 0 || errno == EPERM;
}

std::optional<std::string> read_small_file(const std::string& path)
{
    std::ifstream in(path);
    if (!in)
        return std::nullopt;
    std::ostringstream content;
    content << in.rdbuf();
    return content.str();
}

}  // namespace

Result<ProcessStatus> read_process_status(pid_t pid)
{
    if (pid <= 0)
        return Error{ErrorCode::invalid_request, "pid must be positive"};
    UniqueFd pidfd(pidfd_open(pid));
    if (!pidfd) {
        int err = errno;
        if (err == ESRCH || err == EINVAL)
            return Error{ErrorCode::no_such_process, "no process " + std::to_string(pid), err};
        return Error::from_errno(ErrorCode::io_error, "pidfd_open", err);
    }
    std::string dir = "/proc/" + std::to_string(pid);
    auto status = read_small_file(dir + "/status");
    auto uid_map = read_small_file(dir + "/uid_map");
    auto own_uid_map = read_small_file("/proc/self/uid_map");
    if (!status || !uid_map || !own_uid_map)
        return Error{ErrorCode::no_such_process, "cannot read " + dir};

    ProcessStatus result;
    bool have_uid = false, have_caps = false;
    std::istringstream lines(*status);
    for (std::string line; std::getline(lines, line);) {
        std::istringstream fields(line);
        std::string key;
        fields >> key;
        if (key == "Uid:") {
            fields >> result.real_uid >> result.effective_uid;
            have_uid = !fields.fail();
        } else if (key == "CapEff:") {
            fields >> std::hex >> result.cap_effective;
            have_caps = !fields.fail();
        }
    }
    if (!have_uid || !have_caps)
        return Error{ErrorCode::io_error, dir + "/status lacks Uid: or CapEff:"};
    // Same mapping as ours: the same namespace, or one only a privileged
    // process could have created with an identity mapping.
    result.in_our_user_namespace = *uid_map == *own_uid_map;
    if (!pidfd_alive(pidfd.get()))
        return Error{ErrorCode::no_such_process, "process " + std::to_string(pid) + " exited"};
    return result;
}

std::optional<gid_t> lookup_group(const std::string& name)
{
    group entry{};
    group* found = nullptr;
    std::vector<char> buffer(16384);
    if (getgrnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found) != 0 || !found)
        return std::nullopt;
    return found->gr_gid;
}

}  // namespace libra
