// Chunk extensions against RFC 9112 7.1.1 (chunk_ext_grammar.h holds the
// grammar, written from the ABNF): every string of up to five bytes over an
// alphabet that reaches each rule, after the size of a chunk and of the last
// chunk, must be accepted exactly when the grammar accepts it, and otherwise
// make the parser step aside at exactly the byte where the grammar decides.
// The native core runs each whole and with a window boundary after every byte
// of the line; the BPF program each of up to four bytes whole and cut in two.
#include <gtest/gtest.h>

#include "bpf_fixture.h"
#include "chunk_ext_grammar.h"
#include "corpus.h"

namespace libra::parser_test {
namespace {

const std::string kRequestHead = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
const std::string kResponseHead = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";

// One byte of each class the grammar tells apart: tchar (not a hex digit), the delimiters it
// names, BWS, a VCHAR that is no tchar, LF, another control, DEL, obs-text.
const std::string kAlphabet = std::string("x;=\"\\ \t,\n\x01\x7f\xff", 12);

struct ExtensionCase {
    CorpusCase corpus;
    std::optional<uint64_t> aside_at;  // stream offset of the deciding byte
    size_t line_start = 0;             // stream offset of the chunk size
    size_t line_end = 0;               // ... of its CR
};

// @extension after "5" (a chunk, request) or "0" (the last chunk, response).
ExtensionCase extension_case(const std::string& extension, bool last_chunk)
{
    const std::string& head = last_chunk ? kResponseHead : kRequestHead;
    const std::string line = (last_chunk ? "0" : "5") + extension;
    ExtensionCase out;
    out.line_start = head.size();
    out.line_end = head.size() + line.size();
    CorpusCase& c = out.corpus;
    c.name = (last_chunk ? "last-chunk" : "chunk") + std::string(" extension ") + extension;
    c.direction = last_chunk ? LIBRA_PARSE_RESPONSE : LIBRA_PARSE_REQUEST;
    if (last_chunk)
        c.request_methods = {LIBRA_HTTP_METHOD_GET};
    const std::optional<size_t> deciding = chunk_line_deciding_byte(line);
    if (deciding) {
        const std::string rest = last_chunk ? "\r\n\r\n" : "\r\nhello\r\n0\r\n\r\n";
        c.segments = {{Segment::Kind::Aside, head + line + rest, {}, 0}};
        out.aside_at = head.size() + *deciding;
    } else if (last_chunk) {
        c.segments = {{Segment::Kind::Metadata, head + line + "\r\n\r\n", {LIBRA_BODY_NONE, 0},
                       LIBRA_PARSE_F_MESSAGE_START | LIBRA_PARSE_F_MESSAGE_END}};
    } else {
        c.segments = {{Segment::Kind::Metadata, head + line + "\r\n", {LIBRA_BODY_CHUNK, 5},
                       LIBRA_PARSE_F_MESSAGE_START},
                      {Segment::Kind::Body, "hello", {}, 0},
                      {Segment::Kind::Metadata, "\r\n0\r\n\r\n", {LIBRA_BODY_NONE, 0},
                       LIBRA_PARSE_F_MESSAGE_END}};
    }
    return out;
}

// Every string over kAlphabet of @min_len to @max_len bytes.
template <typename Visit>
void for_each_extension(size_t min_len, size_t max_len, Visit visit)
{
    std::string text;
    auto grow = [&](auto& self) -> void {
        if (text.size() >= min_len)
            visit(text);
        if (text.size() == max_len)
            return;
        for (char c : kAlphabet) {
            text.push_back(c);
            self(self);
            text.pop_back();
        }
    };
    grow(grow);
}

// Empty if the parser did what the case expects under @options.
std::string check(ParserBackend& parser, const ExtensionCase& ext, const DriveOptions& options)
{
    const std::vector<uint8_t> stream = stream_of(ext.corpus);
    const Trace trace = drive(parser, stream, options);
    Trace expected = expected_trace_of(ext.corpus);
    expected.aside_offset = ext.aside_at.value_or(0);
    if (!trace.violations.empty() || !trace.same_outcome(expected) ||
        trace.aside_offset != expected.aside_offset)
        return ext.corpus.name + "\n  expected: " + describe(expected) +
               "\n  got:      " + describe(trace);
    return {};
}

DriveOptions options_for(const ExtensionCase& ext)
{
    DriveOptions options;
    options.direction = ext.corpus.direction;
    options.request_methods = ext.corpus.request_methods;
    return options;
}

TEST(ChunkExtGrammar, MatcherFollowsTheAbnf)
{
    for (const char* line : {"5", "5;a", "5;a=b", "5;a=\"b\"", "5 ;a", "5  ;a", "5; a", "5;\ta",
                             "5;a =b", "5;a= b", "5;a\t=\t\"\"", "5;a;b;c", "5;a ;b", "5;a\t;b",
                             "5;a=b ;c", "5;a=\"x\" ;b", "5;a=\"\\\"\"", "5;a=\"\\\\\"",
                             "5;a=\"\t \x80\xff!#[]~\"", "5;a=\"\\\xff\"", "5;a=\"x ; y\"",
                             "5;!#$%&'*+-.^_`|~09azAZ=!#$%&'*+-.^_`|~09azAZ", "fffffffffffffff"})
        EXPECT_TRUE(chunk_line_valid(line)) << line;
    for (const char* line : {"", ";a", "5\t;a", "5 \t;a", "5 ", "5;", "5;a=", "5;a=\"b",
                             "5;a=b ", "5;;a", "ffffffffffffffff", "5;a=\"\\\"", "g"})
        EXPECT_FALSE(chunk_line_valid(line)) << line;
    EXPECT_EQ(chunk_line_deciding_byte("5;a"), std::nullopt);
    EXPECT_EQ(chunk_line_deciding_byte("5;"), 2u);       // the CR
    EXPECT_EQ(chunk_line_deciding_byte("5;;a"), 2u);     // the second ";"
    EXPECT_EQ(chunk_line_deciding_byte("5;=x"), 2u);
    EXPECT_EQ(chunk_line_deciding_byte("5;a=\"abc"), 8u);  // the CR
    EXPECT_EQ(chunk_line_deciding_byte("5;a=b c"), 6u);  // "c" after BWS
    EXPECT_EQ(chunk_line_deciding_byte("5\t;a"), 1u);
    // each documented leniency is one RFC 9112 rejects
    for (const ChunkExtLeniency& leniency : documented_chunk_ext_leniencies())
        for (const std::string& extension : leniency.extensions)
            EXPECT_FALSE(chunk_line_valid("5" + extension)) << leniency.category << ": " << extension;
}

TEST(ChunkExt, NativeCoreFollowsTheGrammarForEveryShortExtension)
{
    NativeParser native;
    size_t cases = 0, accepted = 0, failures = 0;
    for_each_extension(0, 5, [&](const std::string& extension) {
        for (bool last_chunk : {false, true}) {
            const ExtensionCase ext = extension_case(extension, last_chunk);
            cases++;
            accepted += !ext.aside_at;
            DriveOptions options = options_for(ext);
            std::string problem = check(native, ext, options);
            // a window boundary after every byte of the line and its CR
            for (size_t at = ext.line_start; problem.empty() && at <= ext.line_end; at++) {
                options.arrivals = {at, at + 1};
                problem = check(native, ext, options);
                if (!problem.empty())
                    problem += "\n  (windows end at " + std::to_string(at) + " and " +
                               std::to_string(at + 1) + ")";
            }
            if (!problem.empty() && failures++ < 10)
                ADD_FAILURE() << problem;
        }
    });
    std::cout << "chunk extensions: " << cases << " lines, " << accepted << " accepted\n";
    EXPECT_EQ(failures, 0u);
}

TEST(ChunkExt, BpfProgramFollowsTheGrammarForEveryShortExtension)
{
    LIBRA_REQUIRE_BPF();
    BpfParser& bpf = *BpfParserEnvironment::parser();
    size_t failures = 0;
    for_each_extension(0, 4, [&](const std::string& extension) {
        for (bool last_chunk : {false, true}) {
            const ExtensionCase ext = extension_case(extension, last_chunk);
            DriveOptions options = options_for(ext);
            std::string problem = check(bpf, ext, options);
            if (problem.empty()) {
                options.arrivals = {(ext.line_start + ext.line_end + 1) / 2};
                problem = check(bpf, ext, options);
            }
            if (!problem.empty() && failures++ < 10)
                ADD_FAILURE() << problem;
        }
    });
    EXPECT_EQ(failures, 0u);
}

}  // namespace
}  // namespace libra::parser_test
