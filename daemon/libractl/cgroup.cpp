#include "libractl/cgroup.hpp"

#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include <cerrno>

namespace libra {

std::string cgroup_directory(const std::string& path)
{
    if (!path.empty() && path.front() == '/')
        return path;
    return std::string(kCgroupRoot) + "/" + path;
}

Result<uint64_t> resolve_cgroup_id(const std::string& path)
{
    std::string dir = cgroup_directory(path);
    struct statfs fs {};
    if (::statfs(dir.c_str(), &fs) != 0)
        return Error::from_errno(ErrorCode::invalid_request, "cgroup " + dir, errno);
    if (fs.f_type != CGROUP2_SUPER_MAGIC)
        return Error{ErrorCode::invalid_request, dir + " is not in a cgroup v2 hierarchy"};
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0)
        return Error::from_errno(ErrorCode::invalid_request, "cgroup " + dir, errno);
    if (!S_ISDIR(st.st_mode))
        return Error{ErrorCode::invalid_request, dir + " is not a cgroup directory"};
    return static_cast<uint64_t>(st.st_ino);
}

}  // namespace libra
