#include "librad/authorizer.hpp"

#include <linux/capability.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

#include "librad/process_info.hpp"

namespace libra {

Result<PeerCredentials> read_peer_credentials(int socket_fd)
{
    ucred cred{};
    socklen_t len = sizeof(cred);
    if (::getsockopt(socket_fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
        return Error::from_errno(ErrorCode::io_error, "SO_PEERCRED", errno);
    PeerCredentials peer{cred.pid, cred.uid, cred.gid, {}};

    std::vector<gid_t> groups(64);
    for (int attempt = 0; attempt < 4; ++attempt) {
        socklen_t bytes = static_cast<socklen_t>(groups.size() * sizeof(gid_t));
        if (::getsockopt(socket_fd, SOL_SOCKET, SO_PEERGROUPS, groups.data(), &bytes) == 0) {
            groups.resize(bytes / sizeof(gid_t));
            peer.groups = std::move(groups);
            return peer;
        }
        if (errno != ERANGE)
            return Error::from_errno(ErrorCode::io_error, "SO_PEERGROUPS", errno);
        groups.resize(bytes / sizeof(gid_t) + 1);  // the kernel said how many it needs
    }
    return Error{ErrorCode::io_error, "SO_PEERGROUPS: group list keeps growing"};
}

bool Authorizer::in_control_group(const PeerCredentials& peer) const
{
    if (!control_group_)
        return false;
    return peer.gid == *control_group_ ||
           std::find(peer.groups.begin(), peer.groups.end(), *control_group_) != peer.groups.end();
}

PeerRole Authorizer::role_of(const PeerCredentials& peer) const
{
    if (peer.uid == 0)
        return PeerRole::admin;
    // CapEff is read now, from /proc: a peer that dropped CAP_NET_ADMIN after
    // connecting loses admin, one that gained it later gains it. See
    // read_process_status() for the pid-reuse caveat.
    if (auto status = read_process_status(peer.pid); status && status->in_our_user_namespace &&
                                                     (status->cap_effective & (1ULL << CAP_NET_ADMIN)))
        return PeerRole::admin;
    return in_control_group(peer) ? PeerRole::member : PeerRole::none;
}

namespace {
Error not_permitted(const PeerCredentials& peer, const std::string& what)
{
    return Error{ErrorCode::permission_denied,
                 "uid " + std::to_string(peer.uid) + " may not " + what +
                     ": this needs root, CAP_NET_ADMIN or membership of librad's control group"};
}
}  // namespace

Result<void> Authorizer::may_read(const PeerCredentials& peer) const
{
    if (role_of(peer) == PeerRole::none)
        return not_permitted(peer, "read libra's state");
    return {};
}

Result<void> Authorizer::may_control_pid(const PeerCredentials& peer, pid_t target_pid) const
{
    PeerRole role = role_of(peer);
    if (role == PeerRole::admin)
        return {};
    if (role == PeerRole::none)
        return not_permitted(peer, "change opt-in");
    auto target = read_process_status(target_pid);
    if (!target)
        return target.error();
    if (target->real_uid != peer.uid || target->effective_uid != peer.uid)
        return Error{ErrorCode::permission_denied,
                     "process " + std::to_string(target_pid) + " runs as uid " +
                         std::to_string(target->effective_uid) + "; members of the control group " +
                         "may only change opt-in of their own processes (uid " +
                         std::to_string(peer.uid) + ")"};
    return {};
}

Result<void> Authorizer::may_control_cgroup(const PeerCredentials& peer) const
{
    if (role_of(peer) != PeerRole::admin)
        return Error{ErrorCode::permission_denied,
                     "cgroup opt-in needs root or CAP_NET_ADMIN: a cgroup may hold other users' processes"};
    return {};
}

}  // namespace libra
