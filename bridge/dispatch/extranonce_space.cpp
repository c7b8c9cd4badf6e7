#include "dispatch/extranonce_space.hpp"

#include <algorithm>
#include <random>

namespace sb::bridge {

extranonce_space::extranonce_space(std::size_t bytes)
    : bytes_(std::clamp<std::size_t>(bytes, 1, 4)), space_(std::uint64_t{1} << (8 * bytes_)), next_(std::random_device{}()) {}

std::optional<bytes> extranonce_space::allocate() {
    if (live_.size() >= space_) return std::nullopt;
    std::uint32_t v = 0;
    do v = static_cast<std::uint32_t>(next_++ % space_);
    while (!live_.insert(v).second);
    bytes out(bytes_);
    for (std::size_t i = 0; i < bytes_; ++i) out[i] = static_cast<std::uint8_t>(v >> (8 * (bytes_ - 1 - i)));
    return out;
}

void extranonce_space::release(byte_span extranonce1) {
    if (extranonce1.size() != bytes_) return;
    std::uint32_t v = 0;
    for (std::uint8_t b : extranonce1) v = (v << 8) | b;
    live_.erase(v);
}

}  // namespace sb::bridge
