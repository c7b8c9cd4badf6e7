// sb_opencl_tests: the OpenCL SHA-256d kernel on every OpenCL device (PoCL in CI) against the
// core sha256d. Exits 77 (CTest: skipped) when no OpenCL device exists at run time.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "backend_test_support.hpp"
#include "sb/core/hex.hpp"
#include "sha256d_search_checks.hpp"

using namespace sb::test::gpu;

#define SB_TEST_BACKEND "opencl"
#include "sha256d_backend_tests.inc"
