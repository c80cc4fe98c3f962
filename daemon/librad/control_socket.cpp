#include "librad/control_socket.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/unix_socket.hpp"
#include "librad/logging.hpp"

namespace libra {

namespace {

std::string parent_of(const std::string& path)
{
    auto slash = path.rfind('/');
    return slash == 0 ? "/" : path.substr(0, slash);
}

// The socket's directory: created 0750 if missing. An existing directory is
// adjusted only if it is a dedicated one (owned by us, not world-writable):
// systemd's RuntimeDirectory=libra is root:root, and members of the group
// need to traverse it. A shared directory such as /tmp is left alone.
Result<void> prepare_directory(const std::string& dir, gid_t group)
{
    if (::mkdir(dir.c_str(), 0750) != 0 && errno != EEXIST)
        return Error::from_errno(ErrorCode::io_error, "mkdir " + dir, errno);
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0)
        return Error::from_errno(ErrorCode::io_error, "stat " + dir, errno);
    if (!S_ISDIR(st.st_mode))
        return Error{ErrorCode::io_error, dir + " is not a directory"};
    bool shared = (st.st_mode & (S_IWOTH | S_ISVTX)) != 0 || st.st_uid != ::geteuid();
    if (shared) {
        logger("control")->warn("socket directory {} is shared; not changing its owner or mode", dir);
        return {};
    }
    if (::chown(dir.c_str(), ::geteuid(), group) != 0)
        return Error::from_errno(ErrorCode::io_error, "chown " + dir, errno);
    if (::chmod(dir.c_str(), 0750) != 0)
        return Error::from_errno(ErrorCode::io_error, "chmod " + dir, errno);
    return {};
}

// A socket file left by a librad that died is removed; one another librad
// still answers on is not.
Result<void> remove_stale_socket(const std::string& path)
{
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0)
        return {};
    if (!S_ISSOCK(st.st_mode))
        return Error{ErrorCode::io_error, path + " exists and is not a socket; not replacing it"};
    if (auto probe = connect_unix_stream(path); probe)
        return Error{ErrorCode::io_error, "another librad is already serving " + path};
    if (::unlink(path.c_str()) != 0)
        return Error::from_errno(ErrorCode::io_error, "unlink stale " + path, errno);
    return {};
}

}  // namespace

Result<UniqueFd> create_control_socket(const ControlSocketSettings& settings)
{
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (settings.path.size() >= sizeof(addr.sun_path))
        return Error{ErrorCode::config_error, "socket path too long: " + settings.path};
    std::memcpy(addr.sun_path, settings.path.data(), settings.path.size());

    gid_t group = settings.group.value_or(0);
    if (auto dir = prepare_directory(parent_of(settings.path), group); !dir)
        return dir.error();
    if (auto stale = remove_stale_socket(settings.path); !stale)
        return stale.error();

    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd)
        return Error::from_errno(ErrorCode::io_error, "socket", errno);
    // The umask makes bind() create the socket 0660 at once: it is never
    // reachable with wider permissions, not even briefly.
    mode_t old_umask = ::umask(0117);
    int bound = ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    int bind_errno = errno;
    ::umask(old_umask);
    if (bound != 0)
        return Error::from_errno(ErrorCode::io_error, "bind " + settings.path, bind_errno);
    if (::chown(settings.path.c_str(), ::geteuid(), group) != 0 ||
        ::chmod(settings.path.c_str(), 0660) != 0) {
        int err = errno;
        ::unlink(settings.path.c_str());
        return Error::from_errno(ErrorCode::io_error, "set owner/mode of " + settings.path, err);
    }
    if (::listen(fd.get(), 64) != 0) {
        int err = errno;
        ::unlink(settings.path.c_str());
        return Error::from_errno(ErrorCode::io_error, "listen " + settings.path, err);
    }
    return fd;
}

}  // namespace libra
