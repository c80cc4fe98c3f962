// spdlog setup for librad. Every part logs through a named logger (see
// kLoggerNames) sharing one sink. Started by systemd with stderr connected
// to the journal, lines go to the journal as entries with fields
// (journal_sink.hpp); under systemd otherwise (INVOCATION_ID set, stderr
// elsewhere) they are "<N>logger: message", <N> the syslog priority prefix
// of sd-daemon(3); from a terminal they carry time and level.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <string_view>

#include <spdlog/spdlog.h>

namespace libra {

// "librad" (lifecycle), "config", "module", "bpf", "control", "metrics".
std::shared_ptr<spdlog::logger> logger(std::string_view name);

enum class LogTarget { terminal, systemd_stderr, journal };

// Where this process's log should go, from its environment.
LogTarget detect_log_target();

// Creates the named loggers; call once, before logging.
void setup_logging(LogTarget target);

// While one is in scope, this thread's log lines concern process @pid (the
// journal's LIBRA_PID field). Scopes nest; the innermost wins.
class LogSubject {
public:
    explicit LogSubject(pid_t pid);
    ~LogSubject();
    LogSubject(const LogSubject&) = delete;
    LogSubject& operator=(const LogSubject&) = delete;

private:
    pid_t previous_;
};

// The process this thread's log lines concern now; 0: none.
pid_t log_subject_pid();

// Applies a level name validated by the config (reload-safe).
void set_log_level(const std::string& level);

}  // namespace libra
