// Included before anything else in every C++ translation unit that uses RapidJSON in a
// fuzz build (SB_FUZZ=ON, cmake/SbDependencies.cmake): RapidJSON's contract checks abort
// instead of being compiled away under NDEBUG.
#pragma once

#include <cstdlib>

#define RAPIDJSON_ASSERT(x) ((x) ? static_cast<void>(0) : std::abort())
