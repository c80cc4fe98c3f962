// spdlog setup for librad. Every part logs through a named logger (see
// kLoggerNames) sharing one stderr sink. Under systemd (JOURNAL_STREAM or
// INVOCATION_ID set) lines are "<N>logger: message" where <N> is the syslog
// priority prefix of sd-daemon(3), so journald files each line at the right
// level and adds its own timestamp; otherwise lines carry time and level.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <spdlog/spdlog.h>

namespace libra {

// "librad" (lifecycle), "config", "module", "bpf", "control", "metrics".
std::shared_ptr<spdlog::logger> logger(std::string_view name);

bool running_under_systemd();

// Creates the named loggers; call once, before logging.
void setup_logging(bool journald_format);

// Applies a level name validated by the config (reload-safe).
void set_log_level(const std::string& level);

}  // namespace libra
