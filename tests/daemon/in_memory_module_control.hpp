// An in-memory stand-in for the libra kernel module, for host unit tests
// ONLY. It exists because the module cannot be loaded on the build host (its
// kernel has module loading disabled); the guest scenarios in tests/guest run
// librad against the real /dev/libra and exercise DeviceModuleControl.
// It mimics the module's documented ioctl semantics (include/uapi/linux/libra.h):
// EEXIST for a duplicate opt-in, ENOENT for removing or reading a missing one,
// ENOSPC when full, EINVAL for a global limit that is not a positive multiple
// of 1 MiB; per-entry counters masked by what the module keeps per entry;
// ESRCH for the sockets of a process that does not exist; the processes it
// knows (LIBRA_IOC_LIST_PROCS); and entries that follow their processes: a
// pid entry goes when its process exits (exit_process()), with its
// descendants or without, counted in LIBRA_STAT_OPTIN_EXPIRED, and no later
// call finds it (module/optin.c expires it before any control call looks).
#pragma once

#include <signal.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <functional>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "librad/device_module_control.hpp"
#include "librad/module_control.hpp"

namespace libra::testing {

constexpr uint64_t stat_bit(unsigned stat)
{
    return uint64_t{1} << stat;
}

// module/stats.c libra_scope_counted: every counter but the hook call counts,
// the opt-in table's own (its size, entries expired), the calls in flight,
// the processes seen terminating TLS, the sockets reset and the timings.
inline constexpr uint64_t kModuleEntryCounted =
    ((uint64_t{1} << __LIBRA_STAT_MAX) - 1) &
    ~(stat_bit(LIBRA_STAT_RECVMSG_CALLS) | stat_bit(LIBRA_STAT_SENDMSG_CALLS) |
      stat_bit(LIBRA_STAT_RECVMSG_ENGAGED) | stat_bit(LIBRA_STAT_SENDMSG_ENGAGED) |
      stat_bit(LIBRA_STAT_OPTIN_ENTRIES) | stat_bit(LIBRA_STAT_OPTIN_EXPIRED) |
      stat_bit(LIBRA_STAT_TLS_PROCESSES) | stat_bit(LIBRA_STAT_SOCKETS_RESET) |
      stat_bit(LIBRA_STAT_CALLS_IN_FLIGHT) | stat_bit(LIBRA_STAT_TIME_RX_HANDLER_NS) |
      stat_bit(LIBRA_STAT_TIME_TX_HANDLER_NS) | stat_bit(LIBRA_STAT_TIME_ANCHOR_BUILD_NS) |
      stat_bit(LIBRA_STAT_TIME_PARSE_NS) | stat_bit(LIBRA_STAT_TIME_TOKEN_SCAN_NS) |
      stat_bit(LIBRA_STAT_TIME_PAGE_SEND_NS) | stat_bit(LIBRA_STAT_TIME_ZERO_FILL_NS) |
      stat_bit(LIBRA_STAT_TIME_MATERIALIZE_NS));

inline constexpr uint64_t kModuleDefaultAnchorLimit = uint64_t{256} << 20;

inline StatSnapshot fresh_module_stats()
{
    StatSnapshot stats{std::vector<uint64_t>(__LIBRA_STAT_MAX, 0), __LIBRA_STAT_MAX, std::nullopt};
    stats.values[LIBRA_STAT_ANCHORED_BYTES_LIMIT] = kModuleDefaultAnchorLimit;
    return stats;
}

// A socket as LIBRA_IOC_LIST_SOCKETS reports it: IPv4 on 127.0.0.1 at both
// ends, nothing stepped aside, counters 0.
inline libra_socket_info make_socket(uint64_t id, int32_t tgid, uint16_t local_port, uint16_t remote_port,
                                     uint8_t role)
{
    libra_socket_info socket{};
    socket.id = id;
    socket.tgid = tgid;
    socket.family = AF_INET;
    socket.role = role;
    socket.local_port = local_port;
    socket.remote_port = remote_port;
    const uint8_t loopback[4] = {127, 0, 0, 1};
    std::copy(loopback, loopback + 4, socket.local_addr);
    std::copy(loopback, loopback + 4, socket.remote_addr);
    socket.rx_aside = socket.tx_aside = LIBRA_SOCKET_ASIDE_NONE;
    return socket;
}

// Opt-in entries as libractl enable makes them: a pid with its descendants,
// a cgroup.
inline libra_optin pid_entry(int32_t pid, uint64_t anchor_limit = 0)
{
    libra_optin entry{};
    entry.pid = pid;
    entry.flags = LIBRA_OPTIN_F_DESCENDANTS;
    entry.anchor_limit = anchor_limit;
    return entry;
}

inline libra_optin cgroup_entry(uint64_t id)
{
    libra_optin entry{};
    entry.flags = LIBRA_OPTIN_F_CGROUP;
    entry.cgroup_id = id;
    return entry;
}

// A process as LIBRA_IOC_LIST_PROCS reports it, with @flags (LIBRA_PROC_F_*)
// and nothing anchored.
inline libra_proc_info make_process(int32_t tgid, uint32_t flags)
{
    libra_proc_info process{};
    process.tgid = tgid;
    process.flags = flags;
    return process;
}

class InMemoryModuleControl final : public ModuleControl {
public:
    using EntryKey = std::pair<bool, uint64_t>;  // (cgroup?, cgroup_id or pid)

    ModuleVersion module_version{LIBRA_ABI_VERSION, __LIBRA_STAT_MAX, "test-module"};
    StatSnapshot stats = fresh_module_stats();
    std::vector<libra_optin> optins;
    // Each entry's own counters, from its add to its removal.
    std::map<EntryKey, std::vector<uint64_t>> entry_counters;
    uint64_t entry_counted = kModuleEntryCounted;
    std::vector<int> attached_parser_fds;
    size_t capacity = LIBRA_OPTIN_MAX;
    std::vector<libra_socket_info> sockets;  // as LIBRA_IOC_LIST_SOCKETS fills them
    uint32_t socket_stat_count = __LIBRA_SOCKET_STAT_MAX;
    bool has_socket_list = true;  // false: a module older than the ioctl (ENOTTY)
    std::vector<libra_proc_info> procs;  // as LIBRA_IOC_LIST_PROCS fills them
    bool has_proc_list = true;           // false: a module older than the ioctl (ENOTTY)
    // Processes that exited: opting one in is ESRCH, and its entry is gone.
    std::set<int32_t> exited;
    // Runs after list_optins() has copied the table: what another client
    // does between a list and the next ioctl (a race with removal).
    std::function<void()> after_list;

    static EntryKey key(const libra_optin& entry)
    {
        bool cgroup = entry.flags & LIBRA_OPTIN_F_CGROUP;
        return {cgroup, cgroup ? entry.cgroup_id : static_cast<uint64_t>(entry.pid)};
    }
    std::vector<uint64_t>& counters_of(const libra_optin& entry) { return entry_counters.at(key(entry)); }

    Result<ModuleVersion> version() override { return module_version; }
    Result<StatSnapshot> read_stats() override { return stats; }

    // Process @pid exits: the module expires its pid entry (with descendants
    // or without: its children are reparented, so nothing matches it any
    // more), its sockets go and it no longer holds anchors.
    void exit_process(int32_t pid)
    {
        exited.insert(pid);
        auto dead = [pid](const libra_optin& entry) { return !(entry.flags & LIBRA_OPTIN_F_CGROUP) && entry.pid == pid; };
        for (auto it = optins.begin(); it != optins.end();) {
            if (dead(*it)) {
                entry_counters.erase(key(*it));
                it = optins.erase(it);
                stats.values.at(LIBRA_STAT_OPTIN_EXPIRED)++;
            } else {
                ++it;
            }
        }
        std::erase_if(procs, [pid](const libra_proc_info& process) { return process.tgid == pid; });
        std::erase_if(sockets, [pid](const libra_socket_info& socket) { return socket.tgid == pid; });
    }

    Result<void> add_optin(const libra_optin& entry) override
    {
        if (!(entry.flags & LIBRA_OPTIN_F_CGROUP) && exited.count(entry.pid))
            return module_error_from_errno("LIBRA_IOC_OPTIN_ADD", ESRCH);
        if (find(entry) != optins.end())
            return module_error_from_errno("LIBRA_IOC_OPTIN_ADD", EEXIST);
        if (optins.size() >= capacity)
            return module_error_from_errno("LIBRA_IOC_OPTIN_ADD", ENOSPC);
        optins.push_back(entry);
        entry_counters[key(entry)].assign(__LIBRA_STAT_MAX, 0);
        return {};
    }
    Result<void> remove_optin(const libra_optin& entry) override
    {
        auto it = find(entry);
        if (it == optins.end())
            return module_error_from_errno("LIBRA_IOC_OPTIN_DEL", ENOENT);
        entry_counters.erase(key(*it));
        optins.erase(it);
        return {};
    }
    Result<std::vector<libra_optin>> list_optins() override
    {
        auto listed = optins;
        if (after_list)
            after_list();
        return listed;
    }
    Result<StatSnapshot> optin_stats(const libra_optin& entry) override
    {
        if (!(entry.flags & LIBRA_OPTIN_F_CGROUP) && entry.pid <= 0)
            return module_error_from_errno("LIBRA_IOC_OPTIN_STATS", EINVAL);
        auto it = find(entry);
        if (it == optins.end())
            return module_error_from_errno("LIBRA_IOC_OPTIN_STATS", ENOENT);
        auto& counters = entry_counters[key(*it)];  // also for entries pushed into optins directly
        counters.resize(__LIBRA_STAT_MAX, 0);
        StatSnapshot snapshot{counters, __LIBRA_STAT_MAX, entry_counted};
        for (unsigned i = 0; i < snapshot.values.size(); ++i)
            if (!(entry_counted & stat_bit(i)))
                snapshot.values[i] = 0;
        // The gauge is the limit in force: the entry's own, within the global one.
        uint64_t global = stats.values.at(LIBRA_STAT_ANCHORED_BYTES_LIMIT);
        snapshot.values[LIBRA_STAT_ANCHORED_BYTES_LIMIT] =
            it->anchor_limit ? std::min<uint64_t>(it->anchor_limit, global) : global;
        return snapshot;
    }
    Result<SocketList> list_sockets(int32_t tgid, uint32_t max) override
    {
        if (!has_socket_list)
            return module_error_from_errno("LIBRA_IOC_LIST_SOCKETS", ENOTTY);
        // As the module: ESRCH when the tgid names no process on this host.
        if (tgid < 0 || (tgid > 0 && ::kill(tgid, 0) != 0 && errno == ESRCH))
            return module_error_from_errno("LIBRA_IOC_LIST_SOCKETS", tgid < 0 ? EINVAL : ESRCH);
        SocketList list;
        list.stat_count = socket_stat_count;
        for (const auto& socket : sockets) {
            if (tgid && socket.tgid != tgid)
                continue;
            if (list.sockets.size() < max)
                list.sockets.push_back(socket);
            list.total++;
        }
        return list;
    }
    Result<ProcessList> list_procs(uint32_t max) override
    {
        if (!has_proc_list)
            return module_error_from_errno("LIBRA_IOC_LIST_PROCS", ENOTTY);
        ProcessList list;
        for (const auto& process : procs) {
            if (list.processes.size() < max)
                list.processes.push_back(process);
            list.total++;
        }
        return list;
    }
    Result<void> set_anchor_limit(uint64_t bytes) override
    {
        if (bytes == 0 || bytes % (uint64_t{1} << 20) != 0)
            return module_error_from_errno("LIBRA_IOC_SET_ANCHOR_LIMIT", EINVAL);
        stats.values.at(LIBRA_STAT_ANCHORED_BYTES_LIMIT) = bytes;
        return {};
    }
    Result<void> attach_parser(int program_fd, const std::string&) override
    {
        attached_parser_fds.push_back(program_fd);
        return {};
    }

private:
    // Matched like the module: by cgroup_id for cgroup entries, else by pid.
    std::vector<libra_optin>::iterator find(const libra_optin& entry)
    {
        return std::find_if(optins.begin(), optins.end(),
                            [&](const libra_optin& existing) { return key(existing) == key(entry); });
    }
};

}  // namespace libra::testing
