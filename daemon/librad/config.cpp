#include "librad/config.hpp"

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "common/byte_size.hpp"
#include "common/version.hpp"

namespace po = boost::program_options;

namespace libra {

namespace {

const std::set<std::string> kLogLevels = {"trace", "debug", "info", "warn",
                                          "error", "critical", "off"};

// Keys valid both on the command line (--key) and in the file (key = value).
po::options_description make_shared_options()
{
    po::options_description options("Settings (command line or config file)");
    options.add_options()
        ("log-level", po::value<std::string>()->default_value("info"),
         "trace, debug, info, warn, error, critical or off")
        ("socket", po::value<std::string>()->default_value(kDefaultSocketPath),
         "Unix socket libractl talks to; its directory is made 0750, the socket 0660")
        ("group", po::value<std::string>()->default_value("libra"),
         "group whose members may use libractl (root-only if it does not exist)")
        ("device", po::value<std::string>()->default_value("/dev/libra"),
         "control device of the libra kernel module")
        ("bpf-object", po::value<std::string>()->default_value(kDefaultBpfObject),
         "eBPF parser object to load and hand to the module")
        ("prometheus-listen", po::value<std::string>(),
         "serve metrics in Prometheus text format on ADDR:PORT (off when unset)")
        ("prometheus-allow-remote", po::value<bool>()->default_value(false),
         "allow prometheus-listen on a non-loopback address")
        ("anchor-limit", po::value<std::string>()->value_name("SIZE"),
         "global limit on anchored memory, whole MiB (e.g. 256M); past it bodies are "
         "copied as usual. Unset: the module keeps its own (anchor_limit_mb, 256M by default)");
    return options;
}

po::options_description make_command_line_only_options()
{
    po::options_description options("Command line only");
    options.add_options()
        ("help,h", "print this help and exit")
        ("version,V", "print the version and exit")
        ("config,c", po::value<std::string>(),
         (std::string("config file (default ") + kDefaultConfigPath + ")").c_str());
    return options;
}

const po::options_description& all_options()
{
    static const po::options_description options = [] {
        po::options_description all;
        all.add(make_command_line_only_options()).add(make_shared_options());
        return all;
    }();
    return options;
}

std::string trim(const std::string& s)
{
    auto first = s.find_first_not_of(" \t\r");
    if (first == std::string::npos)
        return {};
    auto last = s.find_last_not_of(" \t\r");
    return s.substr(first, last - first + 1);
}

struct FileEntry {
    int line;
    std::vector<std::string> values;
};

// Reads "key = value" lines. '#' starts a comment; there are no sections.
Result<std::map<std::string, FileEntry>> read_config_lines(std::istream& in, const std::string& path)
{
    const auto& known = config_file_options();
    std::map<std::string, FileEntry> entries;
    std::string raw;
    for (int line_no = 1; std::getline(in, raw); ++line_no) {
        std::string line = trim(raw.substr(0, raw.find('#')));
        if (line.empty())
            continue;
        auto where = path + ":" + std::to_string(line_no) + ": ";
        auto eq = line.find('=');
        if (eq == std::string::npos)
            return Error{ErrorCode::config_error, where + "expected 'key = value', got '" + line + "'"};
        std::string key = trim(line.substr(0, eq));
        std::string value = trim(line.substr(eq + 1));
        if (known.find_nothrow(key, false) == nullptr)
            return Error{ErrorCode::config_error, where + "unknown key '" + key + "'"};
        auto [it, inserted] = entries.try_emplace(key, FileEntry{line_no, {}});
        if (!inserted)
            return Error{ErrorCode::config_error, where + "key '" + key + "' already set on line " +
                                                      std::to_string(it->second.line)};
        it->second.values.push_back(value);
    }
    if (in.bad())
        return Error{ErrorCode::config_error, "cannot read " + path};
    return entries;
}

// Stores one file key; a bad value is reported with the key's line.
Result<void> store_file_entry(const std::string& key, const FileEntry& entry,
                              const std::string& path, po::variables_map& vm)
{
    po::parsed_options parsed(&all_options());
    po::basic_option<char> option;
    option.string_key = key;
    option.value = entry.values;
    option.original_tokens = {key};
    parsed.options.push_back(option);
    try {
        po::store(parsed, vm);
    } catch (const po::error& e) {
        return Error{ErrorCode::config_error,
                     path + ":" + std::to_string(entry.line) + ": key '" + key + "': " + e.what()};
    }
    return {};
}

bool set_on_command_line(const po::parsed_options& command_line, const std::string& key)
{
    for (const auto& option : command_line.options)
        if (option.string_key == key)
            return true;
    return false;
}

// Where a key's value came from, for errors: "<file>:<line>: key 'k': " when
// the file set it, "--k: " when the command line (or a default) did.
class ValueOrigin {
public:
    ValueOrigin(std::string path, std::map<std::string, int> file_lines)
        : path_(std::move(path)), file_lines_(std::move(file_lines))
    {
    }
    Error invalid(const std::string& key, const std::string& message) const
    {
        auto line = file_lines_.find(key);
        if (line == file_lines_.end())
            return Error{ErrorCode::config_error, "--" + key + ": " + message};
        return Error{ErrorCode::config_error,
                     path_ + ":" + std::to_string(line->second) + ": key '" + key + "': " + message};
    }

private:
    std::string path_;
    std::map<std::string, int> file_lines_;
};

Result<DaemonConfig> validate(const po::variables_map& vm, std::string config_path, bool found,
                              const ValueOrigin& origin)
{
    DaemonConfig config;
    config.config_path = std::move(config_path);
    config.config_file_found = found;
    config.log_level = vm["log-level"].as<std::string>();
    if (!kLogLevels.count(config.log_level))
        return origin.invalid("log-level", "'" + config.log_level +
                                               "' is not one of trace, debug, info, warn, error, critical, off");
    config.socket_path = vm["socket"].as<std::string>();
    if (config.socket_path.empty() || config.socket_path.front() != '/')
        return origin.invalid("socket", "must be an absolute path");
    config.group = vm["group"].as<std::string>();
    if (config.group.empty())
        return origin.invalid("group", "must not be empty");
    config.device = vm["device"].as<std::string>();
    config.bpf_object = vm["bpf-object"].as<std::string>();
    if (config.bpf_object.empty())
        return origin.invalid("bpf-object", "must not be empty");
    if (vm.count("prometheus-listen")) {
        auto endpoint = parse_tcp_endpoint(vm["prometheus-listen"].as<std::string>());
        if (!endpoint)
            return origin.invalid("prometheus-listen", endpoint.error().message);
        if (!endpoint->loopback && !vm["prometheus-allow-remote"].as<bool>())
            return origin.invalid("prometheus-listen",
                                  endpoint->text +
                                      " is not a loopback address; set prometheus-allow-remote = true "
                                      "to serve metrics beyond this host");
        config.prometheus_listen = std::move(endpoint.value());
    }
    if (vm.count("anchor-limit")) {
        auto bytes = parse_byte_size(vm["anchor-limit"].as<std::string>());
        if (!bytes)
            return origin.invalid("anchor-limit", bytes.error().message);
        if (bytes.value() == 0 || bytes.value() % kMiB != 0)
            return origin.invalid("anchor-limit", "must be a positive whole number of MiB, such as 256M "
                                                  "(the module keeps its limit in MiB)");
        config.anchor_limit = bytes.value();
    }
    return config;
}

}  // namespace

const po::options_description& config_file_options()
{
    static const po::options_description options = make_shared_options();
    return options;
}

Result<ParsedCommandLine> parse_command_line(int argc, const char* const* argv)
{
    ParsedCommandLine result;
    try {
        result.command_line = po::command_line_parser(argc, argv).options(all_options()).run();
        po::variables_map vm;
        po::store(result.command_line, vm);
        po::notify(vm);
    } catch (const po::error& e) {
        return Error{ErrorCode::config_error, e.what()};
    }
    if (set_on_command_line(result.command_line, "help")) {
        std::ostringstream help;
        help << "Usage: librad [OPTION]...\n"
                "The Libra daemon: loads the eBPF parsers into the libra kernel module,\n"
                "manages opt-in and serves statistics on a Unix socket for libractl(8).\n\n"
             << all_options()
             << "\nExit status: 0 clean shutdown, 1 runtime failure, 2 usage or config error,\n"
                "3 kernel module unavailable, ABI mismatch or anchor-limit refused by it,\n"
                "4 eBPF parser load failed, 5 control socket or metrics listener could not\n"
                "be set up.\n"
                "See librad(8) and librad.conf(5).\n";
        result.action = StartupAction::show_help;
        result.help_text = help.str();
    } else if (set_on_command_line(result.command_line, "version")) {
        result.action = StartupAction::show_version;
    }
    return result;
}

Result<DaemonConfig> load_config(const ParsedCommandLine& command_line)
{
    po::variables_map vm;
    try {
        po::store(command_line.command_line, vm);
    } catch (const po::error& e) {
        return Error{ErrorCode::config_error, e.what()};
    }
    bool explicit_path = vm.count("config") > 0;
    std::string path = explicit_path ? vm["config"].as<std::string>() : kDefaultConfigPath;

    std::ifstream file(path);
    bool found = file.is_open();
    std::map<std::string, int> file_lines;
    if (!found && explicit_path)
        return Error{ErrorCode::config_error, "cannot open config file " + path};
    if (found) {
        auto entries = read_config_lines(file, path);
        if (!entries)
            return entries.error();
        for (const auto& [key, entry] : entries.value()) {
            if (set_on_command_line(command_line.command_line, key))
                continue;  // the command line wins
            if (auto stored = store_file_entry(key, entry, path, vm); !stored)
                return stored.error();
            file_lines[key] = entry.line;
        }
    }
    try {
        po::notify(vm);
    } catch (const po::error& e) {
        return Error{ErrorCode::config_error, e.what()};
    }
    return validate(vm, path, found, ValueOrigin(path, std::move(file_lines)));
}

}  // namespace libra
