#include "librad/stat_table.hpp"

namespace libra {

const StatDescriptor* find_stat(std::string_view name)
{
    for (const auto& descriptor : kStatTable)
        if (descriptor.name == name)
            return &descriptor;
    return nullptr;
}

}  // namespace libra
