#include "librad/journal_sink.hpp"

#include <sys/stat.h>
#include <sys/uio.h>
#include <syslog.h>
#include <unistd.h>

#include <cstdio>

#include <fmt/format.h>
#include <systemd/sd-journal.h>

#include "librad/logging.hpp"

namespace libra {

int syslog_priority(spdlog::level::level_enum level)
{
    switch (level) {
    case spdlog::level::trace:
    case spdlog::level::debug: return LOG_DEBUG;
    case spdlog::level::warn: return LOG_WARNING;
    case spdlog::level::err: return LOG_ERR;
    case spdlog::level::critical: return LOG_CRIT;
    default: return LOG_INFO;
    }
}

std::vector<std::string> journal_fields(spdlog::level::level_enum level, std::string_view logger,
                                        std::string_view message, pid_t subject_pid)
{
    std::vector<std::string> fields{
        fmt::format("MESSAGE={}: {}", logger, message),
        fmt::format("PRIORITY={}", syslog_priority(level)),
        "SYSLOG_IDENTIFIER=librad",
        fmt::format("LIBRA_LOGGER={}", logger),
    };
    if (subject_pid > 0)
        fields.push_back(fmt::format("LIBRA_PID={}", subject_pid));
    return fields;
}

bool stderr_is_journal(const char* journal_stream)
{
    unsigned long long dev = 0, ino = 0;
    struct stat st {};
    if (journal_stream == nullptr || std::sscanf(journal_stream, "%llu:%llu", &dev, &ino) != 2)
        return false;
    return ::fstat(STDERR_FILENO, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
}

void JournalSink::sink_it_(const spdlog::details::log_msg& msg)
{
    auto fields = journal_fields(msg.level, std::string_view(msg.logger_name.data(), msg.logger_name.size()),
                                 std::string_view(msg.payload.data(), msg.payload.size()), log_subject_pid());
    std::vector<iovec> iov;
    iov.reserve(fields.size());
    for (auto& field : fields)
        iov.push_back({field.data(), field.size()});
    // A journal that cannot take the entry (gone, full) has nowhere to say so.
    (void)sd_journal_sendv(iov.data(), static_cast<int>(iov.size()));
}

}  // namespace libra
