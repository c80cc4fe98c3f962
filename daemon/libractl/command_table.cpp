// command_table() lives in commands.cpp next to its rows; this file holds the
// table's invariants, checked once at startup of libractl and in tests.
#include "libractl/command_table.hpp"

#include <set>
#include <string>

namespace libra {

bool command_table_is_complete(std::string* problem)
{
    std::set<std::string_view> names;
    for (const auto& command : command_table()) {
        auto fail = [&](const char* what) {
            if (problem)
                *problem = std::string(command.name) + ": " + what;
            return false;
        };
        if (command.name.empty() || !names.insert(command.name).second)
            return fail("empty or duplicate name");
        if (command.summary.empty() || command.description.empty())
            return fail("missing help text");
        if (!command.build_request || !command.render)
            return fail("missing request builder or renderer");
    }
    return true;
}

}  // namespace libra
