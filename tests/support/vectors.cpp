#include "vectors.hpp"

#include <doctest/doctest.h>

#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>

namespace sb::test {

std::string vector_path(const std::string& name) { return std::string(SB_TEST_VECTORS_DIR) + "/" + name; }

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

}  // namespace sb::test
