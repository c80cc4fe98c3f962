#include "coding_facts.h"

#include <string>
#include <vector>

namespace libra::parser_test {

namespace {

bool is_ows(char c) { return c == ' ' || c == '\t'; }

bool is_tchar(char c)
{
    const unsigned char u = static_cast<unsigned char>(c);
    if ((u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9'))
        return true;
    return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view text)
{
    if (text.empty())
        return false;
    for (char c : text)
        if (!is_tchar(c))
            return false;
    return true;
}

std::string_view trim(std::string_view text)
{
    while (!text.empty() && is_ows(text.front()))
        text.remove_prefix(1);
    while (!text.empty() && is_ows(text.back()))
        text.remove_suffix(1);
    return text;
}

std::string lower(std::string_view text)
{
    std::string out(text);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
    return out;
}

std::vector<std::string_view> split(std::string_view text, char separator)
{
    std::vector<std::string_view> parts;
    for (;;) {
        const size_t at = text.find(separator);
        parts.push_back(text.substr(0, at));
        if (at == std::string_view::npos)
            return parts;
        text.remove_prefix(at + 1);
    }
}

// Accept-Encoding: #( codings [ weight ] ). True if it names a coding other
// than identity ("*" and q=0 included) or is malformed: an element that is
// not a token, optionally followed by ";" and only weight characters.
bool accepts_coding(std::string_view value)
{
    for (std::string_view element : split(value, ',')) {
        element = trim(element);
        if (element.empty())
            continue;
        const size_t semicolon = element.find(';');
        const std::string_view coding = trim(element.substr(0, semicolon));
        if (!is_token(coding))
            return true;
        if (semicolon != std::string_view::npos)
            for (char c : element.substr(semicolon + 1))
                if (!(is_ows(c) || (c >= '0' && c <= '9') || c == 'q' || c == 'Q' || c == '=' ||
                      c == '.' || c == ';'))
                    return true;
        if (lower(coding) != "identity")
            return true;
    }
    return false;
}

// Content-Encoding: #content-coding. True only if the whole field is a
// well-formed list of tokens and one of them is not identity.
bool content_coded(std::string_view value)
{
    bool coded = false;
    for (std::string_view element : split(value, ',')) {
        element = trim(element);
        if (element.empty())
            continue;
        if (!is_token(element))
            return false;
        if (lower(element) != "identity")
            coded = true;
    }
    return coded;
}

// Content-Type: type "/" subtype *( OWS ";" ... ). Malformed counts as textual.
bool textual_media_type(std::string_view value)
{
    const std::string_view media = trim(value.substr(0, value.find(';')));
    const size_t slash = media.find('/');
    if (slash == std::string_view::npos)
        return true;
    const std::string type = lower(media.substr(0, slash));
    const std::string subtype = lower(media.substr(slash + 1));
    if (!is_token(type) || !is_token(subtype))
        return true;
    if (type == "text")
        return true;
    if (type == "application")
        for (const char* name : {"json", "xml", "javascript", "ecmascript", "x-javascript"})
            if (subtype == name)
                return true;
    const size_t plus = subtype.rfind('+');
    if (plus != std::string::npos) {
        const std::string suffix = subtype.substr(plus + 1);
        return suffix == "json" || suffix == "xml";
    }
    return false;
}

}  // namespace

uint32_t expected_coding_flags(uint8_t direction, std::string_view header)
{
    bool accepts = false, coded = false, content_type = false, textual_type = false;
    std::vector<std::string_view> lines = split(header, '\n');
    for (size_t i = 1; i < lines.size(); i++) {
        std::string_view line = lines[i];
        if (!line.empty() && line.back() == '\r')
            line.remove_suffix(1);
        if (line.empty())
            break;  // the end of the header: trailers are not looked at
        const size_t colon = line.find(':');
        if (colon == std::string_view::npos)
            continue;
        const std::string name = lower(line.substr(0, colon));
        const std::string_view value = line.substr(colon + 1);
        if (direction == LIBRA_PARSE_REQUEST) {
            if (name == "accept-encoding")
                accepts = accepts || accepts_coding(value);
        } else if (name == "content-encoding") {
            coded = coded || content_coded(value);
        } else if (name == "content-type") {
            content_type = true;
            textual_type = textual_type || textual_media_type(value);
        }
    }
    uint32_t flags = LIBRA_PARSE_F_CODINGS_KNOWN;
    if (accepts)
        flags |= LIBRA_PARSE_F_ACCEPTS_CODING;
    if (coded)
        flags |= LIBRA_PARSE_F_CONTENT_CODED;
    if (direction == LIBRA_PARSE_RESPONSE && (!content_type || textual_type))
        flags |= LIBRA_PARSE_F_TEXTUAL;
    return flags;
}

std::string_view header_at(std::string_view stream, uint64_t start)
{
    if (start > stream.size())
        return {};
    const size_t blank = stream.find("\r\n\r\n", start);
    if (blank == std::string_view::npos)
        return {};
    return stream.substr(start, blank + 4 - start);
}

std::string coding_flags_problem(const Trace& trace, std::span<const uint8_t> stream,
                                 uint8_t direction)
{
    const std::string_view text(reinterpret_cast<const char*>(stream.data()), stream.size());
    for (const Unit& unit : trace.units) {
        if (!(unit.flags & LIBRA_PARSE_F_MESSAGE_START))
            continue;
        const std::string_view header = header_at(text, unit.start);
        if (header.empty())
            return "a MESSAGE_START unit at " + std::to_string(unit.start) + " without a header";
        const uint32_t expected = expected_coding_flags(direction, header);
        if ((unit.flags & kCodingFlags) != expected) {
            Unit want = unit;
            want.flags = (unit.flags & ~kCodingFlags) | expected;
            return "coding flags differ from the reference (coding_facts.cpp):\n  libra:     " +
                   describe(unit) + "\n  reference: " + describe(want);
        }
    }
    return {};
}

}  // namespace libra::parser_test
