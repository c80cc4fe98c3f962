#include "librad/bpf_parsers.hpp"

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>

#include "librad/logging.hpp"

namespace libra {

namespace {
int libbpf_to_spdlog(enum libbpf_print_level level, const char* format, va_list args)
{
    char line[1024];
    int n = std::vsnprintf(line, sizeof(line), format, args);
    size_t len = n < 0 ? 0 : std::min(static_cast<size_t>(n), sizeof(line) - 1);
    while (len > 0 && line[len - 1] == '\n')
        --len;
    auto log = logger("bpf");
    std::string_view text(line, len);
    if (level == LIBBPF_WARN)
        log->warn("libbpf: {}", text);
    else
        log->debug("libbpf: {}", text);
    return n;
}
}  // namespace

void route_libbpf_logging()
{
    libbpf_set_print(libbpf_to_spdlog);
}

Result<LoadedParser> load_parser_object(const std::string& path)
{
    LoadedParser parser;
    parser.path = path;
    errno = 0;
    parser.object.reset(bpf_object__open_file(path.c_str(), nullptr));
    if (!parser.object) {
        int err = errno ? errno : EINVAL;
        return Error::from_errno(ErrorCode::io_error, "open eBPF object " + path, err);
    }
    if (int rc = bpf_object__load(parser.object.get()); rc != 0)
        return Error::from_errno(ErrorCode::io_error, "load eBPF object " + path +
                                                          " (verifier log at --log-level debug)", -rc);
    bpf_program* program = nullptr;
    bpf_object__for_each_program(program, parser.object.get())
        parser.programs.emplace_back(bpf_program__name(program));
    if (parser.programs.empty())
        return Error{ErrorCode::invalid_request, "eBPF object " + path + " has no programs"};
    return parser;
}

void hand_parser_to_module(ModuleControl& module, LoadedParser& parser)
{
    // The module runs one framing parser, a SCHED_CLS program (see the parser
    // ABI in linux/libra.h); the object's first such program is the one.
    bpf_program* chosen = nullptr;
    bpf_program* program = nullptr;
    bpf_object__for_each_program(program, parser.object.get())
        if (bpf_program__type(program) == BPF_PROG_TYPE_SCHED_CLS) {
            chosen = program;
            break;
        }
    parser.attached = false;
    if (!chosen) {
        parser.attach_note = "no SEC(\"tc\") (SCHED_CLS) program in the object";
        logger("bpf")->error("{}: {}", parser.path, parser.attach_note);
        return;
    }
    auto attached = module.attach_parser(bpf_program__fd(chosen), bpf_program__name(chosen));
    if (!attached) {
        parser.attach_note = attached.error().message;
        logger("bpf")->error("{}: {}", parser.path, attached.error().message);
        return;
    }
    parser.attached = true;
    parser.attach_note.clear();
    logger("bpf")->info("parser {} from {} handed to the module", bpf_program__name(chosen), parser.path);
}

nlohmann::json parsers_to_json(const std::vector<LoadedParser>& parsers)
{
    auto out = nlohmann::json::array();
    for (const auto& parser : parsers) {
        nlohmann::json entry = {{"path", parser.path}, {"programs", parser.programs},
                                {"attached", parser.attached}};
        if (!parser.attach_note.empty())
            entry["note"] = parser.attach_note;
        out.push_back(std::move(entry));
    }
    return out;
}

}  // namespace libra
