// The BPF object itself: program type, the context checks, sticky state,
// the ABI fields the module reads.
#include <gtest/gtest.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cstring>
#include <string>

#include "bpf_fixture.h"
#include "libra_http.skel.h"

namespace libra::parser_test {
namespace {

libra_parse_ctx request_ctx(const std::string& window)
{
    libra_parse_ctx ctx{};
    ctx.abi_version = LIBRA_PARSER_ABI_VERSION;
    ctx.direction = LIBRA_PARSE_REQUEST;
    ctx.avail = static_cast<uint32_t>(window.size());
    ctx.max_header_bytes = 16384;
    return ctx;
}

std::span<const uint8_t> bytes_of(const std::string& text)
{
    return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

TEST(Program, IsSchedClsAndNamedAsTheHeaderSays)
{
    LIBRA_REQUIRE_BPF();
    bpf_prog_info info{};
    __u32 length = sizeof(info);
    ASSERT_EQ(bpf_obj_get_info_by_fd(BpfParserEnvironment::parser()->program_fd(), &info, &length), 0);
    EXPECT_EQ(info.type, BPF_PROG_TYPE_SCHED_CLS);
    EXPECT_EQ(std::string(info.name), std::string(LIBRA_HTTP_BPF_PROGRAM).substr(0, BPF_OBJ_NAME_LEN - 1));
}

TEST(Program, ReportsMetadataAndMethod)
{
    LIBRA_REQUIRE_BPF();
    const std::string window = "PUT /x HTTP/1.1\r\nContent-Length: 12\r\n\r\nhello world!";
    libra_parse_ctx ctx = request_ctx(window);
    BpfParserEnvironment::parser()->run(ctx, bytes_of(window));
    EXPECT_EQ(ctx.verdict, LIBRA_PARSE_METADATA);
    EXPECT_EQ(ctx.metadata_len, window.size() - 12);
    EXPECT_EQ(ctx.body_kind, LIBRA_BODY_CONTENT_LENGTH);
    EXPECT_EQ(ctx.body_len, 12u);
    EXPECT_EQ(ctx.flags, LIBRA_PARSE_F_MESSAGE_START | LIBRA_PARSE_F_MESSAGE_END |
                             LIBRA_PARSE_F_CODINGS_KNOWN);
    EXPECT_EQ(ctx.message_method, LIBRA_HTTP_METHOD_PUT);
    // inputs come back untouched
    EXPECT_EQ(ctx.abi_version, LIBRA_PARSER_ABI_VERSION);
    EXPECT_EQ(ctx.avail, window.size());
}

TEST(Program, ReportsStatusCode)
{
    LIBRA_REQUIRE_BPF();
    const std::string window = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
    libra_parse_ctx ctx = request_ctx(window);
    ctx.direction = LIBRA_PARSE_RESPONSE;
    ctx.request_method = LIBRA_HTTP_METHOD_GET;
    BpfParserEnvironment::parser()->run(ctx, bytes_of(window));
    EXPECT_EQ(ctx.verdict, LIBRA_PARSE_METADATA);
    EXPECT_EQ(ctx.status_code, 404);
    EXPECT_EQ(ctx.body_kind, LIBRA_BODY_NONE);
}

// The coding facts the module reads to leave alone a body a proxy may
// compress: on the MESSAGE_START unit, in its direction (the corpus and
// test_coding.cpp cover the values).
TEST(Program, ReportsCodingFlagsOnMessageStart)
{
    LIBRA_REQUIRE_BPF();
    BpfParser& bpf = *BpfParserEnvironment::parser();

    const std::string request = "GET / HTTP/1.1\r\nAccept-Encoding: gzip, deflate, br\r\n\r\n";
    libra_parse_ctx ctx = request_ctx(request);
    bpf.run(ctx, bytes_of(request));
    ASSERT_EQ(ctx.verdict, LIBRA_PARSE_METADATA);
    EXPECT_EQ(ctx.flags, LIBRA_PARSE_F_MESSAGE_START | LIBRA_PARSE_F_MESSAGE_END |
                             LIBRA_PARSE_F_CODINGS_KNOWN | LIBRA_PARSE_F_ACCEPTS_CODING);

    // a gzip-coded text response, chunked: the facts on its first unit only
    const std::string response = "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
                                 "Content-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"
                                 "4\r\n";
    ctx = request_ctx(response);
    ctx.direction = LIBRA_PARSE_RESPONSE;
    ctx.request_method = LIBRA_HTTP_METHOD_GET;
    bpf.run(ctx, bytes_of(response));
    ASSERT_EQ(ctx.verdict, LIBRA_PARSE_METADATA);
    EXPECT_EQ(ctx.flags, LIBRA_PARSE_F_MESSAGE_START | LIBRA_PARSE_F_CODINGS_KNOWN |
                             LIBRA_PARSE_F_CONTENT_CODED | LIBRA_PARSE_F_TEXTUAL);
    const std::string next_chunk = "\r\n0\r\n\r\n";
    ctx.avail = static_cast<uint32_t>(next_chunk.size());
    bpf.run(ctx, bytes_of(next_chunk));
    ASSERT_EQ(ctx.verdict, LIBRA_PARSE_METADATA);
    EXPECT_EQ(ctx.flags, LIBRA_PARSE_F_MESSAGE_END);

    // no Content-Type: textual; an image: not
    for (const auto& [fields, textual] : {std::pair<std::string, bool>{"", true},
                                          {"Content-Type: image/png\r\n", false}}) {
        const std::string bodiless = "HTTP/1.1 204 No Content\r\n" + fields + "\r\n";
        ctx = request_ctx(bodiless);
        ctx.direction = LIBRA_PARSE_RESPONSE;
        ctx.request_method = LIBRA_HTTP_METHOD_GET;
        bpf.run(ctx, bytes_of(bodiless));
        ASSERT_EQ(ctx.verdict, LIBRA_PARSE_METADATA);
        EXPECT_EQ(ctx.flags, LIBRA_PARSE_F_MESSAGE_START | LIBRA_PARSE_F_MESSAGE_END |
                                 LIBRA_PARSE_F_CODINGS_KNOWN |
                                 (textual ? LIBRA_PARSE_F_TEXTUAL : 0u))
            << fields;
    }
}

TEST(Program, NeedMoreGivesBounds)
{
    LIBRA_REQUIRE_BPF();
    const std::string window = "GET / HTTP/1.1\r\nHost: a";
    libra_parse_ctx ctx = request_ctx(window);
    ctx.max_header_bytes = 100;
    BpfParserEnvironment::parser()->run(ctx, bytes_of(window));
    EXPECT_EQ(ctx.verdict, LIBRA_PARSE_NEED_MORE);
    EXPECT_EQ(ctx.metadata_len, window.size());
    EXPECT_EQ(ctx.need_min, 4u);  // at least CRLF CRLF
    EXPECT_EQ(ctx.need_max, 100u - window.size());
}

TEST(Program, RejectsABadContext)
{
    LIBRA_REQUIRE_BPF();
    BpfParser& bpf = *BpfParserEnvironment::parser();
    const std::string window = "GET / HTTP/1.1\r\n\r\n";

    libra_parse_ctx wrong_version = request_ctx(window);
    wrong_version.abi_version = LIBRA_PARSER_ABI_VERSION + 1;
    bpf.run(wrong_version, bytes_of(window));
    EXPECT_EQ(wrong_version.verdict, LIBRA_PARSE_INVALID);

    libra_parse_ctx wrong_direction = request_ctx(window);
    wrong_direction.direction = 3;
    bpf.run(wrong_direction, bytes_of(window));
    EXPECT_EQ(wrong_direction.verdict, LIBRA_PARSE_INVALID);

    libra_parse_ctx no_limit = request_ctx(window);
    no_limit.max_header_bytes = 0;
    bpf.run(no_limit, bytes_of(window));
    EXPECT_EQ(no_limit.verdict, LIBRA_PARSE_INVALID);

    // announces more bytes than the skb holds
    libra_parse_ctx overstated = request_ctx(window);
    overstated.avail = static_cast<uint32_t>(window.size() + 1);
    bpf.run(overstated, bytes_of(window));
    EXPECT_EQ(overstated.verdict, LIBRA_PARSE_INVALID);
}

TEST(Program, StepAsideIsSticky)
{
    LIBRA_REQUIRE_BPF();
    BpfParser& bpf = *BpfParserEnvironment::parser();
    const std::string bad = "GET / HTTP/1.1\nHost: a\n\n";
    libra_parse_ctx ctx = request_ctx(bad);
    bpf.run(ctx, bytes_of(bad));
    ASSERT_EQ(ctx.verdict, LIBRA_PARSE_STEP_ASIDE);
    EXPECT_EQ(ctx.metadata_len, std::string("GET / HTTP/1.1").size());  // the bare LF

    const std::string good = "GET / HTTP/1.1\r\n\r\n";
    ctx.avail = static_cast<uint32_t>(good.size());
    bpf.run(ctx, bytes_of(good));
    EXPECT_EQ(ctx.verdict, LIBRA_PARSE_STEP_ASIDE);
}

TEST(Program, ContextWithoutRoomIsInvalid)
{
    LIBRA_REQUIRE_BPF();
    // a packet shorter than the context: the program must not touch it
    std::vector<uint8_t> packet(sizeof(libra_parse_ctx) - 1, 0xaa);
    std::vector<uint8_t> out(packet.size());
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = packet.data(), .data_out = out.data(),
                .data_size_in = static_cast<__u32>(packet.size()),
                .data_size_out = static_cast<__u32>(out.size()), .repeat = 1);
    ASSERT_EQ(bpf_prog_test_run_opts(BpfParserEnvironment::parser()->program_fd(), &opts), 0);
    EXPECT_EQ(opts.retval, static_cast<__u32>(LIBRA_PARSE_INVALID));
    EXPECT_EQ(out, packet);
}

TEST(Program, StateFitsTheAbiBlob)
{
    // compile-time checks in libra_http.h and libra_http_core.h; this keeps
    // the ABI numbers the module relies on visible in the test log
    EXPECT_EQ(sizeof(libra_parse_ctx), 120u);
    EXPECT_EQ(offsetof(libra_parse_ctx, state), 16u);
    EXPECT_EQ(offsetof(libra_parse_ctx, verdict), 80u);
    EXPECT_EQ(offsetof(libra_parse_ctx, body_len), 96u);
}

}  // namespace
}  // namespace libra::parser_test
