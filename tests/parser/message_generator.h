// Seeded random HTTP/1.1 streams for the differential test and the fuzz
// seeds: mostly well-formed messages, a share of them damaged on purpose
// (smuggling classics, malformed framing, random byte edits).
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace libra::parser_test {

struct GeneratedStream {
    uint8_t direction = 0;                 // enum libra_parse_direction
    std::string bytes;
    std::vector<uint8_t> request_methods;  // responses: one per final response
    size_t messages = 0;
    bool clean = true;                     // no damage applied: must be parsed through
    std::string damage;                    // what was done to it, if anything
    uint32_t max_header_bytes = 16384;
    // A chunk extension RFC 9112 rejects and libhttp-parser may accept, in an
    // otherwise clean stream: its documented category
    // (documented_chunk_ext_leniencies()) and the stream offset of the byte
    // the parser must step aside at. Empty category: none.
    std::string chunk_ext_leniency;
    uint64_t chunk_ext_aside_offset = 0;
    // A request whose method is no token (empty, a byte outside tchar, longer
    // than kMethodMax), the stream's one damage: the stream offset of the
    // byte the parser must step aside at.
    std::optional<uint64_t> method_aside_offset;
};

class MessageGenerator {
public:
    explicit MessageGenerator(uint64_t seed) : rng_(seed) {}
    GeneratedStream next();

    // Damage kinds applied while building a message (see the .cpp).
    enum class Damage;

private:
    std::pair<std::string, uint8_t> random_method();
    std::string request(bool last, Damage damage, uint8_t& method_out);
    std::string response(bool last, Damage damage, uint8_t method, bool& interim_prefix);
    std::string chunked_body(bool response, Damage damage);
    std::string random_chunk_ext();
    std::string random_coding_list(bool weights);
    std::string random_media_type();
    std::string coding_field(bool response);
    std::string random_quoted_string(size_t max);
    std::string header_line(const std::string& name, const std::string& value);
    std::string random_token(size_t min, size_t max);
    std::string random_field_value(size_t max);
    std::string random_body(size_t length);
    std::string apply_text_damage(std::string stream, std::string& what);

    bool coin(double p) { return std::bernoulli_distribution(p)(rng_); }
    size_t uniform(size_t lo, size_t hi) { return std::uniform_int_distribution<size_t>(lo, hi)(rng_); }
    template <typename T>
    const T& pick(const std::vector<T>& values) { return values[uniform(0, values.size() - 1)]; }

    std::mt19937_64 rng_;
    // set by chunked_body() when it wrote a rejected chunk extension
    std::string bad_ext_category_;
    std::string bad_ext_text_;
    size_t bad_ext_from_end_ = 0;  // deciding byte, counted back from the body's end
    // set by request() when it wrote a method that is no token
    std::optional<size_t> bad_method_at_;  // deciding byte, in the message
};

}  // namespace libra::parser_test
