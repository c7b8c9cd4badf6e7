// Access to the test vectors copied from shared/vectors into tests/vectors.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <rapidjson/document.h>

namespace sb::test {

// Absolute path of a file in tests/vectors.
std::string vector_path(const std::string& name);
// Whole file as bytes; fails the current test (and returns empty) when unreadable.
std::vector<std::uint8_t> read_vector_bytes(const std::string& name);
// A parsed JSON vector file; fails the current test when it does not parse.
const rapidjson::Document& vector_json(const std::string& name);

}  // namespace sb::test
