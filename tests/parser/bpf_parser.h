// The real BPF object (skeleton of bpf/libra_http.bpf.c), loaded into the
// running kernel and run with BPF_PROG_TEST_RUN.
#pragma once

#include <memory>
#include <string>

#include "parser_backend.h"

struct libra_http_bpf;

namespace libra::parser_test {

class BpfParser final : public ParserBackend {
public:
    // Why BPF cannot be used here (not root, no bpf()), or empty if it can.
    // A load failure as root is not a reason to skip: load() throws then.
    static std::string unavailable_reason();

    // Opens and loads the skeleton; throws std::runtime_error on failure.
    BpfParser();

    void run(libra_parse_ctx& ctx, std::span<const uint8_t> window) override;
    size_t max_window() const override { return kMaxWindow; }

    // BPF_PROG_TEST_RUN with repeat: average nanoseconds per run.
    uint32_t time_run(const libra_parse_ctx& ctx, std::span<const uint8_t> window,
                      uint32_t repeat);

    int program_fd() const;

private:
    // bpf_prog_test_run_skb refuses data larger than a page minus skb
    // headroom and shared info (about 3.7 KiB); stay well below.
    static constexpr size_t kMaxWindow = 3072;

    struct SkeletonDeleter {
        void operator()(libra_http_bpf* skel) const;
    };
    std::unique_ptr<libra_http_bpf, SkeletonDeleter> skel_;
};

}  // namespace libra::parser_test
