// librad's log under systemd, straight to the journal (sd_journal_sendv(3))
// with structured fields: PRIORITY, SYSLOG_IDENTIFIER=librad, LIBRA_LOGGER
// (the named logger) and, where a line concerns an opted-in process,
// LIBRA_PID (see LogSubject), so that `journalctl -u libra LIBRA_PID=1234`
// shows one process's story.
#pragma once

#include <sys/types.h>

#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <spdlog/sinks/base_sink.h>

namespace libra {

// The syslog priority (LOG_DEBUG .. LOG_CRIT) of a spdlog level.
int syslog_priority(spdlog::level::level_enum level);

// The journal fields of one line, "NAME=value" each; @subject_pid 0: none.
std::vector<std::string> journal_fields(spdlog::level::level_enum level, std::string_view logger,
                                        std::string_view message, pid_t subject_pid);

// Whether stderr is the journal's stream ($JOURNAL_STREAM names its device
// and inode, systemd.exec(5)): then lines are better sent as entries.
bool stderr_is_journal(const char* journal_stream);

class JournalSink final : public spdlog::sinks::base_sink<std::mutex> {
protected:
    void sink_it_(const spdlog::details::log_msg& msg) override;
    void flush_() override {}
};

}  // namespace libra
