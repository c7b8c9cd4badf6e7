// Access to the test vectors copied from shared/vectors into tests/vectors.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <rapidjson/document.h>

#include "sb/core/sha256.hpp"

namespace sb::test {

// Absolute path of a file in tests/vectors.
std::string vector_path(const std::string& name);
// Whole file as bytes; fails the current test (and returns empty) when unreadable.
std::vector<std::uint8_t> read_vector_bytes(const std::string& name);
// A parsed JSON vector file; fails the current test when it does not parse.
const rapidjson::Document& vector_json(const std::string& name);
// A mutable copy of one top-level member of a JSON vector file; fails the test when absent.
rapidjson::Document vector_member_copy(const std::string& file, const std::string& member);
// A 64-digit hash written in display order (as explorers and RPC show it), in internal
// order; fails the test when it is not 64 hex digits.
sb::hash256 hash_from_display(const std::string& hex);

}  // namespace sb::test
