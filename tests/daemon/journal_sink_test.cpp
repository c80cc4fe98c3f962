// librad's journal entries: their fields, and when stderr is the journal.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "librad/journal_sink.hpp"
#include "librad/logging.hpp"

namespace libra {
namespace {

TEST(JournalSinkTest, EveryLineCarriesItsPriorityIdentifierAndLogger)
{
    auto fields = journal_fields(spdlog::level::warn, "module", "anchor-limit: too big", 0);
    EXPECT_EQ(fields, (std::vector<std::string>{"MESSAGE=module: anchor-limit: too big", "PRIORITY=4",
                                                "SYSLOG_IDENTIFIER=librad", "LIBRA_LOGGER=module"}));
}

TEST(JournalSinkTest, ALineAboutAProcessNamesIt)
{
    auto fields = journal_fields(spdlog::level::info, "control", "opt-in added", 4242);
    ASSERT_EQ(fields.size(), 5U);
    EXPECT_EQ(fields.back(), "LIBRA_PID=4242");
}

TEST(JournalSinkTest, LevelsMapToSyslogPriorities)
{
    EXPECT_EQ(syslog_priority(spdlog::level::trace), 7);
    EXPECT_EQ(syslog_priority(spdlog::level::debug), 7);
    EXPECT_EQ(syslog_priority(spdlog::level::info), 6);
    EXPECT_EQ(syslog_priority(spdlog::level::warn), 4);
    EXPECT_EQ(syslog_priority(spdlog::level::err), 3);
    EXPECT_EQ(syslog_priority(spdlog::level::critical), 2);
}

TEST(JournalSinkTest, SubjectsNestAndEndWithTheirScope)
{
    EXPECT_EQ(log_subject_pid(), 0);
    {
        LogSubject outer(100);
        EXPECT_EQ(log_subject_pid(), 100);
        {
            LogSubject inner(200);
            EXPECT_EQ(log_subject_pid(), 200);
        }
        EXPECT_EQ(log_subject_pid(), 100);
    }
    EXPECT_EQ(log_subject_pid(), 0);
}

// $JOURNAL_STREAM names the journal's socket by device and inode: only the
// stderr that is that very file counts, not any stderr under systemd.
TEST(JournalSinkTest, StderrIsTheJournalOnlyWhenItIsTheNamedFile)
{
    struct stat st {};
    ASSERT_EQ(fstat(STDERR_FILENO, &st), 0);
    auto mine = fmt::format("{}:{}", static_cast<unsigned long long>(st.st_dev),
                            static_cast<unsigned long long>(st.st_ino));
    auto other = fmt::format("{}:{}", static_cast<unsigned long long>(st.st_dev),
                             static_cast<unsigned long long>(st.st_ino) + 1);
    EXPECT_TRUE(stderr_is_journal(mine.c_str()));
    EXPECT_FALSE(stderr_is_journal(other.c_str()));
    EXPECT_FALSE(stderr_is_journal(nullptr));
    EXPECT_FALSE(stderr_is_journal("garbage"));
}

}  // namespace
}  // namespace libra
