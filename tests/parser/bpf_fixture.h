// One loaded BPF parser shared by a test suite; tests skip (with the
// reason) where BPF cannot run, and fail where it should but does not.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "bpf_parser.h"

namespace libra::parser_test {

class BpfParserEnvironment {
public:
    // The shared parser, or nullptr with skip_reason set.
    static BpfParser* parser();
    static const std::string& skip_reason();
};

#define LIBRA_REQUIRE_BPF()                                                          \
    do {                                                                             \
        if (::libra::parser_test::BpfParserEnvironment::parser() == nullptr)         \
            GTEST_SKIP() << ::libra::parser_test::BpfParserEnvironment::skip_reason(); \
    } while (0)

}  // namespace libra::parser_test
