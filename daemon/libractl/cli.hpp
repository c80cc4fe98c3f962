// libractl's command line: global options, then a command from the table.
#pragma once

#include <functional>
#include <ostream>
#include <string>

#include "libractl/client.hpp"
#include "libractl/command_table.hpp"

namespace libra {

struct CliEnvironment {
    // Makes the transport to librad at the given socket path.
    std::function<Transport(const std::string& socket_path)> connect;
    std::ostream& out;
    std::ostream& err;
    // Waits between --watch refreshes; false when interrupted (stop watching).
    std::function<bool(double seconds)> wait;
};

int run_cli(int argc, const char* const* argv, CliEnvironment& env);

std::string general_help();
std::string command_help(const Command& command);

// A bash completion script for libractl, from the command table: commands,
// each command's options, the global options (`libractl --bash-completion`).
std::string bash_completion();

}  // namespace libra
