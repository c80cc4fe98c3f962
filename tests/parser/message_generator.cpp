#include "message_generator.h"

#include <algorithm>

#include "chunk_ext_grammar.h"
#include "libra_http.h"
#include "method_facts.h"

namespace libra::parser_test {

enum class MessageGenerator::Damage {
    None,
    DuplicateContentLength,
    ConflictingContentLength,
    ContentLengthAndChunked,
    OddTransferEncoding,
    TwoTransferEncodings,
    BadContentLengthValue,
    BadChunkSize,
    OversizedChunkSize,
    BadChunkExtension,  // documented: RFC 9112 rejects it, libhttp-parser may not
    BadVersion,
    Http09,
    Http2Preface,
    MethodNotAToken,  // empty, or a byte outside tchar
    MethodTooLong,    // a token longer than kMethodMax
    Upgrade,
    Connect,
    SwitchingProtocols,
    BodilessStatusWithLength,
    ControlCharInValue,
    ConnectionCloseMidStream,
    FramingFieldInTrailer,
    TinyHeaderLimit,
    // applied to the finished text
    BareLf,
    ObsFold,
    SpaceBeforeColon,
    LeadingCrlf,
    ByteOverwrite,
    ByteDelete,
    ByteInsert,
    Truncate,
    kCount,
};

namespace {

const std::string kTchars = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const std::string kPathChars =
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@%/?#";

struct MethodName {
    const char* name;
    uint8_t method;
};
const std::vector<MethodName> kRequestMethods = {
    {"GET", LIBRA_HTTP_METHOD_GET},         {"GET", LIBRA_HTTP_METHOD_GET},
    {"HEAD", LIBRA_HTTP_METHOD_HEAD},       {"POST", LIBRA_HTTP_METHOD_POST},
    {"PUT", LIBRA_HTTP_METHOD_PUT},         {"DELETE", LIBRA_HTTP_METHOD_DELETE},
    {"OPTIONS", LIBRA_HTTP_METHOD_OPTIONS}, {"TRACE", LIBRA_HTTP_METHOD_TRACE},
    {"PATCH", LIBRA_HTTP_METHOD_PATCH},
};
// LIBRA_HTTP_METHOD_OTHER: methods libhttp-parser knows (WebDAV, UPnP ...)
// and tokens it does not (custom, lower case), which the reference parses as
// GET (reference_parser.h)
const std::vector<std::string> kOtherMethods = {
    "PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK", "REPORT", "SEARCH",
    "M-SEARCH", "PURGE", "MKCALENDAR", "SOURCE", "FOO", "BREW", "QUERY", "get", "Get", "head",
    "post", "connect", "GETS", "OPTIONSX", "PRI", "X", "~", "X-Custom_Method.1!",
};
// Methods that are no token, each followed by the request line's SP: never a
// SP inside (that would end the method)
const std::vector<std::string> kBadMethods = {
    "", "GET/", "GET:", "G(T", "[GET]", "GE\"T", "G,ET", "GET@", "GE;T", "G=T", "GE{T}",
    "GE\\T", "GE?T", "GE\x01T", "GET\x7f", "G\xc3\xa9T", "GET\t", "\x80", std::string("GE\0T", 4),
    "GET\r\n", "GE\nT",
};

const std::vector<int> kFinalStatuses = {200, 200, 200, 201, 204, 206, 301, 302,
                                         304, 400, 404, 500, 503, 599};
const std::vector<int> kInterimStatuses = {100, 102, 103};

std::string with_random_case(std::string text, std::mt19937_64& rng)
{
    for (char& c : text)
        if (std::bernoulli_distribution(0.3)(rng) && c >= 'a' && c <= 'z')
            c = static_cast<char>(c - 'a' + 'A');
    return text;
}

const char* hex_digits(bool upper) { return upper ? "0123456789ABCDEF" : "0123456789abcdef"; }

std::string to_hex(uint64_t value, bool upper)
{
    std::string digits;
    do {
        digits.insert(digits.begin(), hex_digits(upper)[value & 15]);
        value >>= 4;
    } while (value);
    return digits;
}

}  // namespace

std::string MessageGenerator::random_token(size_t min, size_t max)
{
    std::string token;
    for (size_t n = uniform(min, max); n > 0; n--)
        token += kTchars[uniform(0, kTchars.size() - 1)];
    return token;
}

std::string MessageGenerator::random_field_value(size_t max)
{
    std::string value;
    for (size_t n = uniform(0, max); n > 0; n--) {
        size_t kind = uniform(0, 19);
        if (kind == 0)
            value += ' ';
        else if (kind == 1)
            value += '\t';
        else if (kind == 2)
            value += static_cast<char>(uniform(0x80, 0xff));
        else
            value += static_cast<char>(uniform(0x21, 0x7e));
    }
    return value;
}

std::string MessageGenerator::random_body(size_t length)
{
    std::string body;
    for (size_t i = 0; i < length; i++)
        body += static_cast<char>(uniform(0, 255));  // bodies are opaque: anything goes
    return body;
}

std::string MessageGenerator::header_line(const std::string& name, const std::string& value)
{
    return name + ":" + pick(std::vector<std::string>{"", " ", " ", "\t", "  "}) + value + "\r\n";
}

// RFC 9112 7.1.1: *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] ),
// without HTAB before the first ";" (libhttp-parser refuses it there)
std::string MessageGenerator::random_chunk_ext()
{
    auto bws = [&](bool htab) {
        std::string ws;
        if (coin(0.4))
            for (size_t n = uniform(1, 2); n > 0; n--)
                ws += htab && coin(0.4) ? '\t' : ' ';
        return ws;
    };
    std::string ext;
    for (size_t i = 0, n = uniform(1, 3); i < n; i++) {
        ext += bws(i > 0) + ";" + bws(true) + random_token(1, 8);
        if (coin(0.6))
            ext += bws(true) + "=" + bws(true) +
                   (coin(0.5) ? random_token(1, 8) : random_quoted_string(12));
    }
    return ext;
}

// Accept-Encoding (@weights) or Content-Encoding values: typical ones, lists
// of codings near and far from "identity", and now and then bytes off the
// grammar (still valid field content).
std::string MessageGenerator::random_coding_list(bool weights)
{
    if (coin(0.3))
        return pick(std::vector<std::string>{"gzip, deflate, br, zstd", "gzip, deflate", "identity",
                                              "identity;q=1", "gzip;q=0", "*", "", "br",
                                              "gzip, identity"});
    if (coin(0.1))
        return random_field_value(24);
    std::string value;
    for (size_t i = 0, n = uniform(1, 3); i < n; i++) {
        if (i > 0)
            value += pick(std::vector<std::string>{",", ", ", " ,\t", ",,"});
        value += with_random_case(pick(std::vector<std::string>{"identity", "identity", "gzip", "br",
                                                                "*", "x-gzip", "identit",
                                                                "identityx", random_token(1, 8)}),
                                  rng_);
        if (weights && coin(0.3))
            value += pick(std::vector<std::string>{";q=0", ";q=1", "; q=0.5", " ;Q=1.000", ";q=0.001"});
    }
    return value;
}

// Content-Type values: textual and binary types, near misses, parameters,
// and now and then bytes off the grammar.
std::string MessageGenerator::random_media_type()
{
    if (coin(0.1))
        return random_field_value(24);
    std::string type = pick(std::vector<std::string>{"text", "application", "application", "image",
                                                     "font", "video", "multipart", "tex",
                                                     random_token(1, 12)});
    std::string subtype = pick(std::vector<std::string>{
        "html", "plain", "json", "xml", "javascript", "ecmascript", "x-javascript", "rss+xml",
        "atom+xml", "svg+xml", "problem+json", "vnd.api+json", "octet-stream", "png", "jsonx",
        "xml-dtd", "json+x", "+json", random_token(1, 12)});
    std::string value = with_random_case(type, rng_) + "/" + with_random_case(subtype, rng_);
    if (coin(0.4))
        value += pick(std::vector<std::string>{"; charset=utf-8", ";charset=UTF-8", " ; q=\"a;b,c\"",
                                               "\t;x", ";"});
    if (coin(0.05))
        value.insert(uniform(0, value.size()), pick(std::vector<std::string>{" ", ",", "/", "\""}));
    return value;
}

// One of the fields whose coding facts the parser reports; now and then one
// that only counts in the other direction (then it must change nothing).
std::string MessageGenerator::coding_field(bool response)
{
    size_t which = response ? uniform(1, 2) : 0;
    if (coin(0.1))
        which = response ? 0 : uniform(1, 2);
    switch (which) {
    case 0:
        return header_line(with_random_case("accept-encoding", rng_), random_coding_list(true));
    case 1:
        return header_line(with_random_case("content-encoding", rng_), random_coding_list(false));
    default:
        return header_line(with_random_case("content-type", rng_), random_media_type());
    }
}

// DQUOTE *( qdtext / quoted-pair ) DQUOTE
std::string MessageGenerator::random_quoted_string(size_t max)
{
    std::string text = "\"";
    for (size_t n = uniform(0, max); n > 0; n--) {
        switch (uniform(0, 9)) {
        case 0:  // quoted-pair: HTAB, SP, VCHAR, obs-text
            text += '\\';
            text += pick(std::vector<char>{'"', '\\', '\t', ' ', 'n', ';', '\x7e', '\x80', '\xff'});
            break;
        case 1:
            text += static_cast<char>(uniform(0x80, 0xff));
            break;
        case 2:
            text += pick(std::vector<char>{' ', '\t', ';', '=', ',', '!', '#', '[', ']', '~'});
            break;
        default: {
            char c = static_cast<char>(uniform(0x21, 0x7e));
            text += c == '"' || c == '\\' ? 'q' : c;
            break;
        }
        }
    }
    return text + "\"";
}

std::string MessageGenerator::chunked_body(bool response, Damage damage)
{
    std::string body;
    size_t chunks = uniform(0, 4);
    // Damage::BadChunkExtension: in chunk bad_at (chunks: the last chunk)
    const size_t bad_at = damage == Damage::BadChunkExtension ? uniform(0, chunks) : SIZE_MAX;
    auto bad_extension = [&](const std::string& size_text) {
        const ChunkExtLeniency& leniency = pick(documented_chunk_ext_leniencies());
        const std::string ext = pick(leniency.extensions);
        const size_t deciding = chunk_line_deciding_byte(size_text + ext).value_or(0);
        bad_ext_category_ = leniency.category;
        bad_ext_text_ = ext;
        bad_ext_from_end_ = body.size() + deciding;  // offset for now; made relative below
        return ext;
    };
    for (size_t i = 0; i < chunks; i++) {
        size_t size = uniform(1, 120);
        std::string size_text = std::string(uniform(0, 2), '0') + to_hex(size, coin(0.5));
        if (damage == Damage::BadChunkSize && i == 0)
            size_text = pick(std::vector<std::string>{size_text + "g", "-" + size_text,
                                                      " " + size_text, size_text + " ",
                                                      size_text + "\t;x", "", "0x" + size_text});
        if (damage == Damage::OversizedChunkSize && i == 0)
            size_text = pick(std::vector<std::string>{"10000000000000000", "FFFFFFFFFFFFFFFF",
                                                      "0000000000000001"});
        std::string extension;
        if (coin(0.2))
            extension = coin(0.5) ? pick(std::vector<std::string>{";a=b", ";ext", " ;x=\"q ; r\"", ";n"})
                                  : random_chunk_ext();
        if (i == bad_at)
            extension = bad_extension(size_text);
        body += size_text + extension + "\r\n" + random_body(size) + "\r\n";
    }
    const std::string last_size = std::string(uniform(1, 2), '0');
    std::string last_extension;
    if (coin(0.1))
        last_extension = coin(0.5) ? ";end" : random_chunk_ext();
    if (bad_at == chunks)
        last_extension = bad_extension(last_size);
    body += last_size + last_extension + "\r\n";
    size_t trailers = coin(0.2) ? uniform(1, 2) : 0;
    for (size_t i = 0; i < trailers; i++)
        body += coin(0.2) ? coding_field(response)
                          : header_line("X-Trailer-" + random_token(1, 6), random_field_value(12));
    if (damage == Damage::FramingFieldInTrailer)
        body += pick(std::vector<std::string>{"Content-Length: 5\r\n", "Transfer-Encoding: chunked\r\n",
                                              "Connection: close\r\n"});
    body += "\r\n";
    if (bad_at != SIZE_MAX)
        bad_ext_from_end_ = body.size() - bad_ext_from_end_;
    return body;
}

// A request's method and what Libra reports it as: mostly the ones the ABI
// names, now and then any other token (LIBRA_HTTP_METHOD_OTHER), never CONNECT.
std::pair<std::string, uint8_t> MessageGenerator::random_method()
{
    if (coin(0.85)) {
        const MethodName& method = pick(kRequestMethods);
        return {method.name, method.method};
    }
    std::string name = coin(0.6) ? pick(kOtherMethods) : random_token(1, kMethodMax);
    if (method_code(name) == LIBRA_HTTP_METHOD_CONNECT)
        name = "FOO";  // (a random token will not be CONNECT, but a tunnel is its own damage)
    return {name, method_code(name)};
}

std::string MessageGenerator::request(bool last, Damage damage, uint8_t& method_out)
{
    auto [method_text, method] = random_method();
    bad_method_at_.reset();
    if (damage == Damage::MethodNotAToken)
        method_text = pick(kBadMethods);
    if (damage == Damage::MethodTooLong)
        method_text = random_token(kMethodMax + 1, kMethodMax + 8);
    if (damage == Damage::MethodNotAToken || damage == Damage::MethodTooLong)
        bad_method_at_ = method_deciding_byte(method_text + " ");
    if (damage == Damage::Connect)
        method_text = "CONNECT";
    method_out = method;

    std::string target = "/";
    if ((method == LIBRA_HTTP_METHOD_OPTIONS || method == LIBRA_HTTP_METHOD_OTHER) && coin(0.3))
        target = "*";
    else
        for (size_t n = uniform(0, 30); n > 0; n--)
            target += kPathChars[uniform(0, kPathChars.size() - 1)];
    if (damage == Damage::Connect)
        target = "example.com:443";

    const bool http10 = coin(0.1);
    std::string version = http10 ? "HTTP/1.0" : "HTTP/1.1";
    if (damage == Damage::BadVersion)
        version = pick(std::vector<std::string>{"HTTP/2.0", "HTTP/1.2", "HTTP/0.9", "http/1.1",
                                                "HTTP/1.1 ", "HTTP/11", "HTTP/1.10"});
    if (damage == Damage::Http09)
        return method_text + " " + target + "\r\n";
    if (damage == Damage::Http2Preface)
        return "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

    std::vector<std::string> fields;
    if (coin(0.9))
        fields.push_back(header_line(with_random_case("host", rng_), "example.com"));
    for (size_t n = uniform(0, 8); n > 0; n--)
        fields.push_back(header_line("X-" + random_token(1, 18), random_field_value(40)));

    // framing
    enum { NoBody, Length, Chunked } framing = NoBody;
    size_t choice = uniform(0, 99);
    if (choice < 40)
        framing = Length;
    else if (choice < 65 && !http10)
        framing = Chunked;
    if (damage == Damage::BadChunkExtension && !http10)
        framing = Chunked;
    size_t length = uniform(0, 200);
    std::string body;
    if (framing == Length) {
        std::string value = std::string(uniform(0, 1) ? 0 : uniform(1, 3), '0') + std::to_string(length);
        if (coin(0.2))
            value += " ";
        if (damage == Damage::BadContentLengthValue)
            value = pick(std::vector<std::string>{"+" + value, value + ", " + value, value + "\t",
                                                  "-1", value + " 1", "", "0x10",
                                                  "99999999999999999999"});
        fields.push_back(header_line(with_random_case("content-length", rng_), value));
        if (damage == Damage::DuplicateContentLength)
            fields.push_back(header_line("Content-Length", std::to_string(length)));
        if (damage == Damage::ConflictingContentLength)
            fields.push_back(header_line("Content-Length", std::to_string(length + 1)));
        if (damage == Damage::ContentLengthAndChunked)
            fields.push_back(header_line("Transfer-Encoding", "chunked"));
        body = random_body(length);
    } else if (framing == Chunked) {
        std::string value = with_random_case("chunked", rng_);
        if (damage == Damage::OddTransferEncoding)
            value = pick(std::vector<std::string>{"gzip", "gzip, chunked", "chunked, gzip",
                                                  "identity", "chunked,", "x-chunked"});
        fields.push_back(header_line(with_random_case("transfer-encoding", rng_), value));
        if (damage == Damage::TwoTransferEncodings)
            fields.push_back(header_line("Transfer-Encoding", "chunked"));
        if (damage == Damage::ContentLengthAndChunked)
            fields.push_back(header_line("Content-Length", std::to_string(length)));
        body = chunked_body(false, damage);
    }
    if (damage == Damage::Upgrade) {
        fields.push_back(header_line("Upgrade", pick(std::vector<std::string>{"websocket", "h2c"})));
        fields.push_back(header_line("Connection", "Upgrade"));
    }
    if (framing != NoBody && coin(0.1))
        fields.push_back(header_line("Expect", "100-continue"));
    if (damage == Damage::ControlCharInValue)
        fields.push_back(header_line("X-Ctl", "a" + std::string(1, static_cast<char>(uniform(0, 31) == 9 ? 1 : uniform(0, 31)) ) + "b"));
    if (http10 && !last)
        fields.push_back(header_line("Connection", with_random_case("keep-alive", rng_)));
    else if (last && coin(0.2))
        fields.push_back(header_line("Connection", with_random_case("close", rng_)));
    if (damage == Damage::ConnectionCloseMidStream)
        fields.push_back(header_line("Connection", "close"));
    for (size_t n = coin(0.5) ? uniform(1, 2) : 0; n > 0; n--)
        fields.push_back(coding_field(false));
    std::shuffle(fields.begin(), fields.end(), rng_);

    std::string text = method_text + " " + target + " " + version + "\r\n";
    for (const std::string& field : fields)
        text += field;
    return text + "\r\n" + body;
}

std::string MessageGenerator::response(bool last, Damage damage, uint8_t method, bool& interim_prefix)
{
    std::string text;
    interim_prefix = coin(0.1);
    if (interim_prefix) {
        int interim = pick(kInterimStatuses);
        text += "HTTP/1.1 " + std::to_string(interim) + " Interim\r\n";
        if (damage == Damage::BodilessStatusWithLength)
            text += "Content-Length: 2\r\n";
        text += "\r\n";
    }
    int status = pick(kFinalStatuses);
    if (damage == Damage::SwitchingProtocols)
        status = 101;
    const bool http10 = coin(0.1);
    std::string version = http10 ? "HTTP/1.0" : "HTTP/1.1";
    if (damage == Damage::BadVersion)
        version = pick(std::vector<std::string>{"HTTP/2.0", "HTTP/1.2", "HTTP/0.9", "http/1.1", "HTTP/1.1 "});
    std::string reason = coin(0.1) ? "" : " " + random_field_value(20);
    if (!reason.empty() && (reason.back() == '\r'))
        reason.pop_back();
    if (damage == Damage::Http09)
        return "<html>" + random_body(uniform(0, 20));
    std::vector<std::string> fields;
    for (size_t n = uniform(0, 8); n > 0; n--)
        fields.push_back(header_line("X-" + random_token(1, 18), random_field_value(40)));

    const bool bodiless_status = status == 204 || status == 304 || status == 101;
    const bool no_body = bodiless_status || method == LIBRA_HTTP_METHOD_HEAD;
    std::string body;
    size_t choice = uniform(0, 99);
    size_t length = uniform(0, 200);
    if (damage == Damage::BadChunkExtension)
        choice = 50;  // chunked, if the status and version allow it
    if (damage == Damage::BodilessStatusWithLength && !interim_prefix) {
        status = coin(0.5) ? 204 : 100;
        fields.push_back(header_line("Content-Length", "3"));
    } else if (status == 204 || status == 101) {
        // no framing fields at all
    } else if (choice < 45 || (status == 304 && choice < 70)) {
        std::string value = std::to_string(length);
        if (damage == Damage::BadContentLengthValue)
            value = pick(std::vector<std::string>{"+" + value, value + ", " + value, value + "\t", "-1"});
        fields.push_back(header_line(with_random_case("content-length", rng_), value));
        if (damage == Damage::DuplicateContentLength)
            fields.push_back(header_line("Content-Length", value));
        if (damage == Damage::ConflictingContentLength)
            fields.push_back(header_line("Content-Length", std::to_string(length + 2)));
        if (damage == Damage::ContentLengthAndChunked)
            fields.push_back(header_line("Transfer-Encoding", "chunked"));
        if (!no_body)
            body = random_body(length);
    } else if (choice < 75 && !http10 && status != 304) {
        std::string value = with_random_case("chunked", rng_);
        if (damage == Damage::OddTransferEncoding)
            value = pick(std::vector<std::string>{"gzip", "gzip, chunked", "chunked, gzip", "identity"});
        fields.push_back(header_line(with_random_case("transfer-encoding", rng_), value));
        if (damage == Damage::TwoTransferEncodings)
            fields.push_back(header_line("Transfer-Encoding", "chunked"));
        if (damage == Damage::ContentLengthAndChunked)
            fields.push_back(header_line("Content-Length", std::to_string(length)));
        if (!no_body)
            body = chunked_body(true, damage);
    } else if (!no_body && !last) {
        // close-delimited only for the last message; otherwise a length
        fields.push_back(header_line("Content-Length", std::to_string(length)));
        body = random_body(length);
    } else if (!no_body) {
        body = random_body(uniform(0, 100));  // close-delimited
    }
    if (damage == Damage::SwitchingProtocols) {
        fields.push_back(header_line("Upgrade", "websocket"));
        fields.push_back(header_line("Connection", "Upgrade"));
    }
    if (damage == Damage::ControlCharInValue)
        fields.push_back(header_line("X-Ctl", "a" + std::string(1, '\x01') + "b"));
    if (http10 && !last)
        fields.push_back(header_line("Connection", "keep-alive"));
    else if (last && coin(0.2))
        fields.push_back(header_line("Connection", "close"));
    if (damage == Damage::ConnectionCloseMidStream)
        fields.push_back(header_line("Connection", "close"));
    for (size_t n = coin(0.6) ? uniform(1, 3) : 0; n > 0; n--)
        fields.push_back(coding_field(true));
    std::shuffle(fields.begin(), fields.end(), rng_);

    text += version + " " + std::to_string(status) + reason + "\r\n";
    for (const std::string& field : fields)
        text += field;
    return text + "\r\n" + body;
}

std::string MessageGenerator::apply_text_damage(std::string stream, std::string& what)
{
    auto positions_of = [&](const std::string& needle) {
        std::vector<size_t> found;
        for (size_t at = stream.find(needle); at != std::string::npos; at = stream.find(needle, at + 1))
            found.push_back(at);
        return found;
    };
    auto damage = static_cast<Damage>(uniform(static_cast<size_t>(Damage::BareLf),
                                              static_cast<size_t>(Damage::kCount) - 1));
    switch (damage) {
    case Damage::BareLf: {
        auto crlf = positions_of("\r\n");
        if (!crlf.empty())
            stream.erase(pick(crlf), 1);
        what = "bare LF";
        break;
    }
    case Damage::ObsFold: {
        auto crlf = positions_of("\r\n");
        if (!crlf.empty())
            stream.insert(pick(crlf) + 2, pick(std::vector<std::string>{" folded\r\n", "\tx\r\n"}));
        what = "obs-fold";
        break;
    }
    case Damage::SpaceBeforeColon: {
        auto colons = positions_of(":");
        if (!colons.empty())
            stream.insert(pick(colons), pick(std::vector<std::string>{" ", "\t"}));
        what = "whitespace before colon";
        break;
    }
    case Damage::LeadingCrlf:
        stream.insert(0, "\r\n");
        what = "leading CRLF";
        break;
    case Damage::ByteOverwrite:
        for (size_t n = uniform(1, 3); n > 0 && !stream.empty(); n--)
            stream[uniform(0, stream.size() - 1)] = static_cast<char>(uniform(0, 255));
        what = "bytes overwritten";
        break;
    case Damage::ByteDelete:
        if (!stream.empty())
            stream.erase(uniform(0, stream.size() - 1), 1);
        what = "byte deleted";
        break;
    case Damage::ByteInsert:
        stream.insert(uniform(0, stream.size()), 1,
                      pick(std::vector<char>{'\r', '\n', ' ', '\t', ':', '0', 'a', '\0'}));
        what = "byte inserted";
        break;
    default:
        if (!stream.empty())
            stream.resize(uniform(0, stream.size() - 1));
        what = "truncated";
        break;
    }
    return stream;
}

GeneratedStream MessageGenerator::next()
{
    GeneratedStream out;
    out.direction = coin(0.5) ? LIBRA_PARSE_REQUEST : LIBRA_PARSE_RESPONSE;
    out.messages = uniform(1, 4);

    Damage damage = Damage::None;
    size_t damaged_message = uniform(0, out.messages - 1);
    bool text_damage = false;
    if (coin(0.5)) {
        if (coin(0.35)) {
            text_damage = true;
        } else {
            damage = static_cast<Damage>(uniform(1, static_cast<size_t>(Damage::TinyHeaderLimit)));
            if (coin(0.1))
                damage = Damage::BadChunkExtension;
            out.damage = "semantic damage " + std::to_string(static_cast<int>(damage)) +
                         " in message " + std::to_string(damaged_message);
        }
    }
    if (damage == Damage::TinyHeaderLimit)
        out.max_header_bytes = static_cast<uint32_t>(uniform(16, 120));

    bad_ext_category_.clear();
    for (size_t i = 0; i < out.messages; i++) {
        const bool last = i + 1 == out.messages;
        const Damage here = i == damaged_message ? damage : Damage::None;
        if (out.direction == LIBRA_PARSE_REQUEST) {
            uint8_t method = 0;
            const size_t start = out.bytes.size();
            out.bytes += request(last, here, method);
            if (bad_method_at_) {
                out.method_aside_offset = start + *bad_method_at_;
                out.damage += ": method \"" + out.bytes.substr(start, *bad_method_at_ + 1) + "\"";
            }
        } else {
            uint8_t method = random_method().second;
            if (here == Damage::Connect)
                method = LIBRA_HTTP_METHOD_CONNECT;
            bool interim = false;
            out.bytes += response(last, here, method, interim);
            out.request_methods.push_back(method);
        }
        // the body is the end of the message
        if (here == Damage::BadChunkExtension && !bad_ext_category_.empty()) {
            out.chunk_ext_leniency = bad_ext_category_;
            out.chunk_ext_aside_offset = out.bytes.size() - bad_ext_from_end_;
            out.damage = "chunk extension \"" + bad_ext_text_ + "\" (" + bad_ext_category_ +
                         ") in message " + std::to_string(i);
        }
    }
    // the damaged message had no chunked body: nothing was damaged
    if (damage == Damage::BadChunkExtension && out.chunk_ext_leniency.empty()) {
        damage = Damage::None;
        out.damage.clear();
    }
    if (text_damage) {
        std::string what;
        out.bytes = apply_text_damage(out.bytes, what);
        out.damage = what;
    }
    out.clean = damage == Damage::None && !text_damage;
    return out;
}

}  // namespace libra::parser_test
