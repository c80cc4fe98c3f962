// The fixture corpus. Each case is a stream cut into what the parser must
// report. Requests first, then responses; valid framing, then what must make
// the parser step aside.
#include "corpus.h"

#include <cctype>
#include <tuple>

namespace libra::parser_test {

namespace {

constexpr uint32_t S = LIBRA_PARSE_F_MESSAGE_START;
constexpr uint32_t E = LIBRA_PARSE_F_MESSAGE_END;
constexpr uint32_t I = LIBRA_PARSE_F_INTERIM;
constexpr uint32_t L = LIBRA_PARSE_F_LAST_MESSAGE;
// coding facts, on MESSAGE_START units
constexpr uint32_t K = LIBRA_PARSE_F_CODINGS_KNOWN;
constexpr uint32_t A = LIBRA_PARSE_F_ACCEPTS_CODING;
constexpr uint32_t C = LIBRA_PARSE_F_CONTENT_CODED;
constexpr uint32_t T = LIBRA_PARSE_F_TEXTUAL;

constexpr uint8_t GET = LIBRA_HTTP_METHOD_GET;
constexpr uint8_t HEAD = LIBRA_HTTP_METHOD_HEAD;
constexpr uint8_t POST = LIBRA_HTTP_METHOD_POST;
constexpr uint8_t PUT = LIBRA_HTTP_METHOD_PUT;
constexpr uint8_t DELETE = LIBRA_HTTP_METHOD_DELETE;
constexpr uint8_t CONNECT = LIBRA_HTTP_METHOD_CONNECT;
constexpr uint8_t OPTIONS = LIBRA_HTTP_METHOD_OPTIONS;

BodySpec none() { return {LIBRA_BODY_NONE, 0}; }
BodySpec cl(uint64_t length) { return {LIBRA_BODY_CONTENT_LENGTH, length}; }
BodySpec chunk(uint64_t length) { return {LIBRA_BODY_CHUNK, length}; }
BodySpec close_delimited() { return {LIBRA_BODY_CLOSE_DELIMITED, 0}; }

Segment meta(std::string bytes, BodySpec body, uint32_t flags)
{
    return {Segment::Kind::Metadata, std::move(bytes), body, flags};
}
// A MESSAGE_START unit whose header carries @coding (K, A, C, T).
Segment coded(Segment segment, uint32_t coding)
{
    segment.coding_flags = coding;
    return segment;
}
Segment body(std::string bytes) { return {Segment::Kind::Body, std::move(bytes), {}, 0}; }
Segment aside(std::string bytes) { return {Segment::Kind::Aside, std::move(bytes), {}, 0}; }
Segment partial(std::string bytes) { return {Segment::Kind::Partial, std::move(bytes), {}, 0}; }
// Steps aside at the first byte of @deciding, after @before.
Segment aside_at(const std::string& before, const std::string& deciding)
{
    return {Segment::Kind::Aside, before + deciding, {}, 0, before.size()};
}

CorpusCase request(std::string name, std::vector<Segment> segments, uint32_t max_header = 16384)
{
    return {std::move(name), LIBRA_PARSE_REQUEST, std::move(segments), {}, max_header};
}

CorpusCase response(std::string name, std::vector<uint8_t> methods, std::vector<Segment> segments,
                    uint32_t max_header = 16384)
{
    return {std::move(name), LIBRA_PARSE_RESPONSE, std::move(segments), std::move(methods),
            max_header};
}

const std::string kGet = "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n";
const std::string kPostHead = "POST /upload HTTP/1.1\r\nHost: example.com\r\n";
const std::string kChunkedPost = kPostHead + "Transfer-Encoding: chunked\r\n\r\n";
const std::string kOk = "HTTP/1.1 200 OK\r\n";
const std::string kChunkedOk = kOk + "Transfer-Encoding: chunked\r\n\r\n";

void add_valid_requests(std::vector<CorpusCase>& cases)
{
    cases.push_back(request("get-minimal", {meta("GET / HTTP/1.1\r\n\r\n", none(), S | E)}));
    cases.push_back(request("get-host", {meta(kGet, none(), S | E)}));
    for (const char* method : {"GET", "HEAD", "DELETE", "OPTIONS", "TRACE"})
        cases.push_back(request(std::string("method-") + method + "-no-body",
                                {meta(std::string(method) + " /r HTTP/1.1\r\nHost: h\r\n\r\n",
                                      none(), S | E)}));
    for (const char* method : {"POST", "PUT", "PATCH", "DELETE", "GET"})
        cases.push_back(request(std::string("method-") + method + "-content-length",
                                {meta(std::string(method) +
                                          " /r HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n",
                                      cl(5), S | E),
                                 body("hello")}));
    cases.push_back(request("options-asterisk",
                            {meta("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", none(), S | E)}));
    cases.push_back(request("content-length-zero",
                            {meta(kPostHead + "Content-Length: 0\r\n\r\n", none(), S | E)}));
    cases.push_back(request("content-length-leading-zeros",
                            {meta(kPostHead + "Content-Length: 0005\r\n\r\n", cl(5), S | E),
                             body("12345")}));
    cases.push_back(request("content-length-ows",
                            {meta(kPostHead + "Content-Length:   7  \r\n\r\n", cl(7), S | E),
                             body("1234567")}));
    cases.push_back(request("content-length-leading-htab",
                            {meta(kPostHead + "Content-Length:\t3\r\n\r\n", cl(3), S | E),
                             body("abc")}));
    cases.push_back(request("content-length-lowercase-name",
                            {meta(kPostHead + "content-length: 2\r\n\r\n", cl(2), S | E),
                             body("ab")}));
    cases.push_back(request("content-length-uppercase-name",
                            {meta(kPostHead + "CONTENT-LENGTH: 2\r\n\r\n", cl(2), S | E),
                             body("ab")}));
    cases.push_back(request("content-length-18-digits-truncated-body",
                            {meta(kPostHead + "Content-Length: 123456789012345678\r\n\r\n",
                                  cl(123456789012345678ULL), S | E),
                             body("only the start of a huge body")}));
    cases.push_back(request("content-length-body-looks-like-request",
                            {meta(kPostHead + "Content-Length: 18\r\n\r\n", cl(18), S | E),
                             body("GET / HTTP/1.1\r\n\r\n"), meta(kGet, none(), S | E)}));
    cases.push_back(request("chunked-one-chunk",
                            {meta(kChunkedPost + "5\r\n", chunk(5), S), body("hello"),
                             meta("\r\n0\r\n\r\n", none(), E)}));
    cases.push_back(request("chunked-three-chunks",
                            {meta(kChunkedPost + "3\r\n", chunk(3), S), body("abc"),
                             meta("\r\n1\r\n", chunk(1), 0), body("d"),
                             meta("\r\n10\r\n", chunk(16), 0), body("0123456789abcdef"),
                             meta("\r\n0\r\n\r\n", none(), E)}));
    cases.push_back(request("chunked-hex-lower-and-upper",
                            {meta(kChunkedPost + "a\r\n", chunk(10), S), body("0123456789"),
                             meta("\r\nB\r\n", chunk(11), 0), body("0123456789X"),
                             meta("\r\n0\r\n\r\n", none(), E)}));
    cases.push_back(request("chunked-size-leading-zeros",
                            {meta(kChunkedPost + "0004\r\n", chunk(4), S), body("wxyz"),
                             meta("\r\n000\r\n\r\n", none(), E)}));
    cases.push_back(request("chunked-extension",
                            {meta(kChunkedPost + "5;name=value\r\n", chunk(5), S), body("hello"),
                             meta("\r\n0;last\r\n\r\n", none(), E)}));
    cases.push_back(request("chunked-extension-bws",
                            {meta(kChunkedPost + "5 ;ext\r\n", chunk(5), S), body("hello"),
                             meta("\r\n0\r\n\r\n", none(), E)}));
    cases.push_back(request("chunked-extension-quoted",
                            {meta(kChunkedPost + "5;a=\"x ; y\"\r\n", chunk(5), S), body("hello"),
                             meta("\r\n0\r\n\r\n", none(), E)}));
    cases.push_back(request("chunked-trailers",
                            {meta(kChunkedPost + "2\r\n", chunk(2), S), body("hi"),
                             meta("\r\n0\r\nExpires: never\r\nX-Checksum: 42\r\n\r\n", none(), E)}));
    cases.push_back(request("chunked-empty-body",
                            {meta(kChunkedPost + "0\r\n\r\n", none(), S | E)}));
    cases.push_back(request("chunked-empty-body-with-trailer",
                            {meta(kChunkedPost + "0\r\nX-T: 1\r\n\r\n", none(), S | E)}));
    cases.push_back(request("chunked-te-mixed-case",
                            {meta(kPostHead + "Transfer-Encoding: ChUnKeD\r\n\r\n3\r\n", chunk(3), S),
                             body("abc"), meta("\r\n0\r\n\r\n", none(), E)}));
    cases.push_back(request("chunked-te-ows",
                            {meta(kPostHead + "Transfer-Encoding: \t chunked  \r\n\r\n3\r\n",
                                  chunk(3), S),
                             body("abc"), meta("\r\n0\r\n\r\n", none(), E)}));
    cases.push_back(request("chunked-data-looks-like-last-chunk",
                            {meta(kChunkedPost + "7\r\n", chunk(7), S), body("0\r\n\r\nXY"),
                             meta("\r\n0\r\n\r\n", none(), E)}));
    cases.push_back(request("chunked-then-pipelined-get",
                            {meta(kChunkedPost + "1\r\n", chunk(1), S), body("x"),
                             meta("\r\n0\r\n\r\n", none(), E), meta(kGet, none(), S | E)}));
    cases.push_back(request("pipelined-three-gets",
                            {meta(kGet, none(), S | E), meta(kGet, none(), S | E),
                             meta("GET /third HTTP/1.1\r\nHost: h\r\n\r\n", none(), S | E)}));
    cases.push_back(request("pipelined-mixed",
                            {meta(kPostHead + "Content-Length: 3\r\n\r\n", cl(3), S | E), body("abc"),
                             meta(kGet, none(), S | E), meta(kChunkedPost + "2\r\n", chunk(2), S),
                             body("hi"), meta("\r\n0\r\n\r\n", none(), E),
                             meta("HEAD / HTTP/1.1\r\n\r\n", none(), S | E)}));
    cases.push_back(request("http10-keep-alive-pipelined",
                            {meta("GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", none(), S | E),
                             meta("GET /b HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", none(), S | E)}));
    cases.push_back(request("http10-last-message",
                            {meta("GET / HTTP/1.0\r\nHost: h\r\n\r\n", none(), S | E | L)}));
    cases.push_back(request("http10-content-length",
                            {meta("POST / HTTP/1.0\r\nContent-Length: 2\r\n\r\n", cl(2), S | E | L),
                             body("ok")}));
    cases.push_back(request("connection-close-last-message",
                            {meta(kGet + "", none(), S | E),
                             meta("GET / HTTP/1.1\r\nConnection: close\r\n\r\n", none(), S | E | L)}));
    cases.push_back(request("connection-close-in-token-list",
                            {meta("GET / HTTP/1.1\r\nConnection: keep-alive, Close\r\n\r\n", none(),
                                  S | E | L)}));
    cases.push_back(request("connection-keep-alive-http11",
                            {meta("GET / HTTP/1.1\r\nConnection: keep-alive\r\n\r\n", none(), S | E),
                             meta(kGet, none(), S | E)}));
    cases.push_back(request("expect-100-continue",
                            {meta(kPostHead + "Expect: 100-continue\r\nContent-Length: 4\r\n\r\n",
                                  cl(4), S | E),
                             body("data")}));
    cases.push_back(request("expect-100-continue-chunked",
                            {meta(kPostHead + "Expect: 100-continue\r\nTransfer-Encoding: chunked"
                                              "\r\n\r\n4\r\n",
                                  chunk(4), S),
                             body("data"), meta("\r\n0\r\n\r\n", none(), E)}));
    cases.push_back(request("header-obs-text-value",
                            {meta("GET / HTTP/1.1\r\nX-Name: caf\xc3\xa9\r\n\r\n", none(), S | E)}));
    cases.push_back(request("header-htab-inside-value",
                            {meta("GET / HTTP/1.1\r\nX-A: a\tb c\r\n\r\n", none(), S | E)}));
    cases.push_back(request("header-empty-value",
                            {meta("GET / HTTP/1.1\r\nX-Empty:\r\nX-Spaces:   \r\n\r\n", none(),
                                  S | E)}));
    cases.push_back(request("header-all-tchars-name",
                            {meta("GET / HTTP/1.1\r\n!#$%&'*+-.^_`|~09azAZ: v\r\n\r\n", none(),
                                  S | E)}));
    {
        std::string many = "GET / HTTP/1.1\r\n";
        for (int i = 0; i < 60; i++)
            many += "X-Header-" + std::to_string(i) + ": value " + std::to_string(i * 7) + "\r\n";
        many += "Content-Length: 1\r\n\r\n";
        cases.push_back(request("sixty-headers", {meta(many, cl(1), S | E), body("z")}));
        cases.push_back(request("sixty-headers-under-exact-limit",
                                {meta(many, cl(1), S | E), body("z")},
                                static_cast<uint32_t>(many.size())));
    }
    cases.push_back(request("target-query-fragment",
                            {meta("GET /p/a/t/h?x=1&y=%20#frag HTTP/1.1\r\n\r\n", none(), S | E)}));
    cases.push_back(request("target-sub-delims",
                            {meta("GET /a;b=c!$&'()*+,:@~ HTTP/1.1\r\n\r\n", none(), S | E)}));
    cases.push_back(request("name-longer-than-upgrade",
                            {meta("GET / HTTP/1.1\r\nUpgrade-Insecure-Requests: 1\r\n\r\n", none(),
                                  S | E)}));
    cases.push_back(request("name-starting-with-content-length",
                            {aside("GET / HTTP/1.1\r\nContent-Lengthy: 5\r\n\r\n")}));
    cases.push_back(request("name-ending-in-content-length",
                            {meta("GET / HTTP/1.1\r\nX-Content-Length: 5\r\n\r\n", none(), S | E)}));
    cases.push_back(request("name-starting-with-transfer-encoding",
                            {aside("GET / HTTP/1.1\r\nTransfer-Encodings: gzip\r\n\r\n")}));
    cases.push_back(request("name-prefix-of-transfer-encoding",
                            {meta("GET / HTTP/1.1\r\nTransfer-Encod: gzip\r\n\r\n", none(), S | E)}));
    cases.push_back(request("name-longer-than-connection",
                            {meta("GET / HTTP/1.1\r\nConnectionx: close\r\n\r\n", none(), S | E),
                             meta(kGet, none(), S | E)}));
    cases.push_back(request("name-prefix-of-connection",
                            {meta("GET / HTTP/1.1\r\nConnect: close\r\n\r\n", none(), S | E),
                             meta(kGet, none(), S | E)}));
    cases.push_back(request("empty-stream", {}));
    cases.push_back(request("ends-in-request-line", {partial("GET /inde")}));
    cases.push_back(request("ends-in-header", {partial("GET / HTTP/1.1\r\nHost: exa")}));
    cases.push_back(request("ends-between-cr-and-lf", {partial("GET / HTTP/1.1\r\nHost: a\r\n\r")}));
    cases.push_back(request("ends-in-body",
                            {meta(kPostHead + "Content-Length: 10\r\n\r\n", cl(10), S | E),
                             body("12345")}));
    cases.push_back(request("ends-in-chunk-size-line",
                            {meta(kChunkedPost + "3\r\n", chunk(3), S), body("abc"), partial("\r\n1")}));
    cases.push_back(request("ends-in-chunk-data",
                            {meta(kChunkedPost + "8\r\n", chunk(8), S), body("abc")}));
    cases.push_back(request("ends-in-trailers",
                            {meta(kChunkedPost + "3\r\n", chunk(3), S), body("abc"),
                             partial("\r\n0\r\nX-Tr")}));
}

void add_request_step_asides(std::vector<CorpusCase>& cases)
{
    auto aside_case = [&](std::string name, std::string bytes, uint32_t max = 16384) {
        cases.push_back(request(std::move(name), {aside(std::move(bytes))}, max));
    };
    aside_case("bare-lf-request-line", "GET / HTTP/1.1\nHost: h\n\n");
    aside_case("bare-lf-header", "GET / HTTP/1.1\r\nHost: h\n\r\n");
    aside_case("bare-lf-end-of-header", "GET / HTTP/1.1\r\nHost: h\r\n\n");
    aside_case("bare-cr-in-value", "GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n");
    aside_case("obs-fold-space", "GET / HTTP/1.1\r\nX-A: a\r\n b\r\n\r\n");
    aside_case("obs-fold-htab", "GET / HTTP/1.1\r\nX-A: a\r\n\tb\r\n\r\n");
    aside_case("whitespace-after-request-line", "GET / HTTP/1.1\r\n Host: h\r\n\r\n");
    aside_case("space-before-colon", "GET / HTTP/1.1\r\nHost : h\r\n\r\n");
    aside_case("htab-before-colon", "GET / HTTP/1.1\r\nHost\t: h\r\n\r\n");
    aside_case("space-before-colon-content-length",
               kPostHead + "Content-Length : 5\r\n\r\nhello");
    aside_case("duplicate-content-length-same", kPostHead +
                                                    "Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello");
    aside_case("duplicate-content-length-different",
               kPostHead + "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!");
    aside_case("content-length-list", kPostHead + "Content-Length: 5, 5\r\n\r\nhello");
    aside_case("content-length-plus", kPostHead + "Content-Length: +5\r\n\r\nhello");
    aside_case("content-length-negative", kPostHead + "Content-Length: -1\r\n\r\n");
    aside_case("content-length-hex", kPostHead + "Content-Length: 0x5\r\n\r\nhello");
    aside_case("content-length-empty", kPostHead + "Content-Length:\r\n\r\n");
    aside_case("content-length-trailing-htab", kPostHead + "Content-Length: 5\t\r\n\r\nhello");
    aside_case("content-length-inner-space", kPostHead + "Content-Length: 5 5\r\n\r\nhello");
    aside_case("content-length-19-digits", kPostHead + "Content-Length: 1234567890123456789\r\n\r\n");
    aside_case("content-length-and-chunked",
               kPostHead + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
    aside_case("chunked-and-content-length",
               kPostHead + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
    aside_case("te-gzip", kPostHead + "Transfer-Encoding: gzip\r\n\r\n");
    aside_case("te-gzip-chunked", kPostHead + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n");
    aside_case("te-chunked-gzip", kPostHead + "Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n");
    aside_case("te-identity", kPostHead + "Transfer-Encoding: identity\r\n\r\n");
    aside_case("te-two-fields",
               kPostHead + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
    aside_case("te-empty", kPostHead + "Transfer-Encoding:\r\n\r\n");
    aside_case("te-chunked-trailing-htab", kPostHead + "Transfer-Encoding: chunked\t\r\n\r\n0\r\n\r\n");
    aside_case("te-chunkedx", kPostHead + "Transfer-Encoding: chunkedx\r\n\r\n0\r\n\r\n");
    aside_case("te-in-http10", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
    cases.push_back(request("chunk-size-16-hex-digits",
                            {aside(kChunkedPost + "0000000000000005\r\nhello\r\n0\r\n\r\n")}));
    cases.push_back(request("chunk-size-overflow",
                            {aside(kChunkedPost + "FFFFFFFFFFFFFFFFF\r\n")}));
    cases.push_back(request("chunk-size-not-hex", {aside(kChunkedPost + "5g\r\nhello\r\n")}));
    cases.push_back(request("chunk-size-negative", {aside(kChunkedPost + "-5\r\nhello\r\n")}));
    cases.push_back(request("chunk-size-missing", {aside(kChunkedPost + "\r\nhello\r\n")}));
    cases.push_back(request("chunk-size-leading-space", {aside(kChunkedPost + " 5\r\nhello\r\n")}));
    cases.push_back(request("chunk-size-trailing-space", {aside(kChunkedPost + "5 \r\nhello\r\n")}));
    cases.push_back(request("chunk-size-htab-before-ext", {aside(kChunkedPost + "5\t;x\r\nhello\r\n")}));
    cases.push_back(request("chunk-size-bare-lf", {aside(kChunkedPost + "5\nhello\r\n0\r\n\r\n")}));
    cases.push_back(request("chunk-ext-with-lf", {aside(kChunkedPost + "5;a\nb\r\nhello\r\n")}));
    cases.push_back(request("chunk-ext-with-control", {aside(kChunkedPost + "5;a\x01\r\nhello\r\n")}));
    cases.push_back(request("chunk-data-without-crlf",
                            {meta(kChunkedPost + "5\r\n", chunk(5), S), body("hello"),
                             aside("XX0\r\n\r\n")}));
    cases.push_back(request("chunk-data-too-long",
                            {meta(kChunkedPost + "3\r\n", chunk(3), S), body("hel"),
                             aside("lo\r\n0\r\n\r\n")}));
    cases.push_back(request("trailer-content-length",
                            {meta(kChunkedPost + "1\r\n", chunk(1), S), body("x"),
                             aside("\r\n0\r\nContent-Length: 5\r\n\r\n")}));
    cases.push_back(request("trailer-transfer-encoding",
                            {meta(kChunkedPost + "1\r\n", chunk(1), S), body("x"),
                             aside("\r\n0\r\nTransfer-Encoding: chunked\r\n\r\n")}));
    cases.push_back(request("trailer-connection",
                            {meta(kChunkedPost + "1\r\n", chunk(1), S), body("x"),
                             aside("\r\n0\r\nConnection: close\r\n\r\n")}));
    cases.push_back(request("trailer-obs-fold",
                            {meta(kChunkedPost + "1\r\n", chunk(1), S), body("x"),
                             aside("\r\n0\r\nX-T: a\r\n b\r\n\r\n")}));
    aside_case("http09-request", "GET /\r\n");
    // "PRI" is a token like any method: the version decides
    cases.push_back(request("http2-preface",
                            {aside_at("PRI * HTTP/", "2.0\r\n\r\nSM\r\n\r\n")}));
    aside_case("version-2-0", "GET / HTTP/2.0\r\n\r\n");
    aside_case("version-1-2", "GET / HTTP/1.2\r\n\r\n");
    aside_case("version-0-9", "GET / HTTP/0.9\r\n\r\n");
    aside_case("version-lowercase", "GET / http/1.1\r\n\r\n");
    aside_case("version-trailing-space", "GET / HTTP/1.1 \r\n\r\n");
    aside_case("version-two-digits", "GET / HTTP/1.10\r\n\r\n");
    // at the SP after the method (methods that are no token: add_method_cases())
    cases.push_back(request("connect",
                            {aside_at("CONNECT", " example.com:443 HTTP/1.1\r\n"
                                                 "Host: example.com:443\r\n\r\n")}));
    aside_case("upgrade-websocket",
               "GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
    aside_case("upgrade-h2c",
               "GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
               "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n");
    aside_case("upgrade-without-connection", "GET / HTTP/1.1\r\nUpgrade: foo\r\n\r\n");
    aside_case("target-absolute-form", "GET http://example.com/ HTTP/1.1\r\n\r\n");
    aside_case("target-authority-form", "OPTIONS example.com:80 HTTP/1.1\r\n\r\n");
    aside_case("target-empty", "GET  HTTP/1.1\r\n\r\n");
    aside_case("target-two-spaces-after", "GET /  HTTP/1.1\r\n\r\n");
    aside_case("target-asterisk-with-more", "OPTIONS *x HTTP/1.1\r\n\r\n");
    aside_case("target-obs-text", "GET /caf\xc3\xa9 HTTP/1.1\r\n\r\n");
    aside_case("target-control-char", std::string("GET /a\x01 HTTP/1.1\r\n\r\n"));
    aside_case("leading-crlf", "\r\nGET / HTTP/1.1\r\n\r\n");
    aside_case("leading-space", " GET / HTTP/1.1\r\n\r\n");
    aside_case("header-name-paren", "GET / HTTP/1.1\r\nX(y): 1\r\n\r\n");
    aside_case("header-name-space", "GET / HTTP/1.1\r\nX y: 1\r\n\r\n");
    aside_case("header-name-empty", "GET / HTTP/1.1\r\n: x\r\n\r\n");
    aside_case("header-name-without-colon", "GET / HTTP/1.1\r\nHost\r\n\r\n");
    aside_case("header-value-nul", std::string("GET / HTTP/1.1\r\nX: a") + '\0' + "b\r\n\r\n");
    aside_case("header-value-del", "GET / HTTP/1.1\r\nX: a\x7f\r\n\r\n");
    aside_case("header-value-escape", "GET / HTTP/1.1\r\nX: a\x1b[0m\r\n\r\n");
    aside_case("headers-over-limit",
               "GET / HTTP/1.1\r\nX-Long: " + std::string(300, 'v') + "\r\n\r\n", 256);
    {
        std::string big = "GET / HTTP/1.1\r\n";
        for (int i = 0; i < 40; i++)
            big += "X-Filler-" + std::to_string(i) + ": " + std::string(40, 'f') + "\r\n";
        big += "\r\n";
        cases.push_back(request("headers-over-limit-many-lines", {aside(big)}, 1024));
        cases.push_back(request("headers-one-byte-over-limit", {aside(big)},
                                static_cast<uint32_t>(big.size() - 1)));
    }
    cases.push_back(request("chunk-ext-over-limit",
                            {meta(kChunkedPost + "1\r\n", chunk(1), S), body("x"),
                             aside("\r\n1;" + std::string(200, 'e') + "\r\n")},
                            128));
    cases.push_back(request("after-connection-close",
                            {meta("GET / HTTP/1.1\r\nConnection: close\r\n\r\n", none(), S | E | L),
                             aside(kGet)}));
    cases.push_back(request("after-http10-without-keep-alive",
                            {meta("GET / HTTP/1.0\r\n\r\n", none(), S | E | L), aside(kGet)}));
    cases.push_back(request("second-message-invalid",
                            {meta(kGet, none(), S | E), aside("GET / HTTP/1.1\r\nHost : h\r\n\r\n")}));
    aside_case("tls-client-hello", std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11));
    aside_case("ssh-banner", "SSH-2.0-OpenSSH_9.2\r\n");
    aside_case("binary-zeroes", std::string(16, '\0'));
}

void add_valid_responses(std::vector<CorpusCase>& cases)
{
    cases.push_back(response("200-content-length", {GET},
                             {meta(kOk + "Content-Length: 5\r\n\r\n", cl(5), S | E), body("hello")}));
    cases.push_back(response("200-content-length-zero", {GET},
                             {meta(kOk + "Content-Length: 0\r\n\r\n", none(), S | E)}));
    cases.push_back(response("200-chunked", {GET},
                             {meta(kChunkedOk + "5\r\n", chunk(5), S), body("hello"),
                              meta("\r\n6;ext=1\r\n", chunk(6), 0), body(" world"),
                              meta("\r\n0\r\n\r\n", none(), E)}));
    cases.push_back(response("200-chunked-trailers", {GET},
                             {meta(kChunkedOk + "1\r\n", chunk(1), S), body("x"),
                              meta("\r\n0\r\nServer-Timing: db;dur=53\r\n\r\n", none(), E)}));
    cases.push_back(response("200-chunked-empty", {POST},
                             {meta(kChunkedOk + "0\r\n\r\n", none(), S | E)}));
    cases.push_back(response("200-close-delimited", {GET},
                             {coded(meta(kOk + "Content-Type: text/html\r\n\r\n", close_delimited(),
                                         S | E | L),
                                    K | T),
                              body("<html>...\r\n\r\nHTTP/1.1 200 OK\r\n</html>")}));
    cases.push_back(response("200-close-delimited-empty-body", {GET},
                             {meta(kOk + "\r\n", close_delimited(), S | E | L)}));
    cases.push_back(response("http10-content-length", {GET},
                             {meta("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n", cl(2), S | E | L),
                              body("ok")}));
    cases.push_back(response("http10-keep-alive-pipelined", {GET, GET},
                             {meta("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2"
                                   "\r\n\r\n",
                                   cl(2), S | E),
                              body("ok"),
                              meta("HTTP/1.0 404 Not Found\r\nConnection: keep-alive\r\n"
                                   "Content-Length: 0\r\n\r\n",
                                   none(), S | E)}));
    cases.push_back(response("http10-close-delimited", {GET},
                             {meta("HTTP/1.0 200 OK\r\n\r\n", close_delimited(), S | E | L),
                              body("rest")}));
    cases.push_back(response("204-no-body-then-next", {DELETE, GET},
                             {meta("HTTP/1.1 204 No Content\r\n\r\n", none(), S | E),
                              meta(kOk + "Content-Length: 1\r\n\r\n", cl(1), S | E), body("x")}));
    cases.push_back(response("304-no-body", {GET, GET},
                             {meta("HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n", none(), S | E),
                              meta("HTTP/1.1 304 Not Modified\r\n\r\n", none(), S | E)}));
    cases.push_back(response("304-with-content-length", {GET, GET},
                             {meta("HTTP/1.1 304 Not Modified\r\nContent-Length: 1234\r\n\r\n", none(),
                                   S | E),
                              meta(kOk + "Content-Length: 2\r\n\r\n", cl(2), S | E), body("ok")}));
    cases.push_back(response("head-with-content-length", {HEAD, GET},
                             {meta(kOk + "Content-Length: 1234\r\n\r\n", none(), S | E),
                              meta(kOk + "Content-Length: 3\r\n\r\n", cl(3), S | E), body("abc")}));
    cases.push_back(response("head-with-chunked", {HEAD, GET},
                             {meta(kChunkedOk, none(), S | E),
                              meta(kOk + "Content-Length: 3\r\n\r\n", cl(3), S | E), body("abc")}));
    cases.push_back(response("head-without-length", {HEAD},
                             {coded(meta(kOk + "Content-Type: text/plain\r\n\r\n", none(), S | E), K | T)}));
    cases.push_back(response("100-continue-then-200", {POST},
                             {meta("HTTP/1.1 100 Continue\r\n\r\n", none(), S | E | I),
                              meta(kOk + "Content-Length: 4\r\n\r\n", cl(4), S | E), body("done")}));
    cases.push_back(response("two-100-continue-then-201", {PUT},
                             {meta("HTTP/1.1 100 Continue\r\n\r\n", none(), S | E | I),
                              meta("HTTP/1.1 100 Continue\r\n\r\n", none(), S | E | I),
                              meta("HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n", none(),
                                   S | E)}));
    cases.push_back(response("103-early-hints", {GET},
                             {meta("HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n",
                                   none(), S | E | I),
                              meta(kOk + "Content-Length: 1\r\n\r\n", cl(1), S | E), body("x")}));
    cases.push_back(response("102-processing-then-head", {HEAD, GET},
                             {meta("HTTP/1.1 102 Processing\r\n\r\n", none(), S | E | I),
                              meta(kOk + "Content-Length: 9\r\n\r\n", none(), S | E),
                              meta(kOk + "Content-Length: 1\r\n\r\n", cl(1), S | E), body("x")}));
    cases.push_back(response("status-without-reason", {GET},
                             {meta("HTTP/1.1 200\r\nContent-Length: 1\r\n\r\n", cl(1), S | E),
                              body("x")}));
    cases.push_back(response("status-empty-reason", {GET},
                             {meta("HTTP/1.1 200 \r\nContent-Length: 1\r\n\r\n", cl(1), S | E),
                              body("x")}));
    cases.push_back(response("reason-obs-text-and-htab", {GET},
                             {meta("HTTP/1.1 200 Tr\xc3\xa8s\tbien\r\nContent-Length: 1\r\n\r\n", cl(1),
                                   S | E),
                              body("x")}));
    for (const char* status : {"201 Created", "206 Partial Content", "301 Moved Permanently",
                               "400 Bad Request", "404 Not Found", "500 Internal Server Error",
                               "503 Service Unavailable", "599 Custom"})
        cases.push_back(response(std::string("status-") + std::string(status).substr(0, 3), {GET},
                                 {meta("HTTP/1.1 " + std::string(status) +
                                           "\r\nContent-Length: 3\r\n\r\n",
                                       cl(3), S | E),
                                  body("abc")}));
    cases.push_back(response("404-chunked", {GET},
                             {meta("HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n9\r\n",
                                   chunk(9), S),
                              body("not found"), meta("\r\n0\r\n\r\n", none(), E)}));
    cases.push_back(response("pipelined-get-head-get", {GET, HEAD, GET},
                             {meta(kOk + "Content-Length: 2\r\n\r\n", cl(2), S | E), body("ab"),
                              meta(kOk + "Content-Length: 2\r\n\r\n", none(), S | E),
                              meta(kChunkedOk + "2\r\n", chunk(2), S), body("cd"),
                              meta("\r\n0\r\n\r\n", none(), E)}));
    cases.push_back(response("connection-close-response", {GET},
                             {meta(kOk + "Connection: close\r\nContent-Length: 2\r\n\r\n", cl(2),
                                   S | E | L),
                              body("ok")}));
    cases.push_back(response("upgrade-advertised-in-200", {GET},
                             {meta(kOk + "Upgrade: h2,h2c\r\nConnection: Upgrade\r\n"
                                         "Content-Length: 2\r\n\r\n",
                                   cl(2), S | E),
                              body("ok")}));
    cases.push_back(response("chunk-data-looks-like-response", {GET},
                             {meta(kChunkedOk + "13\r\n", chunk(19), S), body("HTTP/1.1 200 OK\r\n\r\n"),
                              meta("\r\n0\r\n\r\n", none(), E)}));
    cases.push_back(response("response-to-options-and-delete", {OPTIONS, DELETE},
                             {meta(kOk + "Allow: GET\r\nContent-Length: 0\r\n\r\n", none(), S | E),
                              meta("HTTP/1.1 202 Accepted\r\n\r\n", close_delimited(), S | E | L),
                              body("")}));
    cases.push_back(response("ends-in-status-line", {GET}, {partial("HTTP/1.1 20")}));
    cases.push_back(response("ends-in-chunk-data", {GET},
                             {meta(kChunkedOk + "a\r\n", chunk(10), S), body("0123")}));
}

void add_response_step_asides(std::vector<CorpusCase>& cases)
{
    auto aside_case = [&](std::string name, std::vector<uint8_t> methods, std::string bytes) {
        cases.push_back(response(std::move(name), std::move(methods), {aside(std::move(bytes))}));
    };
    aside_case("101-switching-protocols", {GET},
               "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
    aside_case("response-to-connect", {CONNECT}, "HTTP/1.1 200 Connection Established\r\n\r\n");
    aside_case("request-method-unknown", {}, kOk + "Content-Length: 0\r\n\r\n");
    aside_case("request-method-out-of-range", {200}, kOk + "Content-Length: 0\r\n\r\n");
    aside_case("request-method-one-past-other", {LIBRA_HTTP_METHOD_OTHER + 1},
               kOk + "Content-Length: 0\r\n\r\n");
    aside_case("204-with-content-length", {GET}, "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n");
    aside_case("204-with-chunked", {GET},
               "HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
    aside_case("100-with-content-length", {POST}, "HTTP/1.1 100 Continue\r\nContent-Length: 2\r\n\r\n");
    aside_case("100-with-chunked", {POST}, "HTTP/1.1 100 Continue\r\nTransfer-Encoding: chunked\r\n\r\n");
    aside_case("304-with-chunked", {GET},
               "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n");
    aside_case("content-length-and-chunked", {GET},
               kOk + "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
    aside_case("head-with-content-length-and-chunked", {HEAD},
               kOk + "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n");
    aside_case("te-gzip", {GET}, kOk + "Transfer-Encoding: gzip\r\n\r\nxxxx");
    aside_case("te-gzip-chunked", {GET}, kOk + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n");
    aside_case("duplicate-content-length", {GET},
               kOk + "Content-Length: 2\r\nContent-Length: 2\r\n\r\nok");
    aside_case("http10-chunked", {GET}, "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
    aside_case("version-2-0", {GET}, "HTTP/2.0 200 OK\r\n\r\n");
    aside_case("version-1-2", {GET}, "HTTP/1.2 200 OK\r\n\r\n");
    aside_case("status-four-digits", {GET}, "HTTP/1.1 2000 OK\r\n\r\n");
    aside_case("status-two-digits", {GET}, "HTTP/1.1 20 OK\r\n\r\n");
    aside_case("status-600", {GET}, "HTTP/1.1 600 Odd\r\n\r\n");
    aside_case("status-099", {GET}, "HTTP/1.1 099 Odd\r\n\r\n");
    aside_case("status-two-spaces", {GET}, "HTTP/1.1  200 OK\r\n\r\n");
    aside_case("status-line-bare-lf", {GET}, "HTTP/1.1 200 OK\nContent-Length: 0\n\n");
    aside_case("response-obs-fold", {GET}, kOk + "X-A: a\r\n b\r\nContent-Length: 0\r\n\r\n");
    aside_case("response-space-before-colon", {GET}, kOk + "Content-Length : 2\r\n\r\nok");
    aside_case("reason-control-char", {GET}, "HTTP/1.1 200 O\x01K\r\n\r\n");
    aside_case("http09-style-response", {GET}, "<html><body>hello</body></html>");
    aside_case("leading-crlf", {GET}, "\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    aside_case("icy-status-line", {GET}, "ICY 200 OK\r\n\r\n");
    aside_case("chunk-size-too-big", {GET}, kChunkedOk + "1000000000000000\r\n");
    cases.push_back(response("trailer-with-transfer-encoding", {GET},
                             {meta(kChunkedOk + "1\r\n", chunk(1), S), body("x"),
                              aside("\r\n0\r\nTransfer-Encoding: chunked\r\n\r\n")}));
    cases.push_back(response("after-connection-close", {GET, GET},
                             {meta(kOk + "Connection: close\r\nContent-Length: 0\r\n\r\n", none(),
                                   S | E | L),
                              aside(kOk + "Content-Length: 0\r\n\r\n")}));
    cases.push_back(response("second-response-unknown-method", {GET},
                             {meta(kOk + "Content-Length: 0\r\n\r\n", none(), S | E),
                              aside(kOk + "Content-Length: 0\r\n\r\n")}));
    cases.push_back(response("headers-over-limit", {GET},
                             {aside(kOk + "Set-Cookie: " + std::string(500, 'c') + "\r\n\r\n")}, 256));
}

// Runs of plain bytes (target, reason phrase, names and values that do not
// matter) go up to eight at a time, a step ending at the first byte that may end or
// break the run: such a byte is checked at every position of a 24-byte run,
// so each lands at every offset of a step's eight bytes (the step takes the
// plain bytes before it and feeds it alone), and in the bytes fed alone
// after the last step.
void add_plain_run_cases(std::vector<CorpusCase>& cases)
{
    const std::string run = "abcdefghijklmnopqrstuvwx";
    auto with = [&](size_t at, char c) {
        std::string bytes = run;
        bytes[at] = c;
        return bytes;
    };
    for (size_t at = 0; at < run.size(); at++) {
        const std::string n = std::to_string(at);
        for (const auto& [what, c] : {std::pair{"del", '\x7f'}, {"nul", '\0'}, {"lf", '\n'},
                                      {"cr", '\r'}, {"us", '\x1f'}}) {
            cases.push_back(request(std::string("value-run-") + what + "-at-" + n,
                                    {aside("GET / HTTP/1.1\r\nX-Run: " + with(at, c) + "\r\n\r\n")}));
            cases.push_back(response(std::string("reason-run-") + what + "-at-" + n, {GET},
                                     {aside("HTTP/1.1 200 " + with(at, c) + "\r\n\r\n")}));
        }
        for (const auto& [what, c] : {std::pair{"del", '\x7f'}, {"space", ' '}, {"us", '\x1f'},
                                      {"obs-text", '\x80'}, {"xff", '\xff'}}) {
            cases.push_back(request(std::string("target-run-") + what + "-at-" + n,
                                    {aside("GET /" + with(at, c) + " HTTP/1.1\r\n\r\n")}));
        }
        // what a run may hold: the edges of the allowed ranges
        const std::string value = with(at, "\t\x80\xff ~!"[at % 6]);
        cases.push_back(request("value-run-allowed-at-" + n,
                                {meta("GET / HTTP/1.1\r\nX-Run: " + value + "\r\n\r\n", none(), S | E)}));
        cases.push_back(response("reason-run-allowed-at-" + n, {GET},
                                 {meta("HTTP/1.1 200 " + value + "\r\nContent-Length: 0\r\n\r\n",
                                       none(), S | E)}));
        cases.push_back(request("target-run-allowed-at-" + n,
                                {meta("GET /" + with(at, "!~/?%"[at % 5]) + " HTTP/1.1\r\n\r\n",
                                      none(), S | E)}));
        // the whitespace before a value runs with it, and a line's LF
        // starts a unit: SP runs of every length up to 15, then the byte
        // that ends them, and a CR with something other than LF after it
        if (at < 16) {
            const std::string ows = "GET / HTTP/1.1\r\nX-Run:" + std::string(at, ' ');
            for (const auto& [what, c] : {std::pair{"del", '\x7f'}, {"us", '\x1f'}, {"nul", '\0'}})
                cases.push_back(request(std::string("value-ows-") + what + "-after-" + n,
                                        {aside_at(ows, std::string(1, c) + "v\r\n\r\n")}));
            cases.push_back(request("value-ows-htab-after-" + n,
                                    {meta(ows + "\t v\r\n\r\n", none(), S | E)}));
            cases.push_back(request("value-ows-then-value-after-" + n,
                                    {meta(ows + "v w\r\nX-Next: x\r\n\r\n", none(), S | E)}));
            cases.push_back(request("value-ows-then-empty-after-" + n,
                                    {meta(ows + "\r\nX-Next: x\r\n\r\n", none(), S | E)}));
            cases.push_back(request("value-ows-cr-without-lf-after-" + n,
                                    {aside_at(ows + "v\r", "X-Next: x\r\n\r\n")}));
            // before a value libra reads, the SPs run up to its first byte
            const std::string spaces(at, ' ');
            cases.push_back(response("content-length-ows-after-" + n, {GET},
                                     {meta(kOk + "Content-Length:" + spaces + "5\r\n\r\n", cl(5), S | E),
                                      body("hello")}));
            cases.push_back(response("content-length-ows-del-after-" + n, {GET},
                                     {aside_at(kOk + "Content-Length:" + spaces, "\x7f" "5\r\n\r\n")}));
            cases.push_back(response("connection-ows-after-" + n, {GET},
                                     {meta(kOk + "Connection:" + spaces + "close\r\nContent-Length: 0\r\n\r\n",
                                           none(), S | E | L)}));
            cases.push_back(response("content-type-ows-after-" + n, {GET},
                                     {coded(meta(kOk + "Content-Type:" + spaces +
                                                     "image/png\r\nContent-Length: 0\r\n\r\n",
                                                 none(), S | E),
                                            K)}));
        }
        // a field name no candidate matches any more ("X", or "Content-"
        // and then no name libra reads) runs too, up to a byte that is no
        // letter, digit, "-" or ".": 16 positions put each at every offset
        // of a step twice
        if (at >= 16)
            continue;
        for (const auto& [what, c] : {std::pair{"space", ' '}, {"cr", '\r'}, {"del", '\x7f'},
                                      {"paren", '('}, {"obs-text", '\x80'}}) {
            cases.push_back(request(std::string("name-run-") + what + "-at-" + n,
                                    {aside("GET / HTTP/1.1\r\nX" + with(at, c) + ": v\r\n\r\n")}));
        }
        for (const auto& [what, c] : {std::pair{"bang", '!'}, {"underscore", '_'}, {"colon", ':'}}) {
            cases.push_back(request(std::string("name-run-allowed-") + what + "-at-" + n,
                                    {meta("GET / HTTP/1.1\r\nX" + with(at, c) + ": v\r\n\r\n",
                                          none(), S | E)}));
        }
        for (const auto& [what, c] : {std::pair{"tilde", '~'}, {"colon", ':'}}) {
            cases.push_back(response(std::string("name-run-content-") + what + "-at-" + n, {GET},
                                     {meta(kOk + "Content-" + with(at, c) +
                                               ": v\r\nContent-Length: 0\r\n\r\n",
                                           none(), S | E)}));
        }
    }
}

// Field names that candidates still match run up to eight bytes at a time
// against them (libra_name_run()): each name libra reads, in mixed case, with
// one byte off at every position, cut short at every length, and with a byte
// after it. A near miss must read as any other field; the field it misses
// would change the outcome (a second Content-Length, a coding, a close), so a
// run that kept a candidate it should have dropped fails the case. A name
// matched one byte past a framing name's end ("Content-Lengthx") steps aside.
void add_name_run_cases(std::vector<CorpusCase>& cases)
{
    struct Name {
        std::string name;  // lower case
        bool request;
        std::string value;  // what the field would change, read as that name
        bool framing;
    };
    const std::vector<Name> names = {
        {"content-length", false, "5", true},
        {"transfer-encoding", false, "chunked", true},
        {"connection", false, "close", false},
        {"upgrade", true, "foo", false},
        {"accept-encoding", true, "gzip", false},
        {"content-encoding", false, "gzip", false},
        {"content-type", false, "image/png", false},
    };
    // every other byte upper case, from @first
    auto mixed_case = [](std::string text, size_t first) {
        for (size_t i = first; i < text.size(); i += 2)
            text[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(text[i])));
        return text;
    };
    for (const auto& n : names) {
        auto other_field = [&](const std::string& label, const std::string& field) {
            const std::string line = field + ": " + n.value + "\r\n";
            // the coding flags of a header without coding fields, said outright
            if (n.request)
                cases.push_back(request("name-" + label,
                                        {coded(meta("GET / HTTP/1.1\r\n" + line + "\r\n", none(), S | E),
                                               K)}));
            else
                cases.push_back(response("name-" + label, {GET},
                                         {coded(meta(kOk + line + "Content-Length: 0\r\n\r\n", none(),
                                                     S | E),
                                                K | T)}));
        };
        for (size_t at = 0; at < n.name.size(); at++) {
            std::string missed = mixed_case(n.name, at % 2);
            const char off = "x.9-"[at % 4];
            missed[at] = off == n.name[at] ? 'q' : off;
            other_field(n.name + "-off-at-" + std::to_string(at), missed);
            if (at > 0)
                other_field(n.name + "-cut-at-" + std::to_string(at), mixed_case(n.name.substr(0, at), 1));
        }
        for (const char after : std::string("x-.5_!")) {
            const std::string longer = mixed_case(n.name, 0) + after;
            const std::string label = n.name + "-then-" + std::to_string(static_cast<int>(after));
            if (!n.framing) {
                other_field(label, longer);
                continue;
            }
            const std::string head = kOk + "Server: s\r\n" + longer;
            cases.push_back(response("name-" + label, {GET},
                                     {aside_at(head.substr(0, head.size() - 1), head.substr(head.size() - 1) +
                                                                                ": " + n.value + "\r\n\r\n")}));
        }
    }
    // the names themselves, in mixed case, read as what they are
    cases.push_back(response("name-content-length-mixed-case", {GET},
                             {meta(kOk + "cOnTeNt-LeNgTh: 5\r\n\r\n", cl(5), S | E), body("hello")}));
    cases.push_back(response("name-transfer-encoding-mixed-case", {GET},
                             {meta(kOk + "tRaNsFeR-EnCoDiNg: chunked\r\n\r\n0\r\n\r\n", none(), S | E)}));
    cases.push_back(response("name-connection-mixed-case", {GET},
                             {meta(kOk + "cOnNeCtIoN: close\r\nContent-Length: 0\r\n\r\n", none(),
                                   S | E | L)}));
    cases.push_back(request("name-upgrade-mixed-case",
                            {aside("GET / HTTP/1.1\r\nuPgRaDe: foo\r\n\r\n")}));
    cases.push_back(request("name-accept-encoding-mixed-case",
                            {coded(meta("GET / HTTP/1.1\r\naCcEpT-EnCoDiNg: gzip\r\n\r\n", none(), S | E),
                                   K | A)}));
    cases.push_back(response("name-content-encoding-mixed-case", {GET},
                             {coded(meta(kOk + "cOnTeNt-EnCoDiNg: gzip\r\nContent-Length: 0\r\n\r\n",
                                         none(), S | E),
                                    K | T | C)}));
    cases.push_back(response("name-content-type-mixed-case", {GET},
                             {coded(meta(kOk + "cOnTeNt-TyPe: image/png\r\nContent-Length: 0\r\n\r\n",
                                         none(), S | E),
                                    K)}));
}

// Chunk extensions, RFC 9112 7.1.1:
//   chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
// with names and values tokens, values also quoted-strings. Each form is
// tried in a request's first chunk-size line (in the unit of the header), in
// a response's second one and, for some, in the last chunk's. A form the
// grammar rejects must make the parser step aside at the very byte that
// breaks it, however the windows fall (the corpus tries every split).
void add_chunk_extension_cases(std::vector<CorpusCase>& cases)
{
    const std::vector<std::pair<std::string, std::string>> accepted = {
        {"several", ";a=b;c;d=\"e\""},
        {"bws-everywhere", " ;\ta = \"q\"\t; b\t=\tc ;d"},
        {"htab-after-semicolon", ";\tname"},
        {"space-after-semicolon", "; name=value"},
        {"bws-before-next-extension", ";a ;b\t;c=d ;e=\"f\"\t;g"},
        {"quoted-empty", ";a=\"\""},
        {"quoted-pairs", ";a=\"\\\"\\\\\\\t\\ \\x\""},
        {"quoted-pair-obs-text", ";a=\"\\\xff\""},
        {"quoted-qdtext-edges", ";a=\"\t !#[]~\x80\xff\""},
        {"quoted-delimiters", ";a=\"b;c=d,e (f) /g\""},
        {"all-tchars", ";!#$%&'*+-.^_`|~09azAZ=!#$%&'*+-.^_`|~09azAZ"},
        {"long-quoted", ";a=\"" + std::string(200, 'q') + "\\\"" + std::string(50, ' ') + "\""},
    };
    for (const auto& [name, ext] : accepted) {
        cases.push_back(request("chunk-ext-" + name,
                                {meta(kChunkedPost + "5" + ext + "\r\n", chunk(5), S), body("hello"),
                                 meta("\r\n0\r\n\r\n", none(), E)}));
        cases.push_back(response("chunk-ext-" + name, {GET},
                                 {meta(kChunkedOk + "1\r\n", chunk(1), S), body("x"),
                                  meta("\r\n5" + ext + "\r\n", chunk(5), 0), body("hello"),
                                  meta("\r\n0" + ext + "\r\n\r\n", none(), E)}));
    }
    cases.push_back(request("chunk-ext-last-chunk-then-trailer",
                            {meta(kChunkedPost + "0;a=\"b\" ;c\r\nX-T: 1\r\n\r\n", none(), S | E)}));

    // Units exactly at the limit, split everywhere: the bytes the parser says
    // it still needs (need_min) never overshoot. Each line ends in the
    // shortest way out of some phase, so overshooting by one byte fails.
    for (const auto& [name, line] : std::vector<std::pair<std::string, std::string>>{
             {"bws", "5 ;x"}, {"name", "5;x"}, {"bws-after-name", "5;x ;y"},
             {"bws-before-equals", "5;x =y"}, {"token", "5;x=y"}, {"quoted", "5;x=\"\""},
             {"quoted-pair", "5;x=\"\\y\""}, {"bws-after-value", "5;x=y ;z"},
             {"every-phase", "5 ;\ta = \"q\\\"\"\t; b\t=\tc ;d"}}) {
        const std::string unit = kChunkedPost + line + "\r\n";
        cases.push_back(request("chunk-ext-" + name + "-at-exact-limit",
                                {meta(unit, chunk(5), S), body("hello"),
                                 meta("\r\n0\r\n\r\n", none(), E)},
                                static_cast<uint32_t>(unit.size())));
    }
    {
        const std::string unit = kChunkedPost + "5 ;\ta = \"q\\\"\"\t; b\t=\tc ;d\r\n";
        cases.push_back(request("chunk-ext-every-phase-one-over-limit",
                                {aside(unit + "hello\r\n0\r\n\r\n")},
                                static_cast<uint32_t>(unit.size() - 1)));
        const std::string first = kChunkedOk + "1\r\n";
        const std::string last = "\r\n0 ;\ta = \"q\\\"\"\t; b\t=\tc ;d;" +
                                 std::string(first.size(), 'e') + "\r\n\r\n";
        cases.push_back(response("last-chunk-ext-every-phase-at-exact-limit", {GET},
                                 {meta(first, chunk(1), S), body("x"), meta(last, none(), E)},
                                 static_cast<uint32_t>(last.size())));
    }

    // {name, the line up to the deciding byte, the deciding byte and the rest of the line}
    struct Rejected {
        std::string name, before, deciding;
    };
    const std::vector<Rejected> rejected = {
        // ";" without an extension name
        {"semicolon-alone", ";", "\r\n"},
        {"semicolon-space", "; ", "\r\n"},
        {"semicolon-htab", ";\t", "\r\n"},
        {"space-semicolon", " ;", "\r\n"},
        {"double-semicolon", ";", ";a\r\n"},
        {"semicolon-equals", ";", "=x\r\n"},
        {"semicolon-bws-equals", "; ", "=x\r\n"},
        {"trailing-semicolon", ";a;", "\r\n"},
        {"empty-extension-between", ";a;", ";b\r\n"},
        {"empty-extension-after-value", ";a=b; ", ";c\r\n"},
        // unterminated quoted-string
        {"unterminated-quoted", ";a=\"abc", "\r\n"},
        {"unterminated-quoted-empty", ";a=\"", "\r\n"},
        {"unterminated-quoted-escaped-dquote", ";a=\"x\\\"", "\r\n"},
        {"unterminated-quoted-backslash-cr", ";a=\"x\\", "\r\n"},
        {"unterminated-quoted-semicolon", ";a=\"x ; y", "\r\n"},
        // "=" without a value
        {"empty-value", ";a=", "\r\n"},
        {"empty-value-bws", ";a= ", "\r\n"},
        {"empty-value-then-extension", ";a=", ";b\r\n"},
        // whitespace before the CRLF
        {"trailing-space-after-name", ";a ", "\r\n"},
        {"trailing-htab-after-name", ";a\t", "\r\n"},
        {"trailing-space-after-token", ";a=b ", "\r\n"},
        {"trailing-space-after-quoted", ";a=\"b\" ", "\r\n"},
        // other bytes the grammar has no place for
        {"two-equals", ";a=b", "=c\r\n"},
        {"text-after-quoted", ";a=\"b\"", "c\r\n"},
        {"bws-then-name", ";a ", "b\r\n"},
        {"bws-then-token", ";a=b ", "c\r\n"},
        {"paren-value", ";a=", "(b)\r\n"},
        {"comma-in-name", ";a", ",b\r\n"},
        {"slash-in-name", ";a", "/b\r\n"},
        {"quoted-name", ";", "\"a\"\r\n"},
        {"dquote-in-token", ";a=b", "\"c\"\r\n"},
        {"obs-text-in-token", ";a=", "\xff\r\n"},
        {"obs-text-name", ";", "\x80\r\n"},
        {"control-in-quoted", ";a=\"", "\x01\"\r\n"},
        {"del-in-quoted", ";a=\"", "\x7f\"\r\n"},
        {"nul-in-quoted", ";a=\"", std::string("\0\"\r\n", 4)},
        {"control-after-backslash", ";a=\"\\", "\x01\"\r\n"},
        {"lf-in-quoted", ";a=\"x", "\ny\"\r\n"},
        {"lf-in-name", ";a", "\nb\r\n"},
        {"bare-cr-in-extension", ";a\r", "x\r\n"},
        {"htab-in-bws-before-first-semicolon", " ", "\t;a\r\n"},
    };
    for (const Rejected& r : rejected) {
        cases.push_back(request("chunk-ext-rejects-" + r.name,
                                {aside_at(kChunkedPost + "5" + r.before, r.deciding + "hello\r\n0\r\n\r\n")}));
        cases.push_back(response("chunk-ext-rejects-" + r.name, {GET},
                                 {meta(kChunkedOk + "1\r\n", chunk(1), S), body("x"),
                                  aside_at("\r\n5" + r.before, r.deciding + "hello\r\n0\r\n\r\n")}));
    }
    for (const Rejected& r : rejected) {
        if (r.name != "semicolon-alone" && r.name != "double-semicolon" &&
            r.name != "unterminated-quoted" && r.name != "unterminated-quoted-semicolon" &&
            r.name != "empty-value" && r.name != "trailing-space-after-token")
            continue;
        cases.push_back(request("last-chunk-ext-rejects-" + r.name,
                                {meta(kChunkedPost + "1\r\n", chunk(1), S), body("x"),
                                 aside_at("\r\n0" + r.before, r.deciding + "\r\n")}));
    }
}

// Content codings (docs/http-support.md, "Content codings"): what the
// MESSAGE_START unit of each message says, with K (CODINGS_KNOWN) always,
// A (ACCEPTS_CODING) for requests, C (CONTENT_CODED) and T (TEXTUAL) for
// responses. None of these fields ever makes the parser step aside. The
// corpus runs every case split at every byte and in 7-byte windows, so each
// value is also cut everywhere.
void add_content_coding_cases(std::vector<CorpusCase>& cases)
{
    // Accept-Encoding, on a request: {name, header fields, flags}
    const std::vector<std::tuple<std::string, std::string, uint32_t>> requests = {
        {"absent", "", K},
        {"gzip", "Accept-Encoding: gzip\r\n", K | A},
        {"browser", "Accept-Encoding: gzip, deflate, br, zstd\r\n", K | A},
        {"identity", "Accept-Encoding: identity\r\n", K},
        {"identity-q1", "Accept-Encoding: identity;q=1\r\n", K},
        {"identity-weight-ows", "Accept-Encoding:\tidentity ; q=1.000\t\r\n", K},
        {"identity-weight-upper-q", "Accept-Encoding: identity;Q=0.5\r\n", K},
        {"identity-twice-empty-elements", "Accept-Encoding: , ,identity,, identity ,\r\n", K},
        // q=0 still names the coding: reported (the way that anchors less)
        {"gzip-q0", "Accept-Encoding: gzip;q=0\r\n", K | A},
        {"identity-and-star-q0", "Accept-Encoding: identity, *;q=0\r\n", K | A},
        {"star", "Accept-Encoding: *\r\n", K | A},
        {"empty", "Accept-Encoding:\r\n", K},
        {"only-ows", "Accept-Encoding:   \r\n", K},
        {"upper-case", "ACCEPT-ENCODING: IDENTITY\r\n", K},
        {"mixed-case-gzip", "aCCEPT-eNCODING: GZip\r\n", K | A},
        {"identity-prefix", "Accept-Encoding: identit\r\n", K | A},
        {"identity-longer", "Accept-Encoding: identityx\r\n", K | A},
        {"identity-inside", "Accept-Encoding: x-identity\r\n", K | A},
        {"coding-after-identity", "Accept-Encoding: identity, br\r\n", K | A},
        {"two-fields-gzip-second", "Accept-Encoding: identity\r\nAccept-Encoding: gzip\r\n",
         K | A},
        {"two-fields-gzip-first", "Accept-Encoding: gzip\r\nX-A: 1\r\nAccept-Encoding: identity\r\n",
         K | A},
        {"two-fields-identity", "Accept-Encoding: identity\r\nAccept-Encoding: IDENTITY;q=1\r\n",
         K},
        {"long-value", "Accept-Encoding: " + std::string(40, ' ') + "identity" +
                           std::string(30, ',') + "identity;q=0.999\r\n",
         K},
        // off the grammar: reported (a proxy may find a coding in it)
        {"malformed-two-tokens", "Accept-Encoding: identity gzip\r\n", K | A},
        {"malformed-parameter", "Accept-Encoding: identity;foo=gzip\r\n", K | A},
        {"malformed-quoted", "Accept-Encoding: \"gzip\"\r\n", K | A},
        {"malformed-quoted-weight", "Accept-Encoding: identity;q=\"1\"\r\n", K | A},
        {"malformed-no-coding", "Accept-Encoding: ;q=1\r\n", K | A},
        {"malformed-obs-text", "Accept-Encoding: identit\xc3\xa9\r\n", K | A},
        // other names, and fields that only count in responses
        {"name-longer", "Accept-Encodings: gzip\r\n", K},
        {"name-shorter", "Accept-Encodin: gzip\r\n", K},
        {"accept-only", "Accept: text/html\r\nAccept-Language: gzip\r\n", K},
        {"response-fields-ignored",
         "Content-Encoding: gzip\r\nContent-Type: text/html\r\nContent-Length: 0\r\n", K},
    };
    for (const auto& [name, fields, coding] : requests)
        cases.push_back(request("coding-request-" + name,
                                {coded(meta("GET /page HTTP/1.1\r\nHost: h\r\n" + fields + "\r\n",
                                            none(), S | E),
                                       coding)}));
    cases.push_back(request(
        "coding-request-per-message",
        {coded(meta("GET /a HTTP/1.1\r\nAccept-Encoding: gzip\r\n\r\n", none(), S | E), K | A),
         coded(meta("GET /b HTTP/1.1\r\nAccept-Encoding: identity\r\n\r\n", none(), S | E), K),
         meta("GET /c HTTP/1.1\r\n\r\n", none(), S | E),
         coded(meta(kPostHead + "Accept-Encoding: br\r\nContent-Length: 2\r\n\r\n", cl(2), S | E),
               K | A),
         body("ok")}));
    cases.push_back(request(
        "coding-request-chunked-trailer",
        {coded(meta(kPostHead + "Accept-Encoding: identity\r\nTransfer-Encoding: chunked\r\n\r\n"
                                "3\r\n",
                    chunk(3), S),
               K),
         body("abc"),
         meta("\r\n0\r\nAccept-Encoding: gzip\r\nContent-Type: text/html\r\n\r\n", none(), E)}));

    // Content-Type and Content-Encoding, on a response: {name, header fields, flags}
    const std::vector<std::tuple<std::string, std::string, uint32_t>> responses = {
        {"absent", "", K | T},
        {"text-html-charset", "Content-Type: text/html; charset=utf-8\r\n", K | T},
        {"text-html-upper", "Content-Type: Text/HTML\r\n", K | T},
        {"text-plain", "content-type: text/plain\r\n", K | T},
        {"text-event-stream", "Content-Type: text/event-stream\r\n", K | T},
        {"problem-json", "Content-Type: application/problem+json\r\n", K | T},
        {"vnd-api-json", "Content-Type: application/vnd.api+json; charset=utf-8\r\n", K | T},
        {"json", "Content-Type: application/json\r\n", K | T},
        {"json-upper-charset", "CONTENT-TYPE: APPLICATION/JSON;charset=UTF-8\r\n", K | T},
        {"javascript", "Content-Type: application/javascript\r\n", K | T},
        {"ecmascript", "Content-Type: application/ecmascript\r\n", K | T},
        {"xml", "Content-Type: application/xml\r\n", K | T},
        {"x-javascript", "Content-Type: application/x-javascript; charset=utf-8\r\n", K | T},
        {"rss-xml", "Content-Type: application/rss+xml\r\n", K | T},
        {"atom-xml", "Content-Type: application/atom+xml\r\n", K | T},
        {"svg-xml", "Content-Type: image/svg+xml\r\n", K | T},
        {"plus-json-only", "Content-Type: application/+json\r\n", K | T},
        {"two-suffixes", "Content-Type: application/a+b+xml\r\n", K | T},
        {"image-png", "Content-Type: image/png\r\n", K},
        {"octet-stream", "Content-Type: application/octet-stream\r\n", K},
        {"font-woff2", "Content-Type: font/woff2\r\n", K},
        {"multipart", "Content-Type: multipart/form-data; boundary=xyz\r\n", K},
        {"video-params", "Content-Type: video/mp4 ;\tcodecs=\"avc1, mp4a; x\"\r\n", K},
        {"image-ows", "Content-Type:\t  image/png  \t\r\n", K},
        {"json-prefix", "Content-Type: application/jso\r\n", K},
        {"json-longer", "Content-Type: application/jsonx\r\n", K},
        {"json-not-suffix", "Content-Type: application/json+x\r\n", K},
        {"xml-dtd", "Content-Type: application/xml-dtd\r\n", K},
        {"x-javascript-longer", "Content-Type: application/x-javascriptx\r\n", K},
        {"svg-xml-longer", "Content-Type: image/svg+xmlx\r\n", K},
        {"empty-suffix", "Content-Type: image/svg+\r\n", K},
        {"json-other-type", "Content-Type: image/json\r\n", K},
        {"text-prefix", "Content-Type: tex/plain\r\n", K},
        {"text-longer", "Content-Type: textx/plain\r\n", K},
        {"application-longer", "Content-Type: applications/json\r\n", K},
        {"long-type", "Content-Type: applicationapplication/json\r\n", K},
        {"two-binary", "Content-Type: image/png\r\nContent-Type: image/gif\r\n", K},
        {"binary-then-text", "Content-Type: image/png\r\nContent-Type: text/html\r\n", K | T},
        {"text-then-binary", "Content-Type: text/html\r\nX-A: b\r\nContent-Type: image/png\r\n",
         K | T},
        // off the grammar: textual (the way that anchors less)
        {"malformed-empty", "Content-Type:\r\n", K | T},
        {"malformed-no-subtype", "Content-Type: image\r\n", K | T},
        {"malformed-empty-type", "Content-Type: /png\r\n", K | T},
        {"malformed-empty-subtype", "Content-Type: image/\r\n", K | T},
        {"malformed-empty-subtype-params", "Content-Type: image/;a=b\r\n", K | T},
        {"malformed-space-in-type", "Content-Type: image /png\r\n", K | T},
        {"malformed-space-after-slash", "Content-Type: image/ png\r\n", K | T},
        {"malformed-after-subtype", "Content-Type: image/png garbage\r\n", K | T},
        {"malformed-list", "Content-Type: image/png, image/gif\r\n", K | T},
        {"malformed-two-slashes", "Content-Type: image/png/x\r\n", K | T},
        {"malformed-obs-text", "Content-Type: image/p\xc3\xa9ng\r\n", K | T},
        {"other-names", "Content-Types: image/png\r\nX-Content-Type-Options: nosniff\r\n"
                        "Content-Type: image/png\r\n",
         K},
        // Content-Encoding
        {"gzip-binary", "Content-Type: image/png\r\nContent-Encoding: gzip\r\n", K | C},
        {"gzip-text", "Content-Encoding: gzip\r\nContent-Type: text/html\r\n", K | C | T},
        {"br-no-type", "Content-Encoding: br\r\n", K | C | T},
        {"identity", "Content-Encoding: identity\r\nContent-Type: text/css\r\n", K | T},
        {"identity-upper", "CONTENT-ENCODING: IDENTITY\r\n", K | T},
        {"identity-list", "Content-Encoding: identity , identity,\r\n", K | T},
        {"coding-list", "Content-Encoding: gzip, identity\r\n", K | C | T},
        {"coding-upper", "Content-Encoding: GZIP\r\n", K | C | T},
        {"coding-empty", "Content-Encoding:\r\n", K | T},
        {"identity-prefix", "Content-Encoding: identit\r\n", K | C | T},
        {"two-fields", "Content-Encoding: identity\r\nContent-Encoding: x-gzip\r\n", K | C | T},
        // a malformed Content-Encoding counts as none (the way that anchors less)
        {"malformed-parameter", "Content-Encoding: gzip;q=1\r\n", K | T},
        {"malformed-two-tokens", "Content-Encoding: gzip deflate\r\n", K | T},
        {"malformed-quoted", "Content-Encoding: \"gzip\"\r\n", K | T},
        {"malformed-then-coding", "Content-Encoding: identity;x=\"a, gzip \"\r\n", K | T},
        {"malformed-and-valid", "Content-Encoding: gzip x\r\nContent-Encoding: br\r\n", K | C | T},
        {"request-field-ignored", "Accept-Encoding: gzip\r\nContent-Type: image/png\r\n", K},
    };
    for (const auto& [name, fields, coding] : responses)
        cases.push_back(response("coding-response-" + name, {GET},
                                 {coded(meta(kOk + fields + "Content-Length: 5\r\n\r\n", cl(5),
                                             S | E),
                                        coding),
                                  body("hello")}));
    cases.push_back(response(
        "coding-response-per-message", {HEAD, GET, GET},
        {coded(meta(kOk + "Content-Type: text/html\r\nContent-Length: 9\r\n\r\n", none(), S | E),
               K | T),
         coded(meta(kOk + "Content-Type: image/png\r\nContent-Encoding: gzip\r\n"
                          "Content-Length: 2\r\n\r\n",
                    cl(2), S | E),
               K | C),
         body("ok"), meta(kOk + "Content-Length: 0\r\n\r\n", none(), S | E)}));
    cases.push_back(response(
        "coding-response-interim", {GET},
        {meta("HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n", none(), S | E | I),
         coded(meta(kOk + "Content-Type: application/wasm\r\nContent-Length: 1\r\n\r\n", cl(1),
                    S | E),
               K),
         body("x")}));
    cases.push_back(response(
        "coding-response-304", {GET},
        {coded(meta("HTTP/1.1 304 Not Modified\r\nContent-Type: image/png\r\n\r\n", none(), S | E),
               K)}));
    cases.push_back(response(
        "coding-response-chunked-trailers", {GET},
        {coded(meta(kOk + "Content-Type: image/png\r\nContent-Encoding: gzip\r\n"
                          "Transfer-Encoding: chunked\r\n\r\n4\r\n",
                    chunk(4), S),
               K | C),
         body("abcd"),
         meta("\r\n0\r\nContent-Type: text/html\r\nContent-Encoding: identity\r\n"
              "Accept-Encoding: gzip\r\n\r\n",
              none(), E)}));
    cases.push_back(response(
        "coding-response-close-delimited", {GET},
        {coded(meta("HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n", close_delimited(),
                    S | E | L),
               K | T),
         body("{}")}));
}

// Methods (docs/http-support.md, "Methods"): any token of 1 to 32 bytes is a
// method, framed like any other request (RFC 9112 6.3); the ABI's names are
// matched case-sensitively, every other token is OTHER (expected_trace_of()
// takes the method from the request line, method_facts.h). A response to
// OTHER is framed like a response to GET. A method that is no token makes
// the parser step aside at the byte that shows it.
void add_method_cases(std::vector<CorpusCase>& cases)
{
    // WebDAV (RFC 4918), with and without bodies
    cases.push_back(request("method-webdav",
                            {meta("PROPFIND / HTTP/1.1\r\n\r\n", none(), S | E)}));
    cases.push_back(request(
        "method-webdav-propfind-content-length",
        {coded(meta("PROPFIND /dav/ HTTP/1.1\r\nHost: h\r\nDepth: 1\r\n"
                    "Content-Type: application/xml\r\nContent-Length: 20\r\n\r\n",
                    cl(20), S | E),
               K),  // (Content-Type says nothing in a request)
         body("<propfind xmlns=\"\"/>")}));
    cases.push_back(request("method-webdav-mkcol",
                            {meta("MKCOL /dav/new/ HTTP/1.1\r\nHost: h\r\n\r\n", none(), S | E)}));
    cases.push_back(request(
        "method-webdav-proppatch-chunked",
        {meta("PROPPATCH /dav/a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4;n=v\r\n", chunk(4),
              S),
         body("<a/>"), meta("\r\n0\r\n\r\n", none(), E)}));
    for (const char* method : {"COPY", "MOVE", "LOCK", "UNLOCK", "REPORT", "SEARCH", "M-SEARCH",
                               "PURGE", "QUERY"})
        cases.push_back(request(std::string("method-other-") + method,
                                {meta(std::string(method) + " /r HTTP/1.1\r\nHost: h\r\n"
                                                            "Content-Length: 3\r\n\r\n",
                                      cl(3), S | E),
                                 body("abc"), meta(kGet, none(), S | E)}));
    // custom methods, and tokens that only look like the ABI's names
    cases.push_back(request("method-unknown", {meta("FOO / HTTP/1.1\r\n\r\n", none(), S | E)}));
    cases.push_back(request("method-foo-content-length",
                            {meta("FOO /x HTTP/1.1\r\nContent-Length: 5\r\n\r\n", cl(5), S | E),
                             body("hello")}));
    cases.push_back(request("method-foo-chunked",
                            {meta("FOO /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;a=\"b\"\r\n",
                                  chunk(3), S),
                             body("abc"), meta("\r\n0\r\nX-T: 1\r\n\r\n", none(), E)}));
    cases.push_back(request("method-foo-asterisk",
                            {meta("FOO * HTTP/1.1\r\nHost: h\r\n\r\n", none(), S | E)}));
    cases.push_back(request("method-foo-http10",
                            {meta("FOO / HTTP/1.0\r\nContent-Length: 2\r\n\r\n", cl(2), S | E | L),
                             body("ok")}));
    cases.push_back(request("method-get-with-suffix",
                            {meta("GETX / HTTP/1.1\r\n\r\n", none(), S | E)}));
    cases.push_back(request("method-get-with-prefix",
                            {meta("XGET / HTTP/1.1\r\n\r\n", none(), S | E)}));
    cases.push_back(request("method-prefix-of-options",
                            {meta("OPTION / HTTP/1.1\r\n\r\n", none(), S | E)}));
    cases.push_back(request("method-prefix-of-connect",
                            {meta("CONNEC / HTTP/1.1\r\n\r\n", none(), S | E)}));
    cases.push_back(request("method-too-long",
                            {meta("OPTIONSX * HTTP/1.1\r\n\r\n", none(), S | E)}));
    cases.push_back(request("method-one-char", {meta("X / HTTP/1.1\r\n\r\n", none(), S | E)}));
    cases.push_back(request("method-all-tchars",
                            {meta("!#$%&'*+-.^_`|~09azAZ / HTTP/1.1\r\n\r\n", none(), S | E)}));
    {
        const std::string longest(32, 'M');  // LIBRA_METHOD_CHARS_MAX
        cases.push_back(request("method-32-bytes",
                                {meta(longest + " / HTTP/1.1\r\nContent-Length: 1\r\n\r\n", cl(1),
                                      S | E),
                                 body("z")}));
        cases.push_back(request("method-33-bytes", {aside_at(longest, "M / HTTP/1.1\r\n\r\n")}));
        cases.push_back(request("method-33-bytes-after-a-request",
                                {meta(kGet, none(), S | E),
                                 aside_at(longest, "x / HTTP/1.1\r\n\r\n")}));
    }
    // case-sensitive: lower case is another method
    cases.push_back(request("method-lowercase", {meta("get / HTTP/1.1\r\n\r\n", none(), S | E)}));
    cases.push_back(request("method-lowercase-post-content-length",
                            {meta("post /u HTTP/1.1\r\nContent-Length: 3\r\n\r\n", cl(3), S | E),
                             body("abc")}));
    cases.push_back(request("method-mixed-case",
                            {meta("Get / HTTP/1.1\r\n\r\n", none(), S | E),
                             meta("gET / HTTP/1.1\r\n\r\n", none(), S | E),
                             meta("Head / HTTP/1.1\r\n\r\n", none(), S | E),
                             meta("HEAD / HTTP/1.1\r\n\r\n", none(), S | E)}));
    // "connect" is not CONNECT; a tunnel's authority-form target still steps aside
    cases.push_back(request("method-lowercase-connect",
                            {meta("connect /x HTTP/1.1\r\n\r\n", none(), S | E)}));
    cases.push_back(request("method-lowercase-connect-authority-form",
                            {aside_at("connect ", "example.com:443 HTTP/1.1\r\n\r\n")}));
    cases.push_back(request(
        "method-other-pipelined",
        {meta("PROPFIND /a HTTP/1.1\r\nContent-Length: 2\r\n\r\n", cl(2), S | E), body("ab"),
         meta("get /b HTTP/1.1\r\n\r\n", none(), S | E),
         meta("BREW /pot HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n", chunk(1), S),
         body("c"), meta("\r\n0\r\n\r\n", none(), E), meta(kGet, none(), S | E),
         meta("X-Y_Z /c HTTP/1.1\r\nConnection: close\r\n\r\n", none(), S | E | L)}));
    cases.push_back(request(
        "method-other-coding-flags",
        {coded(meta("FOO / HTTP/1.1\r\nAccept-Encoding: gzip\r\n\r\n", none(), S | E), K | A)}));

    // the rest of the request line stays as strict as for any method
    cases.push_back(request("method-other-absolute-form",
                            {aside_at("FOO ", "http://example.com/ HTTP/1.1\r\n\r\n")}));
    cases.push_back(request("method-other-authority-form",
                            {aside_at("MKCOL ", "example.com:80 HTTP/1.1\r\n\r\n")}));
    cases.push_back(request("method-other-http09", {aside_at("FOO /", "\r\n")}));
    cases.push_back(request("method-other-two-spaces", {aside_at("FOO ", " / HTTP/1.1\r\n\r\n")}));
    cases.push_back(request("method-other-version-2",
                            {aside_at("FOO / HTTP/", "2.0\r\n\r\n")}));
    cases.push_back(request("method-other-upgrade",
                            {aside("FOO / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")}));
    cases.push_back(request("method-other-content-length-and-chunked",
                            {aside("PROPFIND / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: "
                                   "chunked\r\n\r\n0\r\n\r\n")}));
    cases.push_back(request("method-other-duplicate-content-length",
                            {aside("FOO / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n"
                                   "abc")}));
    cases.push_back(request("method-other-after-connection-close",
                            {meta("FOO / HTTP/1.1\r\nConnection: close\r\n\r\n", none(), S | E | L),
                             aside_at("", "BAR / HTTP/1.1\r\n\r\n")}));

    // methods that are no token: {name, the bytes before the deciding one, it and the rest}
    struct Rejected {
        std::string name, before, deciding;
    };
    const std::vector<Rejected> rejected = {
        {"empty", "", " / HTTP/1.1\r\n\r\n"},
        {"empty-two-spaces", "", "  / HTTP/1.1\r\n\r\n"},
        {"slash", "GET", "/ / HTTP/1.1\r\n\r\n"},
        {"colon", "GET", ": / HTTP/1.1\r\n\r\n"},
        {"paren", "M", "(X) / HTTP/1.1\r\n\r\n"},
        {"brackets", "", "[GET] / HTTP/1.1\r\n\r\n"},
        {"braces", "GE", "{T} / HTTP/1.1\r\n\r\n"},
        {"dquote", "", "\"GET\" / HTTP/1.1\r\n\r\n"},
        {"comma", "GET", ",POST / HTTP/1.1\r\n\r\n"},
        {"semicolon", "GET", ";x / HTTP/1.1\r\n\r\n"},
        {"equals", "A", "=B / HTTP/1.1\r\n\r\n"},
        {"at-sign", "GET", "@ / HTTP/1.1\r\n\r\n"},
        {"question-mark", "GET", "? / HTTP/1.1\r\n\r\n"},
        {"backslash", "GE", "\\T / HTTP/1.1\r\n\r\n"},
        {"obs-text", "G", "\xc3\xa9T / HTTP/1.1\r\n\r\n"},
        {"x80", "", "\x80 / HTTP/1.1\r\n\r\n"},
        {"xff", "PROPFIND", "\xff / HTTP/1.1\r\n\r\n"},
        {"nul", "GE", std::string("\0T / HTTP/1.1\r\n\r\n", 17)},
        {"control", "GE", "\x01T / HTTP/1.1\r\n\r\n"},
        {"del", "GET", "\x7f / HTTP/1.1\r\n\r\n"},
        {"htab-after", "GET", "\t/ HTTP/1.1\r\n\r\n"},
        {"htab-first", "", "\tGET / HTTP/1.1\r\n\r\n"},
        {"cr", "FOO", "\r\n\r\n"},
        {"lf", "FOO", "\n/ HTTP/1.1\r\n\r\n"},
        {"status-line", "HTTP", "/1.1 200 OK\r\n\r\n"},
    };
    for (const Rejected& r : rejected) {
        cases.push_back(request("method-rejects-" + r.name, {aside_at(r.before, r.deciding)}));
        cases.push_back(request("method-rejects-" + r.name + "-after-other",
                                {meta("FOO / HTTP/1.1\r\nContent-Length: 1\r\n\r\n", cl(1), S | E),
                                 body("x"), aside_at(r.before, r.deciding)}));
    }

    // responses to OTHER: framed by their header, like responses to GET
    constexpr uint8_t OTHER = LIBRA_HTTP_METHOD_OTHER;
    cases.push_back(response("response-to-other-content-length", {OTHER},
                             {meta(kOk + "Content-Length: 5\r\n\r\n", cl(5), S | E), body("hello")}));
    cases.push_back(response("response-to-other-207-multi-status", {OTHER},
                             {coded(meta("HTTP/1.1 207 Multi-Status\r\nContent-Type: application/xml"
                                         "\r\nContent-Length: 13\r\n\r\n",
                                         cl(13), S | E),
                                    K | T),
                              body("<multistatus>")}));
    cases.push_back(response("response-to-other-chunked", {OTHER},
                             {meta(kChunkedOk + "5\r\n", chunk(5), S), body("hello"),
                              meta("\r\n6;a=b\r\n", chunk(6), 0), body(" world"),
                              meta("\r\n0\r\nX-T: 1\r\n\r\n", none(), E)}));
    cases.push_back(response("response-to-other-close-delimited", {OTHER},
                             {meta(kOk + "\r\n", close_delimited(), S | E | L),
                              body("the rest\r\n\r\nHTTP/1.1 200 OK\r\n\r\n")}));
    // not a tunnel: a 200 without framing fields is close-delimited
    cases.push_back(response("response-to-other-2xx-is-no-tunnel", {OTHER},
                             {meta("HTTP/1.1 200 Connection Established\r\n\r\n", close_delimited(),
                                   S | E | L),
                              body("\x16\x03\x01")}));
    cases.push_back(response("response-to-other-content-length-zero", {OTHER, OTHER},
                             {meta(kOk + "Content-Length: 0\r\n\r\n", none(), S | E),
                              meta(kOk + "Content-Length: 1\r\n\r\n", cl(1), S | E), body("x")}));
    cases.push_back(response("response-to-other-bodiless-statuses", {OTHER, OTHER, OTHER},
                             {meta("HTTP/1.1 100 Continue\r\n\r\n", none(), S | E | I),
                              meta("HTTP/1.1 102 Processing\r\n\r\n", none(), S | E | I),
                              meta("HTTP/1.1 204 No Content\r\n\r\n", none(), S | E),
                              meta("HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n",
                                   none(), S | E),
                              meta("HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n", cl(2),
                                   S | E),
                              body("ok")}));
    // a response to "head" (another method than HEAD) has its body
    cases.push_back(response("response-to-other-and-head", {OTHER, HEAD, OTHER, GET},
                             {meta(kOk + "Content-Length: 3\r\n\r\n", cl(3), S | E), body("abc"),
                              meta(kOk + "Content-Length: 3\r\n\r\n", none(), S | E),
                              meta(kChunkedOk + "2\r\n", chunk(2), S), body("de"),
                              meta("\r\n0\r\n\r\n", none(), E),
                              meta(kOk + "Content-Length: 1\r\n\r\n", cl(1), S | E), body("f")}));
    cases.push_back(response("response-to-other-http10", {OTHER},
                             {meta("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n", cl(2), S | E | L),
                              body("ok")}));
    cases.push_back(response("response-to-other-101", {OTHER},
                             {aside("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                                    "Connection: Upgrade\r\n\r\n")}));
    cases.push_back(response("response-to-other-204-with-content-length", {OTHER},
                             {aside("HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n")}));
    cases.push_back(response("response-to-other-content-length-and-chunked", {OTHER},
                             {aside(kOk + "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n")}));
    // the next request unknown: UNKNOWN still steps aside
    cases.push_back(response("response-to-other-then-unknown", {OTHER},
                             {meta(kOk + "Content-Length: 1\r\n\r\n", cl(1), S | E), body("x"),
                              aside(kOk + "Content-Length: 0\r\n\r\n")}));
}

}  // namespace

std::vector<CorpusCase> corpus_cases()
{
    std::vector<CorpusCase> cases;
    add_valid_requests(cases);
    add_request_step_asides(cases);
    add_valid_responses(cases);
    add_response_step_asides(cases);
    add_plain_run_cases(cases);
    add_name_run_cases(cases);
    add_chunk_extension_cases(cases);
    add_content_coding_cases(cases);
    add_method_cases(cases);
    return cases;
}

}  // namespace libra::parser_test
