#include "bpf_parser.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "libra_http.skel.h"

namespace libra::parser_test {

std::string BpfParser::unavailable_reason()
{
    if (geteuid() != 0)
        return "BPF parser tests need root (BPF_PROG_LOAD, BPF_PROG_TEST_RUN); "
               "running as uid " + std::to_string(geteuid());
    int rc = libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_SCHED_CLS, nullptr);
    if (rc <= 0)
        return "this kernel does not load BPF_PROG_TYPE_SCHED_CLS programs (probe: " +
               std::string(rc < 0 ? std::strerror(-rc) : "unsupported") + ")";
    return {};
}

void BpfParser::SkeletonDeleter::operator()(libra_http_bpf* skel) const
{
    libra_http_bpf__destroy(skel);
}

BpfParser::BpfParser() : skel_(libra_http_bpf__open_and_load())
{
    if (!skel_)
        throw std::runtime_error(std::string("loading libra_http.bpf.o failed: ") +
                                 std::strerror(errno));
}

int BpfParser::program_fd() const
{
    return bpf_program__fd(skel_->progs.libra_http_parse);
}

namespace {

std::vector<uint8_t> packet_of(const libra_parse_ctx& ctx, std::span<const uint8_t> window)
{
    std::vector<uint8_t> packet(sizeof(ctx) + window.size());
    std::memcpy(packet.data(), &ctx, sizeof(ctx));
    if (!window.empty())
        std::memcpy(packet.data() + sizeof(ctx), window.data(), window.size());
    return packet;
}

}  // namespace

void BpfParser::run(libra_parse_ctx& ctx, std::span<const uint8_t> window)
{
    if (window.size() > kMaxWindow)
        throw std::invalid_argument("window larger than BPF_PROG_TEST_RUN accepts");
    std::vector<uint8_t> packet = packet_of(ctx, window);
    std::vector<uint8_t> out(packet.size());
    LIBBPF_OPTS(bpf_test_run_opts, opts,
                .data_in = packet.data(),
                .data_out = out.data(),
                .data_size_in = static_cast<__u32>(packet.size()),
                .data_size_out = static_cast<__u32>(out.size()),
                .repeat = 1);
    if (bpf_prog_test_run_opts(program_fd(), &opts) != 0)
        throw std::runtime_error(std::string("BPF_PROG_TEST_RUN: ") + std::strerror(errno));
    // SCHED_CLS is an L2 type: test_run gives the program data_in from its
    // first byte and returns the packet as the program left it.
    if (opts.data_size_out != packet.size())
        throw std::runtime_error("BPF_PROG_TEST_RUN returned " +
                                 std::to_string(opts.data_size_out) + " bytes, sent " +
                                 std::to_string(packet.size()));
    std::memcpy(&ctx, out.data(), sizeof(ctx));
    if (opts.retval != ctx.verdict)
        throw std::runtime_error("program returned " + std::to_string(opts.retval) +
                                 " but wrote verdict " + std::to_string(ctx.verdict));
}

uint32_t BpfParser::time_run(const libra_parse_ctx& ctx, std::span<const uint8_t> window,
                             uint32_t repeat)
{
    std::vector<uint8_t> packet = packet_of(ctx, window);
    LIBBPF_OPTS(bpf_test_run_opts, opts,
                .data_in = packet.data(),
                .data_size_in = static_cast<__u32>(packet.size()),
                .repeat = static_cast<int>(repeat));
    if (bpf_prog_test_run_opts(program_fd(), &opts) != 0)
        throw std::runtime_error(std::string("BPF_PROG_TEST_RUN: ") + std::strerror(errno));
    return opts.duration;
}

}  // namespace libra::parser_test
