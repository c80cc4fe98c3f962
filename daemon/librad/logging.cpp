#include "librad/logging.hpp"

#include <array>
#include <cstdlib>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

namespace libra {

namespace {

constexpr std::array<const char*, 6> kLoggerNames = {"librad", "config", "module",
                                                     "bpf",    "control", "metrics"};

// %* -> the sd-daemon priority digit for the message's level.
class SdPriorityFlag final : public spdlog::custom_flag_formatter {
public:
    void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override
    {
        char digit = '6';  // LOG_INFO
        switch (msg.level) {
        case spdlog::level::trace:
        case spdlog::level::debug: digit = '7'; break;  // LOG_DEBUG
        case spdlog::level::info: digit = '6'; break;
        case spdlog::level::warn: digit = '4'; break;      // LOG_WARNING
        case spdlog::level::err: digit = '3'; break;       // LOG_ERR
        case spdlog::level::critical: digit = '2'; break;  // LOG_CRIT
        default: break;
        }
        dest.push_back(digit);
    }
    std::unique_ptr<custom_flag_formatter> clone() const override
    {
        return std::make_unique<SdPriorityFlag>();
    }
};

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

bool running_under_systemd()
{
    return std::getenv("JOURNAL_STREAM") != nullptr || std::getenv("INVOCATION_ID") != nullptr;
}

void setup_logging(bool journald_format)
{
    auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    auto formatter = std::make_unique<spdlog::pattern_formatter>();
    if (journald_format)
        formatter->add_flag<SdPriorityFlag>('*').set_pattern("<%*>%n: %v");
    else
        formatter->set_pattern("%Y-%m-%d %H:%M:%S.%e %n %^%l%$: %v");
    sink->set_formatter(std::move(formatter));
    for (const char* name : kLoggerNames) {
        spdlog::drop(name);
        auto created = std::make_shared<spdlog::logger>(name, sink);
        created->flush_on(spdlog::level::trace);  // stderr is unbuffered anyway; journald wants whole lines now
        spdlog::register_logger(created);
    }
}

void set_log_level(const std::string& level)
{
    spdlog::set_level(spdlog::level::from_str(level));
}

}  // namespace libra
