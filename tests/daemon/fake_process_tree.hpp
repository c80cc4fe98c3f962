// A process tree described by the test, for host unit tests: which process
// is whose child, in which cgroups, started when. Stands in for /proc the way
// InMemoryModuleControl stands in for the module.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "librad/process_info.hpp"

namespace libra::testing {

class FakeProcessTree final : public ProcessTree {
public:
    std::map<pid_t, pid_t> parents;
    std::map<pid_t, std::vector<uint64_t>> cgroup_chains;  // own cgroup first
    std::map<pid_t, uint64_t> start_times;

    // @pid is @parent's child, in @parent's cgroups, started at @start.
    void add_child(pid_t parent, pid_t pid, uint64_t start = 1)
    {
        parents[pid] = parent;
        if (auto cgroups = cgroup_chains.find(parent); cgroups != cgroup_chains.end())
            cgroup_chains[pid] = cgroups->second;
        start_times[pid] = start;
    }

    std::optional<pid_t> parent(pid_t pid) const override { return lookup(parents, pid); }
    std::vector<uint64_t> cgroups(pid_t pid) const override
    {
        return lookup(cgroup_chains, pid).value_or(std::vector<uint64_t>{});
    }
    std::optional<uint64_t> start_time(pid_t pid) const override { return lookup(start_times, pid); }

private:
    template <typename Map>
    static std::optional<typename Map::mapped_type> lookup(const Map& map, pid_t pid)
    {
        auto found = map.find(pid);
        return found == map.end() ? std::nullopt : std::optional<typename Map::mapped_type>(found->second);
    }
};

}  // namespace libra::testing
