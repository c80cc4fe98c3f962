// Human-readable rendering of librad's replies (without --json).
#pragma once

#include <ostream>

#include <nlohmann/json.hpp>

namespace libra {

void render_enable(const nlohmann::json& result, std::ostream& out);
void render_disable(const nlohmann::json& result, std::ostream& out);
void render_status(const nlohmann::json& result, std::ostream& out);
void render_stats(const nlohmann::json& result, std::ostream& out);
void render_sockets(const nlohmann::json& result, std::ostream& out);
void render_procs(const nlohmann::json& result, std::ostream& out);
void render_version(const nlohmann::json& result, std::ostream& out);

// One opt-in entry as a line: "pid 42 (+descendants) ports 80,443 min-body 16384".
std::string describe_optin(const nlohmann::json& entry);

}  // namespace libra
