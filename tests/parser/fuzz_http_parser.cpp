// libFuzzer target over the native build of the parser core (the code the
// BPF program runs). Input: one mode byte, then the stream.
//   mode bit 0: response (else request)
//   mode bits 1-2: request methods for the responses (GET, HEAD, POST, CONNECT)
//   mode bit 3: tiny header limit (64 bytes)
//   mode bit 4: the responses answer OTHER instead (a method Libra does not name)
// Oracles, each a crash when broken:
//   - no ABI violation in any call;
//   - the outcome does not depend on how the stream is split;
//   - taking runs of plain bytes up to eight at a time changes nothing at all;
//   - every boundary agrees with libhttp-parser, or the parser stepped aside;
//   - every chunk-size line it accepted follows RFC 9112 7.1.1 (chunk_ext_grammar.h);
//   - every MESSAGE_START unit carries the coding flags the string-based
//     reference reads in its header (coding_facts.h);
//   - every request's MESSAGE_START unit reports the method its request line
//     names (method_facts.h).
// libhttp-parser parses a request whose method is a token it does not know
// as GET (reference_parser.h), so such requests are compared too.
#include <cstdio>
#include <cstdlib>

#include "boundary_events.h"
#include "chunk_ext_grammar.h"
#include "coding_facts.h"
#include "method_facts.h"
#include "reference_parser.h"
#include "stream_driver.h"

using namespace libra::parser_test;

namespace {

[[noreturn]] void fail(const char* what, const std::string& detail)
{
    std::fprintf(stderr, "libra parser fuzz: %s\n%s\n", what, detail.c_str());
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    if (size < 1)
        return 0;
    const uint8_t mode = data[0];
    std::span<const uint8_t> stream(data + 1, size - 1);

    static const uint8_t kMethods[] = {LIBRA_HTTP_METHOD_GET, LIBRA_HTTP_METHOD_HEAD,
                                       LIBRA_HTTP_METHOD_POST, LIBRA_HTTP_METHOD_CONNECT};
    DriveOptions options;
    options.direction = (mode & 1) ? LIBRA_PARSE_RESPONSE : LIBRA_PARSE_REQUEST;
    options.max_header_bytes = (mode & 8) ? 64 : 16384;
    // the same method for every response: enough to reach each rule
    options.request_methods.assign(64, (mode & 16) ? static_cast<uint8_t>(LIBRA_HTTP_METHOD_OTHER)
                                                   : kMethods[(mode >> 1) & 3]);

    NativeParser native;
    const Trace whole = drive(native, stream, options);
    if (!whole.violations.empty())
        fail("ABI violation", describe(whole));

    BytewiseParser bytewise;
    if (const Trace alone = drive(bytewise, stream, options); !alone.same_to_the_byte(whole))
        fail("runs of plain bytes change the outcome", describe(whole) + "\n" + describe(alone));

    DriveOptions byte_arrivals = options;
    for (size_t at = 1; at < stream.size(); at++)
        byte_arrivals.arrivals.push_back(at);
    const Trace split = drive(native, stream, byte_arrivals);
    if (!split.same_outcome(whole))
        fail("outcome depends on splitting", describe(whole) + "\n" + describe(split));

    const ReferenceResult reference =
        reference_parse(options.direction, stream, options.request_methods);
    if (std::string problem = compare_with_reference(whole, reference, stream); !problem.empty())
        fail("disagrees with libhttp-parser", problem);
    if (std::string problem = accepted_chunk_line_outside_grammar(whole, stream); !problem.empty())
        fail("chunk-size line outside the grammar", problem);
    if (std::string problem = coding_flags_problem(whole, stream, options.direction);
        !problem.empty())
        fail("coding flags differ from the reference", problem);
    if (std::string problem = message_method_problem(whole, stream, options.direction);
        !problem.empty())
        fail("method differs from the reference", problem);
    return 0;
}
