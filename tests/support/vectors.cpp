#include "vectors.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>

#include "sb/core/hex.hpp"

namespace sb::test {

// SB_TEST_VECTORS_DIR in the environment overrides the source tree's folder: test binaries
// copied to a machine without the tree (scripts/gpu-check.sh --prebuilt).
std::string vector_path(const std::string& name) {
    const char* dir = std::getenv("SB_TEST_VECTORS_DIR");
    return std::string(dir != nullptr && *dir != '\0' ? dir : SB_TEST_VECTORS_DIR) + "/" + name;
}

std::vector<std::uint8_t> read_vector_bytes(const std::string& name) {
    std::ifstream in(vector_path(name), std::ios::binary);
    REQUIRE_MESSAGE(in.good(), "cannot open vector file " << vector_path(name));
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

const rapidjson::Document& vector_json(const std::string& name) {
    static std::mutex mu;
    static std::map<std::string, std::unique_ptr<rapidjson::Document>> cache;
    std::lock_guard lock(mu);
    auto& slot = cache[name];
    if (!slot) {
        const auto raw = read_vector_bytes(name);
        slot = std::make_unique<rapidjson::Document>();
        slot->Parse(reinterpret_cast<const char*>(raw.data()), raw.size());
        REQUIRE_MESSAGE(!slot->HasParseError(), "vector file " << name << " is not valid JSON");
    }
    return *slot;
}



rapidjson::Document vector_member_copy(const std::string& file, const std::string& member) {
    const auto& doc = vector_json(file);
    REQUIRE_MESSAGE(doc.HasMember(member.c_str()), file << " has no member " << member);
    rapidjson::Document d;
    d.CopyFrom(doc[member.c_str()], d.GetAllocator());
    return d;
}

sb::hash256 hash_from_display(const std::string& hex) {
    auto r = sb::from_hex_fixed<32>(hex);
    REQUIRE_MESSAGE(r, "not a 64-digit hash: " << hex);
    sb::hash256 h = *r;
    std::reverse(h.begin(), h.end());
    return h;
}

}  // namespace sb::test
