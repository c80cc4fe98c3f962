// Who may do what over the control socket. Evaluated for every request from
// the peer's SO_PEERCRED/SO_PEERGROUPS credentials:
//   admin  - uid 0, or CAP_NET_ADMIN effective in librad's user namespace:
//            every command.
//   member - in the control group (`group`, default "libra"): version, status
//            and stats; enable/disable only for processes whose real and
//            effective uid are the member's own uid; no cgroup opt-in (a
//            cgroup holds other users' processes).
//   other  - nothing.
#pragma once

#include <sys/types.h>

#include <optional>
#include <vector>

#include "common/result.hpp"

namespace libra {

struct PeerCredentials {
    pid_t pid = 0;
    uid_t uid = 0;
    gid_t gid = 0;
    std::vector<gid_t> groups;  // supplementary groups
};

// SO_PEERCRED plus SO_PEERGROUPS of a connected Unix socket. Both are the
// peer's credentials as of connect(): a peer cannot raise them afterwards.
Result<PeerCredentials> read_peer_credentials(int socket_fd);

enum class PeerRole { none, member, admin };

class Authorizer {
public:
    explicit Authorizer(std::optional<gid_t> control_group) : control_group_(control_group) {}
    void set_control_group(std::optional<gid_t> gid) { control_group_ = gid; }

    PeerRole role_of(const PeerCredentials& peer) const;

    Result<void> may_read(const PeerCredentials& peer) const;
    // enable/disable for process @target_pid (and its descendants).
    Result<void> may_control_pid(const PeerCredentials& peer, pid_t target_pid) const;
    Result<void> may_control_cgroup(const PeerCredentials& peer) const;

private:
    bool in_control_group(const PeerCredentials& peer) const;
    std::optional<gid_t> control_group_;
};

}  // namespace libra
