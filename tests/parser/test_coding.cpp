// Content codings (docs/http-support.md, "Content codings"): what the parser
// reports on MESSAGE_START units about Accept-Encoding, Content-Encoding and
// Content-Type, held to the string-based reference in coding_facts.cpp, and
// the reference held to the corpus's hand-written flags.
//
// The sweep builds field values from pieces (words the matcher knows, near
// misses, delimiters, whitespace, bytes off the grammar), every sequence of
// up to four, and runs each message through the native core whole and one
// byte per call (a window boundary after every byte of the value), and a
// sample of them through the BPF program. LIBRA_CODING_PIECES=<n> sweeps
// values of up to n pieces instead (5: about 3.2 million values).
#include <gtest/gtest.h>

#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "bpf_fixture.h"
#include "coding_facts.h"
#include "corpus.h"

namespace libra::parser_test {
namespace {

std::span<const uint8_t> bytes_of(const std::string& text)
{
    return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

TEST(CodingFacts, ReferenceAgreesWithTheCorpus)
{
    size_t units = 0, with_fields = 0;
    for (const CorpusCase& c : corpus_cases()) {
        for (const Segment& segment : c.segments) {
            if (segment.kind != Segment::Kind::Metadata ||
                !(segment.flags & LIBRA_PARSE_F_MESSAGE_START))
                continue;
            const std::string_view header = header_at(segment.bytes, 0);
            ASSERT_FALSE(header.empty()) << c.name << ": a MESSAGE_START unit without its header";
            EXPECT_EQ(expected_coding_flags(c.direction, header), expected_coding_flags_of(c, segment))
                << c.name << ": the reference and the hand-written flags differ";
            units++;
            if (segment.coding_flags)
                with_fields++;
        }
    }
    std::cout << "coding facts: the reference agrees with " << units
              << " MESSAGE_START units of the corpus (" << with_fields
              << " with hand-written coding flags)\n";
    EXPECT_GE(with_fields, 100u);
}

struct Field {
    const char* name;
    uint8_t direction;
    uint32_t fact;  // the flag this field decides
    std::vector<std::string> pieces;
};

const std::vector<Field> kFields = {
    {"Accept-Encoding", LIBRA_PARSE_REQUEST, LIBRA_PARSE_F_ACCEPTS_CODING,
     {"identity", "IdEnTiTy", "identit", "gzip", "*", ",", ";", " ", "\t", "q=0", "Q=1.0", "=",
      "\"", "y", "\xc3\xa9"}},
    {"Content-Encoding", LIBRA_PARSE_RESPONSE, LIBRA_PARSE_F_CONTENT_CODED,
     {"identity", "IDENTITY", "identit", "gzip", ",", ";", " ", "\t", "q=1", "\"", "y", "/",
      "\xff"}},
    {"Content-Type", LIBRA_PARSE_RESPONSE, LIBRA_PARSE_F_TEXTUAL,
     {"text", "TeXt", "application", "image", "/", "json", "XML", "xm", "javascript",
      "x-javascript", "+", ";", " ", "\t", ",", "\"", "a", "\x80"}},
};

std::string message_with(const Field& field, const std::string& value)
{
    const std::string line = std::string(field.name) + ":" + value + "\r\n";
    if (field.direction == LIBRA_PARSE_REQUEST)
        return "GET / HTTP/1.1\r\nHost: h\r\n" + line + "\r\n";
    return "HTTP/1.1 200 OK\r\n" + line + "Content-Length: 0\r\n\r\n";
}

// Every sequence of up to @max pieces.
void for_each_value(const std::vector<std::string>& pieces, size_t max,
                    const std::function<void(const std::string&)>& visit)
{
    std::string value;
    std::function<void(size_t)> grow = [&](size_t depth) {
        visit(value);
        if (depth == max)
            return;
        for (const std::string& piece : pieces) {
            const size_t size = value.size();
            value += piece;
            grow(depth + 1);
            value.resize(size);
        }
    };
    grow(0);
}

// Empty if @parser reported @expected on the message's one unit.
std::string check(ParserBackend& parser, const Field& field, const std::string& message,
                  uint32_t expected, bool one_byte_per_call)
{
    DriveOptions options;
    options.direction = field.direction;
    options.request_methods = {LIBRA_HTTP_METHOD_GET};
    if (one_byte_per_call)
        for (size_t at = 1; at < message.size(); at++)
            options.arrivals.push_back(at);
    const Trace trace = drive(parser, bytes_of(message), options);
    if (!trace.violations.empty() || trace.units.size() != 1 ||
        (trace.units[0].flags & kCodingFlags) != expected)
        return std::string(one_byte_per_call ? "one byte per call" : "whole") + ": expected " +
               describe(Unit{0, message.size(), LIBRA_BODY_NONE, 0,
                             expected | LIBRA_PARSE_F_MESSAGE_START | LIBRA_PARSE_F_MESSAGE_END}) +
               ", got " + describe(trace);
    return {};
}

std::string printable(const std::string& text)
{
    std::string out;
    for (unsigned char c : text) {
        if (c >= 0x20 && c < 0x7f) {
            out += static_cast<char>(c);
        } else {
            char hex[8];
            std::snprintf(hex, sizeof hex, "\\x%02x", c);
            out += hex;
        }
    }
    return out;
}

TEST(CodingFacts, NativeCoreAgreesWithTheReferenceOnEveryValue)
{
    const char* pieces_env = std::getenv("LIBRA_CODING_PIECES");
    const size_t pieces = pieces_env && *pieces_env ? std::strtoul(pieces_env, nullptr, 0) : 4;
    NativeParser native;
    for (const Field& field : kFields) {
        size_t values = 0, flagged = 0, failures = 0;
        for_each_value(field.pieces, pieces, [&](const std::string& value) {
            if (failures >= 5)
                return;
            const std::string message = message_with(field, value);
            const uint32_t expected = expected_coding_flags(field.direction, message);
            values++;
            if (expected & field.fact)
                flagged++;
            for (bool one_byte : {false, true}) {
                if (std::string problem = check(native, field, message, expected, one_byte);
                    !problem.empty()) {
                    failures++;
                    ADD_FAILURE() << field.name << ": \"" << printable(value) << "\": " << problem;
                    return;
                }
            }
        });
        std::cout << field.name << ": " << values << " values, the flag set on " << flagged
                  << "\n";
    }
}

TEST(CodingFacts, BpfProgramAgreesWithTheReferenceOnASample)
{
    LIBRA_REQUIRE_BPF();
    BpfParser& bpf = *BpfParserEnvironment::parser();
    for (const Field& field : kFields) {
        size_t index = 0, checked = 0, failures = 0;
        for_each_value(field.pieces, 3, [&](const std::string& value) {
            // every value of up to two pieces, one in seven of three
            const bool sample = value.size() <= 1 || index++ % 7 == 0;
            if (!sample || failures >= 5)
                return;
            const std::string message = message_with(field, value);
            const uint32_t expected = expected_coding_flags(field.direction, message);
            checked++;
            for (bool one_byte : {false, true}) {
                if (one_byte && checked % 5 != 0)
                    continue;
                if (std::string problem = check(bpf, field, message, expected, one_byte);
                    !problem.empty()) {
                    failures++;
                    ADD_FAILURE() << field.name << ": \"" << printable(value) << "\": " << problem;
                    return;
                }
            }
        });
        std::cout << field.name << ": " << checked << " values through the BPF program\n";
    }
}

}  // namespace
}  // namespace libra::parser_test
