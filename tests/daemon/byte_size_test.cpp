// Sizes as libractl --anchor-limit and librad.conf anchor-limit read them.
#include <gtest/gtest.h>

#include "common/byte_size.hpp"

namespace libra {
namespace {

TEST(ByteSize, ParsesBytesAndBinarySuffixes)
{
    struct Case {
        const char* text;
        uint64_t bytes;
    };
    for (auto c : {Case{"0", 0}, Case{"1", 1}, Case{"1000", 1000}, Case{"1K", 1024}, Case{"1k", 1024},
                   Case{"64M", uint64_t{64} << 20}, Case{"3g", uint64_t{3} << 30}, Case{"1T", uint64_t{1} << 40},
                   Case{"18446744073709551615", UINT64_MAX}, Case{"16777215T", uint64_t{16777215} << 40}}) {
        auto parsed = parse_byte_size(c.text);
        ASSERT_TRUE(parsed) << c.text << ": " << parsed.error().message;
        EXPECT_EQ(parsed.value(), c.bytes) << c.text;
    }
}

TEST(ByteSize, RefusesEverythingElse)
{
    for (const char* bad : {"", "K", "-1", "+1", " 1", "1 ", "1.5M", "1MB", "1MiB", "1KK", "1P", "0x10", "ten",
                            "18446744073709551616", "16777216T"}) {
        auto parsed = parse_byte_size(bad);
        ASSERT_FALSE(parsed) << "accepted '" << bad << "'";
        EXPECT_EQ(parsed.error().code, ErrorCode::invalid_request);
        EXPECT_NE(parsed.error().message.find(std::string("'") + bad + "'"), std::string::npos)
            << parsed.error().message;
    }
}

TEST(ByteSize, FormatsTheShortestExactSpellingThatParsesBack)
{
    EXPECT_EQ(format_byte_size(0), "0");
    EXPECT_EQ(format_byte_size(1000), "1000");
    EXPECT_EQ(format_byte_size(1536), "1536");
    EXPECT_EQ(format_byte_size(2048), "2K");
    EXPECT_EQ(format_byte_size(uint64_t{256} << 20), "256M");
    EXPECT_EQ(format_byte_size(uint64_t{1} << 30), "1G");
    EXPECT_EQ(format_byte_size(uint64_t{5} << 40), "5T");
    for (uint64_t bytes : {uint64_t{0}, uint64_t{1}, uint64_t{3} << 20, uint64_t{1} << 50, UINT64_MAX})
        EXPECT_EQ(parse_byte_size(format_byte_size(bytes)).value(), bytes) << bytes;
}

}  // namespace
}  // namespace libra
