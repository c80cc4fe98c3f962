// Loading the real parser object (built by bpf/) and handing its program to
// the module interface. Runs on the host kernel; needs root (CAP_BPF,
// CAP_NET_ADMIN, CAP_PERFMON) and skips when the object was not built.
#include <gtest/gtest.h>

#include <unistd.h>

#include "in_memory_module_control.hpp"
#include "librad/bpf_parsers.hpp"

namespace libra {
namespace {

TEST(BpfParsers, MissingObjectIsAClearError)
{
    auto parser = load_parser_object("/nonexistent/libra_http.bpf.o");
    ASSERT_FALSE(parser);
    EXPECT_NE(parser.error().message.find("/nonexistent/libra_http.bpf.o"), std::string::npos);
}

TEST(BpfParsers, LoadsAndHandsTheParserToTheModule)
{
    if (access(LIBRA_BUILT_BPF_OBJECT, R_OK) != 0)
        GTEST_SKIP() << LIBRA_BUILT_BPF_OBJECT << " not built";
    if (geteuid() != 0)
        GTEST_SKIP() << "loading BPF needs root";
    route_libbpf_logging();
    auto parser = load_parser_object(LIBRA_BUILT_BPF_OBJECT);
    ASSERT_TRUE(parser) << parser.error().message;
    EXPECT_FALSE(parser->programs.empty());
    testing::InMemoryModuleControl module;
    hand_parser_to_module(module, parser.value());
    EXPECT_TRUE(parser->attached) << parser->attach_note;
    ASSERT_EQ(module.attached_parser_fds.size(), 1u);
    EXPECT_GE(module.attached_parser_fds[0], 0);
    EXPECT_EQ(parsers_to_json({}).size(), 0u);
}

}  // namespace
}  // namespace libra
