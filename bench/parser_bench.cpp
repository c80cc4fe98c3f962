// Parser benchmark (not a test): cost of one parser run per message and per
// metadata byte, for the BPF program (BPF_PROG_TEST_RUN with repeat, the
// kernel's own timing) and for the same core compiled natively.
//
//   sudo libra_parser_bench [repeat]     (default repeat 200000)
//
// BPF_PROG_TEST_RUN times the program alone, without the skb the module
// builds around the window or the copy into it.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fmt/core.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "libra_http.h"
#include "libra_http.skel.h"
#include "libra_http_native.h"

namespace {

struct Workload {
    std::string name;
    uint8_t direction;
    std::string prefix;  // parsed once first, to put the state where the window starts
    std::string window;
};

std::string typical_request()
{
    return "GET /assets/app.js?v=20240611 HTTP/1.1\r\n"
           "Host: www.example.com\r\n"
           "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:126.0) Gecko/20100101 Firefox/126.0\r\n"
           "Accept: */*\r\nAccept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate, br\r\n"
           "Referer: https://www.example.com/\r\nConnection: keep-alive\r\n"
           "Cookie: session=0123456789abcdef0123456789abcdef; theme=dark\r\n"
           "Sec-Fetch-Dest: script\r\nSec-Fetch-Mode: no-cors\r\nSec-Fetch-Site: same-origin\r\n\r\n";
}

std::string big_header_request()
{
    std::string text = "POST /api/v1/items HTTP/1.1\r\nHost: api.example.com\r\n";
    for (int i = 0; text.size() < 2900; i++)
        text += fmt::format("X-Trace-Field-{:02}: {}\r\n", i, std::string(48, 'a' + i % 26));
    return text + "Content-Length: 1048576\r\n\r\n";
}

std::vector<Workload> workloads()
{
    return {
        {"minimal GET", LIBRA_PARSE_REQUEST, "", "GET / HTTP/1.1\r\nHost: a\r\n\r\n"},
        {"browser GET", LIBRA_PARSE_REQUEST, "", typical_request()},
        {"2.9 KiB header POST", LIBRA_PARSE_REQUEST, "", big_header_request()},
        {"200 + Content-Length", LIBRA_PARSE_RESPONSE, "",
         "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Tue, 11 Jun 2024 10:00:00 GMT\r\n"
         "Content-Type: application/octet-stream\r\nContent-Length: 1048576\r\n"
         "Last-Modified: Mon, 10 Jun 2024 09:00:00 GMT\r\nConnection: keep-alive\r\n"
         "ETag: \"6667a1b0-100000\"\r\nAccept-Ranges: bytes\r\n\r\n"},
        {"chunk-size line", LIBRA_PARSE_RESPONSE,
         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n0123456789abcdef",
         "\r\n4000\r\n"},
    };
}

libra_parse_ctx context_for(const Workload& workload, size_t avail)
{
    libra_parse_ctx ctx{};
    ctx.abi_version = LIBRA_PARSER_ABI_VERSION;
    ctx.direction = workload.direction;
    ctx.request_method = LIBRA_HTTP_METHOD_GET;
    ctx.avail = static_cast<uint32_t>(avail);
    ctx.max_header_bytes = 16384;
    return ctx;
}

// Context whose state sits just after workload.prefix, as the module would
// hold it.
libra_parse_ctx primed_context(const Workload& workload)
{
    libra_parse_ctx ctx = context_for(workload, workload.prefix.size());
    if (!workload.prefix.empty())
        libra_http_parse_window(&ctx, reinterpret_cast<const __u8*>(workload.prefix.data()));
    ctx.avail = static_cast<uint32_t>(workload.window.size());
    return ctx;
}

struct SkeletonDeleter {
    void operator()(libra_http_bpf* skel) const { libra_http_bpf__destroy(skel); }
};

}  // namespace

int main(int argc, char** argv)
{
    const unsigned repeat = argc > 1 ? static_cast<unsigned>(std::strtoul(argv[1], nullptr, 0)) : 200000;
    if (geteuid() != 0) {
        fmt::print(stderr, "libra_parser_bench: needs root for BPF_PROG_TEST_RUN\n");
        return 1;
    }
    std::unique_ptr<libra_http_bpf, SkeletonDeleter> skel(libra_http_bpf__open_and_load());
    if (!skel) {
        fmt::print(stderr, "libra_parser_bench: loading the parser failed: {}\n", std::strerror(errno));
        return 1;
    }
    const int fd = bpf_program__fd(skel->progs.libra_http_parse);

    fmt::print("{:<22} {:>8} {:>10} {:>12} {:>12} {:>12} {:>12}\n", "workload", "bytes", "verdict",
               "bpf ns/msg", "bpf ns/byte", "native ns", "native ns/B");
    for (const Workload& workload : workloads()) {
        const libra_parse_ctx ctx = primed_context(workload);
        std::vector<uint8_t> packet(sizeof(ctx) + workload.window.size());
        std::memcpy(packet.data(), &ctx, sizeof(ctx));
        std::memcpy(packet.data() + sizeof(ctx), workload.window.data(), workload.window.size());

        // one checked run first: the numbers only mean something if it parses
        std::vector<uint8_t> out(packet.size());
        LIBBPF_OPTS(bpf_test_run_opts, once, .data_in = packet.data(), .data_out = out.data(),
                    .data_size_in = static_cast<__u32>(packet.size()),
                    .data_size_out = static_cast<__u32>(out.size()), .repeat = 1);
        if (bpf_prog_test_run_opts(fd, &once) != 0 || once.retval != LIBRA_PARSE_METADATA) {
            fmt::print(stderr, "{}: parser did not answer METADATA (retval {})\n", workload.name,
                       once.retval);
            return 1;
        }
        libra_parse_ctx result;
        std::memcpy(&result, out.data(), sizeof(result));

        // Repeated runs see the state the previous run wrote; every workload
        // ends a unit, which leaves the state where it started.
        LIBBPF_OPTS(bpf_test_run_opts, timed, .data_in = packet.data(),
                    .data_size_in = static_cast<__u32>(packet.size()),
                    .repeat = static_cast<int>(repeat));
        if (bpf_prog_test_run_opts(fd, &timed) != 0) {
            fmt::print(stderr, "{}: BPF_PROG_TEST_RUN failed: {}\n", workload.name, std::strerror(errno));
            return 1;
        }

        const auto* window = reinterpret_cast<const __u8*>(workload.window.data());
        libra_parse_ctx native_ctx = ctx;
        const auto start = std::chrono::steady_clock::now();
        for (unsigned i = 0; i < repeat; i++) {
            native_ctx = ctx;
            libra_http_parse_window(&native_ctx, window);
            asm volatile("" : : "r"(&native_ctx) : "memory");
        }
        const double native_ns =
            std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count() /
            repeat;

        const double bytes = result.metadata_len;
        fmt::print("{:<22} {:>8} {:>10} {:>12} {:>12.2f} {:>12.1f} {:>12.2f}\n", workload.name,
                   result.metadata_len, "METADATA", timed.duration, timed.duration / bytes, native_ns,
                   native_ns / bytes);
    }
    fmt::print("(bpf: kernel's BPF_PROG_TEST_RUN average over {} runs; per byte = per metadata byte)\n",
               repeat);
    return 0;
}
