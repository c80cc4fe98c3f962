// RFC 9112 7.1.1 chunk-size lines, written from the ABNF and independent of
// the core's state machine, so the tests can hold the parser to the grammar:
//
//   chunk-size [ chunk-ext ]          (the line, without its CRLF)
//   chunk-ext      = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
//   chunk-ext-name = token
//   chunk-ext-val  = token / quoted-string
//
// with Libra's two documented limits: at most 15 hex digits, and SP only
// (no HTAB) in the BWS before the first ";" (libhttp-parser refuses HTAB there).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "stream_driver.h"

namespace libra::parser_test {

bool chunk_line_valid(std::string_view line);

// Where a parser that follows the grammar byte by byte must give up on
// @line: the index of the first byte no valid line can have there, or
// line.size() when every byte could still lead to a valid line (then the CR
// that ends it decides). std::nullopt when the line is valid.
std::optional<size_t> chunk_line_deciding_byte(std::string_view line);

// The first chunk-size line @trace accepted (a unit that frames a chunk ends
// with it) that the grammar rejects, described; empty if there is none.
std::string accepted_chunk_line_outside_grammar(const Trace& trace, std::span<const uint8_t> stream);

// Chunk extensions RFC 9112 rejects and libhttp-parser 2.9 accepts (it skips
// every byte of a chunk-size line after ";" or SP up to the CR): the only
// cases where the differential test lets Libra step aside although the
// reference parsed the stream through. Listed in docs/http-support.md.
struct ChunkExtLeniency {
    const char* category;
    std::vector<std::string> extensions;  // each follows the chunk-size
};
const std::vector<ChunkExtLeniency>& documented_chunk_ext_leniencies();

}  // namespace libra::parser_test
