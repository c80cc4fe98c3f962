// The rows of libractl's command table: options and request building.
#include <charconv>
#include <string>

#include "common/byte_size.hpp"
#include "libractl/cgroup.hpp"
#include "libractl/command_table.hpp"
#include "libractl/render.hpp"

namespace po = boost::program_options;

namespace libra {

namespace {

Error usage(std::string message)
{
    return Error{ErrorCode::invalid_request, std::move(message)};
}

// "--port 80,443 --port 8080" -> [80, 443, 8080]
Result<nlohmann::json> parse_port_list(const std::vector<std::string>& args)
{
    auto ports = nlohmann::json::array();
    for (const auto& arg : args) {
        size_t start = 0;
        while (start <= arg.size()) {
            size_t comma = arg.find(',', start);
            std::string item = arg.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
            unsigned port = 0;
            auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), port);
            if (item.empty() || ec != std::errc() || end != item.data() + item.size() || port < 1 || port > 65535)
                return usage("'" + item + "' is not a port number (1-65535)");
            ports.push_back(port);
            if (comma == std::string::npos)
                break;
            start = comma + 1;
        }
    }
    return ports;
}

void add_target_options(po::options_description& options)
{
    options.add_options()
        ("pid", po::value<int>()->value_name("PID"), "process (thread group) id")
        ("cgroup", po::value<std::string>()->value_name("PATH"),
         "cgroup v2 directory; relative paths are below /sys/fs/cgroup");
}

// --pid as the request's "pid" field.
Result<void> add_pid_field(const po::variables_map& vm, nlohmann::json& request)
{
    int value = vm["pid"].as<int>();
    if (value <= 0)
        return usage("--pid must be a positive process id");
    request["pid"] = value;
    return {};
}

// The "pid" or "cgroup_id" field of enable/disable.
Result<nlohmann::json> target_request(const char* command, const po::variables_map& vm)
{
    bool pid = vm.count("pid") > 0;
    bool cgroup = vm.count("cgroup") > 0;
    if (pid == cgroup)
        return usage("give exactly one of --pid and --cgroup");
    nlohmann::json request = {{"command", command}};
    if (pid) {
        if (auto added = add_pid_field(vm, request); !added)
            return added.error();
        return request;
    }
    auto id = resolve_cgroup_id(vm["cgroup"].as<std::string>());
    if (!id)
        return usage(id.error().message);
    request["cgroup_id"] = id.value();
    return request;
}

std::vector<Command> make_table()
{
    std::vector<Command> table;
    table.push_back(Command{
        "enable", "--pid PID [--port N[,N...]] [--min-body BYTES]\n"
                  "           [--anchor-limit SIZE] [--no-descendants]\n"
                  "       libractl enable --cgroup PATH [--port N[,N...]] [--min-body BYTES]\n"
                  "           [--anchor-limit SIZE]",
        "opt a process (and its descendants) or a cgroup in to Libra",
        "Opts sockets in to selective copying. With --pid, process PID and every\n"
        "process it forks, now or later (an nginx reload forks new workers), unless\n"
        "--no-descendants. With --cgroup, every process in the cgroup v2 directory\n"
        "PATH and below it, such as a systemd service\n"
        "(system.slice/nginx.service). Only sockets whose local or peer port is in\n"
        "--port are affected when given (at most 16 ports). Bodies shorter than\n"
        "--min-body bytes are copied as usual (default 16384). With --anchor-limit,\n"
        "the entry's sockets together hold at most SIZE bytes anchored (suffixes K,\n"
        "M, G, T are powers of 1024: 64M); past it, and past the global limit\n"
        "(librad.conf anchor-limit), bodies are copied as usual.\n\n"
        "A --pid entry goes away by itself when PID exits (its descendants are\n"
        "reparented then and stop being selected); a --cgroup entry stays until\n"
        "disabled.\n\n"
        "Only programs that forward bodies unchanged may be opted in: in an opted-in\n"
        "program the body part of a received buffer holds a token, not the body.\n"
        "Members of group 'libra' may opt in their own processes only; cgroups need\n"
        "root or CAP_NET_ADMIN.",
        [](po::options_description& options) {
            add_target_options(options);
            options.add_options()
                ("port", po::value<std::vector<std::string>>()->value_name("N[,N...]")->composing(),
                 "only sockets with this local or peer port (repeatable)")
                ("min-body", po::value<std::string>()->value_name("BYTES"),
                 "copy bodies smaller than this as usual (default 16384)")
                ("anchor-limit", po::value<std::string>()->value_name("SIZE"),
                 "at most SIZE bytes anchored for this entry (K, M, G, T suffixes; "
                 "default: only the global limit)")
                ("no-descendants", "with --pid: only PID itself, not its children");
        },
        [](const po::variables_map& vm) -> Result<nlohmann::json> {
            auto request = target_request("enable", vm);
            if (!request)
                return request;
            if (vm.count("no-descendants")) {
                if (vm.count("cgroup"))
                    return usage("--no-descendants applies to --pid only");
                request.value()["descendants"] = false;
            }
            if (vm.count("port")) {
                auto ports = parse_port_list(vm["port"].as<std::vector<std::string>>());
                if (!ports)
                    return ports.error();
                request.value()["ports"] = ports.value();
            }
            if (vm.count("min-body")) {
                // Parsed here: Boost's lexical_cast would accept "-1" as 4294967295.
                const auto& text = vm["min-body"].as<std::string>();
                uint32_t bytes = 0;
                auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), bytes);
                if (text.empty() || ec != std::errc() || end != text.data() + text.size())
                    return usage("--min-body must be a byte count from 0 to 4294967295");
                request.value()["min_body"] = bytes;
            }
            if (vm.count("anchor-limit")) {
                auto bytes = parse_byte_size(vm["anchor-limit"].as<std::string>());
                if (!bytes)
                    return usage("--anchor-limit: " + bytes.error().message);
                if (bytes.value() == 0)
                    return usage("--anchor-limit must be at least 1 byte (leave it out for no limit of the "
                                 "entry's own)");
                request.value()["anchor_limit"] = bytes.value();
            }
            return request;
        },
        render_enable});
    table.push_back(Command{
        "disable", "--pid PID | --cgroup PATH",
        "end the opt-in of a process or cgroup",
        "Removes the opt-in entry made by 'libractl enable' for the same --pid or\n"
        "--cgroup. Sockets already tracked finish the message in flight; anchored\n"
        "data is still sent or released, never dropped. A process that has exited\n"
        "has no entry left to disable: it went with the process.",
        add_target_options,
        [](const po::variables_map& vm) { return target_request("disable", vm); },
        render_disable});
    table.push_back(Command{
        "status", "",
        "show the daemon, the module, what is opted in and whether it is accelerated",
        "Shows librad's version and parsers, the kernel module's version, and the\n"
        "opt-in table as the module holds it. Under each entry: whether Libra\n"
        "accelerates its processes (accelerated, partly, not, or no traffic yet)\n"
        "and, where it does not, why and the remedy: a process that terminates TLS\n"
        "in user space or uses kernel TLS gets no anchors; the anchored-memory limit\n"
        "reached; the parser stepping aside; sockets opened before the opt-in. A\n"
        "reason shown by a counter says how much it grew since the previous status.\n"
        "An entry goes away by itself when its process exits.",
        nullptr,
        [](const po::variables_map&) -> Result<nlohmann::json> { return nlohmann::json{{"command", "status"}}; },
        render_status});
    table.push_back(Command{
        "stats", "[--json] [--watch [--interval SECONDS]]",
        "show the module's counters",
        "Prints the kernel module's counters, read live. Counters this module\n"
        "version does not provide are shown as unavailable (null in --json, and\n"
        "listed under \"unavailable\"), never as zero. With --watch, prints them\n"
        "again every --interval seconds (default 1) until interrupted; with --json\n"
        "each refresh is one JSON object on its own line.",
        nullptr,
        [](const po::variables_map&) -> Result<nlohmann::json> { return nlohmann::json{{"command", "stats"}}; },
        render_stats, /*can_watch=*/true});
    table.push_back(Command{
        "sockets", "[--pid PID] [--json] [--watch [--interval SECONDS]]",
        "show the sockets Libra tracks, with each one's counters",
        "Lists the sockets the kernel module keeps state for, read live: the process\n"
        "that adopted each (a worker, for a proxy opted in with its descendants), its\n"
        "local and remote address, its role (server: it receives requests; client:\n"
        "it sends them), whether a direction stepped aside and why, and its own\n"
        "counters: body bytes anchored on receive, sent zero-copy, metadata and\n"
        "fallback bytes copied, anchored bytes written back into the program's memory\n"
        "(MATERIALIZED), tokens rejected, tokens refused, regions cut short. They\n"
        "count what the socket did since Libra adopted it and go away when it closes;\n"
        "'libractl stats' keeps the totals. STATE also says when a socket carries TLS\n"
        "(its process gets no anchors). With --pid, only the sockets that process\n"
        "adopted.",
        [](po::options_description& options) {
            options.add_options()("pid", po::value<int>()->value_name("PID"),
                                  "only the sockets this process (thread group) adopted");
        },
        [](const po::variables_map& vm) -> Result<nlohmann::json> {
            nlohmann::json request = {{"command", "sockets"}};
            if (vm.count("pid"))
                if (auto added = add_pid_field(vm, request); !added)
                    return added.error();
            return request;
        },
        render_sockets, /*can_watch=*/true});
    table.push_back(Command{
        "procs", "[--json] [--watch [--interval SECONDS]]",
        "show the processes Libra knows, whether each is accelerated and why not",
        "Lists the processes the kernel module knows, read live: those opted in that\n"
        "used a socket since, and those holding anchors. For each: the opt-in entries\n"
        "that select it, whether Libra accelerates it and, if not, why and the remedy\n"
        "(a process that terminates TLS in user space or uses kernel TLS gets no\n"
        "anchors), its live anchors and their bytes, anchored bytes written back into\n"
        "its memory (MATERIALIZED) and tokens refused.",
        nullptr,
        [](const po::variables_map&) -> Result<nlohmann::json> { return nlohmann::json{{"command", "procs"}}; },
        render_procs, /*can_watch=*/true});
    table.push_back(Command{
        "version", "",
        "show the versions of libractl, librad and the kernel module",
        "Prints libractl's version and asks librad for its own, the protocol's and\n"
        "the kernel module's. 'libractl --version' prints libractl's alone.",
        nullptr,
        [](const po::variables_map&) -> Result<nlohmann::json> { return nlohmann::json{{"command", "version"}}; },
        render_version});
    return table;
}

}  // namespace

const std::vector<Command>& command_table()
{
    static const std::vector<Command> table = make_table();
    return table;
}

const Command* find_command(std::string_view name)
{
    for (const auto& command : command_table())
        if (command.name == name)
            return &command;
    return nullptr;
}

}  // namespace libra
