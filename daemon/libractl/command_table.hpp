// libractl's commands, in ONE table. The table drives dispatch, the help text
// of libractl and of every subcommand, and JSON output: each row says how to
// turn its options into a request and how to render the reply for people;
// `--json` on any command prints the reply object itself instead.
#pragma once

#include <functional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>

#include "common/result.hpp"

namespace libra {

struct Command {
    std::string_view name;
    std::string_view synopsis;     // after "libractl NAME "
    std::string_view summary;      // one line, for `libractl --help`
    std::string_view description;  // paragraphs, for `libractl NAME --help`
    // Command-specific options (--json and --help are added for every command).
    std::function<void(boost::program_options::options_description&)> add_options;
    // Options -> request object; invalid_request here is a usage error (exit 2).
    std::function<Result<nlohmann::json>(const boost::program_options::variables_map&)> build_request;
    // Reply "result" -> text for people.
    std::function<void(const nlohmann::json& result, std::ostream& out)> render;
    bool can_watch = false;  // accepts --watch [--interval S]
};

const std::vector<Command>& command_table();
const Command* find_command(std::string_view name);

// Every row named uniquely, with help text, request builder and renderer.
bool command_table_is_complete(std::string* problem = nullptr);

}  // namespace libra
