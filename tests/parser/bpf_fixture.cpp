#include "bpf_fixture.h"

namespace libra::parser_test {

namespace {

struct Loaded {
    std::unique_ptr<BpfParser> parser;
    std::string skip_reason;
};

Loaded& loaded()
{
    static Loaded instance = [] {
        Loaded result;
        result.skip_reason = BpfParser::unavailable_reason();
        if (result.skip_reason.empty())
            result.parser = std::make_unique<BpfParser>();  // throws: a real failure
        return result;
    }();
    return instance;
}

}  // namespace

BpfParser* BpfParserEnvironment::parser() { return loaded().parser.get(); }

const std::string& BpfParserEnvironment::skip_reason() { return loaded().skip_reason; }

}  // namespace libra::parser_test
