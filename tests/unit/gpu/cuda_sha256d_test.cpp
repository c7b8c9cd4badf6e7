// sb_cuda_tests: the CUDA SHA-256d kernel on every CUDA device against the core sha256d.
// Exits 77 (CTest: skipped) when no CUDA device exists at run time.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "backend_test_support.hpp"
#include "sb/core/hex.hpp"
#include "sha256d_search_checks.hpp"

using namespace sb::test::gpu;

#define SB_TEST_BACKEND "cuda"
#include "sha256d_backend_tests.inc"
