#include "chunk_ext_grammar.h"

namespace libra::parser_test {

namespace {

constexpr size_t kMaxChunkSizeDigits = 15;

bool is_hexdig(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// RFC 9110 5.6.2
bool is_tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return true;
    return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

// RFC 9110 5.6.4: qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text
bool is_qdtext(unsigned char c)
{
    return c == '\t' || c == ' ' || c == 0x21 || (c >= 0x23 && c <= 0x5b) ||
           (c >= 0x5d && c <= 0x7e) || c >= 0x80;
}

// quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
bool is_quoted_pair_char(unsigned char c)
{
    return c == '\t' || c == ' ' || (c >= 0x21 && c <= 0x7e) || c >= 0x80;
}

class LineParser {
public:
    explicit LineParser(std::string_view line) : s_(line) {}

    bool parse()
    {
        size_t digits = 0;
        while (i_ < s_.size() && is_hexdig(at(i_)))
            i_++, digits++;
        if (digits == 0 || digits > kMaxChunkSizeDigits)
            return false;
        // *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
        for (bool first = true; i_ < s_.size(); first = false) {
            bws(/*htab=*/!first);
            if (!literal(';'))
                return false;
            bws(true);
            if (!token())
                return false;
            const size_t after_name = i_;
            bws(true);
            if (literal('=')) {
                bws(true);
                if (!token() && !quoted_string())
                    return false;
            } else {
                i_ = after_name;  // the BWS belongs to the next ";"
            }
        }
        return true;
    }

private:
    unsigned char at(size_t i) const { return static_cast<unsigned char>(s_[i]); }

    void bws(bool htab)
    {
        while (i_ < s_.size() && (at(i_) == ' ' || (htab && at(i_) == '\t')))
            i_++;
    }
    bool literal(char c)
    {
        if (i_ < s_.size() && s_[i_] == c) {
            i_++;
            return true;
        }
        return false;
    }
    bool token()
    {
        const size_t start = i_;
        while (i_ < s_.size() && is_tchar(at(i_)))
            i_++;
        return i_ > start;
    }
    bool quoted_string()
    {
        if (!literal('"'))
            return false;
        while (i_ < s_.size()) {
            const unsigned char c = at(i_++);
            if (c == '"')
                return true;
            if (c == '\\') {
                if (i_ >= s_.size() || !is_quoted_pair_char(at(i_)))
                    return false;
                i_++;
            } else if (!is_qdtext(c)) {
                return false;
            }
        }
        return false;  // unterminated
    }

    std::string_view s_;
    size_t i_ = 0;
};

// Can @prefix still become a valid line? One of these endings completes
// every prefix that can be completed at all: after digits, a name, a token
// or a closing DQUOTE nothing; after ";" or "=" (and BWS) a name or value;
// after BWS another extension; in a quoted-string its DQUOTE; after its
// backslash an escaped char and the DQUOTE.
bool completable(std::string_view prefix)
{
    for (std::string_view ending : {"", "a", ";a", "\"", "a\""})
        if (chunk_line_valid(std::string(prefix) + std::string(ending)))
            return true;
    return false;
}

}  // namespace

bool chunk_line_valid(std::string_view line)
{
    return LineParser(line).parse();
}

std::optional<size_t> chunk_line_deciding_byte(std::string_view line)
{
    if (chunk_line_valid(line))
        return std::nullopt;
    for (size_t i = 0; i < line.size(); i++)
        if (!completable(line.substr(0, i + 1)))
            return i;
    return line.size();
}

std::string accepted_chunk_line_outside_grammar(const Trace& trace, std::span<const uint8_t> stream)
{
    const std::string_view text(reinterpret_cast<const char*>(stream.data()), stream.size());
    for (const Unit& unit : trace.units) {
        if (unit.body_kind != LIBRA_BODY_CHUNK || unit.metadata_len < 3 ||
            unit.start + unit.metadata_len > text.size())
            continue;
        const size_t line_end = unit.start + unit.metadata_len - 2;  // its CR
        const size_t crlf = text.rfind("\r\n", line_end - 1);
        const size_t line_start = crlf == std::string_view::npos ? 0 : crlf + 2;
        const std::string_view line = text.substr(line_start, line_end - line_start);
        if (text.substr(line_end, 2) != "\r\n" || !chunk_line_valid(line))
            return "accepted the chunk-size line at offset " + std::to_string(line_start) +
                   ", which RFC 9112 7.1.1 rejects: " + describe(unit);
    }
    return {};
}

const std::vector<ChunkExtLeniency>& documented_chunk_ext_leniencies()
{
    static const std::vector<ChunkExtLeniency> kCases = {
        {"\";\" without an extension name",
         {";", "; ", ";\t", " ;", ";;a", ";=x", "; =x", ";a;", ";a;;b", ";a=b;", "; ;a"}},
        {"unterminated quoted-string",
         {";a=\"abc", ";a=\"", ";a=\"x\\\"", ";a=\"x\\", ";a=\"x y ; z"}},
        {"\"=\" without a value", {";a=", ";a= ", ";a=\t", ";a=;b"}},
        {"whitespace before the CRLF", {";a ", ";a\t", ";a=b ", ";a=\"b\" ", ";a = b\t"}},
        {"bytes outside token and quoted-string",
         {";a=b=c", ";a=\"b\"c", ";a b", ";a=b c", ";a=(b)", ";a,b", ";a=b,c", ";a=\xff",
          ";\xff", ";a=\"\x01\"", ";a=\"\x7f\"", ";a=\"\\\x01\"", ";a=\"x\ny\"", ";a\x01",
          ";a=b\"c\"", ";\"a\"", ";a/b"}},
    };
    return kCases;
}

}  // namespace libra::parser_test
