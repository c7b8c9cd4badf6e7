// Fuzz target: the byte reader's CompactSize and var_bytes must stay in bounds and keep
// the position unchanged on failure; accepted values must re-encode to the same bytes.
#include <cstdlib>

#include "sb/core/bytes.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    sb::byte_reader r({data, size});
    // One writer for the whole input (cleared, its buffer kept): a writer per value made
    // the allocator, not the parser, the cost of an input of a thousand one-byte values.
    sb::byte_writer w(9);
    while (!r.empty()) {
        const std::size_t before = r.position();
        auto n = r.compact_size(UINT64_MAX);
        if (!n) {
            if (r.position() != before) std::abort();
            break;
        }
        w.data().clear();
        w.compact_size(*n);
        if (w.size() != r.position() - before) std::abort();
        for (std::size_t i = 0; i < w.size(); ++i)
            if (w.data()[i] != data[before + i]) std::abort();
        auto v = r.var_bytes(64);
        if (!v && r.position() != before + w.size()) std::abort();
    }
    return 0;
}
