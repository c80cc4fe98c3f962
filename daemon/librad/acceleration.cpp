#include "librad/acceleration.hpp"

#include <algorithm>
#include <string>

#include "librad/optin_json.hpp"

namespace libra {

namespace {

// The module stops walking up a process's parents after this many (optin.c).
constexpr int kMaxAncestry = 64;

// Where one process stands, read once for all entries.
struct ProcessPlace {
    pid_t pid = 0;
    std::vector<pid_t> lineage;     // the process, its parent, theirs, ...
    std::vector<uint64_t> cgroups;  // its cgroup and those above it
};

ProcessPlace place_of(pid_t pid, const ProcessTree& tree, bool with_cgroups)
{
    ProcessPlace place;
    place.pid = pid;
    if (pid <= 0)
        return place;  // not visible in librad's pid namespace
    for (pid_t current = pid; current > 0 && place.lineage.size() < kMaxAncestry;) {
        place.lineage.push_back(current);
        auto parent = tree.parent(current);
        if (!parent || *parent == current)
            break;
        current = *parent;
    }
    if (with_cgroups)
        place.cgroups = tree.cgroups(pid);
    return place;
}

bool selects(const libra_optin& entry, const ProcessPlace& place)
{
    if (entry.flags & LIBRA_OPTIN_F_CGROUP)
        return std::find(place.cgroups.begin(), place.cgroups.end(), entry.cgroup_id) != place.cgroups.end();
    if (entry.pid <= 0 || place.lineage.empty())
        return false;
    if (!(entry.flags & LIBRA_OPTIN_F_DESCENDANTS))
        return place.lineage.front() == entry.pid;
    return std::find(place.lineage.begin(), place.lineage.end(), entry.pid) != place.lineage.end();
}

bool any_cgroup_entry(const std::vector<libra_optin>& entries)
{
    return std::any_of(entries.begin(), entries.end(),
                       [](const libra_optin& entry) { return (entry.flags & LIBRA_OPTIN_F_CGROUP) != 0; });
}

std::vector<ProcessPlace> places_of(const ProcessList& list, const std::vector<libra_optin>& entries,
                                    const ProcessTree& tree)
{
    bool with_cgroups = any_cgroup_entry(entries);
    std::vector<ProcessPlace> places;
    for (const auto& process : list.processes)
        places.push_back(place_of(process.tgid, tree, with_cgroups));
    return places;
}

// {"pid":P} or {"cgroup_id":N}: which entry, as disable names it.
nlohmann::json entry_reference(const libra_optin& entry)
{
    if (entry.flags & LIBRA_OPTIN_F_CGROUP)
        return {{"cgroup_id", entry.cgroup_id}};
    return {{"pid", entry.pid}};
}

constexpr uint32_t kRefusedFlags =
    LIBRA_PROC_F_TLS_USER | LIBRA_PROC_F_TLS_RESETTING | LIBRA_PROC_F_UNFRAMED_EGRESS;

// A handshake open is a moment in a kernel-TLS process's life (each
// connection has one before its kernel TLS is set up), but it is all there
// is to see of a process that has never set up kernel TLS.
bool handshake_refuses(const libra_proc_info& process)
{
    return (process.flags & LIBRA_PROC_F_TLS_HANDSHAKE) && !(process.flags & LIBRA_PROC_F_TLS_KERNEL);
}

bool process_accelerated(const libra_proc_info& process)
{
    return (process.flags & LIBRA_PROC_F_OPTED_IN) && !(process.flags & kRefusedFlags) &&
           !handshake_refuses(process);
}

// The reasons a process's flags give, in acceleration_reasons() order.
std::vector<const AccelerationReason*> process_reasons(const libra_proc_info& process)
{
    std::vector<const AccelerationReason*> reasons;
    auto add_if = [&](bool condition, std::string_view code) {
        if (condition)
            reasons.push_back(find_acceleration_reason(code));
    };
    add_if(process.flags & LIBRA_PROC_F_TLS_USER, "tls_user");
    add_if(handshake_refuses(process), "tls_handshake");
    add_if(process.flags & LIBRA_PROC_F_TLS_RESETTING, "tls_resetting");
    add_if(process.flags & LIBRA_PROC_F_UNFRAMED_EGRESS, "unframed_egress");
    add_if(!(process.flags & LIBRA_PROC_F_OPTED_IN), "not_opted_in");
    return reasons;
}

nlohmann::json reason_json(const AccelerationReason& reason)
{
    return {{"reason", reason.code},
            {"message", reason.message},
            {"remedy", reason.remedy.empty() ? nlohmann::json(nullptr) : nlohmann::json(reason.remedy)}};
}

nlohmann::json process_json(const libra_proc_info& process, const nlohmann::json& entries)
{
    auto reasons = nlohmann::json::array();
    for (const auto* reason : process_reasons(process))
        reasons.push_back(reason_json(*reason));
    nlohmann::json tls = nullptr;
    if (process.flags & LIBRA_PROC_F_TLS_USER)
        tls = "user";
    else if (process.flags & LIBRA_PROC_F_TLS_KERNEL)
        tls = "kernel";
    else if (process.flags & LIBRA_PROC_F_TLS_HANDSHAKE)
        tls = "handshake";
    return {{"pid", process.tgid},
            {"opted_in", (process.flags & LIBRA_PROC_F_OPTED_IN) != 0},
            {"entries", entries},
            {"accelerated", process_accelerated(process)},
            {"tls", tls},
            {"tls_resetting", (process.flags & LIBRA_PROC_F_TLS_RESETTING) != 0},
            {"unframed_egress", (process.flags & LIBRA_PROC_F_UNFRAMED_EGRESS) != 0},
            {"tls_since_ns", process.tls_since_ns ? nlohmann::json(process.tls_since_ns) : nlohmann::json(nullptr)},
            {"anchors", process.anchors},
            {"anchored_bytes", process.anchored_bytes},
            {"materialized_bytes", process.materialized_bytes},
            {"tokens_refused", process.tokens_refused},
            {"reasons", reasons}};
}

}  // namespace

const std::vector<AccelerationReason>& acceleration_reasons()
{
    static const std::vector<AccelerationReason> reasons = {
        {"tls_user", "terminates TLS in user space: Libra cannot stand in for bodies it encrypts",
         "switch it to kernel TLS, which Libra accelerates: for nginx, add 'ssl_conf_command Options KTLS;' "
         "next to its ssl_certificate (nginx 1.21.4 or later with OpenSSL 3), load the kernel's tls module "
         "(modprobe tls) and keep to ciphers the kernel has (AES-GCM, ChaCha20-Poly1305); /proc/net/tls_stat "
         "counts TlsTxSw when it works. Restart it afterwards: the mark lasts for the process's life",
         {}},
        {"tls_handshake",
         "has a TLS handshake open and has never set up kernel TLS: no anchors until the handshake ends in "
         "kernel TLS (a connection that ends without it marks the process as terminating TLS in user space)",
         "switch it to kernel TLS (nginx: ssl_conf_command Options KTLS;)", {}},
        {"tls_resetting",
         "sent TLS while tokens it received earlier were live: its TLS connections are reset until those "
         "tokens are sent or expire",
         "opt in only processes that serve plain HTTP; restarting it ends this at once", {}},
        {"unframed_egress",
         "sent a received body where Libra does not follow the framing (an AF_UNIX or FastCGI upstream, "
         "HTTP/2, a pipe): it gets no anchors, its bodies are copied as stock Linux copies them",
         "opt in only processes that forward bodies over HTTP/1.x TCP, or only their ports (--port)", {}},
        {"not_opted_in",
         "not opted in: it holds anchors it received while it was, and its sends are still checked for tokens",
         {}, {}},
        {"budget", "the anchored-memory limit was reached: bodies were copied instead",
         "raise anchor_limit (libractl enable --anchor-limit for the entry; anchor-limit in librad.conf for "
         "the global limit)",
         "fallback_budget"},
        {"parser",
         "the HTTP parser stepped aside on traffic it does not follow (not HTTP/1.x, ambiguous or invalid): "
         "those connections are copied as usual",
         "'libractl sockets' shows which (reason parser_errors); docs/http-support.md says what the parser "
         "follows",
         "parser_errors"},
        {"not_adopted", "sockets opened before the opt-in pass through, copied as usual",
         "reload the proxy (nginx -s reload; systemctl reload haproxy) so that it opens its connections under "
         "the opt-in",
         "fallback_not_adopted"},
        {"no_parser", "no HTTP parser was attached: nothing was anchored",
         "see the parsers in 'libractl status' and librad's log", "fallback_no_parser"},
    };
    return reasons;
}

const AccelerationReason* find_acceleration_reason(std::string_view code)
{
    for (const auto& reason : acceleration_reasons())
        if (reason.code == code)
            return &reason;
    return nullptr;
}

bool entry_selects(const libra_optin& entry, pid_t pid, const ProcessTree& tree)
{
    return selects(entry, place_of(pid, tree, (entry.flags & LIBRA_OPTIN_F_CGROUP) != 0));
}

std::optional<uint64_t> CounterHistory::growth(const Key& key, std::string_view counter, uint64_t value)
{
    auto& seen = entries_[key];
    seen.fresh = true;
    auto previous = seen.values.find(counter);
    std::optional<uint64_t> grown;
    if (previous != seen.values.end() && value >= previous->second)
        grown = value - previous->second;
    seen.values[std::string(counter)] = value;
    return grown;
}

void CounterHistory::forget_unseen()
{
    for (auto it = entries_.begin(); it != entries_.end();) {
        if (!it->second.fresh) {
            it = entries_.erase(it);
        } else {
            it->second.fresh = false;
            ++it;
        }
    }
}

nlohmann::json build_procs_json(const ProcessList& list, const std::vector<libra_optin>& entries,
                                const ProcessTree& tree)
{
    auto places = places_of(list, entries, tree);
    auto processes = nlohmann::json::array();
    for (size_t i = 0; i < list.processes.size(); ++i) {
        auto selecting = nlohmann::json::array();
        for (const auto& entry : entries)
            if (selects(entry, places[i]))
                selecting.push_back(entry_reference(entry));
        processes.push_back(process_json(list.processes[i], selecting));
    }
    return {{"total", list.total},
            {"listed", list.processes.size()},
            {"truncated", list.total > list.processes.size()},
            {"processes", processes}};
}

namespace {

// One entry's diagnosis, added to its status object.
class EntryDiagnosis {
public:
    EntryDiagnosis(const OptinFigures& figures, CounterHistory& history, const ProcessTree& tree)
        : figures_(figures), history_(history), tree_(tree)
    {
    }

    // The opted-in processes the entry selects: pids, and the reasons their flags give.
    void add_processes(const ProcessList& list, const std::vector<ProcessPlace>& places)
    {
        processes_ = nlohmann::json::array();
        for (size_t i = 0; i < list.processes.size(); ++i) {
            const auto& process = list.processes[i];
            if (!(process.flags & LIBRA_PROC_F_OPTED_IN) || !selects(figures_.entry, places[i]))
                continue;
            processes_.push_back(process.tgid);
            if (!process_accelerated(process))
                ++blocked_;
            for (const auto* reason : process_reasons(process))
                pids_by_reason_[reason].push_back(process.tgid);
        }
        seen_processes_ = processes_.size();
    }

    nlohmann::json json()
    {
        auto reasons = nlohmann::json::array();
        for (const auto& reason : acceleration_reasons()) {
            auto pids = pids_by_reason_.find(&reason);
            if (pids != pids_by_reason_.end()) {
                auto out = reason_json(reason);
                out["pids"] = pids->second;
                reasons.push_back(out);
            }
        }
        add_counter_reasons(reasons);
        nlohmann::json out = optin_to_json(figures_.entry);
        out["state"] = state();
        out["processes"] = processes_;
        out["reasons"] = reasons;
        return out;
    }

private:
    std::optional<uint64_t> counter(std::string_view name) const
    {
        return figures_.stats ? figures_.stats->value(name) : std::nullopt;
    }

    CounterHistory::Key key() const
    {
        const auto& entry = figures_.entry;
        if (entry.flags & LIBRA_OPTIN_F_CGROUP)
            return {true, entry.cgroup_id, 0};
        return {false, static_cast<uint64_t>(entry.pid), tree_.start_time(entry.pid).value_or(0)};
    }

    // Each counter reason the entry's figures show, with its growth since
    // librad's previous look (null at the first).
    void add_counter_reasons(nlohmann::json& reasons)
    {
        auto entry_key = key();
        for (const auto& reason : acceleration_reasons()) {
            if (reason.counter.empty())
                continue;
            auto value = counter(reason.counter);
            if (!value)
                continue;
            auto growth = history_.growth(entry_key, reason.counter, *value);
            if (*value == 0)
                continue;
            if (!growth || *growth > 0)
                ++active_counter_reasons_;
            auto out = reason_json(reason);
            out["counter"] = reason.counter;
            out["count"] = *value;
            out["growth"] = growth ? nlohmann::json(*growth) : nlohmann::json(nullptr);
            reasons.push_back(out);
        }
    }

    std::string_view state() const
    {
        bool traffic = seen_processes_ > 0 || counter("sockets_tracked").value_or(0) > 0 ||
                       counter("messages_parsed").value_or(0) > 0 || counter("bytes_anchored").value_or(0) > 0;
        if (!traffic)
            return figures_.stats || !processes_.is_null() ? "idle" : "unknown";
        if (seen_processes_ > 0 && blocked_ == seen_processes_)
            return "not_accelerated";
        if (active_counter_reasons_ > 0 && counter("bytes_anchored").value_or(0) == 0)
            return "not_accelerated";
        if (blocked_ > 0 || active_counter_reasons_ > 0)
            return "partial";
        return "accelerated";
    }

    const OptinFigures& figures_;
    CounterHistory& history_;
    const ProcessTree& tree_;
    nlohmann::json processes_ = nullptr;  // null: the module does not list its processes
    size_t seen_processes_ = 0;
    size_t blocked_ = 0;
    size_t active_counter_reasons_ = 0;
    std::map<const AccelerationReason*, std::vector<pid_t>> pids_by_reason_;
};

}  // namespace

nlohmann::json diagnose_entries(const StatsReport& report, const std::optional<ProcessList>& procs,
                                const ProcessTree& tree, CounterHistory& history)
{
    std::vector<libra_optin> entries;
    for (const auto& figures : report.optins)
        entries.push_back(figures.entry);
    std::vector<ProcessPlace> places;
    if (procs)
        places = places_of(*procs, entries, tree);
    auto out = nlohmann::json::array();
    for (const auto& figures : report.optins) {
        EntryDiagnosis diagnosis(figures, history, tree);
        if (procs)
            diagnosis.add_processes(*procs, places);
        out.push_back(diagnosis.json());
    }
    history.forget_unseen();
    return out;
}

}  // namespace libra
