// The eBPF parser objects librad loads (bpf-object) and hands to the module.
// Objects are owned through unique_ptr with bpf_object__close, so a failed
// load, a reload or shutdown never leaks a program or map.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <bpf/libbpf.h>
#include <nlohmann/json.hpp>

#include "common/result.hpp"
#include "librad/module_control.hpp"

namespace libra {

struct BpfObjectCloser {
    void operator()(bpf_object* object) const { bpf_object__close(object); }
};
using BpfObjectPtr = std::unique_ptr<bpf_object, BpfObjectCloser>;

struct LoadedParser {
    std::string path;
    BpfObjectPtr object;
    std::vector<std::string> programs;  // program names in the object
    bool attached = false;              // the module holds the program(s)
    std::string attach_note;            // why not, when not attached
};

// Routes libbpf's own messages to the "bpf" logger (once, at startup).
void route_libbpf_logging();

// Opens and loads (verifies) every program of the object at @path.
Result<LoadedParser> load_parser_object(const std::string& path);

// THE place where a loaded parser's program fds are handed to the kernel
// module (ModuleControl::attach_parser). The module keeps its own reference,
// so the parser outlives this librad.
void hand_parser_to_module(ModuleControl& module, LoadedParser& parser);

nlohmann::json parsers_to_json(const std::vector<LoadedParser>& parsers);

}  // namespace libra
