#include "librad/logging.hpp"

#include <array>
#include <cstdlib>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

#include "librad/journal_sink.hpp"

namespace libra {

namespace {

constexpr std::array<const char*, 6> kLoggerNames = {"librad", "config", "module",
                                                     "bpf",    "control", "metrics"};

// %* -> the sd-daemon priority digit for the message's level.
class SdPriorityFlag final : public spdlog::custom_flag_formatter {
public:
    void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override
    {
        dest.push_back(static_cast<char>('0' + syslog_priority(msg.level)));
    }
    std::unique_ptr<custom_flag_formatter> clone() const override
    {
        return std::make_unique<SdPriorityFlag>();
    }
};

thread_local pid_t current_subject = 0;

}  // namespace

std::shared_ptr<spdlog::logger> logger(std::string_view name)
{
    auto existing = spdlog::get(std::string(name));
    if (existing)
        return existing;
    // Unit tests use the components without setup_logging(): log to stderr.
    auto created = std::make_shared<spdlog::logger>(
        std::string(name), std::make_shared<spdlog::sinks::stderr_sink_mt>());
    spdlog::initialize_logger(created);
    return created;
}

LogTarget detect_log_target()
{
    if (stderr_is_journal(std::getenv("JOURNAL_STREAM")))
        return LogTarget::journal;
    if (std::getenv("JOURNAL_STREAM") != nullptr || std::getenv("INVOCATION_ID") != nullptr)
        return LogTarget::systemd_stderr;
    return LogTarget::terminal;
}

void setup_logging(LogTarget target)
{
    spdlog::sink_ptr sink;
    if (target == LogTarget::journal) {
        sink = std::make_shared<JournalSink>();
    } else {
        sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
        auto formatter = std::make_unique<spdlog::pattern_formatter>();
        if (target == LogTarget::systemd_stderr)
            formatter->add_flag<SdPriorityFlag>('*').set_pattern("<%*>%n: %v");
        else
            formatter->set_pattern("%Y-%m-%d %H:%M:%S.%e %n %^%l%$: %v");
        sink->set_formatter(std::move(formatter));
    }
    for (const char* name : kLoggerNames) {
        spdlog::drop(name);
        auto created = std::make_shared<spdlog::logger>(name, sink);
        created->flush_on(spdlog::level::trace);  // stderr is unbuffered anyway; journald wants whole lines now
        spdlog::register_logger(created);
    }
}

LogSubject::LogSubject(pid_t pid) : previous_(current_subject)
{
    current_subject = pid;
}

LogSubject::~LogSubject()
{
    current_subject = previous_;
}

pid_t log_subject_pid()
{
    return current_subject;
}

void set_log_level(const std::string& level)
{
    spdlog::set_level(spdlog::level::from_str(level));
}

}  // namespace libra
