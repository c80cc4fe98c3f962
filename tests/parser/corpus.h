// The fixture corpus: HTTP/1.1 streams written out by hand, cut into the
// pieces the parser must find (metadata units, body bytes) or the place it
// must give up. Expected traces follow from the pieces, not from a parser.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "stream_driver.h"

namespace libra::parser_test {

struct BodySpec {
    uint32_t kind = LIBRA_BODY_NONE;
    uint64_t length = 0;
};

struct Segment {
    enum class Kind {
        Metadata,  // one METADATA unit: these bytes, then a body as in `body`
        Body,      // body bytes the parser never sees
        Aside,     // the parser steps aside somewhere in these bytes
        Partial,   // the stream ends in an unfinished unit
    };
    Kind kind;
    std::string bytes;
    BodySpec body;
    uint32_t flags = 0;
    // Aside: the index in `bytes` of the byte the parser must step aside at,
    // whatever the windows; npos: anywhere in them.
    size_t aside_at = std::string::npos;
    // Metadata with LIBRA_PARSE_F_MESSAGE_START: the coding flags the unit
    // carries besides `flags` (kCodingFlags in coding_facts.h). Unset: those of
    // a header without Accept-Encoding, Content-Encoding and Content-Type
    // (CODINGS_KNOWN; responses also TEXTUAL), and the header must have none
    // of them.
    std::optional<uint32_t> coding_flags = std::nullopt;
};

struct CorpusCase {
    std::string name;
    uint8_t direction;
    std::vector<Segment> segments;
    std::vector<uint8_t> request_methods;  // responses
    uint32_t max_header_bytes = 16384;
};

std::vector<CorpusCase> corpus_cases();

// For test names in failures (instead of a byte dump).
void PrintTo(const CorpusCase& c, std::ostream* out);

std::vector<uint8_t> stream_of(const CorpusCase& c);

// Throws std::logic_error if the case is inconsistent (body sizes).
Trace expected_trace_of(const CorpusCase& c);

// The stream offset the parser must step aside at, if the case pins it.
std::optional<uint64_t> expected_aside_offset(const CorpusCase& c);

// The coding flags a MESSAGE_START segment of @c promises (see Segment).
uint32_t expected_coding_flags_of(const CorpusCase& c, const Segment& segment);

}  // namespace libra::parser_test
