#include "librad/process_info.hpp"

#include <grp.h>
#include <signal.h>
#include <sys/stat.h>
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

bool process_exists(pid_t pid)
{
    return pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM);
}

namespace {

constexpr const char kCgroupV2Root[] = "/sys/fs/cgroup";

// The fields of /proc/<pid>/stat after "pid (comm)": [0] is the state, [1]
// the parent's pid, [19] the start time. comm may hold spaces and ')'.
std::vector<std::string> stat_fields(pid_t pid)
{
    auto stat = read_small_file("/proc/" + std::to_string(pid) + "/stat");
    std::vector<std::string> fields;
    size_t close = stat ? stat->rfind(')') : std::string::npos;
    if (close == std::string::npos)
        return fields;
    std::istringstream rest(stat->substr(close + 1));
    for (std::string field; rest >> field;)
        fields.push_back(field);
    return fields;
}

std::optional<uint64_t> stat_number(pid_t pid, size_t index)
{
    auto fields = stat_fields(pid);
    if (index >= fields.size())
        return std::nullopt;
    try {
        return std::stoull(fields[index]);
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

class SystemProcessTree final : public ProcessTree {
public:
    std::optional<pid_t> parent(pid_t pid) const override
    {
        auto ppid = stat_number(pid, 1);
        return ppid ? std::optional<pid_t>(static_cast<pid_t>(*ppid)) : std::nullopt;
    }

    std::vector<uint64_t> cgroups(pid_t pid) const override
    {
        // cgroup v2: the line "0::/path", relative to /sys/fs/cgroup.
        auto content = read_small_file("/proc/" + std::to_string(pid) + "/cgroup");
        std::vector<uint64_t> ids;
        if (!content)
            return ids;
        std::istringstream lines(*content);
        for (std::string line; std::getline(lines, line);) {
            if (line.rfind("0::", 0) != 0)
                continue;
            std::string path = line.substr(3);
            for (;;) {
                struct stat st {};
                if (::stat((kCgroupV2Root + path).c_str(), &st) == 0)
                    ids.push_back(static_cast<uint64_t>(st.st_ino));
                size_t slash = path.find_last_of('/');
                if (path.empty() || path == "/" || slash == std::string::npos)
                    break;
                path.resize(slash);
            }
        }
        return ids;
    }

    std::optional<uint64_t> start_time(pid_t pid) const override { return stat_number(pid, 19); }
};

}  // namespace

const ProcessTree& system_process_tree()
{
    static const SystemProcessTree tree;
    return tree;
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
