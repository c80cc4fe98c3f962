// Whether Libra accelerates what is opted in and, where it does not, why and
// what to do about it: the module's processes (LIBRA_IOC_LIST_PROCS) matched
// to the opt-in entries that select them, and each entry's own counters.
// Builds the `procs` reply and the diagnosis `status` adds to each entry
// (daemon/PROTOCOL.md, "Acceleration").
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string_view>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include <linux/libra.h>

#include "librad/module_control.hpp"
#include "librad/process_info.hpp"
#include "librad/stats_report.hpp"

namespace libra {

// Processes one `procs` reply lists at most (about 400 bytes of JSON each).
inline constexpr uint32_t kMaxProcessesListed = 8192;

// Why something is not (fully) accelerated: a stable code, what it means and
// the remedy (empty when there is none).
struct AccelerationReason {
    std::string_view code;
    std::string_view message;
    std::string_view remedy;
    std::string_view counter;  // the entry counter that shows it; empty: a process flag shows it
};

// Every reason librad gives, in the order it lists them.
const std::vector<AccelerationReason>& acceleration_reasons();
const AccelerationReason* find_acceleration_reason(std::string_view code);

// Whether opt-in entry @entry selects process @pid, as the module matches
// tasks: the pid itself, or with descendants any process whose chain of
// parents reaches it; for a cgroup entry, a process in it or below it.
bool entry_selects(const libra_optin& entry, pid_t pid, const ProcessTree& tree);

// The entries' counters as librad saw them at its previous `status`, so that
// a reason can say whether it still grows. Keyed by the entry and, for a pid
// entry, its process's start time: a reused pid starts afresh.
class CounterHistory {
public:
    using Key = std::tuple<bool, uint64_t, uint64_t>;  // (cgroup?, pid or cgroup_id, start time)

    // The growth of @counter since the previous look at @key (nullopt at
    // the first look, or when the counter went backwards), and records @value.
    std::optional<uint64_t> growth(const Key& key, std::string_view counter, uint64_t value);
    // Forgets every entry not looked at since the previous call: entries
    // removed or expired, whose key a new entry may reuse.
    void forget_unseen();

private:
    struct Seen {
        std::map<std::string, uint64_t, std::less<>> values;
        bool fresh = false;
    };
    std::map<Key, Seen> entries_;
};

// `procs`: {"total","listed","truncated","processes":[...]}, each process
// with the entries that select it, whether it is accelerated, and why not.
nlohmann::json build_procs_json(const ProcessList& list, const std::vector<libra_optin>& entries,
                                const ProcessTree& tree);

// `status`'s opt-in entries: each as optin_to_json() plus "state",
// "processes" and "reasons". @procs is nullopt when the module cannot list
// its processes (an older module): the diagnosis then rests on counters.
nlohmann::json diagnose_entries(const StatsReport& report, const std::optional<ProcessList>& procs,
                                const ProcessTree& tree, CounterHistory& history);

}  // namespace libra
