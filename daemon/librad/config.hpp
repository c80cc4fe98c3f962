// librad's settings: command line first, then the config file
// (/etc/libra/librad.conf), then built-in defaults. Parsed with
// Boost.Program_options; the file is read line by line here so that an unknown
// key or a bad value is reported with its line number.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <boost/program_options.hpp>

#include "common/result.hpp"
#include "librad/tcp_endpoint.hpp"

namespace libra {

struct DaemonConfig {
    std::string config_path;
    bool config_file_found = false;
    std::string log_level;  // spdlog level name: trace debug info warn error critical off
    std::string socket_path;
    std::string group;  // members may use libractl; see Authorizer
    std::string device;
    std::string bpf_object;  // the framing parser; the module runs one
    std::optional<TcpEndpoint> prometheus_listen;  // unset: no metrics listener
    // The module's global anchored-memory limit, a positive multiple of 1 MiB;
    // applied at start and on every reload. Unset: the module keeps its own.
    std::optional<uint64_t> anchor_limit;
};

enum class StartupAction { run, show_help, show_version };

struct ParsedCommandLine {
    StartupAction action = StartupAction::run;
    std::string help_text;
    // Kept so a SIGHUP reload re-applies the same command line over the
    // re-read file: the command line keeps winning after a reload.
    boost::program_options::parsed_options command_line{nullptr};
};

// Reads argv. Errors (unknown option, bad value) are config_error.
Result<ParsedCommandLine> parse_command_line(int argc, const char* const* argv);

// Combines the parsed command line with the config file it names (or the
// default one) into validated settings.
Result<DaemonConfig> load_config(const ParsedCommandLine& command_line);

// The option descriptions, for tests and help output.
const boost::program_options::options_description& config_file_options();

}  // namespace libra
