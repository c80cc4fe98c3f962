#include "libractl/render.hpp"

#include <array>
#include <optional>
#include <set>

#include <fmt/format.h>

#include "common/byte_size.hpp"
#include "common/version.hpp"

namespace libra {

namespace {
// Values come from librad; render defensively so a surprising reply prints
// something instead of throwing.
std::string text(const nlohmann::json& value)
{
    if (value.is_string())
        return value.get<std::string>();
    if (value.is_null())
        return "-";
    return value.dump();
}

std::string field(const nlohmann::json& object, const char* key)
{
    return object.is_object() && object.contains(key) ? text(object[key]) : "-";
}

// A byte count as librad sends it, or nothing for null (no limit) or junk.
std::optional<uint64_t> byte_count(const nlohmann::json& value)
{
    if (value.is_number_unsigned() || (value.is_number_integer() && value.get<int64_t>() >= 0))
        return value.get<uint64_t>();
    return std::nullopt;
}

// The figures `stats` shows for everything and for each opt-in entry, in order.
constexpr std::array<const char*, 10> kStatsRows = {
    "sockets_tracked",      "messages_parsed",       "bytes_metadata_copied", "bytes_anchored",
    "bytes_zero_copy_sent", "bytes_fallback_copied", "anchored_bytes_now",    "anchored_bytes_peak",
    "anchored_bytes_limit", "parser_errors",
};

// Entry columns side by side in one table, at most this many per table.
constexpr size_t kEntryColumns = 3;

// "pid 42" / "cgroup 7": an entry's column heading.
std::string entry_name(const nlohmann::json& entry)
{
    return entry.contains("cgroup_id") ? "cgroup " + field(entry, "cgroup_id") : "pid " + field(entry, "pid");
}

// The per-entry figures: counters down, entries across.
void render_entry_tables(const std::vector<nlohmann::json>& entries, std::ostream& out)
{
    std::set<std::string> reasons;
    for (const auto& entry : entries) {
        auto fallbacks = entry.value("fallbacks", nlohmann::json());
        if (fallbacks.is_object())
            for (const auto& [reason, count] : fallbacks.items())
                reasons.insert(reason);
    }
    for (size_t first = 0; first < entries.size(); first += kEntryColumns) {
        size_t last = std::min(entries.size(), first + kEntryColumns);
        std::vector<size_t> widths;
        std::string line = fmt::format("  {:<26}", "");
        for (size_t i = first; i < last; ++i) {
            auto name = entry_name(entries[i]);
            widths.push_back(std::max<size_t>(16, name.size() + 1));
            line += fmt::format(" {:>{}}", name, widths.back());
        }
        out << line << "\n";
        auto row = [&](const std::string& label, auto cell) {
            std::string row_text = fmt::format("  {:<26}", label);
            for (size_t i = first; i < last; ++i) {
                const auto& value = cell(entries[i]);
                row_text += fmt::format(" {:>{}}", value.is_null() ? std::string("-") : text(value),
                                        widths[i - first]);
            }
            out << row_text << "\n";
        };
        for (const char* key : kStatsRows)
            row(key, [&](const nlohmann::json& entry) { return entry.value(key, nlohmann::json()); });
        for (const auto& reason : reasons)
            row("fallbacks " + reason, [&](const nlohmann::json& entry) {
                auto fallbacks = entry.value("fallbacks", nlohmann::json());
                return fallbacks.is_object() ? fallbacks.value(reason, nlohmann::json()) : nlohmann::json();
            });
        if (last < entries.size())
            out << "\n";
    }
}
}  // namespace

std::string describe_optin(const nlohmann::json& entry)
{
    std::string line;
    if (entry.contains("cgroup_id"))
        line = "cgroup " + field(entry, "cgroup_id");
    else
        line = "pid " + field(entry, "pid") +
               (entry.value("descendants", false) ? " (and descendants)" : " (this process only)");
    auto ports = entry.value("ports", nlohmann::json::array());
    std::string port_list;
    for (const auto& port : ports)
        port_list += (port_list.empty() ? "" : ",") + text(port);
    line += " ports " + (port_list.empty() ? std::string("all") : port_list);
    line += " min-body " + field(entry, "min_body");
    if (auto limit = byte_count(entry.value("anchor_limit", nlohmann::json())))
        line += " anchor-limit " + format_byte_size(*limit);
    return line;
}

void render_enable(const nlohmann::json& result, std::ostream& out)
{
    out << "enabled: " << describe_optin(result.value("enabled", nlohmann::json::object())) << "\n";
}

void render_disable(const nlohmann::json& result, std::ostream& out)
{
    auto target = result.value("disabled", nlohmann::json::object());
    out << "disabled: "
        << (target.contains("cgroup_id") ? "cgroup " + field(target, "cgroup_id") : "pid " + field(target, "pid"))
        << "\n";
}

namespace {
// "1201, 1202" for at most a few pids, then how many more.
std::string pid_list(const nlohmann::json& pids)
{
    constexpr size_t kShown = 8;
    std::string list;
    size_t shown = 0;
    for (const auto& pid : pids) {
        if (shown == kShown) {
            list += fmt::format(" and {} more", pids.size() - kShown);
            break;
        }
        list += (shown++ ? ", " : "") + text(pid);
    }
    return list;
}

// How one reason reads: @lead and what, then the remedy on its own line,
// indented by @indent.
void render_reason(const nlohmann::json& reason, const std::string& lead, const std::string& indent,
                   std::ostream& out)
{
    out << lead << field(reason, "message") << "\n";
    auto remedy = reason.value("remedy", nlohmann::json());
    if (!remedy.is_null())
        out << indent << "remedy: " << text(remedy) << "\n";
}

// Whether an entry's processes are accelerated and, where not, why: the
// lines `status` prints under each entry (absent from an older librad).
void render_acceleration(const nlohmann::json& entry, std::ostream& out)
{
    if (!entry.contains("state"))
        return;
    auto state = field(entry, "state");
    auto processes = entry.value("processes", nlohmann::json());
    std::string line = state == "accelerated"       ? "accelerated"
                       : state == "partial"         ? "partly accelerated"
                       : state == "not_accelerated" ? "not accelerated"
                       : state == "idle"            ? "no traffic since it was added"
                                                    : "acceleration unknown (its process is not visible to librad)";
    if (processes.is_array() && !processes.empty())
        line += " (process" + std::string(processes.size() == 1 ? " " : "es ") + pid_list(processes) + ")";
    out << "    " << line << "\n";
    for (const auto& reason : entry.value("reasons", nlohmann::json::array())) {
        std::string prefix;
        if (reason.contains("pids")) {
            auto pids = reason["pids"];
            prefix = "pid" + std::string(pids.size() == 1 ? " " : "s ") + pid_list(pids) + ": ";
        } else {
            auto growth = reason.value("growth", nlohmann::json());
            prefix = field(reason, "counter") + " " + field(reason, "count") + " (" +
                     (growth.is_null()          ? std::string("since the entry was added")
                      : growth.get<uint64_t>() ? "+" + text(growth) + " since the last status"
                                               : std::string("none since the last status")) +
                     "): ";
        }
        render_reason(reason, "    - " + prefix, "        ", out);
    }
}
}  // namespace

void render_status(const nlohmann::json& result, std::ostream& out)
{
    auto daemon = result.value("daemon", nlohmann::json::object());
    auto module = result.value("module", nlohmann::json::object());
    out << "librad " << field(daemon, "version") << " (pid " << field(daemon, "pid") << ") on "
        << field(daemon, "socket") << "\n";
    out << "module " << field(module, "version") << " (ABI " << field(module, "abi_version") << ")\n";
    auto limit = byte_count(daemon.value("anchor_limit", nlohmann::json()));
    out << "anchor-limit: "
        << (limit ? format_byte_size(*limit) + " (set by librad)"
                  : std::string("not set by librad: the module's own (see libractl stats)"))
        << "\n";
    auto parsers = daemon.value("parsers", nlohmann::json::array());
    out << "parsers:" << (parsers.empty() ? " none" : "") << "\n";
    for (const auto& parser : parsers) {
        out << "  " << field(parser, "path") << ": "
            << (parser.value("attached", false) ? "attached" : "loaded, not attached");
        if (parser.contains("note"))
            out << " (" << field(parser, "note") << ")";
        out << "\n";
    }
    auto optins = result.value("optins", nlohmann::json::array());
    out << "opted in:" << (optins.empty() ? " nothing" : "") << "\n";
    for (const auto& entry : optins) {
        out << "  " << describe_optin(entry) << "\n";
        render_acceleration(entry, out);
    }
}

void render_stats(const nlohmann::json& result, std::ostream& out)
{
    out << fmt::format("libra module {} (ABI {})\n", field(result, "module_version"),
                       field(result, "abi_version"));
    auto row = [&](const std::string& name, const nlohmann::json& value) {
        out << fmt::format("  {:<26} {:>20}\n", name,
                           value.is_null() ? std::string("unavailable") : text(value));
    };
    for (const char* key : kStatsRows)
        row(key, result.value(key, nlohmann::json()));
    auto fallbacks = result.value("fallbacks", nlohmann::json());
    if (fallbacks.is_object()) {
        out << "  fallbacks:\n";
        for (const auto& [reason, count] : fallbacks.items())
            row("  " + reason, count);
    } else {
        row("fallbacks", nullptr);
    }
    auto counters = result.value("module_counters", nlohmann::json::object());
    if (!counters.empty()) {
        out << "module counters:\n";
        for (const auto& [name, value] : counters.items())
            row(name, value);
    }
    auto processes = result.value("processes", nlohmann::json::array());
    auto cgroups = result.value("cgroups", nlohmann::json::array());
    std::vector<nlohmann::json> entries;
    for (const auto& list : {processes, cgroups})
        for (const auto& entry : list)
            if (entry.is_object())
                entries.push_back(entry);
    if (!entries.empty()) {
        out << "opted in (figures since each entry was added; -: not kept per entry):\n";
        for (const auto& entry : entries)
            out << "  " << describe_optin(entry) << "\n";
        render_entry_tables(entries, out);
    }
    auto unavailable = result.value("unavailable", nlohmann::json::array());
    if (!unavailable.empty())
        out << "unavailable: not provided by this module version (" << unavailable.size() << " figures)\n";
}

namespace {
// "127.0.0.1:8080", "[::1]:8080"
std::string endpoint(const nlohmann::json& socket, const char* address_key, const char* port_key)
{
    std::string address = field(socket, address_key);
    if (address.find(':') != std::string::npos)
        address = "[" + address + "]";
    return address + ":" + field(socket, port_key);
}

// What is unusual about a socket, or "ok".
std::string socket_state(const nlohmann::json& socket)
{
    std::string state;
    auto add = [&](const std::string& what) { state += (state.empty() ? "" : ", ") + what; };
    if (field(socket, "role") == "pass")
        add("passed through (traffic before opt-in)");
    if (!socket.value("opted_in", true))
        add("not opted in (holds anchors)");
    if (socket.value("ktls", false))
        add("kernel TLS (regions sent from anchored pages, encrypted by the kernel)");
    else if (socket.value("tls_handshake", false))
        add("TLS handshake open (its process gets no anchors until it ends)");
    else if (socket.value("tls", false))
        add("TLS in user space (its process gets no anchors)");
    for (const char* direction : {"rx", "tx"}) {
        auto side = socket.value(direction, nlohmann::json::object());
        if (!side.is_object() || !side.value("stepped_aside", false))
            continue;
        auto reason = side.value("reason", nlohmann::json());
        if (!reason.is_null() || socket.value("opted_in", true))
            add(std::string(direction) + " stepped aside" + (reason.is_null() ? "" : " (" + text(reason) + ")"));
    }
    return state.empty() ? "ok" : state;
}

// Right-aligned number columns: (heading, key) each.
template <size_t N>
using Columns = std::array<std::pair<const char*, const char*>, N>;

// The headings of @columns, or @row's values under them.
template <size_t N>
std::string column_cells(const Columns<N>& columns, const nlohmann::json* row = nullptr)
{
    std::string cells;
    for (const auto& [title, key] : columns)
        cells += fmt::format(" {:>12}", row ? field(*row, key) : std::string(title));
    return cells;
}

// The columns of `sockets`: heading, counter.
constexpr Columns<8> kSocketCounterColumns = {{
    {"ANCHORED", "bytes_anchored"},
    {"ZERO-COPY", "bytes_zero_copy_sent"},
    {"METADATA", "bytes_metadata_copied"},
    {"FALLBACK", "bytes_fallback_copied"},
    {"MATERIALIZED", "bytes_materialized"},
    {"REJECTED", "tokens_rejected"},
    {"REFUSED", "tokens_refused"},
    {"CUT", "regions_cut"},
}};
}  // namespace

void render_sockets(const nlohmann::json& result, std::ostream& out)
{
    auto sockets = result.value("sockets", nlohmann::json::array());
    auto pid = result.value("pid", nlohmann::json());
    std::string whose = pid.is_null() ? "" : " adopted by pid " + text(pid);
    if (!sockets.is_array() || sockets.empty()) {
        out << "no sockets tracked" << whose << "\n";
        return;
    }
    std::vector<std::string> locals, remotes;
    size_t local_width = 5, remote_width = 6;  // "LOCAL", "REMOTE"
    for (const auto& socket : sockets) {
        locals.push_back(endpoint(socket, "local_address", "local_port"));
        remotes.push_back(endpoint(socket, "remote_address", "remote_port"));
        local_width = std::max(local_width, locals.back().size());
        remote_width = std::max(remote_width, remotes.back().size());
    }
    out << fmt::format("{:>6} {:>7} {:<7} {:<{}} {:<{}}", "ID", "PID", "ROLE", "LOCAL", local_width, "REMOTE",
                       remote_width)
        << column_cells(kSocketCounterColumns) << " STATE\n";
    for (size_t i = 0; i < sockets.size(); ++i) {
        const auto& socket = sockets[i];
        out << fmt::format("{:>6} {:>7} {:<7} {:<{}} {:<{}}", field(socket, "id"), field(socket, "pid"),
                           field(socket, "role"), locals[i], local_width, remotes[i], remote_width)
            << column_cells(kSocketCounterColumns, &socket) << " " << socket_state(socket) << "\n";
    }
    out << sockets.size() << " socket" << (sockets.size() == 1 ? "" : "s") << whose;
    if (result.value("truncated", false))
        out << " listed, of " << field(result, "total") << " tracked";
    out << " (figures since Libra adopted each socket; -: not kept by this module)\n";
}

namespace {
// "pid 1200", "cgroup 777": the entries that select a process, or "-".
std::string entry_list(const nlohmann::json& entries)
{
    std::string list;
    for (const auto& entry : entries)
        list += (list.empty() ? "" : ",") + entry_name(entry);
    return list.empty() ? "-" : list;
}

// The columns of `procs`: heading, key.
constexpr Columns<4> kProcessColumns = {{
    {"ANCHORS", "anchors"},
    {"ANCHORED", "anchored_bytes"},
    {"MATERIALIZED", "materialized_bytes"},
    {"REFUSED", "tokens_refused"},
}};
}  // namespace

void render_procs(const nlohmann::json& result, std::ostream& out)
{
    auto processes = result.value("processes", nlohmann::json::array());
    if (!processes.is_array() || processes.empty()) {
        out << "no processes known: none opted in has used a socket since, and none holds anchors\n";
        return;
    }
    std::vector<std::string> entries;
    size_t entry_width = 5;  // "ENTRY"
    for (const auto& process : processes) {
        entries.push_back(entry_list(process.value("entries", nlohmann::json::array())));
        entry_width = std::max(entry_width, entries.back().size());
    }
    out << fmt::format("{:>7} {:<{}} {:<11}", "PID", "ENTRY", entry_width, "ACCELERATED")
        << column_cells(kProcessColumns) << " WHY NOT\n";
    // Each reason's explanation once, below the table.
    std::vector<nlohmann::json> legend;
    std::set<std::string> explained;
    for (size_t i = 0; i < processes.size(); ++i) {
        const auto& process = processes[i];
        std::string why;
        for (const auto& reason : process.value("reasons", nlohmann::json::array())) {
            auto code = field(reason, "reason");
            why += (why.empty() ? "" : ",") + code;
            if (explained.insert(code).second)
                legend.push_back(reason);
        }
        out << fmt::format("{:>7} {:<{}} {:<11}", field(process, "pid"), entries[i], entry_width,
                           process.value("accelerated", false) ? "yes" : "no")
            << column_cells(kProcessColumns, &process) << " " << (why.empty() ? "-" : why) << "\n";
    }
    out << processes.size() << " process" << (processes.size() == 1 ? "" : "es");
    if (result.value("truncated", false))
        out << " listed, of " << field(result, "total") << " known";
    out << " (ANCHORED, MATERIALIZED: bytes)\n";
    for (const auto& reason : legend)
        render_reason(reason, field(reason, "reason") + ": ", "  ", out);
}

void render_version(const nlohmann::json& result, std::ostream& out)
{
    out << "libractl " << kProjectVersion << "\n"
        << "librad " << field(result, "daemon_version") << " (protocol " << field(result, "protocol") << ")\n"
        << "module " << field(result, "module_version") << " (ABI " << field(result, "abi_version") << ")\n";
}

}  // namespace libra
