// The fixture corpus through the real BPF program (BPF_PROG_TEST_RUN) and
// through the native build of the same core: whole, split at every byte
// boundary, one byte at a time, and in tiny windows.
#include <gtest/gtest.h>

#include <set>

#include "bpf_fixture.h"
#include "corpus.h"

namespace libra::parser_test {
namespace {

struct Schedule {
    std::string name;
    DriveOptions options;
};

std::vector<Schedule> schedules_for(const CorpusCase& c, size_t size)
{
    DriveOptions base;
    base.direction = c.direction;
    base.max_header_bytes = c.max_header_bytes;
    base.request_methods = c.request_methods;

    std::vector<Schedule> schedules;
    schedules.push_back({"whole", base});
    for (size_t cut = 1; cut < size; cut++) {
        Schedule split{"split at " + std::to_string(cut), base};
        split.options.arrivals = {cut};
        schedules.push_back(split);
    }
    Schedule bytewise{"one byte at a time", base};
    for (size_t at = 1; at < size; at++)
        bytewise.options.arrivals.push_back(at);
    schedules.push_back(bytewise);
    Schedule small_windows{"7-byte windows", base};
    small_windows.options.window_cap = 7;
    schedules.push_back(small_windows);
    return schedules;
}

// Runs every schedule; reports the first that differs from the expectation.
void expect_all_schedules(ParserBackend& parser, const CorpusCase& c)
{
    const Trace expected = expected_trace_of(c);
    const std::optional<uint64_t> aside_at = expected_aside_offset(c);
    const std::vector<uint8_t> stream = stream_of(c);
    for (const Schedule& schedule : schedules_for(c, stream.size())) {
        Trace trace = drive(parser, stream, schedule.options);
        ASSERT_TRUE(trace.violations.empty()) << schedule.name << ": " << describe(trace);
        ASSERT_TRUE(trace.same_outcome(expected))
            << "case " << c.name << ", " << schedule.name << "\n  expected: " << describe(expected)
            << "\n  got:      " << describe(trace);
        if (aside_at) {
            ASSERT_EQ(trace.aside_offset, *aside_at)
                << "case " << c.name << ", " << schedule.name << ": stepped aside at the wrong byte";
        }
    }
}

class CorpusTest : public ::testing::TestWithParam<CorpusCase> {};

TEST_P(CorpusTest, BpfProgramFindsTheBoundaries)
{
    LIBRA_REQUIRE_BPF();
    expect_all_schedules(*BpfParserEnvironment::parser(), GetParam());
}

TEST_P(CorpusTest, NativeCoreFindsTheBoundaries)
{
    NativeParser native;
    expect_all_schedules(native, GetParam());
}

std::string case_name(const ::testing::TestParamInfo<CorpusCase>& info)
{
    std::string name = info.param.direction == LIBRA_PARSE_REQUEST ? "request_" : "response_";
    for (char c : info.param.name)
        name += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
    return name;
}

INSTANTIATE_TEST_SUITE_P(Fixtures, CorpusTest, ::testing::ValuesIn(corpus_cases()), case_name);

TEST(Corpus, CoversBothDirectionsWithAtLeast150Cases)
{
    const std::vector<CorpusCase> cases = corpus_cases();
    size_t requests = 0, responses = 0, step_asides = 0;
    std::set<std::string> names;
    for (const CorpusCase& c : cases) {
        (c.direction == LIBRA_PARSE_REQUEST ? requests : responses)++;
        if (expected_trace_of(c).end == TraceEnd::StepAside)
            step_asides++;
        EXPECT_TRUE(names.insert(case_name({c, 0})).second) << "duplicate case " << c.name;
    }
    std::cout << "corpus: " << cases.size() << " cases, " << requests << " request streams, "
              << responses << " response streams, " << step_asides << " step asides\n";
    EXPECT_GE(cases.size(), 150u);
    EXPECT_GE(requests, 50u);
    EXPECT_GE(responses, 50u);
}

}  // namespace
}  // namespace libra::parser_test
