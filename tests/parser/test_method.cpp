// Request methods (docs/http-support.md, "Methods") against method_facts.h,
// which is written from RFC 9110 (method = token, case-sensitive): every
// byte value at many positions of a method, every length up to past the
// limit, the ABI's names and their near misses (case, prefixes, suffixes).
// Each request has a body and is followed by a GET, so the method must
// change neither its framing nor the next request's; one whose method is
// no token must make the parser step aside at exactly the byte that shows
// it. The native core runs each whole and with a window boundary after
// every byte of the request line; the BPF program each whole and cut in two.
//
// Responses: a response to OTHER is framed exactly like a response to GET,
// POST, PUT, DELETE, OPTIONS, TRACE and PATCH, whatever its status and
// framing; HEAD and CONNECT are the methods that change it, and UNKNOWN (the
// module does not know which request a response answers) or a value past
// OTHER makes the parser step aside.
#include <gtest/gtest.h>

#include "bpf_fixture.h"
#include "corpus.h"
#include "method_facts.h"

namespace libra::parser_test {
namespace {

const std::string kTchars =
    "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const std::string kNextRequest = "GET /next HTTP/1.1\r\n\r\n";

struct MethodCase {
    CorpusCase corpus;
    std::optional<uint64_t> aside_at;  // stream offset of the deciding byte
    size_t line_end = 0;               // stream offset of the request line's CR
};

// @method, then " /m HTTP/1.1", a three-byte body and another request.
MethodCase method_case(const std::string& method)
{
    const std::string line = method + " /m HTTP/1.1";
    const std::string head = line + "\r\nContent-Length: 3\r\n\r\n";
    MethodCase out;
    out.line_end = line.size();
    CorpusCase& c = out.corpus;
    c.name = "method \"" + method + "\"";
    c.direction = LIBRA_PARSE_REQUEST;
    std::optional<size_t> deciding = method_deciding_byte(line);
    if (!deciding && method_code(method_token(line)) == LIBRA_HTTP_METHOD_CONNECT)
        deciding = method.size();  // a tunnel: the SP after the method
    if (deciding) {
        c.segments = {{Segment::Kind::Aside, head + "abc" + kNextRequest, {}, 0}};
        out.aside_at = *deciding;
    } else {
        // (expected_trace_of() takes the method from the line: method_facts.h)
        c.segments = {{Segment::Kind::Metadata, head, {LIBRA_BODY_CONTENT_LENGTH, 3},
                       LIBRA_PARSE_F_MESSAGE_START | LIBRA_PARSE_F_MESSAGE_END},
                      {Segment::Kind::Body, "abc", {}, 0},
                      {Segment::Kind::Metadata, kNextRequest, {LIBRA_BODY_NONE, 0},
                       LIBRA_PARSE_F_MESSAGE_START | LIBRA_PARSE_F_MESSAGE_END}};
    }
    return out;
}

// The methods to try; each is no token, or a token Libra must accept.
std::vector<std::string> methods_to_try()
{
    std::vector<std::string> methods;
    // every byte value (but SP, which ends a method: the corpus has it) first,
    // last and in the middle of a method, at the edges of eight-byte words
    // and of the length limit
    for (int b = 0; b < 256; b++) {
        if (b == ' ')
            continue;
        for (size_t at : {0, 1, 2, 3, 6, 7, 8, 9, 15, 16, 30, 31}) {
            const std::string before(at, 'M');
            methods.push_back(before + static_cast<char>(b));
            methods.push_back(before + static_cast<char>(b) + std::string(kMethodMax - 1 - at, 'Z'));
        }
        methods.push_back(std::string(kMethodMax, 'M') + static_cast<char>(b));  // 33 bytes
    }
    // every length from 1 to past the limit, of every tchar
    for (size_t length = 1; length <= kMethodMax + 8; length++) {
        std::string method;
        for (size_t i = 0; i < length; i++)
            method += kTchars[(length * 7 + i) % kTchars.size()];
        methods.push_back(method);
    }
    for (char c : kTchars)
        methods.push_back(std::string(1, c));
    // the ABI's names, and near misses of each: other case, a byte more or less
    for (std::string name : {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE",
                             "PATCH"}) {
        methods.push_back(name);
        methods.push_back(name.substr(0, name.size() - 1));
        methods.push_back(name.substr(1));
        for (const char* more : {"X", "-", "1", "_", "S"}) {
            methods.push_back(name + more);
            methods.push_back(more + name);
        }
        std::string lower = name;
        for (char& c : lower)
            c = static_cast<char>(c - 'A' + 'a');
        methods.push_back(lower);
        for (size_t i = 0; i < name.size(); i++) {
            std::string flipped = name;
            flipped[i] = lower[i];
            methods.push_back(flipped);
        }
    }
    // methods others know
    for (const char* name : {"PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK",
                             "M-SEARCH", "PRI", "QUERY", "BASELINE-CONTROL", "UPDATEREDIRECTREF"})
        methods.push_back(name);
    return methods;
}

std::string check(ParserBackend& parser, const MethodCase& m, const DriveOptions& options)
{
    const std::vector<uint8_t> stream = stream_of(m.corpus);
    const Trace trace = drive(parser, stream, options);
    Trace expected = expected_trace_of(m.corpus);
    expected.aside_offset = m.aside_at.value_or(0);
    if (!trace.violations.empty() || !trace.same_outcome(expected) ||
        trace.aside_offset != expected.aside_offset)
        return m.corpus.name + "\n  expected: " + describe(expected) + "\n  got:      " +
               describe(trace);
    return {};
}

TEST(MethodFacts, FollowRfc9110)
{
    EXPECT_EQ(method_code("GET"), LIBRA_HTTP_METHOD_GET);
    EXPECT_EQ(method_code("PATCH"), LIBRA_HTTP_METHOD_PATCH);
    EXPECT_EQ(method_code("get"), LIBRA_HTTP_METHOD_OTHER);
    EXPECT_EQ(method_code("PROPFIND"), LIBRA_HTTP_METHOD_OTHER);
    EXPECT_EQ(method_code("GETX"), LIBRA_HTTP_METHOD_OTHER);
    EXPECT_EQ(method_deciding_byte("GET / HTTP/1.1"), std::nullopt);
    EXPECT_EQ(method_deciding_byte("!#$%&'*+-.^_`|~09azAZ /"), std::nullopt);
    EXPECT_EQ(method_deciding_byte(std::string(kMethodMax, 'A') + " /"), std::nullopt);
    EXPECT_EQ(method_deciding_byte(std::string(kMethodMax + 1, 'A') + " /"), kMethodMax);
    EXPECT_EQ(method_deciding_byte(" / HTTP/1.1"), 0u);
    EXPECT_EQ(method_deciding_byte("GE(T / HTTP/1.1"), 2u);
    EXPECT_EQ(method_deciding_byte("GET\t/"), 3u);
    EXPECT_EQ(method_deciding_byte("G\xc3\xa9T /"), 1u);
    EXPECT_EQ(method_deciding_byte(std::string("G\0T /", 5)), 1u);
    EXPECT_EQ(method_deciding_byte("HTTP/1.1 200 OK"), 4u);
    EXPECT_EQ(method_deciding_byte("GET"), std::nullopt);  // undecided yet
    for (int b = 0; b < 256; b++)
        EXPECT_EQ(is_method_tchar(static_cast<unsigned char>(b)),
                  kTchars.find(static_cast<char>(b)) != std::string::npos)
            << b;
}

TEST(Methods, NativeCoreAcceptsEveryTokenAndNothingElse)
{
    NativeParser native;
    size_t cases = 0, accepted = 0, other = 0, runs = 0, failures = 0;
    for (const std::string& method : methods_to_try()) {
        const MethodCase m = method_case(method);
        cases++;
        if (!m.aside_at) {
            accepted++;
            other += method_code(method) == LIBRA_HTTP_METHOD_OTHER;
        }
        DriveOptions options;
        std::string problem = check(native, m, options);
        runs++;
        // a window boundary after every byte of the request line and its CR
        for (size_t at = 1; problem.empty() && at <= m.line_end + 1; at++) {
            options.arrivals = {at};
            problem = check(native, m, options);
            runs++;
            if (!problem.empty())
                problem += "\n  (a window ends at " + std::to_string(at) + ")";
        }
        if (problem.empty()) {
            options.arrivals.clear();
            options.window_cap = 1;
            problem = check(native, m, options);
        }
        if (!problem.empty() && failures++ < 10)
            ADD_FAILURE() << problem;
    }
    std::cout << "methods: " << cases << " request lines, " << accepted << " accepted ("
              << other << " as OTHER), " << runs << " runs\n";
    EXPECT_EQ(failures, 0u);
}

TEST(Methods, BpfProgramAcceptsEveryTokenAndNothingElse)
{
    LIBRA_REQUIRE_BPF();
    BpfParser& bpf = *BpfParserEnvironment::parser();
    size_t failures = 0;
    for (const std::string& method : methods_to_try()) {
        const MethodCase m = method_case(method);
        DriveOptions options;
        std::string problem = check(bpf, m, options);
        if (problem.empty()) {
            options.arrivals = {(method.size() + 1) / 2};
            problem = check(bpf, m, options);
        }
        if (!problem.empty() && failures++ < 10)
            ADD_FAILURE() << problem;
    }
    EXPECT_EQ(failures, 0u);
}

// Responses whose framing no method but HEAD and CONNECT changes.
const std::vector<std::string> kResponses = {
    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
    "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    "HTTP/1.1 207 Multi-Status\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\n\r\n",
    "HTTP/1.1 200 OK\r\n\r\nthe rest of the stream",
    "HTTP/1.0 200 OK\r\n\r\nthe rest",
    "HTTP/1.1 200 Connection Established\r\n\r\n\x16\x03\x01",
    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok",
    "HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 1\r\n\r\nx",
    "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n",
    "HTTP/1.1 500 Oops\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx",
    // step aside whatever the method
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
    "HTTP/1.1 204 No Content\r\nContent-Length: 1\r\n\r\nx",
    "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
};

Trace response_trace(ParserBackend& parser, const std::string& response, uint8_t method,
                     std::vector<size_t> arrivals = {})
{
    DriveOptions options;
    options.direction = LIBRA_PARSE_RESPONSE;
    options.request_methods = {method, method};
    options.arrivals = std::move(arrivals);
    return drive(parser, {reinterpret_cast<const uint8_t*>(response.data()), response.size()},
                 options);
}

void expect_other_framed_like_get(ParserBackend& parser)
{
    for (const std::string& response : kResponses) {
        for (const std::vector<size_t>& arrivals :
             {std::vector<size_t>{}, std::vector<size_t>{response.size() / 2}}) {
            const Trace get = response_trace(parser, response, LIBRA_HTTP_METHOD_GET, arrivals);
            ASSERT_TRUE(get.violations.empty()) << describe(get);
            for (uint8_t method : {LIBRA_HTTP_METHOD_POST, LIBRA_HTTP_METHOD_PUT,
                                   LIBRA_HTTP_METHOD_DELETE, LIBRA_HTTP_METHOD_OPTIONS,
                                   LIBRA_HTTP_METHOD_TRACE, LIBRA_HTTP_METHOD_PATCH,
                                   LIBRA_HTTP_METHOD_OTHER}) {
                const Trace trace = response_trace(parser, response, method, arrivals);
                EXPECT_TRUE(trace.same_to_the_byte(get))
                    << "method " << int(method) << ", response:\n" << response
                    << "\n  GET:  " << describe(get) << "\n  this: " << describe(trace);
            }
            // no request known, or a value past OTHER: step aside
            for (uint8_t method : {uint8_t(LIBRA_HTTP_METHOD_UNKNOWN), uint8_t(LIBRA_HTTP_METHOD_CONNECT),
                                   uint8_t(LIBRA_HTTP_METHOD_OTHER + 1), uint8_t(255)}) {
                const Trace trace = response_trace(parser, response, method, arrivals);
                EXPECT_TRUE(trace.units.empty() && trace.end == TraceEnd::StepAside)
                    << "method " << int(method) << ", response:\n" << response << "\n  "
                    << describe(trace);
            }
        }
    }
    // HEAD does change it: no body
    const Trace head = response_trace(parser, kResponses[0], LIBRA_HTTP_METHOD_HEAD);
    ASSERT_EQ(head.units.size(), 1u) << describe(head);
    EXPECT_EQ(head.units[0].body_kind, uint32_t(LIBRA_BODY_NONE));
    const Trace other = response_trace(parser, kResponses[0], LIBRA_HTTP_METHOD_OTHER);
    ASSERT_EQ(other.units.size(), 1u) << describe(other);
    EXPECT_EQ(other.units[0].body_kind, uint32_t(LIBRA_BODY_CONTENT_LENGTH));
    EXPECT_EQ(other.units[0].body_len, 5u);
}

TEST(Methods, NativeCoreFramesAResponseToOtherLikeOneToGet)
{
    NativeParser native;
    expect_other_framed_like_get(native);
}

TEST(Methods, BpfProgramFramesAResponseToOtherLikeOneToGet)
{
    LIBRA_REQUIRE_BPF();
    expect_other_framed_like_get(*BpfParserEnvironment::parser());
}

}  // namespace
}  // namespace libra::parser_test
